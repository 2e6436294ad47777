#!/bin/bash
# An AD group without a displayName (the usual case: ADUC, samba-tool and `New-ADGroup` leave it empty)
# reaches SCIM named by its cn (the default rules fall back to cn, as the ldap defaults do). Needs root (Samba on 127.0.0.1:389), SCIM on 18967.
# Run by hand: IDSYNC_BIN=build/idsync IDSYNC_SRC=$PWD bash tests/integration/e2e_ad_group_cn.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init e2e-ad-group-cn
SPORT=${E2E_SCIM_PORT:-18967}
SCIM_URL=http://127.0.0.1:$SPORT/scim/v2
SCIM_ADMIN=http://127.0.0.1:$SPORT/admin
SCIM_TOKEN=e2e-token-$$
B=DC=example,DC=test
H=$T/home
it_start_samba "$T/samba"
it_start_scim "$T/scim" "$SPORT" "$SCIM_TOKEN"
printf 'dn: CN=ann,CN=Users,%s\nobjectClass: user\nsAMAccountName: ann\n\ndn: CN=plain,CN=Users,%s\nobjectClass: group\nsAMAccountName: plain\nmember: CN=ann,CN=Users,%s\n' \
  "$B" "$B" "$B" | ldapadd -x -H ldap://127.0.0.1 -D Administrator@EXAMPLE.TEST -w 'Passw0rd!Test1' >/dev/null
secret "$T/ad.pw" 'Passw0rd!Test1'; secret "$T/scim.token" "$SCIM_TOKEN"
must --home "$H" install --db sqlite
must --home "$H" connector add corp --type ad --url ldap://127.0.0.1 --base "$B" --bind-dn Administrator@EXAMPLE.TEST --password-file "$T/ad.pw"
must --home "$H" connector add cloud --type scim --url "$SCIM_URL" --token-file "$T/scim.token"
must --home "$H" cycle --initial
check "the user is exported" eq "$(scim_get 'Users?filter=userName%20eq%20%22ann@example.test%22' | jq -r .totalResults)" 1
check "the group without displayName is exported as its cn, with its member" \
  eq "$(scim_get 'Groups?filter=displayName%20eq%20%22plain%22' | jq -r '"\(.totalResults) \(.Resources[0].members | length)"')" "1 1"
it_finish
