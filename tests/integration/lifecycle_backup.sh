#!/bin/bash
# Integration test of `idsync db backup|verify|restore|info` on SQLite: a backup restored into an empty database
# gives the same tables row for row (blobs, NULLs, non-ASCII text), a non-empty target is refused, a tampered or
# truncated backup fails naming the table, the file is 0600, and db info recommends PostgreSQL for a large database.
# env: IDSYNC_BIN (idsync binary). Needs sqlite3 and jq.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # ok/bad/check/eq/has/run, $T removed on exit
it_init lifecycle-backup
command -v sqlite3 >/dev/null || { echo "sqlite3 is required"; exit 1; }

# Rows of every kind of value: random blobs, empty blob, NUL bytes, NULLs, non-ASCII and control characters.
populate() {
  sqlite3 "$1" <<SQL
PRAGMA foreign_keys=ON;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
INSERT INTO mv_objects(id, object_type, attrs, lineage, updated_at)
  SELECT i, 'person', randomblob(40 + i % 50), CASE WHEN i % 3 = 0 THEN NULL ELSE randomblob(8) END, 1700000000 + i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
INSERT INTO cs_objects(connector_id, anchor, dn, object_type, attrs, mv_id, flags, export_op, export_attrs, export_dn, updated_at)
  SELECT 1, randomblob(16), 'CN=Usér ' || i || ' 🙂,OU=Ünits,DC=example,DC=test', 'user', randomblob(100),
         CASE WHEN i % 4 = 0 THEN NULL ELSE i END, i % 3, i % 4, CASE WHEN i % 4 = 0 THEN NULL ELSE x'00ff00' END,
         NULL, 1700000000 FROM n;
INSERT INTO mv_index(attr, value, mv_id) SELECT 'mail', 'u' || id || '@example.test', id FROM mv_objects;
INSERT INTO watermarks VALUES (1, 'DC=example,DC=test', x'00010203ff', 1700000000);
INSERT INTO runs(connector_id, connector_name, profile, started_at, ended_at, result, stats, message)
  VALUES (1, 'src1', 'full-import', 1, 2, 'success', '{"adds":3}', 'line1' || char(10) || '"quoted" \\ tab' || char(9));
INSERT INTO run_errors(run_id, dn, anchor, kind, message) VALUES (1, 'CN=x', x'', 'import-warning', 'empty anchor');
UPDATE meta SET value = '12345' WHERE key = 'owner_heartbeat';
SQL
}
# Every table's rows as text (blobs in hex), ordered, for exact comparison.
dump_rows() {
  sqlite3 "$1" "SELECT hex(id), hex(anchor), dn, hex(attrs), mv_id, flags, export_op, hex(export_attrs), updated_at FROM cs_objects ORDER BY id;
                SELECT id, hex(attrs), hex(lineage), typeof(lineage) FROM mv_objects ORDER BY id;
                SELECT * FROM mv_index ORDER BY mv_id; SELECT connector_id, partition, hex(cookie) FROM watermarks;
                SELECT * FROM runs; SELECT id, hex(anchor), typeof(anchor), message FROM run_errors;
                SELECT id, name, type, url, hex(sealed_secret) FROM connectors ORDER BY id;
                SELECT name, hash, definition FROM sync_rules ORDER BY name;
                SELECT key, value FROM meta WHERE key <> 'owner_heartbeat' ORDER BY key;"
}

H=$T/home
echo "dn: cn=dummy" >"$T/dummy.ldif"
"$BIN" --home "$H" install --db sqlite >/dev/null
"$BIN" --home "$H" connector add src1 --type ldif --url "$T/dummy.ldif" >/dev/null
"$BIN" --home "$H" connector add src2 --type ldif --url "$T/dummy.ldif" >/dev/null
populate "$H/idsync.db" 300

# --- backup ------------------------------------------------------------------------------------
run --home "$H" db info --json
check "db info --json succeeds" eq "$RC" 0
cp "$T/out" "$T/info1.json"
check "db info counts cs_objects" eq "$(jq -r .tables.cs_objects "$T/info1.json")" 300
check "db info reports the engine" eq "$(jq -r .engine "$T/info1.json")" sqlite
check "db info: no recommendation for a small database" eq "$(jq -r '.recommendations|length' "$T/info1.json")" 0
run --home "$H" db backup "$T/b1.idsync"
check "db backup succeeds" eq "$RC" 0
check "backup file has mode 0600" eq "$(stat -c %a "$T/b1.idsync")" 600
check "no temp file is left beside the backup" eq "$(ls "$T" | grep -c 'b1.idsync.tmp' || true)" 0
run --home "$H" db backup "$T/b1.idsync"
check "backup over an existing file is refused without --force" eq "$RC" 1
check "  ... and says --force" has "$T/err" "--force"
run --home "$H" db backup "$T/b1.idsync" --force
check "backup --force replaces the file" eq "$RC" 0
run db verify "$T/b1.idsync" --json
check "db verify accepts the backup" eq "$(jq -r .valid "$T/out")" true
check "db verify counts match db info" eq "$(jq -c '.tables|map_values(.rows)' "$T/out")" "$(jq -c .tables "$T/info1.json")"

# --- restore into an empty SQLite file, adopt it, compare ---------------------------------------
run db restore "$T/b1.idsync" --db "sqlite:$T/restored.db"
check "db restore into a new SQLite file succeeds" eq "$RC" 0
check "restored database file has mode 0600" eq "$(stat -c %a "$T/restored.db")" 600
check "restored rows are identical (blobs, NULLs, text)" eq "$(dump_rows "$T/restored.db" | md5sum)" "$(dump_rows "$H/idsync.db" | md5sum)"
check "restored database holds no lease" eq "$(sqlite3 "$T/restored.db" "SELECT value FROM meta WHERE key='owner_heartbeat'")" 0
"$BIN" --home "$T/home2" install --db "sqlite:$T/restored.db" --use-existing-database >/dev/null
run --home "$T/home2" db info --json
check "db info on the restored database: identical counts" eq "$(jq -c .tables "$T/out")" "$(jq -c .tables "$T/info1.json")"
check "restored database keeps its database_id" eq "$(jq -r .database_id "$T/out")" "$(jq -r .database_id "$T/info1.json")"
run --home "$T/home2" connector add src3 --type ldif --url "$T/dummy.ldif"
check "a new connector on the restored database gets a fresh id" eq "$(sqlite3 "$T/restored.db" "SELECT id FROM connectors WHERE name='src3'")" 3

# --- refused targets ----------------------------------------------------------------------------
cp "$T/restored.db" "$T/restored.copy"
run db restore "$T/b1.idsync" --db "sqlite:$T/restored.db"
check "restore into a non-empty idsync database is refused (exit 4)" eq "$RC" 4
check "  ... naming the target" has "$T/err" "$T/restored.db"
check "  ... leaving it unchanged" cmp -s "$T/restored.db" "$T/restored.copy"
sqlite3 "$T/other.db" "CREATE TABLE foo(x); INSERT INTO foo VALUES (1);"
run db restore "$T/b1.idsync" --db "sqlite:$T/other.db"
check "restore into a non-empty foreign database is refused (exit 4)" eq "$RC" 4
check "  ... and its data is untouched" eq "$(sqlite3 "$T/other.db" "SELECT count(*) FROM sqlite_master")" 1

# --- tampered and truncated backups -------------------------------------------------------------
# flip one byte inside a cs_objects row (a digit of its updated_at value)
awk 'BEGIN{t=0} /^\{"table":"cs_objects"/{t=1} t==1 && /^\[/ && !done {sub(/1700000000\]$/, "1700000001]"); done=1} {print}' \
  "$T/b1.idsync" >"$T/tampered.idsync"
check "the tampered file differs by one byte" eq "$(cmp -l "$T/b1.idsync" "$T/tampered.idsync" | wc -l)" 1
run db verify "$T/tampered.idsync"
check "db verify fails on a tampered backup" eq "$RC" 1
check "  ... naming the table" has "$T/err" "table cs_objects does not match its checksum"
run db restore "$T/tampered.idsync" --db "sqlite:$T/t.db"
check "restore of a tampered backup fails" eq "$RC" 1
check "  ... naming the table" has "$T/err" "table cs_objects"
check "  ... creating no database file" eq "$(ls "$T"/t.db* 2>/dev/null | wc -l)" 0
# change a value to another of the same type in a text column (connector name)
sed 's/\[1,"src1",/[1,"src9",/' "$T/b1.idsync" >"$T/tampered2.idsync"
run db restore "$T/tampered2.idsync" --db "sqlite:$T/t2.db"
check "a changed text value fails the connectors checksum" has "$T/err" "table connectors does not match its checksum"
head -n 40 "$T/b1.idsync" >"$T/truncated.idsync"
run db verify "$T/truncated.idsync"
check "a truncated backup is refused" has "$T/err" "truncated"
echo "not a backup" >"$T/junk.idsync"
run db restore "$T/junk.idsync" --db "sqlite:$T/j.db"
check "a file that is not a backup is refused" eq "$RC" 1
run db restore "$T/b1.idsync" --db "postgresql://u:secret@127.0.0.1:1/db"
check "a password inside the URL is refused (usage)" eq "$RC" 2
if grep -q secret "$T/err"; then bad "the refused password is not echoed"; else ok "the refused password is not echoed"; fi

# --- recommendation for a large embedded database -----------------------------------------------
cp "$H/idsync.db" "$T/big.db"
sqlite3 "$T/big.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500001)
  INSERT INTO cs_objects(connector_id, anchor, object_type, attrs, updated_at) SELECT 2, i, 'user', x'00', 0 FROM n;"
sed "s|^database = .*|database = sqlite:$T/big.db|" "$H/idsync.conf" >"$T/big.conf"
mkdir -p "$T/bighome" && cp "$T/big.conf" "$T/bighome/idsync.conf" && cp "$H/server.key" "$T/bighome/server.key"
run --home "$T/bighome" db info --json
check "db info recommends db move for > 500,000 CS objects" has "$T/out" "idsync db move --to postgresql://"

it_finish
