#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: the Release build (gcc) with -Werror, then the
# whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer (clang, with the fuzz smoke
# runs), then the formatting check.
# Idempotent; safe to re-run. CI (.ci/run) calls exactly this.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

./docker/install-deps.sh || exit 1

declare -a summary
status=0
step() {  # step NAME COMMAND...
  local name=$1
  shift
  local started=$SECONDS
  echo "=== $name"
  if "$@"; then
    summary+=("ok    $name ($((SECONDS - started))s)")
  else
    summary+=("FAIL  $name ($((SECONDS - started))s)")
    status=1
  fi
}

jobs=$(nproc)
run_suite() {  # run_suite BUILD_DIR
  # The container and browser tests run once each, in steps of their own below.
  ctest --test-dir "$1" --output-on-failure -j "$jobs" --timeout 600 -LE 'container|ui'
}

step "build (Release, -Werror)" env BUILD_DIR=build/release BUILD_TYPE=Release ./docker/build.sh
step "tests (Release)" run_suite build/release
step "console tests (headless Chromium)" ctest --test-dir build/release --output-on-failure -L ui --timeout 600
# One instrumented tree serves both: clang++ with ASan+UBSan and the libFuzzer targets, so the
# suite below runs under the sanitizers and includes a short smoke run of every fuzz target
# (fuzz.smoke.*, see tests/fuzz/README.md). A separate gcc sanitizer build would cost ~6 minutes more.
step "build (clang, ASan+UBSan, fuzz targets)" env BUILD_DIR=build/asan-clang BUILD_TYPE=Debug ./docker/build.sh \
  -DCMAKE_CXX_COMPILER=clang++ -DDKIM_RELAY_SANITIZE=ON -DDKIM_RELAY_FUZZ=ON -DDKIM_RELAY_BENCH=OFF
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
step "tests (ASan+UBSan, fuzz smoke)" run_suite build/asan-clang
# The image built and run with podman, once (tests/container/): not part of either suite run.
# The peer image is made afresh (DKIM_RELAY_FRESH_PEER_IMAGE), as on a machine that never built it.
step "container image (podman)" env DKIM_RELAY_FRESH_PEER_IMAGE=1 ctest --test-dir build/release -L container --output-on-failure
step "clang-format check" bash -c "git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror"

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
passed=0; failed=0
for line in "${summary[@]}"; do
  case "$line" in ok*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
done
echo "steps: $passed passed, $failed failed"
exit $status
