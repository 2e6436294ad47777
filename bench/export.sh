#!/bin/bash
# Benchmark: N users (default 100,000) exported to the test SCIM server by the SCIM connector
# (tool_scim_probe: soft match + POST one by one, then through /Bulk) versus a plain keep-alive HTTP
# load client POSTing the same payloads with the same concurrency. Each run starts from an empty server.
# usage: bench/export.sh [COUNT] [CONCURRENCY] [BATCH]     env: BUILD (a build dir with tool_scim_probe;
#        default: builds bench's own optimised, unsanitized one), PORT (default 18444)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${1:-100000}; CONC=${2:-8}; BATCH=${3:-1000}
PORT=${PORT:-18444}
if [ -z "${BUILD:-}" ]; then
  BUILD=$SRC/build-bench
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DIDSYNC_SANITIZE=OFF >/dev/null
  cmake --build "$BUILD" --target tool_scim_probe -j2 >/dev/null
fi
T=$(mktemp -d /tmp/idsync-scim-bench.XXXXXX)
trap '[ -f "$T/srv/server.pid" ] && kill "$(cat "$T/srv/server.pid")" 2>/dev/null; rm -rf "$T"' EXIT
echo -n bench-token >"$T/token"
URL=http://127.0.0.1:$PORT/scim/v2
"$SRC/tests/peers/start-scim.sh" "$T/srv" "$PORT" bench-token >/dev/null
reset() { curl -s -XPOST "http://127.0.0.1:$PORT/admin/reset" >/dev/null; }
users() { curl -s "http://127.0.0.1:$PORT/admin/stats" | sed -n 's/.*"users":\([0-9]*\).*/\1/p'; }
echo "exporting $COUNT users, concurrency $CONC, batches of $BATCH ($(nproc) cores, server and client on one machine)"
reset
L=$(node "$SRC/bench/export_load.js" "$URL" "$T/token" "$COUNT" "$CONC" plain)
echo "plain HTTP client (POST only):        $L  server_users=$(users)"
reset
P=$("$BUILD/tool_scim_probe" --url "$URL" --token-file "$T/token" --opt concurrency="$CONC" --opt bulk=off \
    --gen-users "$COUNT" --batch "$BATCH" --quiet | grep '^EXPORT')
echo "connector, one request per user:      $P  server_users=$(users)"
reset
P=$("$BUILD/tool_scim_probe" --url "$URL" --token-file "$T/token" --opt concurrency="$CONC" --opt bulk=auto \
    --gen-users "$COUNT" --batch "$BATCH" --quiet | grep '^EXPORT')
echo "connector, through /Bulk:             $P  server_users=$(users)"
