#!/bin/bash
# Integration test of the SCIM connector against the real test SCIM server (node + scimmy), driven by
# tool_scim_probe: adds/updates/deletes/membership land exactly, soft match adopts, one 409 in 1,000
# leaves 999 exported, injected 429/500 are survived with every object written once, bulk on and off,
# soft delete, paging, OAuth2 refresh, persistence, and clear auth/connection errors.
# env: IDSYNC_SRC (repo root), IDSYNC_BUILD (build dir). Ports 18441-18443 on 127.0.0.1.
set -euo pipefail
SRC=${IDSYNC_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${IDSYNC_BUILD:-$SRC/build}
PROBE=$BUILD/tool_scim_probe
PORT=${SCIM_TEST_PORT:-18441}
OPORT=$((PORT + 1))
URL=http://127.0.0.1:$PORT/scim/v2
ADMIN=http://127.0.0.1:$PORT/admin
[ -x "$PROBE" ] || { echo "missing $PROBE (build target tool_scim_probe)"; exit 1; }
command -v jq >/dev/null || { echo "jq is required"; exit 1; }
T=$(mktemp -d /tmp/idsync-scim-it.XXXXXX)
PIDS=()
cleanup() {
  # stop.sh waits for the exit: the server saves its data file on the way out, racing rm -rf
  for d in "$T/srv" "$T/osrv"; do "$SRC/tests/peers/stop.sh" "$d" >/dev/null 2>&1 || true; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
FAILS=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
eq() { [ "$1" = "$2" ] || { echo "     expected [$2], got [$1]" >&2; return 1; }; }
has() { grep -qF -- "$2" "$1" || { echo "     [$2] not in $1:" >&2; head -20 "$1" >&2; return 1; }; }

echo -n test-token >"$T/token"
echo -n wrong-token >"$T/badtoken"
SCIM_DATA_FILE=$T/data.json "$SRC/tests/peers/start-scim.sh" "$T/srv" "$PORT" test-token >/dev/null
H=(-s -H "Authorization: Bearer test-token")
api() { curl "${H[@]}" "$URL/$1"; }
stat() { curl -s "$ADMIN/stats" | jq -r "$1"; }
reset() { curl -s -XPOST "$ADMIN/reset" >/dev/null; }
faults() { curl -s -XPOST -H 'Content-Type: application/json' "$ADMIN/faults" -d "$1" >/dev/null; }
probe() { "$PROBE" --url "$URL" --token-file "$T/token" "$@"; }
ref() { sed -n "s/^REF $2=//p" "$1"; }

for MODE in bulk single; do
  reset
  OPTS=(--opt bulk=auto); [ $MODE = single ] && OPTS=(--opt bulk=off)
  # --- adds, updates, membership, deletes land exactly -------------------------------------
  cat >"$T/spec1.json" <<'EOF'
{"batches":[
 [{"op":"add","type":"user","ref":"bob","attrs":{"userName":"bob","externalId":"E-bob","displayName":"Bob B",
   "name.givenName":"Bob","name.familyName":"Builder","emails.work":"bob@example.test","phoneNumbers.mobile":"+1 555",
   "active":true,"title":"Eng","preferredLanguage":"en","employeeNumber":"1001","department":"R&D"}},
  {"op":"add","type":"user","ref":"cat","attrs":{"userName":"cat","externalId":"E-cat"}}],
 [{"op":"add","type":"user","ref":"amy","attrs":{"userName":"amy","externalId":"E-amy","manager":"@bob"}}],
 [{"op":"add","type":"group","ref":"eng","attrs":{"displayName":"Engineering","externalId":"G-eng","members":["@bob","@amy"]}}],
 [{"op":"update","type":"group","anchor":"@eng","mods":[{"op":"add","attr":"members","values":["@cat"]},
                                                      {"op":"delete","attr":"members","values":["@bob"]}]},
  {"op":"update","type":"user","anchor":"@bob","mods":[{"op":"replace","attr":"emails.work","values":["b2@example.test"]},
   {"op":"replace","attr":"title","values":[]},{"op":"replace","attr":"active","values":[false]},
   {"op":"replace","attr":"name.givenName","values":["Robert"]},{"op":"delete","attr":"department"}]},
  {"op":"delete","type":"user","anchor":"@cat"}],
 [{"op":"delete","type":"user","anchor":"@cat"}]
]}
EOF
  probe "${OPTS[@]}" --spec "$T/spec1.json" >"$T/out1" || true
  BOB=$(ref "$T/out1" bob); AMY=$(ref "$T/out1" amy); CAT=$(ref "$T/out1" cat); ENG=$(ref "$T/out1" eng)
  check "$MODE: every item of the spec OK (deleting an absent user is OK)" has "$T/out1" "EXPORT items=8 ok=8 error=0 retry=0"
  api "Users/$BOB" >"$T/bob.json"
  check "$MODE: bob's email replaced, not duplicated" eq "$(jq -c '[.emails[]|select(.type=="work")|.value]' "$T/bob.json")" '["b2@example.test"]'
  check "$MODE: bob's title removed" eq "$(jq -r '.title // "none"' "$T/bob.json")" none
  check "$MODE: bob inactive" eq "$(jq -r '.active' "$T/bob.json")" false
  check "$MODE: bob's givenName replaced, familyName kept" eq "$(jq -r '.name.givenName+"/"+.name.familyName' "$T/bob.json")" Robert/Builder
  check "$MODE: bob's enterprise attributes" eq "$(jq -r '.["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]|(.employeeNumber+"/"+(.department//"none"))' "$T/bob.json")" 1001/none
  check "$MODE: bob's phone" eq "$(jq -r '.phoneNumbers[0].type+"="+.phoneNumbers[0].value' "$T/bob.json")" "mobile=+1 555"
  check "$MODE: amy's manager is bob's SCIM id" eq "$(api "Users/$AMY" | jq -r '.["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].manager.value')" "$BOB"
  check "$MODE: group members exactly amy and cat (bob removed, cat added; the server keeps deleted members)" \
    eq "$(api "Groups/$ENG" | jq -r '[.members[]?.value]|sort|join(",")')" "$(printf '%s\n' "$AMY" "$CAT" | sort | paste -sd,)"
  check "$MODE: cat deleted" eq "$(curl "${H[@]}" -o /dev/null -w '%{http_code}' "$URL/Users/$CAT")" 404
  check "$MODE: 2 users left" eq "$(stat .users)" 2
  check "$MODE: members changed by add and remove of single members" \
    eq "$(stat '[.patch_ops["add members"], .patch_ops["remove members[filter]"], (.patch_ops["replace members"] // 0)]|join(",")')" 1,1,0

  # --- soft match adopts an existing user ----------------------------------------------------
  curl "${H[@]}" -H 'Content-Type: application/scim+json' -XPOST "$URL/Users" \
    -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"dora.old","externalId":"E-dora","title":"Old"}' >"$T/dora.json"
  DORA=$(jq -r .id "$T/dora.json")
  cat >"$T/spec2.json" <<'EOF'
{"batches":[[{"op":"add","type":"user","ref":"dora","attrs":{"userName":"dora","externalId":"E-dora","title":"New"}},
             {"op":"add","type":"user","ref":"eve","attrs":{"userName":"eve","externalId":"E-eve"}}]]}
EOF
  probe "${OPTS[@]}" --spec "$T/spec2.json" >"$T/out2" || true
  check "$MODE: existing user adopted with its id" has "$T/out2" "add user -> OK anchor=$DORA adopted"
  check "$MODE: adopted user patched to the desired state" eq "$(api "Users/$DORA" | jq -r '.userName+"/"+.title')" dora/New
  check "$MODE: no duplicate created" eq "$(stat .users)" 4
  BEFORE=$(stat '.writes["update Users"]')
  probe "${OPTS[@]}" --spec "$T/spec2.json" >"$T/out2b" || true
  check "$MODE: adopting again writes nothing" eq "$(stat '.writes["update Users"]')" "$BEFORE"
  check "$MODE: adopting again reports adopted" has "$T/out2b" "add user -> OK anchor=$DORA adopted"

  # --- one 409 among 1,000 --------------------------------------------------------------------
  reset
  curl "${H[@]}" -H 'Content-Type: application/scim+json' -XPOST "$URL/Users" \
    -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"load000500","externalId":"someone-else"}' >/dev/null
  probe "${OPTS[@]}" --gen-users 1000 --gen-prefix load --batch 1000 --quiet >"$T/out3" || true
  check "$MODE: 999 exported, 1 error" has "$T/out3" "EXPORT items=1000 ok=999 error=1 retry=0"
  check "$MODE: the error names the 409 and the userName" has "$T/out3" "HTTP 409 (uniqueness): userName 'load000500' already in use"
  check "$MODE: 1,000 users on the server" eq "$(stat .users)" 1000
  check "$MODE: 1,000 creations (999 + the pre-existing one)" eq "$(stat '.writes["create Users"]')" 1000

  # --- injected 429 and 500: survived, every object written exactly once ---------------------
  reset
  faults '[{"status":429,"count":6,"retry_after":1,"method":"POST"},{"status":500,"count":4,"every":3,"method":"POST"},{"status":503,"count":3,"method":"GET"}]'
  probe "${OPTS[@]}" --gen-users 600 --gen-prefix f --batch 300 --quiet >"$T/out4" || true
  check "$MODE: all 600 exported despite faults" has "$T/out4" "EXPORT items=600 ok=600 error=0 retry=0"
  check "$MODE: 13 faults were injected" eq "$(stat .faults_injected)" 13
  check "$MODE: exactly 600 creations (none twice)" eq "$(stat '.writes["create Users"]')" 600
  check "$MODE: 600 users" eq "$(stat .users)" 600

  # --- throttled past the wait budget: items stay pending (RETRY), nothing lost --------------
  reset
  faults '[{"status":429,"count":1000,"retry_after":1,"path":"/Users"},{"status":429,"count":1000,"retry_after":1,"path":"/Bulk"}]'
  probe "${OPTS[@]}" --opt retry_max_wait_ms=1500 --gen-users 3 --gen-prefix t --batch 3 >"$T/out5" || true
  check "$MODE: throttled items come back as RETRY" has "$T/out5" "EXPORT items=3 ok=0 error=0 retry=3"
  check "$MODE: RETRY message says throttled" has "$T/out5" "still throttled (HTTP 429"
  curl -s -XDELETE "$ADMIN/faults" >/dev/null

  # --- persistent 500: ERROR after a few retries ---------------------------------------------
  reset
  faults '[{"status":500,"count":1000,"method":"PATCH"}]'
  cat >"$T/spec6.json" <<'EOF'
{"batches":[[{"op":"add","type":"user","ref":"p","attrs":{"userName":"p"}}],
            [{"op":"update","type":"user","anchor":"@p","mods":[{"op":"replace","attr":"title","values":["x"]}]},
             {"op":"update","type":"user","anchor":"@p","mods":[{"op":"replace","attr":"title","values":["y"]}]}]]}
EOF
  probe "${OPTS[@]}" --spec "$T/spec6.json" >"$T/out6" || true
  if [ $MODE = single ]; then
    check "$MODE: persistent 500 -> ERROR" has "$T/out6" "ok=1 error=2 retry=0"
    check "$MODE: 500 retried 3 times per item (4 attempts)" eq "$(stat '.requests["PATCH /Users/:id"]')" 8
  fi
  curl -s -XDELETE "$ADMIN/faults" >/dev/null
done

# --- soft delete ---------------------------------------------------------------------------------
reset
cat >"$T/spec7.json" <<'EOF'
{"batches":[[{"op":"add","type":"user","ref":"s","attrs":{"userName":"s","active":true}}],
            [{"op":"delete","type":"user","anchor":"@s"}]]}
EOF
probe --opt soft_delete=true --spec "$T/spec7.json" >"$T/out7" || true
S=$(ref "$T/out7" s)
check "soft_delete: user still there, inactive" eq "$(api "Users/$S" | jq -r .active)" false
check "soft_delete: no DELETE sent" eq "$(stat '.requests["DELETE /Users/:id"] // 0')" 0

# --- full import with paging ---------------------------------------------------------------------
reset
probe --gen-users 95 --gen-prefix imp --quiet >/dev/null
cat >"$T/spec8.json" <<'EOF'
{"batches":[[{"op":"add","type":"user","ref":"m","attrs":{"userName":"member","emails.work":"m@x"}}],
            [{"op":"add","type":"group","attrs":{"displayName":"G1","members":["@m"]}},
             {"op":"add","type":"group","attrs":{"displayName":"G2"}}]]}
EOF
probe --spec "$T/spec8.json" >"$T/out8a"
M=$(ref "$T/out8a" m)
curl -s -XDELETE "$ADMIN/stats" >/dev/null
probe --opt count=10 --import >"$T/out8"
check "import: 96 users and 2 groups" has "$T/out8" "IMPORT users=96 groups=2 pages=11 cookie_len=0"
check "import: attributes mapped" has "$T/out8" "emails.work=m@x"
check "import: group members are SCIM ids" has "$T/out8" "displayName=G1 members=$M"
check "import: 10 pages of users and 1 of groups requested" \
  eq "$(stat '[.requests["GET /Users"], .requests["GET /Groups"]]|join(",")')" 10,1

# --- errors: bad token, unreachable server, 401 mid-batch --------------------------------------
"$PROBE" --url "$URL" --token-file "$T/badtoken" --gen-users 1 >"$T/out9" || true
check "bad token: clear error" has "$T/out9" "rejected the token (HTTP 401); set a valid token with \`idsync connector set-credentials probe --token-file F\`"
check "bad token: the token is never printed" bash -c "! grep -q wrong-token '$T/out9'"
"$PROBE" --url "http://127.0.0.1:9/scim/v2" --token-file "$T/token" --gen-users 1 >"$T/out10" || true
check "unreachable: ERR_RETRY naming the URL" has "$T/out10" "OPEN FAILED rc=-6: cannot reach the SCIM server at http://127.0.0.1:9/scim/v2"
reset
faults '[{"status":401,"count":1,"method":"POST"}]'
probe --opt bulk=off --gen-users 20 --batch 20 --quiet >"$T/out11" || true
check "401 mid-batch: batch stops with ERR_AUTH" has "$T/out11" "BATCH g0 FAILED rc=-7: the SCIM server at $URL rejected the token (HTTP 401)"
check "401 mid-batch: unsent items are RETRY, none ERROR" grep -Eq "EXPORT items=20 ok=[0-9]+ error=0 retry=[1-9]" "$T/out11"

# --- OAuth2 client credentials: token fetched, refreshed once on 401 ---------------------------
SCIM_OAUTH_CLIENT_ID=idsync SCIM_OAUTH_CLIENT_SECRET='s3cr&t' "$SRC/tests/peers/start-scim.sh" "$T/osrv" "$OPORT" static-unused >/dev/null
echo -n 's3cr&t' >"$T/csecret"
OURL=http://127.0.0.1:$OPORT/scim/v2
OOPTS=(--opt auth=oauth2 --opt token_url=http://127.0.0.1:$OPORT/oauth/token --opt client_id=idsync)
"$PROBE" --url "$OURL" --token-file "$T/csecret" "${OOPTS[@]}" --gen-users 10 --quiet >"$T/out12" || true
check "oauth2: export with an issued token" has "$T/out12" "EXPORT items=10 ok=10"
# the next POST answers 401 as if the token had been revoked: the connector fetches a new token once
curl -s -XPOST -H 'Content-Type: application/json' "http://127.0.0.1:$OPORT/admin/faults" -d '[{"status":401,"count":1,"method":"POST"}]' >/dev/null
"$PROBE" --url "$OURL" --token-file "$T/csecret" "${OOPTS[@]}" --opt bulk=off --gen-users 5 --gen-prefix o2 --quiet >"$T/out13" || true
check "oauth2: a 401 refreshes the token once and the batch completes" has "$T/out13" "EXPORT items=5 ok=5 error=0 retry=0"
check "oauth2: token endpoint called 3 times (1 for the first run, 2 for the refreshed one)" \
  eq "$(curl -s "http://127.0.0.1:$OPORT/admin/stats" | jq -r '.requests["POST /oauth/token"]')" 3
curl -s -XPOST "http://127.0.0.1:$OPORT/admin/revoke-tokens" >/dev/null
"$PROBE" --url "$OURL" --token-file "$T/csecret" "${OOPTS[@]}" --import --quiet >"$T/out13b" || true
check "oauth2: import with a fresh token after revocation" has "$T/out13b" "IMPORT users=15 groups=0"
echo -n wrong >"$T/badsecret"
"$PROBE" --url "$OURL" --token-file "$T/badsecret" "${OOPTS[@]}" --gen-users 1 >"$T/out14" || true
check "oauth2: bad client secret -> clear ERR_AUTH" has "$T/out14" "OPEN FAILED rc=-7: the OAuth2 token endpoint http://127.0.0.1:$OPORT/oauth/token rejected client id \"idsync\" (HTTP 401: invalid_client)"

# --- persistence: data survives a restart -------------------------------------------------------
reset
probe --gen-users 3 --gen-prefix keep --quiet >/dev/null
sleep 0.5
kill "$(cat "$T/srv/server.pid")"; for _ in $(seq 1 50); do kill -0 "$(cat "$T/srv/server.pid")" 2>/dev/null || break; sleep 0.1; done
SCIM_DATA_FILE=$T/data.json "$SRC/tests/peers/start-scim.sh" "$T/srv" "$PORT" test-token >/dev/null
check "persistence: 3 users after restart" eq "$(api 'Users?filter=userName%20eq%20%22keep000001%22' | jq -r .totalResults)/$(stat .users)" 1/3

echo "scim_connector: $FAILS failure(s)"
[ "$FAILS" = 0 ]
