#!/bin/bash
# Black-box test of `idsync install` and `idsync status`: files and modes of a new home, refusal
# of a second install, status --json keys, and bad input (each: clear error, exit code, nothing changed).
set -uo pipefail
CLI_TEST_NAME=cli-install
. "$(dirname "$0")/lib_cli.sh"
# snapshot DIR: checksums of every file in DIR (names and content), for "nothing changed" checks.
snapshot() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum; find . -printf '%p %m\n' | sort); }
mode() { stat -c %a "$1"; }

H=$WORK/home
# --- install ---------------------------------------------------------------------------------
if run install 0 "$BIN" --home "$H" install --db sqlite; then pass "install --db sqlite"; fi
[ "$(mode "$H")" = 700 ] && pass "home is 0700" || fail "home mode $(mode "$H"), expected 700"
[ -f "$H/server.key" ] && [ "$(mode "$H/server.key")" = 600 ] && pass "server.key 0600" \
  || fail "server.key missing or mode $(mode "$H/server.key" 2>/dev/null)"
[ "$(stat -c %s "$H/server.key")" = 32 ] && pass "server.key is 32 bytes" || fail "server.key size $(stat -c %s "$H/server.key")"
[ -s "$H/idsync.conf" ] && pass "idsync.conf written" || fail "idsync.conf missing"
grep -q '^server_id = ' "$H/idsync.conf" && grep -q "^database = sqlite:$H/idsync.db" "$H/idsync.conf" \
  && pass "idsync.conf names the server and database" || fail "idsync.conf content: $(cat "$H/idsync.conf")"
[ -s "$H/idsync.db" ] && [ "$(mode "$H/idsync.db")" = 600 ] && pass "idsync.db created 0600" \
  || fail "idsync.db missing or mode $(mode "$H/idsync.db" 2>/dev/null)"
grep -q "$H" "$WORK/install.out" && pass "install output names the home" || fail "install output: $(cat "$WORK/install.out")"
SERVER_ID=$(sed -n 's/^server_id = //p' "$H/idsync.conf")

# --- second install refused without --force, nothing changed ---------------------------------
before=$(snapshot "$H")
run reinstall 1 "$BIN" --home "$H" install --db sqlite && expect_err reinstall 'already installed.*--force'
[ "$(snapshot "$H")" = "$before" ] && pass "refused reinstall changed nothing" || fail "refused reinstall changed the home"

# --- status --json ---------------------------------------------------------------------------
if run status 0 "$BIN" --home "$H" status --json; then
  python3 - "$WORK/status.out" "$SERVER_ID" "$H" <<'EOF' && pass "status --json keys and values" || fail "status --json: $(cat "$WORK/status.out")"
import json, sys
d = json.load(open(sys.argv[1]))
keys = ["server_id", "home", "database", "schema_version", "engine_version", "idsync_version", "staging_mode",
        "signin_method", "password_hash_sync", "password_writeback", "last_sync_at", "connectors", "warnings"]
missing = [k for k in keys if k not in d]
assert not missing, f"missing keys {missing}"
assert d["server_id"] == sys.argv[2], d["server_id"]
assert d["home"] == sys.argv[3]
assert d["database"]["engine"] == "sqlite" and d["database"]["url"].endswith("/idsync.db"), d["database"]
assert isinstance(d["schema_version"], int) and d["schema_version"] >= 1
assert d["connectors"] == [] and isinstance(d["warnings"], list)
assert d["staging_mode"] is False
EOF
fi
run status_text 0 "$BIN" --home "$H" status && grep -q "$SERVER_ID" "$WORK/status_text.out" \
  && pass "status text names the server" || fail "status text: $(cat "$WORK/status_text.out")"
# IDSYNC_HOME is honoured when --home is absent
IDSYNC_HOME=$H run status_env 0 "$BIN" status --json && grep -q "$SERVER_ID" "$WORK/status_env.out" \
  && pass "IDSYNC_HOME selects the home" || fail "IDSYNC_HOME not honoured"

# --- bad input: each a clear error, an exit code, and nothing changed ------------------------
# missing idsync.conf (status in an empty home)
mkdir -p "$WORK/empty"
run empty_home 1 "$BIN" --home "$WORK/empty" status && expect_err empty_home 'idsync\.conf not found.*idsync install'
[ -z "$(ls -A "$WORK/empty")" ] && pass "status in an empty home created nothing" || fail "status created files in an empty home"

# corrupt idsync.conf (garbage line)
cp "$H/idsync.conf" "$WORK/conf.good"
echo 'this line is garbage' >>"$H/idsync.conf"
before=$(snapshot "$H")
run bad_conf 1 "$BIN" --home "$H" status && expect_err bad_conf 'idsync\.conf line [0-9]+'
[ "$(snapshot "$H")" = "$before" ] && pass "corrupt idsync.conf: nothing changed" || fail "corrupt idsync.conf: home changed"
echo 'colour = blue' >"$H/idsync.conf.tmp"; cat "$WORK/conf.good" >>"$H/idsync.conf.tmp"; mv "$H/idsync.conf.tmp" "$H/idsync.conf"
run unknown_setting 1 "$BIN" --home "$H" status && expect_err unknown_setting "unknown setting 'colour'"
cp "$WORK/conf.good" "$H/idsync.conf"

# server.key readable by group/others
chmod 644 "$H/server.key"
before=$(snapshot "$H")
run key_mode 4 "$BIN" --home "$H" status && expect_err key_mode 'chmod 600'
[ "$(snapshot "$H")" = "$before" ] && pass "key mode refusal changed nothing" || fail "key mode refusal changed the home"
chmod 600 "$H/server.key"

# server.key of the wrong size
cp "$H/server.key" "$WORK/key.good"
head -c 16 "$WORK/key.good" >"$H/server.key"; chmod 600 "$H/server.key"
run key_size 1 "$BIN" --home "$H" status && expect_err key_size 'server\.key.*(16 bytes|size).*32|32.*bytes'
cp "$WORK/key.good" "$H/server.key"; chmod 600 "$H/server.key"
# missing server.key
mv "$H/server.key" "$WORK/key.moved"
run key_missing 1 "$BIN" --home "$H" status && expect_err key_missing 'server\.key'
mv "$WORK/key.moved" "$H/server.key"

# database file that is not an idsync database
cp "$H/idsync.db" "$WORK/db.good"
echo "just some text, not a database" >"$H/idsync.db"
before=$(snapshot "$H")
run bad_db 1 "$BIN" --home "$H" status && expect_err bad_db 'idsync\.db.*(not a|not an idsync)'
[ "$(snapshot "$H")" = "$before" ] && pass "non-database file left untouched" || fail "non-database file was modified"
# another application's SQLite database
rm -f "$H/idsync.db"
sqlite3 "$H/idsync.db" 'CREATE TABLE invoices(id INTEGER PRIMARY KEY); INSERT INTO invoices VALUES (1);'
run foreign_db 1 "$BIN" --home "$H" status && expect_err foreign_db 'not an idsync'
sqlite3 "$H/idsync.db" 'SELECT count(*) FROM invoices' | grep -qx 1 && pass "foreign database untouched" \
  || fail "foreign database changed"
rm -f "$H/idsync.db" "$H/idsync.db-wal" "$H/idsync.db-shm"; cp "$WORK/db.good" "$H/idsync.db"
run status_again 0 "$BIN" --home "$H" status --json && pass "restored home works again"

# unknown connector type: usage error, no connector added
before_list=$("$BIN" --home "$H" connector list --json)
run bad_type 2 "$BIN" --home "$H" connector add corp --type novell --url ldap://127.0.0.1:1 \
  && expect_err bad_type "unknown connector type 'novell'.*ldap"
[ "$("$BIN" --home "$H" connector list --json)" = "$before_list" ] && pass "unknown type added nothing" \
  || fail "unknown type changed the connector list"

# empty password file: refused, no connector added
: >"$WORK/empty.pw"
run empty_pw 2 "$BIN" --home "$H" connector add corp --type ldap --url ldap://127.0.0.1:1 --base dc=example,dc=test \
  --bind-dn cn=admin,dc=example,dc=test --password-file "$WORK/empty.pw" && expect_err empty_pw 'empty'
[ "$("$BIN" --home "$H" connector list --json)" = "$before_list" ] && pass "empty password file added nothing" \
  || fail "empty password file changed the connector list"
# missing password file
run missing_pw 1 "$BIN" --home "$H" connector add corp --type ldap --url ldap://127.0.0.1:1 --base dc=example,dc=test \
  --password-file "$WORK/nope.pw" && expect_err missing_pw 'nope\.pw'

# usage errors
run no_db 2 "$BIN" --home "$WORK/h2" install && expect_err no_db '--db'
[ ! -e "$WORK/h2" ] && pass "install without --db created nothing" || fail "install without --db created $WORK/h2"
run bad_db_url 2 "$BIN" --home "$WORK/h3" install --db mysql://x && expect_err bad_db_url "unknown --db value"
run pw_in_url 2 "$BIN" --home "$WORK/h4" install --db 'postgresql://u:hunter2@127.0.0.1:1/db' \
  && expect_err pw_in_url 'password'
grep -q hunter2 "$WORK/pw_in_url.err" && fail "the password in the URL was echoed" || pass "URL password not echoed"
run unknown_opt 2 "$BIN" --home "$H" install --db sqlite --colour && expect_err unknown_opt 'unknown option --colour'
run unknown_cmd 2 "$BIN" --home "$H" frobnicate && expect_err unknown_cmd "unknown command 'frobnicate'"
run no_args 2 "$BIN"

# --force into a home whose database holds data: refused (never overwrites a database), home kept
before=$(snapshot "$H")
run force_new 1 "$BIN" --home "$H" install --db sqlite --force \
  && expect_err force_new 'not empty.*--use-existing-database'
[ "$(snapshot "$H")" = "$before" ] && pass "refused --force kept the old server intact" || fail "refused --force changed the home"
# --force --use-existing-database: a new server (id, key) adopting the same database
OLD_KEY=$(sha256sum <"$H/server.key")
if run force_adopt 0 "$BIN" --home "$H" install --db sqlite --force --use-existing-database; then
  NEW_ID=$(sed -n 's/^server_id = //p' "$H/idsync.conf")
  [ -n "$NEW_ID" ] && [ "$NEW_ID" != "$SERVER_ID" ] && pass "reinstall made a new server id" || fail "server id unchanged"
  [ "$(sha256sum <"$H/server.key")" != "$OLD_KEY" ] && [ "$(mode "$H/server.key")" = 600 ] \
    && pass "reinstall made a new 0600 key" || fail "server key not replaced"
  grep -q "$SERVER_ID" "$WORK/force_adopt.out" && pass "adoption names the previous server" \
    || fail "adoption output does not name $SERVER_ID"
  run status_adopted 0 "$BIN" --home "$H" status --json
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["staging_mode"] is True' \
    "$WORK/status_adopted.out" && pass "adopted server starts in staging mode" || fail "adopted server not in staging"
fi

# --help of each group exits 0 and prints usage on stdout
run help_main 0 "$BIN" --help && grep -q 'usage: idsync' "$WORK/help_main.out" && pass "idsync --help"
for g in install status connector db staging signin phs writeback rules run cycle history cs mv trace \
         export-preview serve; do
  run "help_$g" 0 "$BIN" --home "$WORK/nohome" "$g" --help && grep -qi "usage: idsync $g" "$WORK/help_$g.out" \
    && pass "$g --help" || fail "$g --help printed no usage on stdout: $(head -c 200 "$WORK/help_$g.out")"
done
# every group the main help lists is covered above
for g in $(sed -n 's/^  \([a-z-]*\) .*/\1/p' "$WORK/help_main.out" | sort -u); do
  [ -f "$WORK/help_$g.out" ] || fail "group '$g' from idsync --help has no --help check here"
done
[ ! -e "$WORK/nohome" ] && pass "--help touched no home" || fail "--help created a home"

if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed" >&2; exit 1; fi
echo "all cli_install checks passed"
