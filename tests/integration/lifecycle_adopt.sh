#!/bin/bash
# Integration test of `install --use-existing-database` refusals and flags on copies of a real database: a newer
# engine_version (exit 4 naming it), a live owner (exit 4 unless --take-over), a 22-day-old database (every
# connector flagged full_import_required), an empty or missing database (refused); what carries over (password
# hash sync, writeback) and what does not (sign-in method; staging is switched on).
# env: IDSYNC_BIN. Needs sqlite3 and jq.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # ok/bad/check/eq/has/run, $T removed on exit
it_init lifecycle-adopt
command -v sqlite3 >/dev/null || { echo "sqlite3 is required"; exit 1; }
# copy of the original database with some SQL applied: fresh NAME [SQL]
fresh() { cp "$H/idsync.db" "$T/$1.db"; [ -z "${2:-}" ] || sqlite3 "$T/$1.db" "$2"; }
adopt() { local name=$1; shift; run --home "$T/h-$name" install --db "sqlite:$T/$name.db" --use-existing-database "$@"; }

H=$T/home
echo "dn: cn=dummy" >"$T/dummy.ldif"
"$BIN" --home "$H" install --db sqlite >/dev/null
"$BIN" --home "$H" connector add src1 --type ldif --url "$T/dummy.ldif" >/dev/null
"$BIN" --home "$H" connector add src2 --type ldif --url "$T/dummy.ldif" >/dev/null
"$BIN" --home "$H" phs enable >/dev/null
"$BIN" --home "$H" writeback enable >/dev/null
"$BIN" --home "$H" signin set pta >/dev/null
NOW=$(date +%s)
# a database that has synced recently and whose connectors need nothing
sqlite3 "$H/idsync.db" "UPDATE connectors SET full_import_required = 0, full_sync_required = 0;
                        UPDATE meta SET value = '$NOW' WHERE key = 'last_sync_at';"

# --- a plain adoption: what carries over -----------------------------------------------------------
fresh plain
adopt plain --json
check "adopting an idle database succeeds" eq "$RC" 0
check "  ... names the previous owner" eq "$(jq -r .previous_owner "$T/out")" "$(sed -n 's/^server_id = //p' "$H/idsync.conf")"
run --home "$T/h-plain" status --json
check "  ... staging mode is on" eq "$(jq -r .staging_mode "$T/out")" true
check "  ... password hash sync carried over" eq "$(jq -r .password_hash_sync "$T/out")" true
check "  ... password writeback carried over" eq "$(jq -r .password_writeback "$T/out")" true
check "  ... sign-in method not carried over" eq "$(jq -r .signin_method "$T/out")" none
run --home "$T/h-plain" connector list --json
check "  ... a fresh database is not flagged for full import" eq "$(jq -c '[.connectors[].full_import_required]' "$T/out")" '[false,false]'

# --- newer engine_version ----------------------------------------------------------------------------
fresh newer "UPDATE meta SET value = '99.1.0' WHERE key = 'engine_version'"
adopt newer
check "a database written by a newer idsync is refused (exit 4)" eq "$RC" 4
check "  ... naming the version" has "$T/err" "99.1.0"
check "  ... and no server is installed" test ! -e "$T/h-newer/idsync.conf"
check "  ... and the database is unchanged" eq "$(sqlite3 "$T/newer.db" "SELECT value FROM meta WHERE key='owner_server_id'")" \
  "$(sqlite3 "$H/idsync.db" "SELECT value FROM meta WHERE key='owner_server_id'")"

# --- live owner ----------------------------------------------------------------------------------------
fresh live "UPDATE meta SET value = '$NOW' WHERE key = 'owner_heartbeat'"
adopt live
check "a database whose owner is live is refused (exit 4)" eq "$RC" 4
check "  ... naming --take-over" has "$T/err" "--take-over"
adopt live --take-over --json
check "  ... --take-over adopts it" eq "$RC" 0
check "  ... and says so" eq "$(jq -r .took_over "$T/out")" true
# the old server, pointed at the taken-over database, is refused
sed "s|^database = .*|database = sqlite:$T/live.db|" "$H/idsync.conf" >"$T/old-on-live.conf"
mkdir -p "$T/h-oldlive" && cp "$T/old-on-live.conf" "$T/h-oldlive/idsync.conf" && cp "$H/server.key" "$T/h-oldlive/"
run --home "$T/h-oldlive" status
check "  ... the old server is now refused on it (exit 4)" eq "$RC" 4

# --- 22 days old ---------------------------------------------------------------------------------------
OLD=$((NOW - 22 * 86400))
fresh stale "UPDATE meta SET value = '$OLD' WHERE key IN ('last_sync_at', 'owner_heartbeat')"
adopt stale --json
check "a 22-day-old database is adopted" eq "$RC" 0
check "  ... reporting full import required" eq "$(jq -r .full_import_required "$T/out")" true
run --home "$T/h-stale" connector list --json
check "  ... every connector is flagged full_import_required" eq "$(jq -c '[.connectors[].full_import_required]' "$T/out")" '[true,true]'
fresh recent "UPDATE meta SET value = '$((NOW - 20 * 86400))' WHERE key IN ('last_sync_at', 'owner_heartbeat')"
adopt recent
run --home "$T/h-recent" connector list --json
check "a 20-day-old database is not flagged" eq "$(jq -c '[.connectors[].full_import_required]' "$T/out")" '[false,false]'

# --- empty or missing database ----------------------------------------------------------------------
: >"$T/empty.db"
run --home "$T/h-empty" install --db "sqlite:$T/empty.db" --use-existing-database
check "an empty database is refused" test "$RC" -ne 0
check "  ... saying it is empty" has "$T/err" "empty"
check "  ... and no server is installed" test ! -e "$T/h-empty/idsync.conf"
run --home "$T/h-missing" install --db "sqlite:$T/missing.db" --use-existing-database
check "a missing database is refused" test "$RC" -ne 0
check "  ... and not created" test ! -e "$T/missing.db"
sqlite3 "$T/foreign.db" "CREATE TABLE foo(x)"
run --home "$T/h-foreign" install --db "sqlite:$T/foreign.db" --use-existing-database
check "a database that is not idsync's is refused" test "$RC" -ne 0
check "  ... saying so" has "$T/err" "not an idsync sync database"

it_finish
