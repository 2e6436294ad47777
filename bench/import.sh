#!/bin/bash
# Benchmark: idsync full import of N entries (default 100,000) from slapd into the embedded SQLite
# database, compared in the same run with `ldapsearch -E pr=1000/noprompt` reading the same entries to
# /dev/null (best of RUNS=3 each, alternating, every run into a new empty database); then a delta
# import (RFC 4533) after 100 changes.
# usage: bench/import.sh [COUNT]     env: IDSYNC_BIN (default: builds build-bench/ in Release), PORT (28990), RUNS (3)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${1:-100000}
PORT=${PORT:-28990}
if [ -z "${IDSYNC_BIN:-}" ]; then
  cmake -S "$SRC" -B "$SRC/build-bench" -DCMAKE_BUILD_TYPE=Release -DIDSYNC_SANITIZE=OFF >/dev/null
  cmake --build "$SRC/build-bench" --target idsync -j2 >/dev/null
  IDSYNC_BIN=$SRC/build-bench/idsync
fi
T=$(mktemp -d /tmp/idsync-import-bench.XXXXXX)
trap '"$SRC/tests/peers/stop.sh" "$T/slapd" >/dev/null 2>&1 || true; rm -rf "$T"' EXIT
SLAPD_MAXSIZE=4294967296 "$SRC/tests/peers/start-slapd.sh" "$T/slapd" "$PORT" >/dev/null
URL=ldap://127.0.0.1:$PORT
python3 - "$COUNT" >"$T/users.ldif" <<'PY'
import sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(n):
    out.write(f"dn: uid=u{i},ou=people,dc=example,dc=test\nobjectClass: inetOrgPerson\nuid: u{i}\ncn: User {i}\n"
              f"sn: Last{i}\ngivenName: First{i}\nmail: u{i}@example.test\ntitle: Title {i % 50}\n"
              f"telephoneNumber: +1 555 {i:07d}\nemployeeNumber: {i}\n\n")
PY
t0=$(date +%s.%N)
ldapadd -x -H "$URL" -D cn=admin,dc=example,dc=test -w secret -f "$T/users.ldif" >/dev/null
t1=$(date +%s.%N)
echo "loaded $COUNT entries into slapd in $(echo "$t1 - $t0" | bc) s"
printf secret >"$T/pw"
H=$T/home
fresh_home() {
  rm -rf "$H"
  "$IDSYNC_BIN" --home "$H" --quiet install --db sqlite >/dev/null
  "$IDSYNC_BIN" --home "$H" --quiet connector add corp --type ldap --url "$URL" --base dc=example,dc=test \
    --bind-dn cn=admin,dc=example,dc=test --password-file "$T/pw" >/dev/null
}
# Each timing starts after `sync`, so neither side pays for the other's disk writeback.
time_cmd() { local s e; sync; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
min() { printf '%s\n' "$@" | sort -n | head -1; }
# Warm the directory's caches first, so neither side pays for the other's cold reads.
ldapsearch -x -LLL -H "$URL" -D cn=admin,dc=example,dc=test -w secret -b dc=example,dc=test \
  -E pr=1000/noprompt '(objectClass=*)' '*' '+' >/dev/null
# Best of RUNS (default 3) for both sides, alternating: a 2-core machine's timings are noisy.
LSS=() IDS=()
for _ in $(seq 1 "${RUNS:-3}"); do
  LSS+=("$(time_cmd ldapsearch -x -LLL -H "$URL" -D cn=admin,dc=example,dc=test -w secret -b dc=example,dc=test \
       -E pr=1000/noprompt '(objectClass=*)' '*' '+')")
  fresh_home
  IDS+=("$(time_cmd "$IDSYNC_BIN" --home "$H" --quiet run corp full-import)")
done
LS=$(min "${LSS[@]}") ID=$(min "${IDS[@]}")
echo "ldapsearch paged (pr=1000) to /dev/null:   $LS s   (runs: ${LSS[*]})"
echo "idsync full import into SQLite:           $ID s   (runs: ${IDS[*]})   ratio $(echo "scale=2; $ID / $LS" | bc)x"
python3 - >"$T/changes.ldif" <<'PY'
for i in range(0, 100):
    print(f"dn: uid=u{i * 97},ou=people,dc=example,dc=test\nchangetype: modify\nreplace: title\ntitle: Changed {i}\n")
PY
ldapmodify -x -H "$URL" -D cn=admin,dc=example,dc=test -w secret -f "$T/changes.ldif" >/dev/null
DI=$(time_cmd "$IDSYNC_BIN" --home "$H" --quiet run corp delta-import)
echo "idsync delta import of 100 changes:       $DI s"
"$IDSYNC_BIN" --home "$H" history --limit 1 | head -1
