#!/bin/bash
# End to end, OpenLDAP -> idsync -> SCIM with the default rules: the initial cycle lands exactly 1,000 users and
# 100 groups; a delta cycle after 3 modifies, 2 adds, 1 delete, 1 rename and a member add+remove sends only
# those changes (member add/remove ops, never a full member replace); a further cycle writes nothing;
# history/cs show/mv search/trace answer on a known user; drift made in SCIM is repaired by the next cycle.
# env: IDSYNC_BIN, IDSYNC_SRC. Ports: slapd 127.0.0.1:28960, SCIM 127.0.0.1:18960 (started and stopped here).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init e2e-ldap-scim
LPORT=${E2E_SLAPD_PORT:-28960}
SPORT=${E2E_SCIM_PORT:-18960}
LDAP_URL=ldap://127.0.0.1:$LPORT
SCIM_URL=http://127.0.0.1:$SPORT/scim/v2
SCIM_ADMIN=http://127.0.0.1:$SPORT/admin
SCIM_TOKEN=e2e-token-$$
B=$LDAP_BASE
H=$T/home

step "peers and directory data"
it_start_slapd "$T/slapd" "$LPORT"
it_start_scim "$T/scim" "$SPORT" "$SCIM_TOKEN"
{ ldap_people_ldif 1 1000; ldap_groups_ldif 100; } | ldap_add || die "loading 1,000 users and 100 groups failed"
secret "$T/ldap.pw" "$LDAP_PW"
secret "$T/scim.token" "$SCIM_TOKEN"

# expected SCIM state from the directory: userName, externalId, givenName, familyName, emails, title, displayName
# expect_users FILE: one TSV line per directory user, as the default rules should render it in SCIM.
expect_users() {
  ldapsearch -x -LLL -o ldif-wrap=no -H "$LDAP_URL" -D "$LDAP_ADMIN" -w "$LDAP_PW" -b "ou=people,$B" \
    '(objectClass=inetOrgPerson)' uid entryUUID mail givenName sn title cn |
    awk -F': ' '/^dn: /{if (u!="") out(); u=""; m=""; g=""; s=""; t=""; c=""; id=""}
      $1=="uid"{u=$2} $1=="entryUUID"{id=$2} $1=="mail"{m=$2} $1=="givenName"{g=$2} $1=="sn"{s=$2}
      $1=="title"{t=$2} $1=="cn"{c=$2}
      function out() { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", (m!="" ? m : u "@example.test"), id, g, s, m, t, c }
      END{if (u!="") out()}' | sort >"$1"
}
# actual_users FILE: the same TSV from the SCIM server.
actual_users() {
  scim_all Users "$T/users.json"
  jq -r '.[] | [.userName, .externalId, .name.givenName, .name.familyName,
                ((.emails // []) | map(select(.type == "work") | .value) | join(";")), .title, .displayName] | @tsv' \
    "$T/users.json" | sort >"$1"
}
# groups as "displayName<TAB>externalId<TAB>sorted member userNames"
expect_groups() {
  ldapsearch -x -LLL -o ldif-wrap=no -H "$LDAP_URL" -D "$LDAP_ADMIN" -w "$LDAP_PW" -b "ou=people,$B" \
    '(objectClass=inetOrgPerson)' uid mail | awk -F': ' '/^dn: /{d=substr($0,5)} $1=="uid"{u[d]=$2}
      $1=="mail"{m[d]=$2} END{for (d in u) print d "\t" (d in m ? m[d] : u[d] "@example.test")}' >"$T/dn2upn"
  ldapsearch -x -LLL -o ldif-wrap=no -H "$LDAP_URL" -D "$LDAP_ADMIN" -w "$LDAP_PW" -b "ou=groups,$B" \
    '(objectClass=groupOfNames)' cn entryUUID member |
    awk -F': ' -v map="$T/dn2upn" 'BEGIN{while ((getline l < map) > 0) {split(l, f, "\t"); upn[tolower(f[1])]=f[2]}}
      /^dn: /{if (c!="") out(); c=""; id=""; n=0; delete ms}
      $1=="cn"{c=$2} $1=="entryUUID"{id=$2} $1=="member"{ms[++n]=(tolower($2) in upn ? upn[tolower($2)] : "?" $2)}
      function out(  s, i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (ms[j] < ms[i]) {t=ms[i]; ms[i]=ms[j]; ms[j]=t}
        s=""; for (i = 1; i <= n; i++) s = s (i > 1 ? "," : "") ms[i]; printf "%s\t%s\t%s\n", c, id, s }
      END{if (c!="") out()}' | sort >"$1"
}
actual_groups() {
  scim_all Users "$T/users.json"
  scim_all Groups "$T/groups.json"
  jq -r --slurpfile u "$T/users.json" '($u[0] | map({(.id): .userName}) | add) as $name | .[] |
      [.displayName, .externalId, ((.members // []) | map($name[.value] // ("?" + .value)) | sort | join(","))] | @tsv' \
    "$T/groups.json" | sort >"$1"
}
same_file() { cmp -s "$1" "$2" || { echo "     $1 differs from $2:" >&2; diff "$2" "$1" | head -20 | sed 's/^/     | /' >&2; return 1; }; }

step "install, connectors, initial cycle"
must --home "$H" install --db sqlite
must --home "$H" connector add corp --type ldap --url "$LDAP_URL" --base "$B" --bind-dn "$LDAP_ADMIN" --password-file "$T/ldap.pw"
must --home "$H" connector add cloud --type scim --url "$SCIM_URL" --token-file "$T/scim.token"
run --home "$H" cycle --initial
check "cycle --initial succeeds" eq "$RC" 0
[ "$RC" -eq 0 ] || sed 's/^/     | /' "$T/err"
check "  ... 1,000 users in SCIM" eq "$(scim_stat .users)" 1000
check "  ... 100 groups in SCIM" eq "$(scim_stat .groups)" 100
check "  ... each user created once" eq "$(scim_stat '.writes["create Users"]')" 1000
check "  ... each group created once" eq "$(scim_stat '.writes["create Groups"]')" 100
check "  ... no user deleted or created twice" eq "$(scim_stat '(.writes["delete Users"] // 0) + (.status["409"] // 0)')" 0
expect_users "$T/users.want"; actual_users "$T/users.got"
check "  ... every user's userName, externalId (entryUUID), name, emails, title, displayName" same_file "$T/users.got" "$T/users.want"
check "  ... users without mail: userName uid@example.test and no email" has "$T/users.got" "u25@example.test	"
expect_groups "$T/groups.want"; actual_groups "$T/groups.got"
check "  ... every group's displayName, externalId and exact members" same_file "$T/groups.got" "$T/groups.want"
check "  ... member counts 1..10 (g10: 1, g9: 10)" eq "$(awk -F'\t' '$1=="g10"||$1=="g9"{print $1 "=" split($3, a, ",")}' "$T/groups.got" | sort | paste -sd' ')" "g10=1 g9=10"

step "directory changes: 3 modifies, 2 adds, 1 delete, 1 rename, member add + remove"
scim_reset_stats
U100=$(ldap_uuid "uid=u100,ou=people,$B")
ldap_modify <<EOF
dn: uid=u1,ou=people,$B
changetype: modify
replace: title
title: Boss

dn: uid=u2,ou=people,$B
changetype: modify
replace: sn
sn: Changed

dn: uid=u3,ou=people,$B
changetype: modify
replace: mail
mail: u3.new@example.test

dn: uid=u100,ou=people,$B
changetype: modrdn
newrdn: uid=u100r
deleteoldrdn: 1

dn: cn=g5,ou=groups,$B
changetype: modify
add: member
member: uid=u47,ou=people,$B
-
delete: member
member: uid=u41,ou=people,$B
EOF
{ ldap_people_ldif 1001 1002 new; } | ldap_add
ldap_delete "uid=u999,ou=people,$B"
run --home "$H" cycle
check "delta cycle succeeds" eq "$RC" 0
[ "$RC" -eq 0 ] || sed 's/^/     | /' "$T/err"
check "  ... the ldap connector's delta import saw only the 8 changed entries (2 added, 5 updated, 1 deleted)" \
  has_re "$T/out" "^corp +delta-import +seen 8: 2 added, 5 updated, 1 deleted"
check "  ... only these writes: 2 user creates, 4 user updates, 1 user delete, 1 group update" \
  eq "$(scim_writes)" "create Users=2,delete Users=1,update Groups=1,update Users=4"
check "  ... members changed by one add and one remove op" \
  eq "$(scim_stat '[(.patch_ops["add members"] // 0), (.patch_ops["remove members[filter]"] // 0)] | join(",")')" 1,1
check "  ... user patches touch only the changed attributes (title, familyName, 2 userNames, u3's email)" \
  eq "$(scim_stat '[.patch_ops["replace title"], .patch_ops["replace name.familyName"], .patch_ops["replace userName"],
                    ([.patch_ops | keys[] | select(test("^(replace|add|remove) (title|name.familyName|userName|emails.*|members.*)$") | not)] | length)] | join(",")')" 1,1,2,0
check "  ... never a full member replace" eq "$(scim_stat '[.patch_ops | to_entries[] | select(.key | test("^replace members")) | .value] | add // 0')" 0
check "  ... no PUT (only PATCH/POST/DELETE)" eq "$(scim_stat '[.requests | to_entries[] | select(.key | test("^PUT ")) | .value] | add // 0')" 0
check "  ... 1,001 users in SCIM" eq "$(scim_stat .users)" 1001
expect_users "$T/users.want2"; actual_users "$T/users.got2"
check "  ... SCIM users equal the directory again" same_file "$T/users.got2" "$T/users.want2"
check "  ... the renamed user kept its externalId and got its new userName" has "$T/users.got2" "u100r@example.test	$U100	"
check "  ... the changed mail is the new userName and email" has "$T/users.got2" "u3.new@example.test	"
expect_groups "$T/groups.want2"; actual_groups "$T/groups.got2"
check "  ... SCIM groups equal the directory again (g5: u42..u47)" same_file "$T/groups.got2" "$T/groups.want2"

step "a further cycle sends nothing"
scim_reset_stats
run --home "$H" cycle
check "third cycle succeeds" eq "$RC" 0
check "  ... no write request at all" eq "$(scim_write_requests)" 0
check "  ... no write recorded by the server" eq "$(scim_writes)" ""

step "inspection: history, cs show, mv search, trace"
run --home "$H" history --json
check "history --json succeeds" eq "$RC" 0
cp "$T/out" "$T/history.json"
check "  ... lists a successful delta-import of corp and an export of cloud" jtrue "$T/history.json" \
  '(.runs | any(.connector == "corp" and .profile == "delta-import" and .result == "success")) and
   (.runs | any(.connector == "cloud" and .profile == "export" and .result == "success"))'
check "  ... the initial full import of corp saw 1,000 users + 100 groups + 2 OUs" jtrue "$T/history.json" \
  '.runs | any(.connector == "corp" and .profile == "full-import" and .counts.seen >= 1100)'
U1=$(ldap_uuid "uid=u1,ou=people,$B")
run --home "$H" cs show corp --dn "uid=u1,ou=people,$B" --json
check "cs show corp --dn: anchor is entryUUID, title is the new one, joined" jtrue "$T/out" \
  ".anchor == \"$U1\" and .attributes.title == [\"Boss\"] and .joined == true and .pending_export.operation == \"none\""
MVID=$(jq -r .mv_id "$T/out")
run --home "$H" mv search accountName=u1 --json
check "mv search accountName=u1: one person joined to corp and cloud" jtrue "$T/out" \
  ".objects | length == 1 and .[0].id == $MVID and .[0].attributes.sourceAnchor == [\"$U1\"] and
   ([.[0].connectors[].connector] | sort) == [\"cloud\", \"corp\"]"
SCIMID=$(jq -r '.objects[0].connectors[] | select(.connector == "cloud") | .anchor' "$T/out")
check "  ... its cloud anchor is the SCIM id of u1" eq "$(scim_get "Users/$SCIMID" | jq -r .userName)" u1@example.test
run --home "$H" mv show "$MVID" --json
check "mv show ID: the same person, title Boss" jtrue "$T/out" ".id == $MVID and .attributes.title == [\"Boss\"]"
run --home "$H" trace corp "uid=u1,ou=people,$B" --json
check "trace corp DN: joined, nothing pending for cloud, writes nothing" jtrue "$T/out" \
  ".mv_id == $MVID and (.targets | any(.connector == \"cloud\" and .pending_export == \"none\"))"
run --home "$H" trace corp "uid=nobody,ou=people,$B" --json
check "trace of an unknown DN fails with a message naming it" eq "$RC:$(grep -c 'uid=nobody' "$T/err")" "1:1"

step "drift in SCIM: a deleted user and a changed title are repaired"
U10ID=$(scim_get "Users?filter=userName%20eq%20%22u10@example.test%22" | jq -r '.Resources[0].id')
U20ID=$(scim_get "Users?filter=userName%20eq%20%22u20@example.test%22" | jq -r '.Resources[0].id')
check "drift: DELETE u10 in SCIM" eq "$(scim -o /dev/null -w '%{http_code}' -XDELETE "$SCIM_URL/Users/$U10ID")" 204
scim -XPATCH "$SCIM_URL/Users/$U20ID" -d '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
  "Operations":[{"op":"replace","path":"title","value":"Drifted"}]}' >/dev/null
check "drift: u20's title changed in SCIM" eq "$(scim_get "Users/$U20ID" | jq -r .title)" Drifted
scim_reset_stats
run --home "$H" cycle
check "cycle after drift succeeds" eq "$RC" 0
check "  ... re-creates u10 and restores u20: exactly 1 create, 1 update" eq "$(scim_writes)" "create Users=1,update Users=1"
check "  ... u20's title is T20 again (same SCIM id)" eq "$(scim_get "Users/$U20ID" | jq -r .title)" T20
expect_users "$T/users.want3"; actual_users "$T/users.got3"
check "  ... SCIM users equal the directory again (u10 back, with its externalId)" same_file "$T/users.got3" "$T/users.want3"
scim_reset_stats
run --home "$H" cycle
check "  ... and the cycle after that writes nothing" eq "$(scim_write_requests)" 0

it_finish
