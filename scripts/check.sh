#!/bin/bash
# The full check, as CI runs it (`make check`, `.ci/run`): dependencies, a build with AddressSanitizer
# and UndefinedBehaviorSanitizer, the layering check, then every unit and integration test under ctest.
# usage: scripts/check.sh [CTEST_ARGS...]     e.g. scripts/check.sh -R unit/   (a subset)
# env: CHECK_DIR (build folder, default build-check), JOBS (default nproc), IDSYNC_SKIP_DEPS=1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CHECK_DIR=${CHECK_DIR:-build-check}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
START=$(date +%s)
step() { echo; echo "==> $* ($(( $(date +%s) - START ))s)"; }

step "dependencies"
scripts/deps.sh </dev/null

step "layering"
tools/check-layering.sh --self-test
tools/check-layering.sh

step "build with sanitizers in $CHECK_DIR"
cmake -S . -B "$CHECK_DIR" -DIDSYNC_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$CHECK_DIR" -j"$JOBS"

step "tests"
# Sanitizer findings fail the test that hit them, with a stack trace.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CI=${CI:-true}
# Unit tests run in parallel; integration tests are RUN_SERIAL (they start real servers). Tests
# without their own TIMEOUT get 300 s.
rc=0
ctest --test-dir "$CHECK_DIR" --output-on-failure -j"$JOBS" --timeout 300 "$@" </dev/null || rc=$?
step "done"
if [ "$rc" -ne 0 ]; then
  echo "check: FAILED (ctest exit $rc); rerun one test with: ctest --test-dir $CHECK_DIR -R NAME --output-on-failure" >&2
  exit "$rc"
fi
echo "check: all passed in $(( $(date +%s) - START ))s"
