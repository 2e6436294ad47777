#!/bin/bash
# Benchmark: `idsync db move` of a large SQLite database to PostgreSQL, against psql \copy of the same
# cs_objects rows (the fastest bulk path PostgreSQL offers), plus `db backup` and `db restore` of the same data.
# usage: bench/dbmove.sh [CS_ROWS] [PORT]    (defaults 500000, 25520; PostgreSQL on 127.0.0.1, stopped by PID)
# env: IDSYNC_BIN (default build-life-rel/idsync: use a build without sanitizers). Needs sqlite3 and psql.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${IDSYNC_BIN:-$SRC/build-life-rel/idsync}
ROWS=${1:-500000}
PORT=${2:-25520}
[ -x "$BIN" ] || { echo "no idsync binary at $BIN (cmake -B build-life-rel -DCMAKE_BUILD_TYPE=Release)"; exit 1; }
T=$(mktemp -d /tmp/idsync-bench-mv.XXXXXX)
chmod 755 "$T"
trap '"$SRC/tests/peers/stop.sh" "$T/pg" >/dev/null 2>&1 || true; rm -rf "$T"' EXIT
AS=(); [ "$(id -u)" = 0 ] && AS=(runuser -u postgres --)
su_sql() { "${AS[@]}" psql -h "$T/pg/sock" -p "$PORT" -U postgres -d postgres -qc "$1" >/dev/null; }
tsql() { PGPASSWORD=testpass psql -h 127.0.0.1 -p "$PORT" -U test -d "$@"; }
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

H=$T/home
echo "dn: cn=dummy" >"$T/dummy.ldif"
"$BIN" --home "$H" install --db sqlite >/dev/null
"$BIN" --home "$H" connector add src1 --type ldif --url "$T/dummy.ldif" >/dev/null
t0=$(now)
sqlite3 "$H/idsync.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS / 2)
INSERT INTO mv_objects(id, object_type, attrs, lineage, updated_at) SELECT i, 'person', randomblob(200), randomblob(40), i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS)
INSERT INTO cs_objects(connector_id, anchor, dn, object_type, attrs, mv_id, flags, updated_at)
  SELECT 1, randomblob(16), 'CN=User ' || i || ',OU=Users,DC=example,DC=test', 'user', randomblob(300),
         CASE WHEN i % 2 = 0 THEN i / 2 END, 0, i FROM n;
SQL
t1=$(now)
SIZE=$(stat -c %s "$H/idsync.db")
echo "generated $ROWS cs_objects + $((ROWS / 2)) mv_objects: $SIZE bytes in $(secs "$t0" "$t1") s"

"$SRC/tests/peers/start-pg.sh" "$T/pg" "$PORT" >/dev/null
for d in mv cp rs; do su_sql "CREATE DATABASE $d OWNER test"; done
printf 'testpass\n' >"$T/pw"
URL=postgresql://test@127.0.0.1:$PORT

# idsync db backup (SQLite) and restore (PostgreSQL), then db move
t0=$(now); "$BIN" --home "$H" db backup "$T/b.idsync" >/dev/null; t1=$(now)
echo "db backup (SQLite -> file, $(stat -c %s "$T/b.idsync") bytes): $(secs "$t0" "$t1") s"
t0=$(now); "$BIN" db restore "$T/b.idsync" --db "$URL/rs" --db-password-file "$T/pw" >/dev/null; t1=$(now)
echo "db restore (file -> PostgreSQL, verified): $(secs "$t0" "$t1") s"
t0=$(now); "$BIN" --home "$H" db move --to "$URL/mv" --db-password-file "$T/pw" >"$T/move.out"; t1=$(now)
echo "db move (SQLite -> PostgreSQL, verified, all tables): $(secs "$t0" "$t1") s"

# psql \copy of the same cs_objects and mv_objects rows into the same schema (no verification)
tsql cp -q -f "$SRC/src/store/migrations/postgresql/001_initial.sql"
tsql cp -qc "INSERT INTO connectors(id, name, type, url, created_at, updated_at) VALUES (1, 'src1', 'ldif', 'x', 0, 0)"
t0=$(now)
sqlite3 -csv "$H/idsync.db" "SELECT id, object_type, '\\x' || hex(attrs), '\\x' || hex(lineage), updated_at FROM mv_objects" >"$T/mv.csv"
sqlite3 -csv "$H/idsync.db" "SELECT id, connector_id, '\\x' || hex(anchor), dn, object_type, '\\x' || hex(attrs), mv_id,
  flags, seen_run, export_op, NULL, export_dn, export_error, export_attempts, updated_at FROM cs_objects" >"$T/cs.csv"
t1=$(now)
tsql cp -qc "\\copy mv_objects FROM '$T/mv.csv' CSV"
tsql cp -qc "\\copy cs_objects FROM '$T/cs.csv' CSV"
t2=$(now)
echo "sqlite3 -csv export: $(secs "$t0" "$t1") s; psql \\copy into PostgreSQL: $(secs "$t1" "$t2") s; total $(secs "$t0" "$t2") s"
echo "rows in PostgreSQL after \\copy: cs_objects=$(tsql cp -tAc 'SELECT count(*) FROM cs_objects')," \
     "after db move: cs_objects=$(tsql mv -tAc 'SELECT count(*) FROM cs_objects')"
