#!/usr/bin/env bash
# Configures and builds dkim-relay. BUILD_DIR and BUILD_TYPE may be set; extra args go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build/release}
build_type=${BUILD_TYPE:-Release}
# ccache, where installed (the test dependencies bring it), makes a rebuild of unchanged files free.
launcher=()
if command -v ccache >/dev/null 2>&1 && [ -z "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ]; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "${launcher[@]}" "$@" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
