#!/bin/bash
# Integration test of `idsync staging`, `signin`, `phs` and `writeback`: each setting round-trips through the
# database (status shows it too), bad verbs and methods are usage errors (exit 2) that change nothing, and
# read-only verbs work without the server key.
# env: IDSYNC_BIN. Needs sqlite3 and jq.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # ok/bad/check/eq/has/run, $T removed on exit
it_init lifecycle-settings
command -v sqlite3 >/dev/null || { echo "sqlite3 is required"; exit 1; }
# every command of this test runs on one home
run() { set +e; "$BIN" --home "$H" "$@" >"$T/out" 2>"$T/err"; RC=$?; set -e; }
meta() { sqlite3 "$H/idsync.db" "SELECT value FROM meta WHERE key = '$1'"; }
st() { "$BIN" --home "$H" status --json | jq -r "$1"; }

H=$T/home
"$BIN" --home "$H" install --db sqlite >/dev/null

# --- staging -----------------------------------------------------------------------------------------
run staging status --json
check "staging is off after install" eq "$(jq -r .staging_mode "$T/out")" false
run staging on
check "staging on succeeds" eq "$RC" 0
check "  ... stored as staging_mode 1" eq "$(meta staging_mode)" 1
check "  ... status shows it" eq "$(st .staging_mode)" true
run staging status --json
check "  ... staging status --json says on" eq "$(jq -r .staging_mode "$T/out")" true
check "  ... and counts pending exports" eq "$(jq -r .pending_exports "$T/out")" 0
run staging off --json
check "staging off --json says off" eq "$(jq -r .staging_mode "$T/out")" false
check "  ... stored as staging_mode 0" eq "$(meta staging_mode)" 0
run staging maybe
check "an unknown staging verb is a usage error" eq "$RC" 2
check "  ... and changes nothing" eq "$(meta staging_mode)" 0

# --- sign-in method ----------------------------------------------------------------------------------
run signin show --json
check "sign-in method is none after install" eq "$(jq -r .signin_method "$T/out")" none
for m in phs pta federation none; do
  run signin set $m
  check "signin set $m succeeds" eq "$RC" 0
  check "  ... stored" eq "$(meta signin_method)" $m
  run signin show --json
  check "  ... signin show --json reads it back" eq "$(jq -r .signin_method "$T/out")" $m
done
run signin set pta
check "status shows the sign-in method" eq "$(st .signin_method)" pta
run signin set kerberos
check "an unknown sign-in method is a usage error" eq "$RC" 2
check "  ... naming the valid ones" has "$T/err" "phs, pta, federation or none"
check "  ... and changes nothing" eq "$(meta signin_method)" pta
run signin set
check "signin set without a method is a usage error" eq "$RC" 2
run signin set phs
check "signin set phs while hash sync is off notes it" has "$T/out" "phs enable"

# --- password hash sync and writeback ---------------------------------------------------------------
for f in phs writeback; do
  key=${f}_enabled; [ $f = phs ] && jk=password_hash_sync || jk=password_writeback
  run $f enable
  check "$f enable succeeds" eq "$RC" 0
  check "  ... stored as $key 1" eq "$(meta $key)" 1
  check "  ... status shows it" eq "$(st .$jk)" true
  run $f status --json
  check "  ... $f status --json reads it back" eq "$(jq -r .$jk "$T/out")" true
  run $f disable --json
  check "$f disable --json says disabled" eq "$(jq -r .$jk "$T/out")" false
  check "  ... stored as $key 0" eq "$(meta $key)" 0
  run $f toggle
  check "an unknown $f verb is a usage error" eq "$RC" 2
  run $f enable extra
  check "$f enable with an extra argument is a usage error" eq "$RC" 2
  check "  ... and changes nothing" eq "$(meta $key)" 0
done

# --- read-only verbs need no key; writes do -----------------------------------------------------------
mv "$H/server.key" "$H/server.key.away"
run staging status
check "staging status works without the server key" eq "$RC" 0
run staging on
check "staging on needs the server key" test "$RC" -ne 0
check "  ... and changes nothing" eq "$(meta staging_mode)" 0
mv "$H/server.key.away" "$H/server.key"

it_finish
