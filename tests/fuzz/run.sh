#!/bin/bash
# Builds (if needed) and runs every fuzz target for SECONDS each, one after the other, over a
# temporary copy of its seed corpus (the committed corpus never grows).
#
#   tests/fuzz/run.sh [SECONDS=30] [BUILD_DIR=<repo>/../build-fuzz]
#   FUZZ_TARGETS="data_reader config" tests/fuzz/run.sh 60    # only these targets
#
# Prints per target: executions (total and per second), final coverage (cov/ft), corpus size
# (inputs), peak RSS (MB) and crash/no-crash. Exits non-zero if any
# target crashed, leaked or tripped a sanitizer or an invariant; the reproducer is kept under
# BUILD_DIR/fuzz-artifacts/<target>/ and its path printed. Reproduce with: <fuzzer> <file>.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
seconds=${1:-30}
build=${2:-$repo/../build-fuzz}

if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  CXX=${CXX:-clang++} cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDKIM_RELAY_FUZZ=ON -DDKIM_RELAY_BENCH=OFF || exit 2
fi
targets=${FUZZ_TARGETS:-$(cd "$here" && ls fuzz_*.cpp | sed 's/^fuzz_//; s/\.cpp$//')}
build_list=()
for t in $targets; do build_list+=("fuzz_$t"); done
# -k 0: a library that does not compile right now costs only its own targets.
cmake --build "$build" --target "${build_list[@]}" -j2 -- -k 0 >"$build/fuzz-build.log" 2>&1 ||
  echo "warning: some fuzz targets did not build, see $build/fuzz-build.log"

work=$(mktemp -d "${TMPDIR:-/tmp}/dkr-fuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=0
printf '%-18s %7s %11s %8s %6s %6s %7s %6s  %s\n' target seconds execs exec/s cov ft corpus rss_mb result
for t in $targets; do
  fuzzer=$(find "$build" -name "fuzz_$t" -type f -perm -u+x | head -n1)
  if [ -z "$fuzzer" ]; then
    printf '%-18s %s\n' "$t" "NOT BUILT"
    failed=1
    continue
  fi
  mkdir -p "$work/$t/corpus"
  cp -r "$here/corpus/$t"/. "$work/$t/corpus/" 2>/dev/null
  artifacts="$build/fuzz-artifacts/$t"
  mkdir -p "$artifacts"
  dict=()
  [ -f "$here/dict/$t.dict" ] && dict=(-dict="$here/dict/$t.dict")
  log="$build/fuzz-artifacts/$t.log"
  start=$(date +%s)
  "$fuzzer" "$work/$t/corpus" "${dict[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
  status=$?
  elapsed=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n1)
  status_line=$(grep -E '^#[0-9]+' "$log" | tail -n1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status_line")
  corpus=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$status_line")
  crash=$(sed -n "s/.*Test unit written to \(.*\)/\1/p" "$log" | tail -n1)
  if [ $status -ne 0 ] || [ -n "$crash" ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
    result="CRASH (exit $status) ${crash:-no artifact}; log $log"
    failed=1
  else
    result="no crash"
  fi
  printf '%-18s %7s %11s %8s %6s %6s %7s %6s  %s\n' "$t" "$elapsed" "${runs:-?}" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
    "${corpus:-?}" "${rss:-?}" "$result"
  if [ -n "$crash" ]; then
    grep -m3 -E 'FUZZ INVARIANT VIOLATED|ERROR: |runtime error:|SUMMARY:' "$log" | sed 's/^/    /'
  fi
done
exit $failed
