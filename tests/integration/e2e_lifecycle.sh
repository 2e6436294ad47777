#!/bin/bash
# End to end, the database lifecycle: server A (SQLite) syncs OpenLDAP -> SCIM, moves its database to PostgreSQL
# and dies; the directory changes (1 add, 1 modify); server B adopts the database (--use-existing-database):
# staging on, both connectors need credentials and `cycle` skips them saying how to fix it; after
# set-credentials a cycle runs a DELTA import (only the 2 changes seen) and exports nothing; export-preview
# lists exactly the add and the update; `staging off` + cycle lands them in SCIM with no duplicate.
# env: IDSYNC_BIN, IDSYNC_SRC. Ports: slapd 28963, SCIM 18963, PostgreSQL 25560 on 127.0.0.1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init e2e-life
LPORT=${E2E_SLAPD_PORT:-28963}
SPORT=${E2E_SCIM_PORT:-18963}
PGPORT=${E2E_PG_PORT:-25560}
LDAP_URL=ldap://127.0.0.1:$LPORT
SCIM_URL=http://127.0.0.1:$SPORT/scim/v2
SCIM_ADMIN=http://127.0.0.1:$SPORT/admin
SCIM_TOKEN=e2e-token-$$
PGURL=postgresql://test@127.0.0.1:$PGPORT/testdb
B=$LDAP_BASE
HA=$T/serverA
HB=$T/serverB

step "peers, server A on SQLite, initial cycle"
it_start_slapd "$T/slapd" "$LPORT"
it_start_scim "$T/scim" "$SPORT" "$SCIM_TOKEN"
it_start_pg "$T/pg" "$PGPORT"
{ ldap_people_ldif 1 200; ldap_groups_ldif 20; } | ldap_add || die "loading the directory failed"
secret "$T/ldap.pw" "$LDAP_PW"
secret "$T/scim.token" "$SCIM_TOKEN"
secret "$T/pg.pw" testpass
must --home "$HA" install --db sqlite
must --home "$HA" connector add corp --type ldap --url "$LDAP_URL" --base "$B" --bind-dn "$LDAP_ADMIN" --password-file "$T/ldap.pw"
must --home "$HA" connector add cloud --type scim --url "$SCIM_URL" --token-file "$T/scim.token"
run --home "$HA" cycle --initial
check "A: cycle --initial succeeds" eq "$RC" 0
check "A: 200 users and 20 groups in SCIM" eq "$(scim_stat '"\(.users)/\(.groups)"')" 200/20
must --home "$HA" cycle      # confirming import of what A exported: after it nothing is pending

step "A moves its database to PostgreSQL, then dies"
run --home "$HA" db move --to "$PGURL" --db-password-file "$T/pg.pw"
check "A: db move to PostgreSQL succeeds" eq "$RC" 0
[ "$RC" -eq 0 ] || sed 's/^/     | /' "$T/err"
run --home "$HA" status --json
check "A: status says postgresql" eq "$(jq -r .database.engine "$T/out")" postgresql
A_ID=$(jq -r .server_id "$T/out")
run --home "$HA" db info --json
check "A: no live lease after the move" eq "$(jq -r .owner.lease_live "$T/out")" false
rm -rf "$HA"                                                     # "the server died"

step "directory changes while no server runs: add 1, modify 1"
ldap_people_ldif 201 201 | ldap_add
ldap_modify <<EOF
dn: uid=u7,ou=people,$B
changetype: modify
replace: title
title: Promoted
EOF
U201=$(ldap_uuid "uid=u201,ou=people,$B")

step "server B adopts the database"
run --home "$HB" install --db "$PGURL" --db-password-file "$T/pg.pw" --use-existing-database
check "B: install --use-existing-database succeeds" eq "$RC" 0
[ "$RC" -eq 0 ] || sed 's/^/     | /' "$T/err"
cat "$T/out" "$T/err" >"$T/installB"
check "  ... naming server A, whose lease is not live, as the previous owner" has "$T/installB" "$A_ID"
run --home "$HB" staging status --json
check "B: starts in staging mode" jtrue "$T/out" '.staging_mode == true'
run --home "$HB" connector list --json
check "B: both connectors need credentials" jtrue "$T/out" \
  '[.connectors[] | select(.credentials_required == true) | .name] | sort == ["cloud", "corp"]'
check "B: no full import required (the database is fresh)" jtrue "$T/out" '[.connectors[].full_import_required] | all(. == false)'
# last_run: id of the newest run in history (0 when none)
last_run() { run --home "$HB" history --json; jq '[.runs[].id] | max // 0' "$T/out"; }
R0=$(last_run)
scim_reset_stats
run --home "$HB" cycle
cat "$T/out" "$T/err" >"$T/cycle0"
check "B: cycle skips corp, saying which command fixes it" has "$T/cycle0" "skipping connector 'corp': it needs credentials; run \`idsync connector set-credentials corp"
check "  ... and skips cloud the same way" has "$T/cycle0" "skipping connector 'cloud': it needs credentials; run \`idsync connector set-credentials cloud"
check "  ... nothing was sent to SCIM" eq "$(scim_stat '[.requests[]] | add // 0')" 0
run --home "$HB" history --json
check "  ... and no import or export ran" jtrue "$T/out" "[.runs[] | select(.id > $R0) | select(.profile | test(\"import|export\"))] | length == 0"
R1=$(last_run)

step "B: credentials entered; cycle in staging"
must --home "$HB" connector set-credentials corp --password-file "$T/ldap.pw"
must --home "$HB" connector set-credentials cloud --token-file "$T/scim.token"
run --home "$HB" connector list --json
check "B: credentials no longer required" jtrue "$T/out" '[.connectors[].credentials_required] | all(. == false)'
scim_reset_stats
run --home "$HB" cycle
check "B: cycle in staging succeeds" eq "$RC" 0
[ "$RC" -eq 0 ] || sed 's/^/     | /' "$T/err"
check "  ... corp: a delta import that saw exactly the 2 changed entries" has_re "$T/out" "^corp +delta-import +seen 2: 1 added, 1 updated, 0 deleted"
run --home "$HB" history --json
check "  ... history: delta-import of corp, newest first" jtrue "$T/out" \
  '[.runs[] | select(.connector == "corp" and (.profile | test("import")))][0] | .profile == "delta-import" and .counts.seen == 2'
check "  ... no export run (staging)" jtrue "$T/out" "[.runs[] | select(.id > $R1 and .profile == \"export\")] | length == 0"
check "  ... no write reached SCIM" eq "$(scim_write_requests)" 0
run --home "$HB" export-preview --json
check "export-preview --json: exactly one add and one update" jtrue "$T/out" '.summary == {"add": 1, "update": 1}'
check "  ... the add is u201 with its userName and externalId" jtrue "$T/out" \
  ".pending_exports | map(select(.operation == \"add\")) | .[0] | .connector == \"cloud\" and
   (.changes | any(.attribute == \"userName\" and .after == [\"u201@example.test\"])) and
   (.changes | any(.attribute == \"externalId\" and .after == [\"$U201\"]))"
check "  ... the update is u7's title T7 -> Promoted" jtrue "$T/out" \
  '.pending_exports | map(select(.operation == "update")) | .[0].changes == [{"attribute": "title", "before": ["T7"], "after": ["Promoted"]}]'

step "B: staging off, cycle lands the changes"
must --home "$HB" staging off
scim_reset_stats
run --home "$HB" cycle
check "B: cycle after staging off succeeds" eq "$RC" 0
check "  ... exactly 1 create and 1 update in SCIM" eq "$(scim_writes)" "create Users=1,update Users=1"
check "  ... 201 users (no duplicates)" eq "$(scim_stat .users)" 201
check "  ... u201 in SCIM with externalId = its entryUUID" \
  eq "$(scim_get "Users?filter=externalId%20eq%20%22$U201%22" | jq -r '[.totalResults, .Resources[0].userName] | join(" ")')" "1 u201@example.test"
check "  ... u7's title is Promoted" \
  eq "$(scim_get 'Users?filter=userName%20eq%20%22u7@example.test%22' | jq -r '.Resources[0].title')" Promoted
check "  ... userNames unique" eq "$(scim_all Users "$T/u.json"; jq '[.[].userName] | unique | length' "$T/u.json")" 201
scim_reset_stats
run --home "$HB" cycle
check "B: the next cycle writes nothing" eq "$(scim_write_requests)" 0
run --home "$HB" db info --json
check "B: no lease left behind after the cycle" eq "$(jq -r .owner.lease_live "$T/out")" false

it_finish
