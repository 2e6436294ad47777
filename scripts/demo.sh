#!/bin/bash
# idsync in five minutes: a throwaway OpenLDAP directory with 1,000 users and 50 groups, a SCIM 2.0
# server, and an idsync server (SQLite) that syncs one into the other. Everything runs on 127.0.0.1
# under one temporary folder; servers are stopped by PID at the end unless --keep is given.
# usage: scripts/demo.sh [--keep] [--users N] [--groups N]
# env:   IDSYNC_BIN (default build/idsync), DEMO_DIR (default a new /tmp/idsync-demo.XXXXXX),
#        DEMO_LDAP_PORT (default 13389), DEMO_SCIM_PORT (default 13480)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${IDSYNC_BIN:-$ROOT/build/idsync}
PEERS=$ROOT/tests/peers
LDAP_PORT=${DEMO_LDAP_PORT:-13389}
SCIM_PORT=${DEMO_SCIM_PORT:-13480}
KEEP=0 NUSERS=1000 NGROUPS=50
while [ $# -gt 0 ]; do
  case $1 in
    --keep) KEEP=1 ;;
    --users) NUSERS=${2:?--users needs a number}; shift ;;
    --groups) NGROUPS=${2:?--groups needs a number}; shift ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$NUSERS" =~ ^[0-9]+$ && "$NGROUPS" =~ ^[0-9]+$ && "$NUSERS" -ge 1 && "$NGROUPS" -ge 1 ]] \
  || { echo "demo: --users and --groups take positive numbers" >&2; exit 2; }
[ -x "$BIN" ] || { echo "demo: no idsync binary at $BIN; run \`make build\` (or set IDSYNC_BIN)" >&2; exit 1; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$LDAP_PORT" "$SCIM_PORT"; do
  if port_busy "$p"; then
    echo "demo: port $p on 127.0.0.1 is in use; pick others with DEMO_LDAP_PORT / DEMO_SCIM_PORT" >&2; exit 1
  fi
done

DEMO=${DEMO_DIR:-$(mktemp -d /tmp/idsync-demo.XXXXXX)}
mkdir -p "$DEMO"; chmod 700 "$DEMO"
H=$DEMO/home
idsync() { "$BIN" --home "$H" "$@"; }
cleanup() {
  local rc=$?
  if [ "$KEEP" = 1 ] && [ "$rc" -eq 0 ]; then return; fi
  "$PEERS/stop.sh" "$DEMO/scim" >/dev/null 2>&1 || true
  "$PEERS/stop.sh" "$DEMO/ldap" >/dev/null 2>&1 || true
  if [ "$rc" -eq 0 ] && [ -z "${DEMO_DIR:-}" ]; then rm -rf "$DEMO"; fi
  [ "$rc" -eq 0 ] || echo "demo: failed (exit $rc); logs and state kept in $DEMO" >&2
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# --- 1. an idsync server with an embedded SQLite sync database -----------------------------------
say "Installing an idsync server in $H (SQLite)"
idsync install --db sqlite
idsync status

# --- 2. the source directory: OpenLDAP with generated users and groups ---------------------------
say "Starting OpenLDAP on ldap://127.0.0.1:$LDAP_PORT with $NUSERS users and $NGROUPS groups"
LDAP_PW=secret        # the throwaway directory's admin password (tests/peers/start-slapd.sh default)
printf '%s' "$LDAP_PW" >"$DEMO/ldap.pw"; chmod 600 "$DEMO/ldap.pw"
SLAPD_PW=$LDAP_PW "$PEERS/start-slapd.sh" "$DEMO/ldap" "$LDAP_PORT" >/dev/null
awk -v users="$NUSERS" -v groups="$NGROUPS" '
  BEGIN {
    split("Ada Alan Grace Edsger Barbara Donald Frances Ken Radia Tim Margaret John Hedy Dennis Sophie Linus", gn, " ")
    split("Lovelace Turing Hopper Dijkstra Liskov Knuth Allen Thompson Perlman Berners-Lee Hamilton Backus Lamarr Ritchie Wilson Torvalds", sn, " ")
    split("Engineering Sales Finance Support Marketing Legal", dept, " ")
    for (i = 1; i <= users; i++) {
      uid = sprintf("user%05d", i); g = gn[(i - 1) % 16 + 1]; s = sn[int((i - 1) / 16) % 16 + 1]
      printf "dn: uid=%s,ou=people,dc=example,dc=test\n", uid
      printf "objectClass: inetOrgPerson\nuid: %s\ncn: %s %s %d\ngivenName: %s\nsn: %s\n", uid, g, s, i, g, s
      printf "displayName: %s %s\nmail: %s@example.test\nemployeeNumber: %d\n", g, s, uid, 100000 + i
      printf "departmentNumber: %s\ntitle: %s specialist\n\n", dept[i % 6 + 1], dept[i % 6 + 1]
    }
    for (k = 1; k <= groups; k++) {
      printf "dn: cn=group%03d,ou=groups,dc=example,dc=test\nobjectClass: groupOfNames\ncn: group%03d\n", k, k
      printf "description: demo group %d\n", k
      # every user is in group (i mod groups)+1; a group with no users gets the first one
      n = 0
      for (i = k; i <= users; i += groups) { printf "member: uid=user%05d,ou=people,dc=example,dc=test\n", i; n++ }
      if (!n) printf "member: uid=user00001,ou=people,dc=example,dc=test\n"
      printf "\n"
    }
  }' >"$DEMO/directory.ldif"
ldapadd -x -c -H "ldap://127.0.0.1:$LDAP_PORT" -D cn=admin,dc=example,dc=test -y "$DEMO/ldap.pw" \
  -f "$DEMO/directory.ldif" >"$DEMO/ldapadd.log" 2>&1 || { tail -5 "$DEMO/ldapadd.log" >&2; exit 1; }
count=$(ldapsearch -x -LLL -H "ldap://127.0.0.1:$LDAP_PORT" -D cn=admin,dc=example,dc=test -y "$DEMO/ldap.pw" \
  -b dc=example,dc=test '(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))' dn | grep -c '^dn:')
echo "directory holds $count users and groups"

# --- 3. the target: a SCIM 2.0 server -------------------------------------------------------------
say "Starting a SCIM 2.0 server on http://127.0.0.1:$SCIM_PORT/scim/v2"
SCIM_TOKEN=demo-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s' "$SCIM_TOKEN" >"$DEMO/scim.token"; chmod 600 "$DEMO/scim.token"
printf 'Authorization: Bearer %s' "$SCIM_TOKEN" >"$DEMO/scim.header"; chmod 600 "$DEMO/scim.header"
# start-scim.sh takes the token as an argument; it is a throwaway token of a local test server.
"$PEERS/start-scim.sh" "$DEMO/scim" "$SCIM_PORT" "$SCIM_TOKEN" >/dev/null
scim_count() {   # total number of resources of type $1 on the SCIM server
  curl -sf -H "@$DEMO/scim.header" "http://127.0.0.1:$SCIM_PORT/scim/v2/$1?count=0" |
    sed -n 's/.*"totalResults":\([0-9]*\).*/\1/p'
}
echo "SCIM server holds $(scim_count Users) users and $(scim_count Groups) groups"

# --- 4. connectors --------------------------------------------------------------------------------
say "Adding the connectors"
idsync connector add corp --type ldap --url "ldap://127.0.0.1:$LDAP_PORT" --base dc=example,dc=test \
  --bind-dn cn=admin,dc=example,dc=test --password-file "$DEMO/ldap.pw"
idsync connector add cloud --type scim --url "http://127.0.0.1:$SCIM_PORT/scim/v2" --token-file "$DEMO/scim.token"
idsync connector list

# --- 5. the first (initial) sync cycle ------------------------------------------------------------
say "Running the initial sync cycle"
cycle_rc=0
idsync cycle --initial 2>"$DEMO/cycle.err" || cycle_rc=$?
cat "$DEMO/cycle.err" >&2
if [ "$cycle_rc" -ne 0 ] && grep -q 'not implemented' "$DEMO/cycle.err"; then
  echo "(this build has no sync cycle yet; the demo stops before the sync)"
  exit 0
elif [ "$cycle_rc" -ne 0 ]; then
  echo "demo: the sync cycle failed (exit $cycle_rc); see \`idsync history --errors\`" >&2; exit "$cycle_rc"
fi

# --- 6. the result --------------------------------------------------------------------------------
say "Result"
idsync status
idsync history --limit 5
users=$(scim_count Users) groups=$(scim_count Groups)
echo "SCIM server now holds $users users and $groups groups (directory: $NUSERS users, $NGROUPS groups)"
if [ "$users" != "$NUSERS" ] || [ "$groups" != "$NGROUPS" ]; then
  echo "demo: the SCIM server does not hold every user and group; see \`idsync history --errors\`" >&2; exit 1
fi

# --- 7. a change moves alone ----------------------------------------------------------------------
say "Changing one user in the directory, then a delta cycle"
printf '%s\n' 'dn: uid=user00001,ou=people,dc=example,dc=test' 'changetype: modify' 'replace: title' \
  'title: Chief Demo Officer' | ldapmodify -x -H "ldap://127.0.0.1:$LDAP_PORT" -D cn=admin,dc=example,dc=test \
  -y "$DEMO/ldap.pw" >/dev/null
idsync cycle
echo "The SCIM server's copy of user00001 now reads:"
curl -sf -H "@$DEMO/scim.header" \
  "http://127.0.0.1:$SCIM_PORT/scim/v2/Users?filter=userName%20eq%20%22user00001@example.test%22" |
  python3 -c 'import json,sys; u=json.load(sys.stdin)["Resources"][0]; print("  userName=%s title=%s" % (u["userName"], u.get("title")))'
echo "Metaverse object of that user (idsync mv search userPrincipalName=user00001@example.test):"
idsync mv search userPrincipalName=user00001@example.test

say "Next"
[ "$KEEP" = 1 ] || echo "(everything below is removed when the demo ends: rerun with --keep to try it)"
cat <<EOF
Try, with the same home:
  $BIN --home $H status
  $BIN --home $H connector show corp --json
  ldapmodify -x -H ldap://127.0.0.1:$LDAP_PORT -D cn=admin,dc=example,dc=test -y $DEMO/ldap.pw   # change a user
  $BIN --home $H cycle                          # a delta cycle moves only the change
  $BIN --home $H history --errors
  $BIN --home $H cs show corp --dn uid=user00001,ou=people,dc=example,dc=test
  $BIN --home $H mv search mail=user00001@example.test
  $BIN --home $H trace corp uid=user00001,ou=people,dc=example,dc=test
  $BIN --home $H export-preview
  $BIN --home $H db backup $DEMO/backup.idsync
EOF
if [ "$KEEP" = 1 ]; then
  cat <<EOF
Servers kept running. Stop them with:
  $PEERS/stop.sh $DEMO/ldap
  $PEERS/stop.sh $DEMO/scim
and remove $DEMO when done.
EOF
fi
