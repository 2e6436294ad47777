#!/bin/bash
# End to end, faults: 1,000 directory users go to SCIM while one userName is taken by a foreign SCIM user (409:
# the other 999 land, `history --errors` names the object, the next cycle retries it), a SCIM user pre-created
# with externalId = a directory user's entryUUID is adopted (not duplicated), injected 429s and 500s during the
# export are survived with every object written exactly once; a bad SCIM token and a wrong LDAP password make
# `cycle` fail clearly (non-zero, pointing at set-credentials) and leave the database unchanged.
# env: IDSYNC_BIN, IDSYNC_SRC. Ports: slapd 28964, SCIM 18964 on 127.0.0.1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init e2e-faults
command -v sqlite3 >/dev/null || die "sqlite3 is required"
LPORT=${E2E_SLAPD_PORT:-28964}
SPORT=${E2E_SCIM_PORT:-18964}
LDAP_URL=ldap://127.0.0.1:$LPORT
SCIM_URL=http://127.0.0.1:$SPORT/scim/v2
SCIM_ADMIN=http://127.0.0.1:$SPORT/admin
SCIM_TOKEN=e2e-token-$$
B=$LDAP_BASE
H=$T/home
USER_SCHEMA='"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]'
by_username() { scim_get "Users?filter=userName%20eq%20%22$1%22"; }

step "peers, directory, SCIM users created beforehand"
it_start_slapd "$T/slapd" "$LPORT"
it_start_scim "$T/scim" "$SPORT" "$SCIM_TOKEN"
ldap_people_ldif 1 1000 | ldap_add || die "loading 1,000 users failed"
secret "$T/ldap.pw" "$LDAP_PW"
secret "$T/scim.token" "$SCIM_TOKEN"
U600=$(ldap_uuid "uid=u600,ou=people,$B")
# a foreign user holding u500's userName, and u600 under an old userName but with its entryUUID as externalId
scim -XPOST "$SCIM_URL/Users" -d "{$USER_SCHEMA,\"userName\":\"u500@example.test\",\"externalId\":\"someone-else\"}" >"$T/squatter.json"
SQUATTER=$(jq -r .id "$T/squatter.json")
scim -XPOST "$SCIM_URL/Users" -d "{$USER_SCHEMA,\"userName\":\"u600.old@example.test\",\"externalId\":\"$U600\",\"title\":\"Old\"}" >"$T/u600.json"
U600ID=$(jq -r .id "$T/u600.json")
[ -n "$SQUATTER" ] && [ "$SQUATTER" != null ] && [ "$U600ID" != null ] || die "creating the SCIM users beforehand failed"
scim_reset_stats

must --home "$H" install --db sqlite
must --home "$H" connector add corp --type ldap --url "$LDAP_URL" --base "$B" --bind-dn "$LDAP_ADMIN" --password-file "$T/ldap.pw"
must --home "$H" connector add cloud --type scim --url "$SCIM_URL" --token-file "$T/scim.token"

step "initial cycle with a 409, an adoption, and injected 429s/500s on writes"
scim_faults '[{"status":429,"count":4,"retry_after":1,"method":"POST"},{"status":500,"count":3,"every":2,"method":"POST"}]'
run --home "$H" cycle --initial
cp "$T/out" "$T/c1.out"; cp "$T/err" "$T/c1.err"
# (the exit code of a cycle with per-object errors is checked in pending/e2e_cycle_exit_codes.sh)
check "cycle --initial: the export reports 999 exported, 1 adopted, 1 error" has_re "$T/c1.out" "^cloud +export +999 exported: 999 added \\(1 adopted\\).* 1 errors"
check "  ... all 7 injected faults were hit" eq "$(scim_stat .faults_injected)" 7
check "  ... 998 users created, each exactly once (1,000 - the 409 - the adopted one)" eq "$(scim_stat '.writes["create Users"]')" 998
check "  ... no user deleted" eq "$(scim_stat '.writes["delete Users"] // 0')" 0
check "  ... 1,000 users in SCIM: 998 + the squatter + the adopted u600 (no duplicate)" eq "$(scim_stat .users)" 1000
check "  ... u600 adopted: same SCIM id, userName and title now from the directory" \
  eq "$(scim_get "Users/$U600ID" | jq -r '[.userName, .title, .externalId] | join(" ")')" "u600@example.test T600 $U600"
check "  ... one SCIM user has u600's externalId" \
  eq "$(scim_get "Users?filter=externalId%20eq%20%22$U600%22" | jq -r .totalResults)" 1
check "  ... the squatter is untouched" eq "$(scim_get "Users/$SQUATTER" | jq -r .externalId)" someone-else
run --home "$H" history --errors
cp "$T/out" "$T/errors1"
check "history --errors names u500 and the conflict" has "$T/errors1" "u500"
check "  ... with the 409 reason" has_re "$T/errors1" "409|already in use|uniqueness"
run --home "$H" history --errors --json
check "history --errors --json: exactly one export error, naming u500" jtrue "$T/out" \
  '[.runs[].errors[]? | select(.kind == "export-error")] | length == 1 and (.[0].message | test("u500@example.test"))'
scim_clear_faults

step "the next cycle retries the failed object"
scim_reset_stats
run --home "$H" cycle
check "next cycle: the export tries the failed object again, 1 error" has_re "$T/out" "^cloud +export +0 exported.* 1 errors"
check "  ... it tried u500 again (one 409)" eq "$(scim_stat '.status["409"] // 0')" 1
check "  ... and wrote nothing else" eq "$(scim_writes)" ""
scim -XDELETE "$SCIM_URL/Users/$SQUATTER" >/dev/null
scim_reset_stats
run --home "$H" cycle
check "after the squatter is gone, the cycle succeeds" eq "$RC" 0
check "  ... creating exactly u500" eq "$(scim_writes)" "create Users=1"
check "  ... u500 now has its entryUUID as externalId" \
  eq "$(by_username u500@example.test | jq -r '.Resources[0].externalId')" "$(ldap_uuid "uid=u500,ou=people,$B")"
run --home "$H" history --errors --json
cp "$T/out" "$T/errors2"
check "  ... 1,000 users in SCIM" eq "$(scim_stat .users)" 1000
scim_reset_stats
run --home "$H" cycle
check "  ... and the cycle after that writes nothing" eq "$(scim_write_requests)" 0

# db_state: the synced state (connector spaces, metaverse, watermarks) as one checksum
db_state() {
  sqlite3 "$H/idsync.db" "SELECT connector_id, hex(anchor), dn, hex(attrs), mv_id, flags, export_op, hex(export_attrs) FROM cs_objects ORDER BY id;
                          SELECT id, hex(attrs) FROM mv_objects ORDER BY id; SELECT connector_id, partition, hex(cookie) FROM watermarks;" | md5sum
}

step "bad SCIM token"
secret "$T/bad.token" not-the-token
must --home "$H" connector set-credentials cloud --token-file "$T/bad.token"
ldap_modify <<EOF
dn: uid=u1,ou=people,$B
changetype: modify
replace: title
title: Changed-While-Broken
EOF
scim_reset_stats
run --home "$H" cycle
cat "$T/out" "$T/err" >"$T/badtoken"
check "bad token: cycle exits non-zero" ne "$RC" 0
check "  ... the message names the connector and says HTTP 401 / authentication" has_re "$T/badtoken" "cloud.*(401|auth)"
check "  ... and points at set-credentials" has "$T/badtoken" "set-credentials cloud"
check "  ... the token is not printed" hasnt "$T/badtoken" not-the-token
check "  ... nothing was written to SCIM" eq "$(scim_writes)" ""
must --home "$H" connector set-credentials cloud --token-file "$T/scim.token"
run --home "$H" cycle
check "token fixed: the change made meanwhile lands" eq "$RC:$(by_username u1@example.test | jq -r '.Resources[0].title')" "0:Changed-While-Broken"

step "wrong LDAP password"
must --home "$H" cycle --delta     # nothing pending anywhere now
secret "$T/bad.pw" not-the-password
must --home "$H" connector set-credentials corp --password-file "$T/bad.pw"
ldap_modify <<EOF
dn: uid=u2,ou=people,$B
changetype: modify
replace: title
title: Changed-While-Locked-Out
EOF
S0=$(db_state)
scim_reset_stats
run --home "$H" cycle
cat "$T/out" "$T/err" >"$T/badpw"
check "wrong LDAP password: cycle exits non-zero" ne "$RC" 0
check "  ... the message names the connector and invalid credentials" has_re "$T/badpw" "corp.*[Ii]nvalid credentials|[Ii]nvalid credentials.*corp"
check "  ... and points at set-credentials" has "$T/badpw" "set-credentials"
check "  ... the password is not printed" hasnt "$T/badpw" not-the-password
check "  ... connector spaces, metaverse and watermarks unchanged" eq "$(db_state)" "$S0"
check "  ... nothing written to SCIM" eq "$(scim_writes)" ""
must --home "$H" connector set-credentials corp --password-file "$T/ldap.pw"
scim_reset_stats
run --home "$H" cycle
check "password fixed: the change made meanwhile lands (the watermark did not move)" \
  eq "$RC:$(by_username u2@example.test | jq -r '.Resources[0].title'):$(scim_writes)" "0:Changed-While-Locked-Out:update Users=1"

it_finish
