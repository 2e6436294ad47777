# Shared harness of the black-box CLI tests (sourced; not a test itself). The sourcing script sets
# CLI_TEST_NAME before sourcing. Provides $BIN, $WORK (removed on exit), FAILS, fail, pass, run, expect_err.
BIN=${IDSYNC_BIN:?IDSYNC_BIN must point at the idsync binary}
[ -x "$BIN" ] || { echo "FAIL: no idsync binary at $BIN (build the idsync target first)" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/idsync-${CLI_TEST_NAME:-cli}.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
# run NAME EXPECTED_RC CMD...: runs CMD, captures stdout/stderr in $WORK/NAME.{out,err}, checks the exit code.
run() {
  local name=$1 want=$2; shift 2
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null
  local rc=$?
  if [ "$rc" -ne "$want" ]; then
    fail "$name: exit $rc, expected $want; stderr: $(head -c 400 "$WORK/$name.err")"
    return 1
  fi
  return 0
}
# expect_err NAME REGEX: stderr of NAME matches REGEX (extended, case-insensitive).
expect_err() {
  if grep -Eqi -- "$2" "$WORK/$1.err"; then pass "$1: $2"; else fail "$1: stderr does not match /$2/: $(head -c 400 "$WORK/$1.err")"; fi
}
