#!/bin/bash
# ctest smoke run of one fuzz target: SECONDS of fuzzing over a temporary copy of the seed corpus,
# so that the committed corpus never grows. Usage: smoke.sh FUZZER CORPUS_DIR SECONDS [libFuzzer flags...]
#
# Fails (exit 1, "FUZZ FAILURE" on stdout) on a crash, leak, sanitizer report, violated invariant or
# an input running 30 s (generous: a loaded CI box must not flake), and also when the fuzzer ran
# no input at all: a smoke run that tested nothing must not look green.
set -euo pipefail
fuzzer=$1 corpus=$2 seconds=$3
shift 3
work=$(mktemp -d "${TMPDIR:-/tmp}/dkr-fuzz-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
cp -r "$corpus"/. "$work/corpus/" 2>/dev/null || true
status=0
"$fuzzer" "$work/corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$@" >"$work/log" 2>&1 || status=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n1)
# A report the fuzzer survived (a sanitizer built to recover, a library without
# -fno-sanitize-recover) still counts: it is a bug either way.
reports=$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|FUZZ INVARIANT VIOLATED' "$work/log" || true)
if [ "$status" -ne 0 ] || [ "$reports" -ne 0 ] || [ "${runs:-0}" -eq 0 ] || ls "$work/artifacts"/* >/dev/null 2>&1; then
  # The report with its stack first (the log's tail is ASan's shadow-byte legend), then the stats.
  first=$(grep -m1 -nE '==[0-9]+== ?ERROR|runtime error:|FUZZ INVARIANT VIOLATED' "$work/log" | cut -d: -f1 || true)
  [ -n "$first" ] && sed -n "${first},$((first + 60))p" "$work/log" && echo "..."
  tail -n 12 "$work/log"
  # Keep the reproducer where ctest's user can find it: the temp dir is removed on exit.
  keep=${DKR_FUZZ_ARTIFACTS:-/tmp}
  mkdir -p "$keep"
  for f in "$work/artifacts"/*; do
    [ -e "$f" ] || continue
    cp "$f" "$keep/" && echo "reproducer: $keep/$(basename "$f") (replay: $fuzzer $keep/$(basename "$f"))"
  done
  echo "FUZZ FAILURE: $(basename "$fuzzer") exited $status, $reports report(s), ${runs:-0} inputs run"
  exit 1
fi
tail -n 12 "$work/log"
echo "no crash: $(basename "$fuzzer"), ${runs} inputs run"
