#!/bin/bash
# Black-box test of `idsync connector`: add/list/show/remove with --json keys, set-credentials,
# secrets never in output or in the database as plain text, and "credentials required" after the
# database is adopted by a second server (a copy installed with --use-existing-database).
set -uo pipefail
CLI_TEST_NAME=cli-connector
. "$(dirname "$0")/lib_cli.sh"
# jcheck NAME PYTHON: runs PYTHON with d = the JSON document on stdout of NAME.
jcheck() {
  local name=$1 code=$2
  python3 -c "import json,sys
d = json.load(open(sys.argv[1]))
$code" "$WORK/$name.out" 2>"$WORK/$name.py.err"
}

PW='Corp-Secret-7f3a9c-do-not-leak'
TOKEN='Cloud-Token-0b41e2-do-not-leak'
PW2='Corp-Rotated-55d1aa-do-not-leak'
printf '%s\n' "$PW" >"$WORK/corp.pw"
printf '%s\n' "$TOKEN" >"$WORK/cloud.token"
printf '%s' "$PW2" >"$WORK/corp2.pw"
chmod 600 "$WORK"/*.pw "$WORK"/*.token
H=$WORK/home1
H2=$WORK/home2

run install 0 "$BIN" --home "$H" install --db sqlite || { echo "install failed; cannot continue" >&2; exit 1; }
run list_empty 0 "$BIN" --home "$H" connector list --json \
  && jcheck list_empty 'assert d == {"connectors": []}, d' && pass "empty list" || fail "empty list: $(cat "$WORK/list_empty.out")"

# --- add -----------------------------------------------------------------------------------------
run add_corp 0 "$BIN" --home "$H" connector add corp --type ldap --url ldap://127.0.0.1:1 --base dc=example,dc=test \
  --bind-dn cn=admin,dc=example,dc=test --password-file "$WORK/corp.pw" && pass "add ldap connector"
run add_cloud 0 "$BIN" --home "$H" connector add cloud --type scim --url http://127.0.0.1:1/scim/v2 \
  --token-file "$WORK/cloud.token" --option timeout_ms=5000 && pass "add scim connector"
run add_dup 1 "$BIN" --home "$H" connector add corp --type ldap --url ldap://127.0.0.1:2 --base dc=x \
  && expect_err add_dup "connector named 'corp' exists"
run add_badname 2 "$BIN" --home "$H" connector add 'bad name!' --type ldap --url ldap://127.0.0.1:1 \
  && expect_err add_badname 'not valid'
run add_noname 2 "$BIN" --home "$H" connector add --type ldap --url ldap://127.0.0.1:1 && expect_err add_noname 'NAME'
run add_nourl 2 "$BIN" --home "$H" connector add x --type ldap && expect_err add_nourl '--url'
run add_both 2 "$BIN" --home "$H" connector add x --type scim --url http://127.0.0.1:1/scim/v2 \
  --password-file "$WORK/corp.pw" --token-file "$WORK/cloud.token" && expect_err add_both 'not both'
run add_badopt 2 "$BIN" --home "$H" connector add x --type scim --url http://127.0.0.1:1/scim/v2 --option nokey \
  && expect_err add_badopt 'KEY=VALUE'

# --- list / show ---------------------------------------------------------------------------------
KEYS='["name", "type", "credentials_required", "full_import_required", "full_sync_required"]'
run list 0 "$BIN" --home "$H" connector list --json && jcheck list "
cs = d['connectors']
assert [c['name'] for c in cs] == ['cloud', 'corp'], cs
for c in cs:
    for k in $KEYS: assert k in c, (k, c)
    assert c['credentials_required'] is False and c['full_import_required'] is True and c['full_sync_required'] is True, c
assert cs[0]['type'] == 'scim' and cs[1]['type'] == 'ldap'
assert cs[0]['options'] == {'timeout_ms': '5000'}, cs[0]
" && pass "list --json keys" || fail "list --json: $(cat "$WORK/list.out") $(cat "$WORK/list.py.err")"
run list_text 0 "$BIN" --home "$H" connector list && grep -q '^corp ' "$WORK/list_text.out" && pass "list text" \
  || fail "list text: $(cat "$WORK/list_text.out")"
run show 0 "$BIN" --home "$H" connector show corp --json && jcheck show "
for k in $KEYS: assert k in d, k
assert d['name'] == 'corp' and d['type'] == 'ldap' and d['url'] == 'ldap://127.0.0.1:1', d
assert d['bind_dn'] == 'cn=admin,dc=example,dc=test' and d['partitions'] == ['dc=example,dc=test'], d
assert d['credentials_required'] is False and d['has_credentials'] is True, d
" && pass "show --json" || fail "show --json: $(cat "$WORK/show.out") $(cat "$WORK/show.py.err")"
run show_text 0 "$BIN" --home "$H" connector show cloud
run show_missing 1 "$BIN" --home "$H" connector show nosuch && expect_err show_missing "no connector named 'nosuch'"

# --- set-credentials -----------------------------------------------------------------------------
run setcred 0 "$BIN" --home "$H" connector set-credentials corp --password-file "$WORK/corp2.pw" && pass "set-credentials"
printf '%s\n' "$PW2" | "$BIN" --home "$H" connector set-credentials corp - >"$WORK/setcred_stdin.out" 2>"$WORK/setcred_stdin.err" \
  && pass "set-credentials from stdin" || fail "set-credentials -: $(cat "$WORK/setcred_stdin.err")"
: >"$WORK/empty.pw"
run setcred_empty 2 "$BIN" --home "$H" connector set-credentials corp --password-file "$WORK/empty.pw" \
  && expect_err setcred_empty 'empty'
run setcred_missing 1 "$BIN" --home "$H" connector set-credentials nosuch --password-file "$WORK/corp2.pw" \
  && expect_err setcred_missing 'nosuch'
run setcred_usage 2 "$BIN" --home "$H" connector set-credentials corp
run show_after 0 "$BIN" --home "$H" connector show corp --json \
  && jcheck show_after "assert d['credentials_required'] is False and d['has_credentials'] is True, d" \
  && pass "still has credentials after rotation" || fail "show after set-credentials: $(cat "$WORK/show_after.out")"

# --- secrets: never in output, never in the database or config as plain text ---------------------
check_no_secret() {   # $1: what, then files
  local what=$1; shift
  local s
  for s in "$PW" "$PW2" "$TOKEN"; do
    if grep -aqF -- "$s" "$@" 2>/dev/null; then fail "$what contains a secret"; return; fi
  done
  pass "$what holds no secret in plain text"
}
check_no_secret "connector show --json" "$WORK/show.out" "$WORK/show_after.out"
check_no_secret "the sync database" "$H"/idsync.db*
check_no_secret "idsync.conf" "$H/idsync.conf"

# --- adoption by a second server: credentials required --------------------------------------------
mkdir -p "$WORK/copy"
cp "$H"/idsync.db* "$WORK/copy/" 2>/dev/null
[ -f "$WORK/copy/idsync.db" ] || fail "copying the database"
run adopt 0 "$BIN" --home "$H2" install --db "sqlite:$WORK/copy/idsync.db" --use-existing-database && pass "adopted the copy"
run list2 0 "$BIN" --home "$H2" connector list --json && jcheck list2 "
cs = {c['name']: c for c in d['connectors']}
assert set(cs) == {'corp', 'cloud'}, cs
assert all(c['credentials_required'] is True for c in cs.values()), cs
" && pass "credentials_required on the new server" || fail "list on adopted copy: $(cat "$WORK/list2.out") $(cat "$WORK/list2.py.err")"
run status2 0 "$BIN" --home "$H2" status --json && jcheck status2 "
assert any('set-credentials' in w and 'corp' in w for w in d['warnings']), d['warnings']
" && pass "status warns which command fixes it" || fail "status on adopted copy: $(cat "$WORK/status2.out")"
# the original server still opens its own credentials
run list1 0 "$BIN" --home "$H" connector list --json \
  && jcheck list1 "assert all(c['credentials_required'] is False for c in d['connectors']), d" \
  && pass "original server unaffected" || fail "original server: $(cat "$WORK/list1.out")"
# the new server re-enters them
run setcred2 0 "$BIN" --home "$H2" connector set-credentials corp --password-file "$WORK/corp.pw"
run show2 0 "$BIN" --home "$H2" connector show corp --json \
  && jcheck show2 "assert d['credentials_required'] is False, d" && pass "set-credentials clears credentials_required" \
  || fail "after set-credentials on new server: $(cat "$WORK/show2.out")"
run show2c 0 "$BIN" --home "$H2" connector show cloud --json \
  && jcheck show2c "assert d['credentials_required'] is True, d" && pass "other connector still needs credentials" \
  || fail "cloud on new server: $(cat "$WORK/show2c.out")"
check_no_secret "the adopted database" "$WORK/copy"/idsync.db*

# --- remove --------------------------------------------------------------------------------------
run remove 0 "$BIN" --home "$H" connector remove cloud && pass "remove"
run remove_again 1 "$BIN" --home "$H" connector remove cloud && expect_err remove_again "no connector named 'cloud'"
run list_after 0 "$BIN" --home "$H" connector list --json \
  && jcheck list_after "assert [c['name'] for c in d['connectors']] == ['corp'], d" && pass "removed from list" \
  || fail "list after remove: $(cat "$WORK/list_after.out")"
run verb 2 "$BIN" --home "$H" connector frob && expect_err verb "unknown connector verb 'frob'"

# every captured output, stdout and stderr, is free of secrets
check_no_secret "all command output" "$WORK"/*.out "$WORK"/*.err

if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed" >&2; exit 1; fi
echo "all cli_connector checks passed"
