#!/bin/bash
# ctest smoke run of one fuzz target: SECONDS of fuzzing over a temporary copy of the seed corpus,
# so that the committed corpus never grows. Usage: smoke.sh FUZZER CORPUS_DIR SECONDS [libFuzzer flags...]
set -euo pipefail
fuzzer=$1 corpus=$2 seconds=$3
shift 3
work=$(mktemp -d "${TMPDIR:-/tmp}/dkr-fuzz-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
cp -r "$corpus"/. "$work/corpus/" 2>/dev/null || true
status=0
"$fuzzer" "$work/corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$@" >"$work/log" 2>&1 || status=$?
tail -n 40 "$work/log"
if [ "$status" -ne 0 ] || ls "$work/artifacts"/* >/dev/null 2>&1; then
  # Keep the reproducer where ctest's user can find it: the temp dir is removed on exit.
  keep=${DKR_FUZZ_ARTIFACTS:-/tmp}
  for f in "$work/artifacts"/*; do
    [ -e "$f" ] || continue
    cp "$f" "$keep/" && echo "reproducer: $keep/$(basename "$f")"
  done
  echo "FUZZ FAILURE: $(basename "$fuzzer") exited $status"
  exit 1
fi
echo "no crash: $(basename "$fuzzer")"
