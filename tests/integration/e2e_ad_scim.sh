#!/bin/bash
# End to end, Samba AD -> idsync -> SCIM with the default rules: 200 users in two OUs and 20 groups land with
# userName = userPrincipalName (or sAMAccountName@example.test when the UPN is missing) and externalId =
# base64(objectGUID); critical system objects (Administrator, Guest, krbtgt, built-in groups) are not exported;
# a DirSync delta cycle after add/modify/move/delete/member change sends only those; `connector filter
# --include-ou` deprovisions what is outside; renaming the included OU keeps its objects (no deletes).
# Needs root (Samba binds 127.0.0.1:389; waits up to 2 minutes while another test holds it). SCIM on 18966.
# env: IDSYNC_BIN, IDSYNC_SRC; SAMBA_TEMPLATE (default /tmp/idsync-samba-template) caches the provisioned DC.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init e2e-ad-scim
command -v python3 >/dev/null || die "python3 is required"
SPORT=${E2E_SCIM_PORT:-18966}
SCIM_URL=http://127.0.0.1:$SPORT/scim/v2
SCIM_ADMIN=http://127.0.0.1:$SPORT/admin
SCIM_TOKEN=e2e-token-$$
AD_URL=ldap://127.0.0.1
AD_ADMIN=Administrator@EXAMPLE.TEST
AD_PW='Passw0rd!Test1'
B=DC=example,DC=test
H=$T/home
AD=(-x -H "$AD_URL" -D "$AD_ADMIN" -w "$AD_PW")
ad_add() { ldapadd "${AD[@]}" >/dev/null; }
ad_modify() { ldapmodify "${AD[@]}" >/dev/null; }
# ad_guid64 DN: base64 of the entry's objectGUID (what the default rules send as externalId)
ad_guid64() { ldapsearch "${AD[@]}" -LLL -o ldif-wrap=no -b "$1" -s base objectGUID | sed -n 's/^objectGUID:: //p'; }
by_username() { scim_get "Users?filter=userName%20eq%20%22$1%22"; }

# users: sales001..sales100 in OU=Sales, eng001..eng100 in OU=Eng; UPN NAME@upn.example.test except every 10th
# (no UPN: the fallback makes NAME@example.test); groups gsalesNN / gengNN (k = 1..10) in their OU with the
# first k users of block k as members. Groups carry a displayName: the default rules export no group without one
# (see pending/e2e_ad_group_cn.sh).
gen_ad() {
  local ou prefix i k j
  printf 'dn: OU=Sales,%s\nobjectClass: organizationalUnit\n\ndn: OU=Eng,%s\nobjectClass: organizationalUnit\n\n' "$B" "$B"
  for ou in Sales Eng; do
    prefix=$(echo "$ou" | tr 'A-Z' 'a-z')
    for i in $(seq -w 1 100); do
      printf 'dn: CN=%s%s,OU=%s,%s\nobjectClass: user\nsAMAccountName: %s%s\ngivenName: %s\nsn: N%s\ntitle: T%s\n' \
        "$prefix" "$i" "$ou" "$B" "$prefix" "$i" "$ou" "$i" "$i"
      [ $((10#$i % 10)) -ne 0 ] && printf 'userPrincipalName: %s%s@upn.example.test\n' "$prefix" "$i"
      echo
    done
    for k in $(seq 1 10); do
      printf 'dn: CN=g%s%02d,OU=%s,%s\nobjectClass: group\nsAMAccountName: g%s%02d\ndisplayName: g%s%02d\n' \
        "$prefix" "$k" "$ou" "$B" "$prefix" "$k" "$prefix" "$k"
      for j in $(seq 1 "$k"); do printf 'member: CN=%s%03d,OU=%s,%s\n' "$prefix" $(((k - 1) * 10 + j)) "$ou" "$B"; done
      echo
    done
  done
}
# scim_users_tsv FILE: "userName<TAB>externalId<TAB>title" of every SCIM user, sorted
scim_users_tsv() { scim_all Users "$T/users.json"; jq -r '.[] | [.userName, .externalId, .title] | @tsv' "$T/users.json" | sort >"$1"; }
# scim_groups_tsv FILE: "displayName<TAB>member userNames" of every SCIM group, sorted
scim_groups_tsv() {
  scim_all Users "$T/users.json"; scim_all Groups "$T/groups.json"
  jq -r --slurpfile u "$T/users.json" '($u[0] | map({(.id): .userName}) | add) as $n | .[] |
    [.displayName, ((.members // []) | map($n[.value] // ("?" + .value)) | sort | join(","))] | @tsv' "$T/groups.json" | sort >"$1"
}
upn() { case $1 in *0) echo "$1@example.test";; *) echo "$1@upn.example.test";; esac; }

step "peers and directory data"
it_start_samba "$T/samba"
it_start_scim "$T/scim" "$SPORT" "$SCIM_TOKEN"
gen_ad | ad_add || die "loading 200 users and 20 groups into Samba failed"
secret "$T/ad.pw" "$AD_PW"
secret "$T/scim.token" "$SCIM_TOKEN"

step "install, connectors, initial cycle"
must --home "$H" install --db sqlite
must --home "$H" connector add corp --type ad --url "$AD_URL" --base "$B" --bind-dn "$AD_ADMIN" --password-file "$T/ad.pw"
must --home "$H" connector add cloud --type scim --url "$SCIM_URL" --token-file "$T/scim.token"
run --home "$H" cycle --initial
check "cycle --initial succeeds" eq "$RC" 0
[ "$RC" -eq 0 ] || sed 's/^/     | /' "$T/err"
check "  ... exactly the 200 users in SCIM (no Administrator, Guest, krbtgt, dc1\$)" eq "$(scim_stat .users)" 200
check "  ... exactly the 20 groups (no built-in group)" eq "$(scim_stat .groups)" 20
scim_users_tsv "$T/users1"
check "  ... no cloudFiltered account exported" hasnt "$T/users1" Administrator
check "  ... krbtgt/Guest not exported" eq "$(grep -ciE '^(krbtgt|guest)' "$T/users1" || true)" 0
for acct in Administrator krbtgt Guest; do
  run --home "$H" mv search "accountName=$acct" --json
  check "  ... $acct was imported into the metaverse with cloudFiltered = TRUE, and is not linked to cloud" jtrue "$T/out" \
    '.objects | length == 1 and (.[0].attributes.cloudFiltered == ["TRUE"]) and ([.[0].connectors[].connector] == ["corp"])'
done
check "  ... userName = userPrincipalName" has "$T/users1" "sales001@upn.example.test	"
check "  ... userName = sAMAccountName@example.test when the UPN is missing" has "$T/users1" "eng010@example.test	"
check "  ... every userName as expected" eq "$(cut -f1 "$T/users1" | md5sum)" \
  "$(for p in eng sales; do for i in $(seq -w 1 100); do upn "$p$i"; done; done | sort | md5sum)"
check "  ... externalId = base64(objectGUID)" has "$T/users1" "$(upn sales005)	$(ad_guid64 "CN=sales005,OU=Sales,$B")	T005"
scim_groups_tsv "$T/groups1"
check "  ... group gsales03 has exactly sales021..023" has "$T/groups1" "gsales03	$(upn sales021),$(upn sales022),$(upn sales023)"
check "  ... each of the 20 groups gNN has NN members" eq "$(awk -F'\t' '{n = split($2, a, ","); k = substr($1, length($1) - 1) + 0; if (n == k) good++} END{print good + 0}' "$T/groups1")" 20
must --home "$H" cycle      # confirming import: after this nothing is pending

step "DirSync delta: add, modify, move to another OU, delete, member add+remove"
scim_reset_stats
ad_add <<EOF
dn: CN=sales201,OU=Sales,$B
objectClass: user
sAMAccountName: sales201
userPrincipalName: sales201@upn.example.test
title: New
EOF
ad_modify <<EOF
dn: CN=sales005,OU=Sales,$B
changetype: modify
replace: title
title: Boss

dn: CN=sales030,OU=Sales,$B
changetype: modrdn
newrdn: CN=sales030
deleteoldrdn: 1
newsuperior: OU=Eng,$B

dn: CN=gsales03,OU=Sales,$B
changetype: modify
add: member
member: CN=sales024,OU=Sales,$B
-
delete: member
member: CN=sales021,OU=Sales,$B
EOF
ldapdelete "${AD[@]}" "CN=sales020,OU=Sales,$B"
run --home "$H" cycle
check "delta cycle succeeds" eq "$RC" 0
[ "$RC" -eq 0 ] || sed 's/^/     | /' "$T/err"
check "  ... corp ran a delta import (DirSync) that saw only the 5 changed objects" \
  has_re "$T/out" "^corp +delta-import +seen 5: 1 added, 3 updated, 1 deleted"
check "  ... only these writes: 1 user create, 1 user update, 1 user delete, 1 group update (the move writes nothing)" \
  eq "$(scim_writes)" "create Users=1,delete Users=1,update Groups=1,update Users=1"
check "  ... members changed by one add and one remove op, no replace" \
  eq "$(scim_stat '[(.patch_ops["add members"] // 0), (.patch_ops["remove members[filter]"] // 0), (.patch_ops["replace members"] // 0)] | join(",")')" 1,1,0
scim_users_tsv "$T/users2"
check "  ... sales201 created" has "$T/users2" "sales201@upn.example.test	$(ad_guid64 "CN=sales201,OU=Sales,$B")	New"
check "  ... sales005's title is Boss" has "$T/users2" "sales005@upn.example.test	$(ad_guid64 "CN=sales005,OU=Sales,$B")	Boss"
check "  ... sales020 deleted" hasnt "$T/users2" "sales020@"
check "  ... the moved sales030 is still there, same externalId" has "$T/users2" "sales030@example.test	$(ad_guid64 "CN=sales030,OU=Eng,$B")	"
check "  ... 200 users" eq "$(scim_stat .users)" 200
scim_groups_tsv "$T/groups2"
check "  ... gsales03 = sales022..024" has "$T/groups2" "gsales03	$(upn sales022),$(upn sales023),$(upn sales024)"
scim_reset_stats
run --home "$H" cycle
check "  ... the next cycle writes nothing" eq "$(scim_write_requests)" 0

step "OU filtering: include OU=Sales only"
run --home "$H" connector filter corp --include-ou "OU=Sales,$B"
check "connector filter --include-ou succeeds" eq "$RC" 0
[ "$RC" -eq 0 ] || sed 's/^/     | /' "$T/err"
scim_reset_stats
run --home "$H" cycle
check "cycle after the filter succeeds" eq "$RC" 0
[ "$RC" -eq 0 ] || sed 's/^/     | /' "$T/err" "$T/out"
# outside now: eng001..100, the moved sales030, geng01..10
check "  ... deprovisions the 101 users and 10 groups outside OU=Sales, nothing else" \
  eq "$(scim_writes)" "delete Groups=10,delete Users=101"
scim_users_tsv "$T/users3"
check "  ... 99 users left, all from OU=Sales" eq "$(wc -l <"$T/users3"):$(grep -c '^sales' "$T/users3")" 99:99
check "  ... sales030 (moved to Eng) is gone" hasnt "$T/users3" "sales030@"
check "  ... 10 groups left" eq "$(scim_stat .groups)" 10
scim_reset_stats
run --home "$H" cycle
check "  ... the next cycle writes nothing" eq "$(scim_write_requests)" 0

step "renaming the included OU keeps its objects"
ad_modify <<EOF
dn: OU=Sales,$B
changetype: modrdn
newrdn: OU=SalesRenamed
deleteoldrdn: 1
EOF
scim_reset_stats
run --home "$H" cycle
check "cycle after the OU rename succeeds" eq "$RC" 0
[ "$RC" -eq 0 ] || sed 's/^/     | /' "$T/err" "$T/out"
check "  ... no deletes, no writes at all" eq "$(scim_writes)" ""
check "  ... still 99 users and 10 groups" eq "$(scim_stat '"\(.users)/\(.groups)"')" 99/10
ad_modify <<EOF
dn: CN=sales007,OU=SalesRenamed,$B
changetype: modify
replace: title
title: AfterRename
EOF
scim_reset_stats
run --home "$H" cycle
check "  ... a change inside the renamed OU still flows" \
  eq "$(scim_writes):$(by_username sales007@upn.example.test | jq -r '.Resources[0].title')" "update Users=1:AfterRename"

it_finish
