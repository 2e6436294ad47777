#!/bin/bash
# Digest of what a sync wrote into a bench database (`bench/engine N --keep`), for checking that an
# engine optimisation changes no result: run the bench before and after with the same N and options,
# digest both databases and diff the outputs. Random provisional anchors are masked; run timings are
# not part of the digest. Needs the sqlite3 command-line tool.   usage: engine_digest.sh DB
set -euo pipefail
db=${1:?usage: engine_digest.sh DB}
q() { sqlite3 "$db" "$1"; }
q "SELECT 'mv objects', count(*), sum(length(attrs)) FROM mv_objects"
q "SELECT id, object_type, hex(attrs), hex(coalesce(lineage,'')) FROM mv_objects ORDER BY id" | md5sum | sed 's/^/mv /'
q "SELECT attr, value, mv_id FROM mv_index ORDER BY 1,2,3" | md5sum | sed 's/^/join index /'
q "SELECT id, connector_id, CASE WHEN anchor LIKE 'provisional:%' THEN 'P' ELSE hex(anchor) END, dn, object_type,
          hex(attrs), mv_id, flags, seen_run, export_op, hex(coalesce(export_attrs,'')), export_dn, export_error,
          export_attempts FROM cs_objects ORDER BY id" | md5sum | sed 's/^/cs /'
q "SELECT id, connector_id, profile, result, stats, message FROM runs ORDER BY id"
q "SELECT 'run errors', count(*) FROM run_errors"
