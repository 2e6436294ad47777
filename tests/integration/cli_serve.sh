#!/bin/bash
# `idsync serve`: runs cycles on its schedule, holds the ownership lease while it runs (a second process of
# the same server is refused with exit 4, nothing written), and on SIGTERM finishes the current batch, releases
# the lease and exits 0. Uses an ldif connector (a file as the directory), so no server is needed.
set -euo pipefail
BIN=${IDSYNC_BIN:?set by ctest}
T=$(mktemp -d /tmp/idsync-serve.XXXXXX)
SERVE_PID=
cleanup() { [ -n "$SERVE_PID" ] && kill -KILL "$SERVE_PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
H=$T/home
"$BIN" --home "$H" -q install --db sqlite >/dev/null
cat >"$T/dir.ldif" <<'LDIF'
dn: uid=a,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
entryUUID: 11111111-1111-1111-1111-111111111111
uid: a
cn: A
sn: A
mail: a@example.test

LDIF
"$BIN" --home "$H" -q connector add files --type ldif --url "$T/dir.ldif" >/dev/null
"$BIN" --home "$H" serve --interval 1 >"$T/serve.out" 2>"$T/serve.err" &
SERVE_PID=$!
for _ in $(seq 1 100); do
  "$BIN" --home "$H" history --json 2>/dev/null | grep -q '"profile": "full-sync"' && break
  sleep 0.1
done
"$BIN" --home "$H" history --json | grep -q '"profile": "full-sync"' || fail "serve ran no cycle: $(cat "$T/serve.err")"
rc=0; "$BIN" --home "$H" cycle >"$T/cycle.out" 2>"$T/cycle.err" || rc=$?
[ "$rc" = 4 ] || fail "a cycle while serve runs should be refused with exit 4, got $rc"
grep -q "another idsync process" "$T/cycle.err" || fail "refusal does not say why: $(cat "$T/cycle.err")"
kill -TERM "$SERVE_PID"
for _ in $(seq 1 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SERVE_PID" 2>/dev/null && fail "serve did not stop within 10 s of SIGTERM"
rc=0; wait "$SERVE_PID" || rc=$?
SERVE_PID=
[ "$rc" = 0 ] || fail "serve exited $rc after SIGTERM: $(cat "$T/serve.err")"
"$BIN" --home "$H" db info --json | grep -q '"lease_live": false' || fail "serve left a live lease behind"
n=$("$BIN" --home "$H" mv search mail=a@example.test --json | grep -c '"object_type": "person"')
[ "$n" = 1 ] || fail "the directory's user is not in the metaverse after serve's cycles"
"$BIN" --home "$H" cycle >/dev/null || fail "a cycle after serve stopped should run"
echo "cli_serve: ok"
