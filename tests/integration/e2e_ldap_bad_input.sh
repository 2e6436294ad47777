#!/bin/bash
# Bad input from a real directory (slapd), through `idsync run`: a group with 50,000 members, a 1 MB attribute
# value (over max_value_bytes: dropped with a warning in history, the entry kept), a 400 KB value (kept whole).
# Every entry of the batch is staged, the full sync handles the large group, and a delta that adds and removes
# one member of it is staged as exactly that. (Invalid UTF-8 and entries without an anchor cannot come from
# slapd or Samba, which validate and always send entryUUID/objectGUID: tests/unit/test_ldif_conn.c covers them.)
# Run by hand: IDSYNC_BIN=build/idsync IDSYNC_SRC=$PWD bash tests/integration/e2e_ldap_bad_input.sh
# Port: slapd 127.0.0.1:28967.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init e2e-ldap-bad-input
LDAP_URL=ldap://127.0.0.1:${E2E_SLAPD_PORT:-28967}
H=$T/home
it_start_slapd "$T/slapd" "${LDAP_URL##*:}"
step "directory: 20 users, a 50,000-member group, a 1 MB and a 400 KB value"
{
  ldap_people_ldif 1 20
  awk -v base="$LDAP_BASE" 'BEGIN {
    printf "dn: cn=big,ou=groups,%s\nobjectClass: groupOfNames\ncn: big\n", base
    for (i = 1; i <= 50000; i++) printf "member: uid=m%d,ou=people,%s\n", i, base
    printf "\n"
    printf "dn: uid=huge,ou=people,%s\nobjectClass: inetOrgPerson\nuid: huge\ncn: Huge\nsn: H\ndescription: ", base
    for (i = 0; i < 16384; i++) printf "%s", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    printf "\n\n"
    printf "dn: uid=large,ou=people,%s\nobjectClass: inetOrgPerson\nuid: large\ncn: Large\nsn: L\ndescription: ", base
    for (i = 0; i < 6250; i++) printf "%s", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    printf "\n\n"
  }'
} | ldap_add
secret "$T/ldap.pw" "$LDAP_PW"
must --home "$H" install --db sqlite
must --home "$H" connector add corp --type ldap --url "$LDAP_URL" --base "$LDAP_BASE" --bind-dn "$LDAP_ADMIN" --password-file "$T/ldap.pw"

step "full import"
run --home "$H" run corp full-import
check "full import succeeds" eq "$RC" 0
run --home "$H" history --limit 1 --json
check "every entry staged: the suffix, 2 OUs, 20 users, big, huge, large" jtrue "$T/out" '.runs[0].counts.adds == 26'
run --home "$H" history --errors --json
check "history: one warning naming uid=huge and max_value_bytes" jtrue "$T/out" \
  '[.runs[].errors[]? | select(.kind == "import-warning")] | length == 1 and (.[0].dn | startswith("uid=huge,")) and (.[0].message | test("max_value_bytes"))'
run --home "$H" cs show corp --dn "cn=big,ou=groups,$LDAP_BASE" --json
cp "$T/out" "$T/big.json"
check "the large group is staged with all 50,000 members" jtrue "$T/big.json" '[.. | objects | select(has("member")) | .member | if type == "array" then length else 1 end] | max == 50000'
run --home "$H" cs show corp --dn "uid=huge,ou=people,$LDAP_BASE" --json
check "the 1 MB value is dropped, the entry kept" jtrue "$T/out" '([.. | objects | select(has("cn"))] | length > 0) and ([.. | objects | select(has("description"))] | length == 0)'
run --home "$H" cs show corp --dn "uid=large,ou=people,$LDAP_BASE" --json
check "the 400 KB value is kept whole" jtrue "$T/out" '[.. | objects | select(has("description")) | .description | if type == "array" then .[0] else . end | length] | max == 400000'

step "full sync"
run --home "$H" run corp full-sync
check "full sync succeeds" eq "$RC" 0
run --home "$H" history --limit 1 --json
check "full sync: every in-scope object handled, no errors" jtrue "$T/out" '((.runs[0].counts.errors // 0) == 0) and .runs[0].result == "success" and .runs[0].counts.projections > 20'

step "delta: one member added to and one removed from the large group"
printf 'dn: cn=big,ou=groups,%s\nchangetype: modify\ndelete: member\nmember: uid=m7,ou=people,%s\n-\nadd: member\nmember: uid=u1,ou=people,%s\n\n' \
  "$LDAP_BASE" "$LDAP_BASE" "$LDAP_BASE" | ldap_modify
run --home "$H" run corp delta-import
check "delta import succeeds" eq "$RC" 0
run --home "$H" history --limit 1 --json
check "delta import: exactly one object updated" jtrue "$T/out" '.runs[0].counts.updates == 1 and .runs[0].counts.seen == 1'
run --home "$H" cs show corp --dn "cn=big,ou=groups,$LDAP_BASE" --json
check "the group has 50,000 members: u1 in, m7 out" jtrue "$T/out" \
  '[.. | objects | select(has("member")) | .member] | max_by(length) | (length == 50000) and (map(ascii_downcase) | index("uid=u1,ou=people,dc=example,dc=test") != null) and (map(ascii_downcase) | index("uid=m7,ou=people,dc=example,dc=test") == null)'
run --home "$H" run corp delta-sync
check "delta sync succeeds" eq "$RC" 0
it_finish
