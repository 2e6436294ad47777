#!/bin/bash
# Throwaway PostgreSQL cluster on loopback for tests (idsync copy of ../shared/peers/start-pg.sh).
# usage: start-pg.sh DIR PORT [IP]   prints postmaster PID (also DIR/server.pid); stop: stop.sh DIR
# Keep DIR short (the socket DIR/sock/.s.PGSQL.PORT must fit in ~107 characters): use /tmp.
# Creates (first time) role $PG_USER/$PG_PASS (default test/testpass) and database $PG_DB (testdb).
# As root the server runs as user 'postgres' (initdb refuses root); as non-root it runs as you.
set -euo pipefail
DIR=${1:?usage: start-pg.sh DIR PORT [IP]}; PORT=${2:?port}; IP=${3:-127.0.0.1}
PG_USER=${PG_USER:-test}; PG_PASS=${PG_PASS:-testpass}; PG_DB=${PG_DB:-testdb}
case "$IP" in 127.*) ;; *) echo "refusing non-loopback IP $IP" >&2; exit 2;; esac
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[ -n "$BIN" ] && [ -x "$BIN/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 3; }
if [ -f "$DIR/server.pid" ] && kill -0 "$(cat "$DIR/server.pid")" 2>/dev/null; then
  echo "a server from $DIR is already running (PID $(cat "$DIR/server.pid")); stop it first" >&2; exit 1
fi
mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
if [ "$(id -u)" = 0 ]; then chown postgres: "$DIR"; AS=(runuser -u postgres --); else AS=(); fi
if [ ! -f "$DIR/data/PG_VERSION" ]; then
  "${AS[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
     --no-sync --no-instructions -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
     || { cat "$DIR/initdb.log" >&2; exit 1; }
  NEW=1
fi
"${AS[@]}" mkdir -p "$DIR/sock"
# fsync=off etc.: test-only speedups. listen only on the loopback IP; socket in DIR/sock.
# Test ports sit below the ephemeral range (32768+); should a client connection still hold
# the port for a moment: retry a start that failed only because the address was in use.
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  if "${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/pg.log" -w -t 30 start \
       -o "-c listen_addresses=$IP -p $PORT -k $DIR/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
       >"$DIR/pg_ctl.log" 2>&1; then break; fi
  if [ "$attempt" -lt 10 ] && tail -5 "$DIR/pg.log" 2>/dev/null | grep -q "Address already in use"; then sleep 1; continue; fi
  cat "$DIR/pg_ctl.log" "$DIR/pg.log" >&2; exit 1
done
PID=$(head -1 "$DIR/data/postmaster.pid")
echo "$PID" >"$DIR/server.pid"; echo INT >"$DIR/stop.signal"   # SIGINT = fast shutdown
if [ "${NEW:-0}" = 1 ]; then
  "${AS[@]}" "$BIN/psql" -h "$DIR/sock" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE ROLE \"$PG_USER\" LOGIN PASSWORD '$PG_PASS'" \
    -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\"" >/dev/null
fi
echo "$PID"
