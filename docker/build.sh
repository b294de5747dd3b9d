#!/usr/bin/env bash
# Configures and builds dkim-relay. BUILD_DIR and BUILD_TYPE may be set; extra args go to cmake.
#   build.sh            the relay, its tests and benchmarks (tests/run-all.sh)
#   build.sh --relay    the dkim-relay binary alone (README command 1: what running the relay needs)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/release}
build_type=${BUILD_TYPE:-Release}
# Both modes name the options, so that one build directory can go from --relay to the full build
# (the README's command 2 after command 1); later -D arguments in "$@" still win.
parts=(-DDKIM_RELAY_TESTS=ON -DDKIM_RELAY_BENCH=ON)
target=()
if [ "${1:-}" = --relay ]; then
  shift
  parts=(-DDKIM_RELAY_TESTS=OFF -DDKIM_RELAY_BENCH=OFF)
  target=(--target dkim-relay)
fi
# Release builds are unity builds (cmake/unity_build.cmake): a build from scratch (command 1 in a
# fresh container, CI) parses the heavy headers once per batch instead of once per file. Pass
# -DDKIM_RELAY_UNITY=OFF to rebuild one changed file at a time while iterating.
parts+=(-DDKIM_RELAY_UNITY="$([ "$build_type" = Release ] && echo ON || echo OFF)")
# ccache, where installed (the test dependencies bring it), makes a rebuild of unchanged files free.
launcher=()
if command -v ccache >/dev/null 2>&1 && [ -z "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ]; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "${launcher[@]}" "${parts[@]}" "$@" >/dev/null
cmake --build "$build_dir" -j "$(nproc)" "${target[@]}"
