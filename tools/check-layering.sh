#!/bin/bash
# Rejects wrong-way #includes between idsync's modules (docs/ARCHITECTURE.md, "Modules"):
#   util <- store, vault <- rules, connectors <- engine <- server, cli
# usage: tools/check-layering.sh [SRC_DIR]     (default: src/ of this repository)
#        tools/check-layering.sh --self-test  (proves the checker catches violations)
# Exit 0 when clean; 1 with one "file:line: message" per violation.
set -euo pipefail

# Allowed modules per module ("*" = anything). A module is the first folder under src/.
allowed_for() {
  case "$1" in
    util) echo "util" ;;
    store) echo "util store" ;;
    vault) echo "util vault" ;;
    rules) echo "util rules" ;;
    connectors) echo "util connectors" ;;
    engine) echo "util store vault rules connectors engine" ;;
    server) echo "util store vault rules connectors engine server" ;;
    cli) echo "*" ;;
    *) echo "" ;;
  esac
}
MODULES="util store vault rules connectors engine server cli"

check_tree() {
  local src=$1 bad=0 f rel mod line inc target allowed own
  while IFS= read -r -d '' f; do
    rel=${f#"$src"/}
    mod=${rel%%/*}
    allowed=$(allowed_for "$mod")
    if [ -z "$allowed" ]; then
      echo "$rel: unknown module '$mod' (add it to tools/check-layering.sh and docs/ARCHITECTURE.md)"
      bad=1; continue
    fi
    # the folder of the file, e.g. connectors/ldap, for internal-header and sibling checks
    own=$(dirname "$rel")
    while IFS= read -r line; do
      local lineno=${line%%:*}
      inc=$(sed -E 's/^[0-9]+:[[:space:]]*#[[:space:]]*include[[:space:]]*["<]([^">]+)[">].*/\1/' <<<"$line")
      case "$inc" in */*) ;; *) continue ;; esac          # same-folder or system header
      target=${inc%%/*}
      case " $MODULES " in *" $target "*) ;; *) continue ;; esac   # <sys/stat.h> and friends
      if [ "$allowed" != "*" ] && [[ " $allowed " != *" $target "* ]]; then
        echo "$rel:$lineno: module '$mod' must not include '$inc' ($mod may use: $allowed)"
        bad=1; continue
      fi
      # internal headers (*_int.h) belong to their folder
      if [[ "$inc" == *_int.h ]] && [ "$(dirname "$inc")" != "$own" ]; then
        echo "$rel:$lineno: '$inc' is internal to $(dirname "$inc"); use its public header"
        bad=1; continue
      fi
      # one connector implementation never reaches into another
      if [ "$mod" = connectors ] && [ "$own" != connectors ] && [[ "$inc" == connectors/*/* ]] \
         && [ "$(dirname "$inc")" != "$own" ]; then
        echo "$rel:$lineno: connector $own must not include another connector's header '$inc'"
        bad=1; continue
      fi
      # the expression language sits below the rule model (idsync_expr links only util)
      if [[ "$rel" == rules/expr* ]] && [[ "$inc" == rules/rule* ]]; then
        echo "$rel:$lineno: the expression language must not include the rule model '$inc'"
        bad=1; continue
      fi
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]' "$f" || true)
  done < <(find "$src" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
  return $bad
}

self_test() {
  local t
  t=$(mktemp -d)
  trap 'rm -rf "$t"' RETURN
  mkdir -p "$t/src/util" "$t/src/store" "$t/src/engine" "$t/src/cli" "$t/src/connectors/ldap" \
           "$t/src/connectors/scim" "$t/src/rules"
  printf '#include "util/util_err.h"\n#include <stdio.h>\n#include "local.h"\n' >"$t/src/util/ok.c"
  printf '#include "store/store.h"\n#include "engine/engine.h"\n' >"$t/src/cli/ok.c"
  printf '#include "store/store_int.h"\n#include "util/util_buf.h"\n' >"$t/src/store/ok.c"
  check_tree "$t/src" >/dev/null || { echo "self-test: a clean tree was rejected" >&2; return 1; }
  local cases=(
    "util/bad.c|#include \"store/store.h\""
    "store/bad.c|#include \"engine/engine.h\""
    "engine/bad.c|#include \"cli/cli.h\""
    "engine/bad2.c|#include \"store/store_int.h\""
    "connectors/ldap/bad.c|#include \"connectors/scim/conn_scim.h\""
    "connectors/ldap/bad2.c|#include \"store/store.h\""
    "rules/expr_bad.c|#include \"rules/rule.h\""
    "util/bad2.c|  #  include <vault/vault.h>"
  )
  local c path text out
  for c in "${cases[@]}"; do
    path=${c%%|*}; text=${c#*|}
    printf '%s\n' "$text" >"$t/src/$path"
    if out=$(check_tree "$t/src"); then
      echo "self-test: '$text' in src/$path was not rejected" >&2; return 1
    fi
    grep -q "^$path:1:" <<<"$out" || { echo "self-test: wrong report for src/$path: $out" >&2; return 1; }
    rm -f "$t/src/$path"
  done
  check_tree "$t/src" >/dev/null || { echo "self-test: clean tree rejected after cleanup" >&2; return 1; }
  echo "check-layering self-test: ${#cases[@]} violations caught, clean tree accepted"
}

if [ "${1:-}" = "--self-test" ]; then self_test; exit $?; fi
SRC=${1:-$(cd "$(dirname "$0")/.." && pwd)/src}
[ -d "$SRC" ] || { echo "check-layering: no source folder $SRC" >&2; exit 2; }
if check_tree "$SRC"; then
  echo "check-layering: no wrong-way includes in $SRC"
else
  echo "check-layering: wrong-way includes found (see above); move the code down a layer or pass data up" >&2
  exit 1
fi
