#!/bin/bash
# References follow replaced and deleted objects in a DELTA cycle: after a group member's target object is
# re-created (drift: the user was deleted directly in SCIM) the SCIM group points at the new id; when a member
# is deleted in the directory (slapd without refint keeps the group entry unchanged) the SCIM group loses it.
# Run by hand: IDSYNC_BIN=build/idsync IDSYNC_SRC=$PWD bash tests/integration/e2e_drift_members.sh
# Ports: slapd 127.0.0.1:28961, SCIM 127.0.0.1:18961.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init e2e-drift-members
LDAP_URL=ldap://127.0.0.1:${E2E_SLAPD_PORT:-28961}
SCIM_URL=http://127.0.0.1:${E2E_SCIM_PORT:-18961}/scim/v2
SCIM_ADMIN=${SCIM_URL%/scim/v2}/admin
SCIM_TOKEN=e2e-token-$$
H=$T/home
it_start_slapd "$T/slapd" "${LDAP_URL##*:}"
it_start_scim "$T/scim" "${E2E_SCIM_PORT:-18961}" "$SCIM_TOKEN"
{ ldap_people_ldif 1 10; ldap_groups_ldif 1; } | ldap_add     # g1 = u1, u2
secret "$T/ldap.pw" "$LDAP_PW"; secret "$T/scim.token" "$SCIM_TOKEN"
must --home "$H" install --db sqlite
must --home "$H" connector add corp --type ldap --url "$LDAP_URL" --base "$LDAP_BASE" --bind-dn "$LDAP_ADMIN" --password-file "$T/ldap.pw"
must --home "$H" connector add cloud --type scim --url "$SCIM_URL" --token-file "$T/scim.token"
must --home "$H" cycle --initial
must --home "$H" cycle   # confirming import: after this nothing is pending anywhere
uid_of() { scim_get "Users?filter=userName%20eq%20%22$1%22" | jq -r '.Resources[0].id'; }
members() { scim_get "Groups?filter=displayName%20eq%20%22g1%22" | jq -r '[.Resources[0].members[].value] | sort | join(",")'; }
OLD=$(uid_of u1@example.test)
scim -XDELETE "$SCIM_URL/Users/$OLD" >/dev/null
must --home "$H" cycle
NEW=$(uid_of u1@example.test)
check "u1 re-created with a new id" ne "$NEW" "$OLD"
U2=$(uid_of u2@example.test)
check "g1's members point at the re-created u1 (delta cycle)" eq "$(members)" "$(printf '%s\n' "$NEW" "$U2" | sort | paste -sd,)"
ldap_delete "uid=u2,ou=people,$LDAP_BASE"
must --home "$H" cycle
check "u2 deleted in the directory -> deleted in SCIM" eq "$(uid_of u2@example.test)" null
check "g1's members no longer name u2 (delta cycle)" eq "$(members)" "$NEW"
it_finish
