#!/bin/bash
# Benchmark: sync engine full and delta sync over N synthetic AD-like objects staged straight into the
# store (default AD rules, a SCIM target with the default SCIM rules; no server needed). Builds a Release
# build in build-bench-engine/ and runs bench/engine.c for each size.
# usage: bench/engine.sh [N...]      (default: 100000 1000000)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=$SRC/build-bench-engine
cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Release -DIDSYNC_SANITIZE=OFF >/dev/null
cmake --build "$B" --target engine -j2 >/dev/null
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100000 1000000)
echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(. /etc/os-release && echo "$PRETTY_NAME")"
for n in "${SIZES[@]}"; do
  "$B/engine" "$n"
  echo
done
