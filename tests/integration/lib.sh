# Shared bash helpers for integration tests (sourced, not run): temp dir, cleanup trap that stops every
# peer started here by PID, peer starters, `idsync` runner, SCIM/LDAP helpers, assertions with clear messages.
# Usage in a test:   . "$(dirname "$0")/lib.sh"; it_init NAME; ...; it_finish
# Env (from ctest): IDSYNC_BIN, IDSYNC_SRC, IDSYNC_BUILD. KEEP_TMP=1 keeps the temp dir for debugging.
# Works with `set -euo pipefail`: every assertion runs its command inside `if`, so a failing check is counted,
# not fatal; helpers that must succeed (peer start, setup) exit the test with a message instead.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then echo "lib.sh holds helpers for the other tests; nothing to run"; exit 0; fi
BIN=${IDSYNC_BIN:?set IDSYNC_BIN to the idsync binary}
SRC=${IDSYNC_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
IT_PEERS=()      # peer state directories started by it_start_* (stopped by PID in it_cleanup)
IT_PIDS=()       # other background PIDs started by the test
FAILS=0
IT_NAME=test
T=

# it_init NAME: temp dir in $T, cleanup trap, checks for the tools every test needs.
it_init() {
  IT_NAME=$1
  local tool
  for tool in jq curl ldapadd; do
    command -v "$tool" >/dev/null || { echo "$IT_NAME: $tool is required" >&2; exit 1; }
  done
  [ -x "$BIN" ] || { echo "$IT_NAME: IDSYNC_BIN=$BIN is not executable" >&2; exit 1; }
  T=$(mktemp -d "/tmp/idsync-$IT_NAME.XXXXXX")
  chmod 755 "$T"
  trap it_cleanup EXIT
  trap 'exit 143' TERM; trap 'exit 130' INT   # a ctest timeout still runs it_cleanup (peers run in their own sessions)
  IT_T0=$(date +%s)
}

it_cleanup() {
  local rc=$? d p
  for p in "${IT_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for d in "${IT_PEERS[@]}"; do bash "$SRC/tests/peers/stop.sh" "$d" >/dev/null 2>&1 || true; done
  if [ -n "${KEEP_TMP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
  exit "$rc"
}

# it_finish: prints the summary and exits non-zero when a check failed.
it_finish() {
  echo "$IT_NAME: $FAILS failure(s) in $(($(date +%s) - IT_T0)) s"
  [ "$FAILS" -eq 0 ]
}

die() { echo "FATAL - $IT_NAME: $*" >&2; [ -f "$T/err" ] && sed 's/^/     | /' "$T/err" >&2; exit 1; }
step() { echo "# $* ($(($(date +%s) - IT_T0)) s)"; }

# ---------- assertions ----------
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
# check WHAT CMD...: runs CMD; counts a failure (with the helper's explanation on stderr) when it fails.
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
eq() { [ "$1" = "$2" ] || { echo "     expected [$2], got [$1]" >&2; return 1; }; }
ne() { [ "$1" != "$2" ] || { echo "     expected anything but [$2]" >&2; return 1; }; }
has() { grep -qF -- "$2" "$1" || { echo "     [$2] not in $1:" >&2; head -20 "$1" | sed 's/^/     | /' >&2; return 1; }; }
hasnt() { ! grep -qF -- "$2" "$1" || { echo "     [$2] unexpectedly in $1:" >&2; grep -F -- "$2" "$1" | head -5 | sed 's/^/     | /' >&2; return 1; }; }
has_re() { grep -Eq -- "$2" "$1" || { echo "     /$2/ not in $1:" >&2; head -20 "$1" | sed 's/^/     | /' >&2; return 1; }; }
# jtrue FILE JQ: the jq expression evaluates to true on the JSON in FILE.
jtrue() {
  [ "$(jq -r "$2" "$1" 2>&1)" = true ] || { echo "     jq [$2] is not true on $1:" >&2; head -c 600 "$1" | sed 's/^/     | /' >&2; echo >&2; return 1; }
}

# ---------- idsync ----------
# run ARGS...: runs idsync; stdout in $T/out, stderr in $T/err, exit code in $RC (never fatal).
RC=0
run() { set +e; "$BIN" "$@" >"$T/out" 2>"$T/err" </dev/null; RC=$?; set -e; }
# must ARGS...: runs idsync and stops the test with its stderr when it fails.
must() { run "$@"; [ "$RC" -eq 0 ] || die "idsync $* exited $RC"; }
# secret FILE VALUE: writes a secret file (mode 0600), trailing newline as an admin would write it.
secret() { (umask 077; printf '%s\n' "$2" >"$1"); }

# ---------- peers ----------
it_start_slapd() {   # DIR PORT
  IT_PEERS+=("$1")
  bash "$SRC/tests/peers/start-slapd.sh" "$1" "$2" >/dev/null || die "slapd did not start on 127.0.0.1:$2"
}
it_start_scim() {    # DIR PORT TOKEN
  IT_PEERS+=("$1")
  bash "$SRC/tests/peers/start-scim.sh" "$1" "$2" "$3" >/dev/null || die "SCIM server did not start on 127.0.0.1:$2"
}
it_start_pg() {      # DIR PORT
  IT_PEERS+=("$1")
  bash "$SRC/tests/peers/start-pg.sh" "$1" "$2" >/dev/null || die "PostgreSQL did not start on 127.0.0.1:$2"
}
# it_start_samba DIR: Samba AD DC on 127.0.0.1:389; waits up to 2 minutes while another test holds 389.
it_start_samba() {
  export SAMBA_TEMPLATE=${SAMBA_TEMPLATE:-/tmp/idsync-samba-template}
  [ "$(id -u)" = 0 ] || die "Samba AD needs root (it binds 127.0.0.1:389)"
  local i
  for i in $(seq 1 120); do
    if ! (exec 3<>/dev/tcp/127.0.0.1/389) 2>/dev/null; then break; fi
    [ "$i" = 1 ] && echo "# 127.0.0.1:389 is busy (another test's Samba?); waiting up to 2 minutes"
    sleep 1
  done
  IT_PEERS+=("$1")
  bash "$SRC/tests/peers/start-samba.sh" "$1" >/dev/null || die "Samba AD DC did not start on 127.0.0.1:389"
}

# ---------- SCIM server helpers (set SCIM_URL, SCIM_ADMIN, SCIM_TOKEN first) ----------
scim() { curl -s -H "Authorization: Bearer $SCIM_TOKEN" -H 'Content-Type: application/scim+json' "$@"; }
# scim_get PATH: GET $SCIM_URL/PATH
scim_get() { scim "$SCIM_URL/$1"; }
# scim_all Users|Groups FILE: every resource (paged) as one JSON array in FILE.
scim_all() {
  local start=1 n total
  echo '[]' >"$2"
  while :; do
    scim "$SCIM_URL/$1?startIndex=$start&count=500" >"$T/page.json"
    n=$(jq '.Resources // [] | length' "$T/page.json"); total=$(jq '.totalResults' "$T/page.json")
    jq -s '.[0] + (.[1].Resources // [])' "$2" "$T/page.json" >"$2.tmp" && mv "$2.tmp" "$2"
    start=$((start + n))
    { [ "$n" -eq 0 ] || [ "$start" -gt "$total" ]; } && break
  done
}
scim_stats() { curl -s "$SCIM_ADMIN/stats"; }
# scim_stat JQ: one value from /admin/stats (e.g. '.writes["create Users"] // 0').
scim_stat() { curl -s "$SCIM_ADMIN/stats" | jq -r "$1"; }
scim_reset_stats() { curl -s -XDELETE "$SCIM_ADMIN/stats" >/dev/null; }
scim_faults() { curl -s -XPOST -H 'Content-Type: application/json' "$SCIM_ADMIN/faults" -d "$1" >/dev/null; }
scim_clear_faults() { curl -s -XDELETE "$SCIM_ADMIN/faults" >/dev/null; }
# scim_writes: every write since the last reset as "kind=n" words, sorted ("create Users=2 update Groups=1").
scim_writes() { scim_stat '.writes | to_entries | map("\(.key)=\(.value)") | sort | join(",")'; }
# scim_write_requests: count of non-GET requests (POST/PUT/PATCH/DELETE, Bulk included).
scim_write_requests() { scim_stat '[.requests | to_entries[] | select(.key | test("^GET ") | not) | .value] | add // 0'; }

# ---------- OpenLDAP helpers (suffix dc=example,dc=test; set LDAP_URL first) ----------
LDAP_BASE=dc=example,dc=test
LDAP_ADMIN=cn=admin,dc=example,dc=test
LDAP_PW=secret
ldap_add() { ldapadd -x -H "$LDAP_URL" -D "$LDAP_ADMIN" -w "$LDAP_PW" >/dev/null; }      # LDIF on stdin
ldap_modify() { ldapmodify -x -H "$LDAP_URL" -D "$LDAP_ADMIN" -w "$LDAP_PW" >/dev/null; } # LDIF on stdin
ldap_delete() { ldapdelete -x -H "$LDAP_URL" -D "$LDAP_ADMIN" -w "$LDAP_PW" "$@" >/dev/null; }
# ldap_uuid DN: the entry's entryUUID.
ldap_uuid() { ldapsearch -x -LLL -H "$LDAP_URL" -D "$LDAP_ADMIN" -w "$LDAP_PW" -b "$1" -s base entryUUID | sed -n 's/^entryUUID: //p'; }
# ldap_people_ldif FROM TO [PREFIX]: inetOrgPerson uid=PREFIXi,ou=people (i = FROM..TO): cn "User i",
# givenName Gi, sn Si, title Ti, mail PREFIXi@example.test except when i % 25 == 0 (no mail: the
# default rules then make the UPN uid@example.test).
ldap_people_ldif() {
  awk -v a="$1" -v b="$2" -v p="${3:-u}" -v base="$LDAP_BASE" 'BEGIN {
    for (i = a; i <= b; i++) {
      printf "dn: uid=%s%d,ou=people,%s\nobjectClass: inetOrgPerson\nuid: %s%d\ncn: User %d\ngivenName: G%d\nsn: S%d\ntitle: T%d\n", p, i, base, p, i, i, i, i, i
      if (i % 25 != 0) printf "mail: %s%d@example.test\n", p, i
      printf "\n"
    } }'
}
# ldap_groups_ldif N [PREFIX]: groupOfNames cn=gk,ou=groups (k = 1..N) whose members are users
# (k-1)*10+1 .. (k-1)*10+(k%10)+1, so group k has k%10+1 members and the groups are disjoint.
ldap_groups_ldif() {
  awk -v n="$1" -v p="${2:-u}" -v base="$LDAP_BASE" 'BEGIN {
    for (k = 1; k <= n; k++) {
      printf "dn: cn=g%d,ou=groups,%s\nobjectClass: groupOfNames\ncn: g%d\n", k, base, k
      for (j = 1; j <= k % 10 + 1; j++) printf "member: uid=%s%d,ou=people,%s\n", p, (k - 1) * 10 + j, base
      printf "\n"
    } }'
}
