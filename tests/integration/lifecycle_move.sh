#!/bin/bash
# Integration test of `idsync db move` and backup/restore across engines against a real PostgreSQL: SQLite ->
# PostgreSQL keeps status/connector list working with identical rows and leaves the old file untouched; restore
# into an empty PostgreSQL database works and a non-empty one is refused; PostgreSQL -> SQLite works; a move to a
# dead server, or whose PostgreSQL server is killed mid-copy, leaves the server working on its old database.
# env: IDSYNC_BIN, IDSYNC_SRC. PostgreSQL on 127.0.0.1 ports 25510-25512 (started and stopped here, by PID).
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # ok/bad/check/eq/has/run, $T removed and peers stopped on exit
it_init lifecycle-move
command -v sqlite3 >/dev/null || { echo "sqlite3 is required"; exit 1; }
PORT=${LIFECYCLE_PG_PORT:-25510}
DEAD_PORT=$((PORT + 1))
KPORT=$((PORT + 2))
IT_PEERS+=("$T/pg" "$T/pgk")
AS=(); [ "$(id -u)" = 0 ] && AS=(runuser -u postgres --)
# superuser SQL over the cluster's socket: createdb DIR PORT NAME
createdb() { "${AS[@]}" psql -h "$1/sock" -p "$2" -U postgres -d postgres -qc "CREATE DATABASE $3 OWNER test" >/dev/null; }
pgsql() { PGPASSWORD=testpass psql -h 127.0.0.1 -p "$1" -U test -d "$2" -tAqc "$3"; }

populate() {
  sqlite3 "$1" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
INSERT INTO mv_objects(id, object_type, attrs, lineage, updated_at)
  SELECT i, 'person', randomblob(40 + i % 50), CASE WHEN i % 3 = 0 THEN NULL ELSE randomblob(8) END, 1700000000 + i FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
INSERT INTO cs_objects(connector_id, anchor, dn, object_type, attrs, mv_id, flags, export_op, export_attrs, updated_at)
  SELECT 1, randomblob(16), 'CN=Usér ' || i || ' 🙂,OU=Ünits,DC=example,DC=test', 'user', randomblob(100),
         CASE WHEN i % 4 = 0 THEN NULL ELSE i END, i % 3, i % 4, CASE WHEN i % 4 = 0 THEN NULL ELSE x'00ff00' END,
         1700000000 FROM n;
INSERT INTO mv_index(attr, value, mv_id) SELECT 'mail', 'U' || id || '@example.test', id FROM mv_objects;
INSERT INTO watermarks VALUES (1, 'DC=example,DC=test', x'00010203ff', 1700000000);
INSERT INTO runs(connector_id, connector_name, profile, started_at, ended_at, result, stats, message)
  VALUES (1, 'src1', 'full-import', 1, 2, 'success', '{"adds":3}', 'line1' || char(10) || '"quoted" \\ tab' || char(9));
INSERT INTO run_errors(run_id, dn, anchor, kind, message) VALUES (1, 'CN=x', x'', 'import-warning', 'empty anchor');
SQL
}
dump_rows() {
  sqlite3 "$1" "SELECT id, hex(anchor), dn, hex(attrs), mv_id, flags, export_op, hex(export_attrs), updated_at FROM cs_objects ORDER BY id;
                SELECT id, hex(attrs), hex(lineage), typeof(lineage) FROM mv_objects ORDER BY id;
                SELECT * FROM mv_index ORDER BY mv_id; SELECT connector_id, partition, hex(cookie) FROM watermarks;
                SELECT * FROM runs; SELECT id, hex(anchor), typeof(anchor), message FROM run_errors;
                SELECT id, name, type, url, hex(sealed_secret) FROM connectors WHERE id < 3 ORDER BY id;
                SELECT name, hash, definition FROM sync_rules WHERE connector IN ('src1', 'src2') ORDER BY name;
                SELECT key, value FROM meta WHERE key NOT IN ('owner_heartbeat') ORDER BY key;"
}

"$SRC/tests/peers/start-pg.sh" "$T/pg" "$PORT" >/dev/null
for d in d1 d2 d3; do createdb "$T/pg" "$PORT" $d; done
printf 'testpass\n' >"$T/pgpw"
URL=postgresql://test@127.0.0.1:$PORT

H=$T/home
echo "dn: cn=dummy" >"$T/dummy.ldif"
"$BIN" --home "$H" install --db sqlite >/dev/null
"$BIN" --home "$H" connector add src1 --type ldif --url "$T/dummy.ldif" >/dev/null
"$BIN" --home "$H" connector add src2 --type ldif --url "$T/dummy.ldif" >/dev/null
populate "$H/idsync.db" 300
"$BIN" --home "$H" db info --json | jq -c .tables >"$T/counts0"
"$BIN" --home "$H" connector list --json | jq -c '[.connectors[].name]' >"$T/conns0"
sqlite3 "$H/idsync.db" .sha3sum >"$T/sha0"
dump_rows "$H/idsync.db" >"$T/rows0"

# --- failures leave the server on its old database ------------------------------------------------
cp "$H/idsync.conf" "$T/conf0"
run --home "$H" db move --to "postgresql://test@127.0.0.1:$DEAD_PORT/d1" --db-password-file "$T/pgpw"
check "move to a port with nothing listening fails" eq "$RC" 1
check "  ... saying the server keeps its old database" has "$T/err" "still uses its old database sqlite:$H/idsync.db"
check "  ... idsync.conf unchanged" cmp -s "$H/idsync.conf" "$T/conf0"
run --home "$H" status --json
check "  ... status still works on the old database" eq "$(jq -r .database.engine "$T/out")" sqlite
run --home "$H" db move --to "$URL/d1"
check "move without the password fails (no password)" eq "$RC" 1
check "  ... idsync.conf unchanged" cmp -s "$H/idsync.conf" "$T/conf0"
pgsql "$PORT" d3 "CREATE TABLE foo (x int)"
run --home "$H" db move --to "$URL/d3" --db-password-file "$T/pgpw"
check "move into a non-empty PostgreSQL database is refused (exit 4)" eq "$RC" 4
check "  ... naming it" has "$T/err" "$URL/d3"
check "  ... idsync.conf unchanged" cmp -s "$H/idsync.conf" "$T/conf0"
check "  ... the foreign table is untouched" eq "$(pgsql "$PORT" d3 "SELECT count(*) FROM information_schema.tables WHERE table_schema='public'")" 1

# --- SQLite -> PostgreSQL -------------------------------------------------------------------------
run --home "$H" db move --to "$URL/d1" --db-password-file "$T/pgpw"
check "db move SQLite -> PostgreSQL succeeds" eq "$RC" 0
check "  ... reports rows per table" has "$T/out" "cs_objects"
check "  ... says where the old file is kept" has "$T/out" "$H/idsync.db is kept unchanged"
check "  ... idsync.conf points at PostgreSQL" has "$H/idsync.conf" "database = $URL/d1"
check "  ... the password file is HOME/db.password" has "$H/idsync.conf" "db_password_file = $H/db.password"
check "  ... with mode 0600" eq "$(stat -c %a "$H/db.password")" 600
if grep -q testpass "$H/idsync.conf" "$T/out" "$T/err"; then bad "the password appears nowhere"; else ok "the password appears nowhere"; fi
check "  ... the old SQLite file is untouched" eq "$(sqlite3 "$H/idsync.db" .sha3sum)" "$(cat "$T/sha0")"
run --home "$H" status --json
check "status works on PostgreSQL" eq "$(jq -r .database.engine "$T/out")" postgresql
run --home "$H" connector list --json
check "connector list works on PostgreSQL" eq "$(jq -c '[.connectors[].name]' "$T/out")" "$(cat "$T/conns0")"
run --home "$H" db info --json
check "db info on PostgreSQL: identical counts" eq "$(jq -c .tables "$T/out")" "$(cat "$T/counts0")"
check "db info on PostgreSQL: no lease left behind" eq "$(jq -r .owner.lease_live "$T/out")" false
run --home "$H" connector add src3 --type ldif --url "$T/dummy.ldif"
check "adding a connector on PostgreSQL works (identity sequence moved past the copied ids)" eq "$RC" 0
check "  ... it gets id 3" eq "$(pgsql "$PORT" d1 "SELECT id FROM connectors WHERE name='src3'")" 3

# --- backup from PostgreSQL, restore into SQLite and into an empty PostgreSQL ----------------------
run --home "$H" db backup "$T/pg.idsync"
check "db backup from PostgreSQL succeeds" eq "$RC" 0
run db restore "$T/pg.idsync" --db "sqlite:$T/from-pg.db"
check "restore of a PostgreSQL backup into SQLite succeeds" eq "$RC" 0
check "  ... rows identical to the original SQLite rows (blobs, NULLs, text)" eq "$(dump_rows "$T/from-pg.db" | md5sum)" "$(md5sum <"$T/rows0")"
run db restore "$T/pg.idsync" --db "$URL/d1" --db-password-file "$T/pgpw"
check "restore into the non-empty PostgreSQL database is refused (exit 4)" eq "$RC" 4
run db restore "$T/pg.idsync" --db "$URL/d2" --db-password-file "$T/pgpw"
check "restore into an empty PostgreSQL database succeeds" eq "$RC" 0
"$BIN" --home "$T/home2" install --db "$URL/d2" --db-password-file "$T/pgpw" --use-existing-database >/dev/null
run --home "$T/home2" db info --json
check "  ... db info on it: the backup's counts" eq "$(jq -c .tables.cs_objects "$T/out")" 300
check "  ... with 3 connectors" eq "$(jq -c .tables.connectors "$T/out")" 3

# --- PostgreSQL -> SQLite -------------------------------------------------------------------------
run --home "$H" db move --to "sqlite:$T/back.db"
check "db move PostgreSQL -> SQLite succeeds" eq "$RC" 0
check "  ... says the old PostgreSQL database is kept" has "$T/out" "is kept unchanged"
check "  ... idsync.conf points at the file, without a password file" eq "$(grep -c '^db_password_file' "$H/idsync.conf" || true)" 0
run --home "$H" connector list --json
check "  ... connector list works" eq "$(jq -r '.connectors|length' "$T/out")" 3
check "  ... the rows made the round trip unchanged" eq "$(dump_rows "$T/back.db" | md5sum)" "$(md5sum <"$T/rows0")"

# --- the target PostgreSQL server dies in the middle of the copy ----------------------------------
HK=$T/homek
"$BIN" --home "$HK" install --db sqlite >/dev/null
"$BIN" --home "$HK" connector add src1 --type ldif --url "$T/dummy.ldif" >/dev/null
sqlite3 "$HK/idsync.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
  INSERT INTO cs_objects(connector_id, anchor, dn, object_type, attrs, updated_at)
  SELECT 1, randomblob(16), 'CN=User ' || i || ',DC=example,DC=test', 'user', randomblob(300), 0 FROM n;"
sqlite3 "$HK/idsync.db" .sha3sum >"$T/shak"
cp "$HK/idsync.conf" "$T/confk"
"$SRC/tests/peers/start-pg.sh" "$T/pgk" "$KPORT" >/dev/null
set +e
"$BIN" --home "$HK" db move --to "postgresql://test@127.0.0.1:$KPORT/testdb" --db-password-file "$T/pgpw" \
  >"$T/kout" 2>"$T/kerr" &
MOVE_PID=$!
IT_PIDS+=("$MOVE_PID")
set -e
# wait until the copy has created the schema, let it insert for a moment, then stop the server
for _ in $(seq 1 200); do
  [ "$(pgsql "$KPORT" testdb "SELECT count(*) FROM information_schema.tables WHERE table_name='cs_objects'" 2>/dev/null)" = 1 ] && break
  sleep 0.05
done
sleep 0.5
"$SRC/tests/peers/stop.sh" "$T/pgk" >/dev/null
set +e; wait "$MOVE_PID"; KRC=$?; set -e; MOVE_PID=
sed 's/^/     | /' "$T/kerr"
check "a move whose PostgreSQL server dies mid-copy fails" test "$KRC" -ne 0
check "  ... saying the server keeps its old database" has "$T/kerr" "still uses its old database"
check "  ... and that the partial copy must be dropped" has "$T/kerr" "drop its tables"
check "  ... idsync.conf unchanged" cmp -s "$HK/idsync.conf" "$T/confk"
check "  ... the old SQLite file is untouched" eq "$(sqlite3 "$HK/idsync.db" .sha3sum)" "$(cat "$T/shak")"
run --home "$HK" status --json
check "  ... status works on the old database" eq "$(jq -r '.connectors[0].objects' "$T/out")" 300000

it_finish
