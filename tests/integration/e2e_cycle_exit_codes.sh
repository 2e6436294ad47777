#!/bin/bash
# `idsync cycle` exit codes per the CLI contract: 1 when a run failed (e.g. a rejected token), 3 when the
# runs completed with per-object errors (e.g. a 409 on export), 0 otherwise; `run` follows the same rule.
# Run by hand: IDSYNC_BIN=build/idsync IDSYNC_SRC=$PWD bash tests/integration/e2e_cycle_exit_codes.sh
# Ports: slapd 127.0.0.1:28965, SCIM 127.0.0.1:18965.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init e2e-exit-codes
LDAP_URL=ldap://127.0.0.1:${E2E_SLAPD_PORT:-28965}
SPORT=${E2E_SCIM_PORT:-18965}
SCIM_URL=http://127.0.0.1:$SPORT/scim/v2
SCIM_ADMIN=http://127.0.0.1:$SPORT/admin
SCIM_TOKEN=e2e-token-$$
H=$T/home
it_start_slapd "$T/slapd" "${LDAP_URL##*:}"
it_start_scim "$T/scim" "$SPORT" "$SCIM_TOKEN"
ldap_people_ldif 1 10 | ldap_add
secret "$T/ldap.pw" "$LDAP_PW"; secret "$T/scim.token" "$SCIM_TOKEN"; secret "$T/bad.token" wrong
scim -XPOST "$SCIM_URL/Users" -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u5@example.test","externalId":"other"}' >/dev/null
must --home "$H" install --db sqlite
must --home "$H" connector add corp --type ldap --url "$LDAP_URL" --base "$LDAP_BASE" --bind-dn "$LDAP_ADMIN" --password-file "$T/ldap.pw"
must --home "$H" connector add cloud --type scim --url "$SCIM_URL" --token-file "$T/scim.token"
run --home "$H" cycle --initial
check "a cycle whose export had a per-object error (409) exits 3" eq "$RC" 3
check "  ... pointing at history --errors" has "$T/err" "history --errors"
run --home "$H" run cloud export
check "(run CONNECTOR export with the same error exits 3 already)" eq "$RC" 3
must --home "$H" connector set-credentials cloud --token-file "$T/bad.token"
run --home "$H" cycle
check "a cycle with a wholly failed run (token rejected) exits 1" eq "$RC" 1
it_finish
