#!/bin/bash
# Integration test of the `ldap` connector against a real slapd (syncprov): full import, RFC 4533
# delta (delete phase and present phase), OU scope, garbage cookie, auth/unreachable errors,
# timestamp watermark mode, value size limit, and export (add/modify/rename/delete).
# Needs: IDSYNC_SRC, IDSYNC_BUILD (tool_ldap_probe built). Uses 127.0.0.1:28902.
set -uo pipefail
SRC=${IDSYNC_SRC:?}; BUILD=${IDSYNC_BUILD:?}
PROBE=$BUILD/tool_ldap_probe
PORT=${LDAP_TEST_PORT:-28902}
[ -x "$PROBE" ] || { echo "missing $PROBE (build target tool_ldap_probe)"; exit 1; }
T=$(mktemp -d /tmp/idsync-ldaptest.XXXXXX)
cleanup() { bash "$SRC/tests/peers/stop.sh" "$T/slapd" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT
[ -n "${KEEP_TMP:-}" ] && trap "bash $SRC/tests/peers/stop.sh $T/slapd >/dev/null 2>&1; echo kept $T" EXIT
FAILS=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; FAILS=$((FAILS + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

bash "$SRC/tests/peers/start-slapd.sh" "$T/slapd" "$PORT" >/dev/null || { echo "slapd did not start"; exit 1; }
URL=ldap://127.0.0.1:$PORT
ADMIN=cn=admin,dc=example,dc=test
H=(-x -H "$URL" -D "$ADMIN" -w secret)
echo secret >"$T/pw"; echo wrong >"$T/badpw"
BASE=dc=example,dc=test
SCOPE=(--include ou=people,$BASE --include ou=groups,$BASE)
probe() { "$PROBE" --type ldap --url "$URL" --bind-dn "$ADMIN" --password-file "$T/pw" --base "$BASE" "$@"; }

ldapadd "${H[@]}" >/dev/null <<EOF
dn: ou=outside,$BASE
objectClass: organizationalUnit
ou: outside

$(for i in 1 2 3 4 5 6; do printf 'dn: uid=u%s,ou=people,%s\nobjectClass: inetOrgPerson\nuid: u%s\ncn: User %s\nsn: S%s\nmail: u%s@example.test\n\n' $i $BASE $i $i $i $i; done)

dn: uid=far,ou=outside,$BASE
objectClass: inetOrgPerson
uid: far
cn: Far
sn: Away

dn: cn=staff,ou=groups,$BASE
objectClass: groupOfNames
cn: staff
member: uid=u1,ou=people,$BASE
member: uid=u2,ou=people,$BASE
EOF

# --- full import -------------------------------------------------------------------------
probe "${SCOPE[@]}" --cookie-file "$T/c" --show member --show mail full >"$T/full" 2>"$T/full.err"
check "full import succeeds" "[ \$? -eq 0 ]"
check "full import: 2 OUs + 6 users + 1 group in scope" "[ \$(grep -c '^ADD' $T/full) -eq 9 ]"
check "full import: out-of-scope entry not reported" "! grep -q 'uid=far' $T/full"
check "full import: anchor is entryUUID text" "grep -Eq '^ADD	uid=u1,ou=people,$BASE	[0-9a-f]{8}-[0-9a-f]{4}-' $T/full"
check "full import: object type is the structural class" "grep -q '	inetOrgPerson	' $T/full && grep -q '	groupOfNames	' $T/full"
check "full import: member is a reference" "grep -q 'member=uid=u1,ou=people,$BASE|uid=u2,ou=people,$BASE(reference)' $T/full"
check "full import: mail is a string" "grep -q 'mail=u1@example.test(string)' $T/full"
check "full import: cookie is an RFC 4533 cookie" "grep -q '^sync:rid=' $T/c"
anchor() { grep -P "^\\w+\\t$1\\t" "$2" | cut -f3 | head -1; }
U1=$(anchor "uid=u1,ou=people,$BASE" "$T/full"); U3=$(anchor "uid=u3,ou=people,$BASE" "$T/full")
U6=$(anchor "uid=u6,ou=people,$BASE" "$T/full")

# --- delta: nothing changed ------------------------------------------------------------------
probe "${SCOPE[@]}" --cookie-file "$T/c" delta >"$T/d0" 2>/dev/null
check "delta without changes reports nothing" "[ \$? -eq 0 ] && ! grep -Eq '^(ADD|MODIFY|DELETE|PRESENT_DONE)' $T/d0"

# --- delta: add, modify, rename, move, move out of scope, delete, member add+remove -----------
ldapadd "${H[@]}" >/dev/null <<EOF
dn: uid=u7,ou=people,$BASE
objectClass: inetOrgPerson
uid: u7
cn: User 7
sn: S7
EOF
ldapmodify "${H[@]}" >/dev/null <<EOF
dn: uid=u1,ou=people,$BASE
changetype: modify
replace: sn
sn: Changed

dn: uid=u2,ou=people,$BASE
changetype: modrdn
newrdn: uid=u2b
deleteoldrdn: 0

dn: uid=u4,ou=people,$BASE
changetype: modrdn
newrdn: uid=u4
deleteoldrdn: 1
newsuperior: ou=groups,$BASE

dn: uid=u3,ou=people,$BASE
changetype: modrdn
newrdn: uid=u3
deleteoldrdn: 1
newsuperior: ou=outside,$BASE

dn: cn=staff,ou=groups,$BASE
changetype: modify
add: member
member: uid=u5,ou=people,$BASE
-
delete: member
member: uid=u1,ou=people,$BASE
EOF
ldapdelete "${H[@]}" "uid=u6,ou=people,$BASE"
probe "${SCOPE[@]}" --cookie-file "$T/c" --show sn --show member --no-present delta >"$T/d1" 2>"$T/d1.err"
check "delta succeeds (delete phase, no present list needed)" "[ \$? -eq 0 ]"
grep -Ev '^PRESENT' "$T/d1" >"$T/d1.changes"
check "delta: exactly 7 changes" "[ \$(wc -l <$T/d1.changes) -eq 7 ]"
check "delta: added entry" "grep -q '^ADD	uid=u7,ou=people,$BASE	' $T/d1.changes"
check "delta: modified entry with full attributes" "grep -q '^ADD	uid=u1,ou=people,$BASE	$U1	.*sn=Changed' $T/d1.changes"
check "delta: renamed entry under its new DN" "grep -q '^ADD	uid=u2b,ou=people,$BASE	' $T/d1.changes"
check "delta: moved entry under its new DN" "grep -q '^ADD	uid=u4,ou=groups,$BASE	' $T/d1.changes"
check "delta: moved out of scope -> DELETE" "grep -q '^DELETE	uid=u3,ou=outside,$BASE	$U3	' $T/d1.changes"
check "delta: deleted entry -> DELETE by entryUUID" "grep -q '^DELETE	-	$U6	' $T/d1.changes"
# (slapd has no referential integrity overlay here: the renamed u2 keeps its old DN in member)
check "delta: group members now u2 and u5" "grep -q '^ADD	cn=staff,ou=groups,$BASE	.*member=uid=u2,ou=people,$BASE|uid=u5,ou=people,$BASE(reference)' $T/d1.changes"
probe "${SCOPE[@]}" --cookie-file "$T/c" delta >"$T/d2" 2>/dev/null
check "second delta after the changes is empty" "! grep -Eq '^(ADD|MODIFY|DELETE)' $T/d2"

# --- present phase: the cookie predates slapd's session log -----------------------------------
cp "$T/c" "$T/c.old"
ldapmodify "${H[@]}" >/dev/null <<EOF
dn: uid=u5,ou=people,$BASE
changetype: modify
replace: sn
sn: Five
EOF
bash "$SRC/tests/peers/stop.sh" "$T/slapd" >/dev/null
bash "$SRC/tests/peers/start-slapd.sh" "$T/slapd" "$PORT" >/dev/null || { echo "slapd did not restart"; exit 1; }
ldapdelete "${H[@]}" "uid=u7,ou=people,$BASE"
cp "$T/c.old" "$T/c.np"
probe "${SCOPE[@]}" --cookie-file "$T/c.old" delta >"$T/d3" 2>"$T/d3.err"
check "present phase: delta succeeds and ends with PRESENT_DONE" "[ \$? -eq 0 ] && tail -1 $T/d3 | grep -q PRESENT_DONE"
U7=$(grep -P "^ADD\\tuid=u7," "$T/d1" | cut -f3)
U5=$(anchor "uid=u5,ou=people,$BASE" "$T/full")
if grep -q '^PRESENT_DONE' "$T/d3"; then
  check "present phase: deleted entry is not in the present set" "! grep -q 'PRESENT	$U7' $T/d3"
  check "present phase: surviving entries are present" "grep -q 'PRESENT	$U1' $T/d3 && grep -q 'PRESENT	$U5' $T/d3"
  # syncIdSet names entries by UUID only, so out-of-scope ones can be named: harmless,
  # the engine deletes what is NOT named
  check "present phase: entry deleted before the cookie is not present" "! grep -q 'PRESENT	$U6' $T/d3"
else
  # the server may still have covered the cookie with its session log (delete phase)
  check "delete phase instead: u7 deleted" "grep -q '^DELETE	-	$U7' $T/d3"
fi
probe "${SCOPE[@]}" --no-present --cookie-file "$T/c.np" delta >/dev/null 2>"$T/d4.err"; rc=$?
if grep -q '^PRESENT_DONE' "$T/d3"; then
  check "present phase without a present callback -> ERR_CORRUPT (exit 18)" "[ $rc -eq 18 ] && grep -q 'full import is required' $T/d4.err"
fi

# --- errors -----------------------------------------------------------------------------------
echo -n "garbage" >"$T/bad.cookie"
probe --cookie-file "$T/bad.cookie" delta >/dev/null 2>"$T/e1"; rc=$?
check "garbage cookie -> ERR_CORRUPT (exit 18)" "[ $rc -eq 18 ] && grep -q 'full import is required' $T/e1"
"$PROBE" --type ldap --url "$URL" --bind-dn "$ADMIN" --password-file "$T/badpw" --base "$BASE" full >/dev/null 2>"$T/e2"; rc=$?
check "wrong password -> ERR_AUTH (exit 17) with the fix" "[ $rc -eq 17 ] && grep -q 'invalid credentials; check the password with .idsync connector set-credentials' $T/e2"
check "wrong password: message does not contain the password" "! grep -q wrong $T/e2"
"$PROBE" --type ldap --url "ldap://127.0.0.1:1" --bind-dn "$ADMIN" --password-file "$T/pw" --base "$BASE" full >/dev/null 2>"$T/e3"; rc=$?
check "unreachable server -> ERR_RETRY (exit 16) naming the URL" "[ $rc -eq 16 ] && grep -q 'ldap://127.0.0.1:1' $T/e3"
probe --option starttls=true full >/dev/null 2>"$T/e4"; rc=$?
check "StartTLS against a server without TLS fails cleanly" "[ $rc -ne 0 ] && grep -q 'ERROR' $T/e4"

# --- SASL ---------------------------------------------------------------------------------------
# EXTERNAL over the ldapi:// socket: slapd maps this process's user to the rootdn; no DN, no password.
LDAPI="ldapi://$(printf '%s' "$T/slapd/ldapi" | sed 's|/|%2F|g')"
probe full >/dev/null 2>"$T/plain.err"
"$PROBE" --type ldap --url "$LDAPI" --option sasl_mech=EXTERNAL --base "$BASE" full >"$T/sasl" 2>"$T/sasl.err"; rc=$?
check "SASL EXTERNAL over ldapi:// imports what a simple bind imports" \
  "[ $rc -eq 0 ] && grep -o 'objects=[0-9]*' $T/plain.err >$T/n0 && [ -s $T/n0 ] && grep -qf $T/n0 $T/sasl.err"
"$PROBE" --type ldap --url "$URL" --option sasl_mech=GSSAPI --base "$BASE" full >/dev/null 2>"$T/gss.err"; rc=$?
check "an unavailable SASL mechanism -> ERR_USAGE (exit 12) naming it" \
  "[ $rc -eq 12 ] && grep -q 'SASL GSSAPI bind to $URL failed' $T/gss.err && grep -q 'supportedSASLMechanisms' $T/gss.err"
if [ -n "${IDSYNC_BIN:-}" ] && [ -x "${IDSYNC_BIN:-}" ]; then
  "$IDSYNC_BIN" --home "$T/home" --quiet install --db sqlite >/dev/null
  "$IDSYNC_BIN" --home "$T/home" --quiet connector add local --type ldap --url "$LDAPI" --base "$BASE" \
    --option sasl_mech=EXTERNAL >/dev/null
  "$IDSYNC_BIN" --home "$T/home" connector list --json >"$T/cl.json"
  check "idsync: a SASL EXTERNAL connector needs no credentials" \
    "jq -e '[.. | objects | select(.name? == \"local\")][0].credentials_required == false' $T/cl.json >/dev/null"
  "$IDSYNC_BIN" --home "$T/home" --quiet run local full-import >/dev/null 2>"$T/run.err"; rc=$?
  check "idsync: full import over ldapi:// with SASL EXTERNAL" "[ $rc -eq 0 ]"
fi

# --- value size limit, timestamp mode ----------------------------------------------------------
probe "${SCOPE[@]}" --option max_value_bytes=8 full >/dev/null 2>"$T/w1"
check "oversized value dropped with a warning" "grep -q 'exceeds max_value_bytes=8 and was dropped' $T/w1"
probe "${SCOPE[@]}" --option delta_mode=timestamp --option timestamp_margin=0 --cookie-file "$T/ts" full >/dev/null 2>&1
check "timestamp mode: watermark cookie" "grep -Eq '^ts:[0-9]{14}Z$' $T/ts"
sleep 1.1
ldapmodify "${H[@]}" >/dev/null <<EOF
dn: uid=u5,ou=people,$BASE
changetype: modify
replace: sn
sn: Cinq
EOF
probe "${SCOPE[@]}" --option delta_mode=timestamp --cookie-file "$T/ts" --show sn delta >"$T/t1" 2>/dev/null
check "timestamp mode: modified entry reported" "grep -q '^MODIFY	uid=u5,ou=people,$BASE	.*sn=Cinq' $T/t1"
check "timestamp mode: unchanged entries not reported" "[ \$(grep -c '^MODIFY' $T/t1) -eq 1 ]"
probe --cookie-file "$T/ts" delta >/dev/null 2>"$T/e5"; rc=$?
check "timestamp cookie given to a sync connector -> ERR_CORRUPT" "[ $rc -eq 18 ]"

# --- export --------------------------------------------------------------------------------------
probe export-add "uid=new1,ou=people,$BASE" inetOrgPerson cn=New sn=One mail=new1@example.test >"$T/x1"
NEW=$(cut -f4 "$T/x1")
check "export ADD returns the entryUUID" "grep -q '^STATUS	0	ok	' $T/x1 && [ \"\$(probe lookup uid=new1,ou=people,$BASE)\" = \"$NEW\" ]"
probe export-add "uid=new1,ou=people,$BASE" inetOrgPerson cn=New sn=One >"$T/x2"
check "export ADD of an existing entry -> per-item error" "grep -q '^STATUS	1	.*Already exists' $T/x2"
probe export-add "uid=new2,ou=people,$BASE" inetOrgPerson cn=New >"$T/x3"
check "export ADD violating the schema -> per-item error naming the problem" "grep -q \"^STATUS	1	.*requires attribute 'sn'\" $T/x3"
probe export-replace "uid=new1,ou=people,$BASE" sn=Uno >"$T/x4"
check "export UPDATE" "grep -q '^STATUS	0' $T/x4 && ldapsearch ${H[*]} -LLL -b uid=new1,ou=people,$BASE sn | grep -q 'sn: Uno'"
probe export-add-value "cn=staff,ou=groups,$BASE" "member=uid=new1,ou=people,$BASE" >"$T/x5"
check "export UPDATE add value" "grep -q '^STATUS	0' $T/x5 && ldapsearch ${H[*]} -LLL -b cn=staff,ou=groups,$BASE member | grep -q 'uid=new1'"
probe export-rename "uid=new1,ou=people,$BASE" "uid=new1b,ou=groups,$BASE" >"$T/x6"
check "export RENAME with a new parent keeps the entryUUID" "grep -q '^STATUS	0' $T/x6 && [ \"\$(probe lookup uid=new1b,ou=groups,$BASE)\" = \"$NEW\" ]"
probe export-delete "uid=new1b,ou=groups,$BASE" >"$T/x7"
check "export DELETE" "grep -q '^STATUS	0' $T/x7 && ! probe lookup uid=new1b,ou=groups,$BASE >/dev/null 2>&1"
probe export-replace "uid=nobody,ou=people,$BASE" sn=X >"$T/x8"
check "export UPDATE of a missing entry -> per-item error" "grep -q '^STATUS	1	.*No such object' $T/x8"

echo "$FAILS failure(s)"
[ "$FAILS" -eq 0 ]
