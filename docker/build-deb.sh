#!/usr/bin/env bash
# Makes the Debian package dkim-relay_<version>_<arch>.deb (CPack, packaging/debian/) from an
# existing Release build directory, e.g. after `./docker/build.sh --relay`:
#   docker/build-deb.sh [BUILD_DIR [OUT_DIR]]     defaults: build/release, BUILD_DIR/deb
# Prints the path of the package.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build/release}
out_dir=${2:-$build_dir/deb}
cache="$build_dir/CMakeCache.txt"
if [ ! -f "$cache" ] || [ ! -f "$build_dir/CPackConfig.cmake" ]; then
  echo "build-deb: $build_dir is not a configured build: run ./docker/build.sh --relay first" >&2
  exit 2
fi
# What ships is the optimised, uninstrumented binary.
if ! grep -qx 'CMAKE_BUILD_TYPE:STRING=Release' "$cache" || grep -qx 'DKIM_RELAY_SANITIZE:BOOL=ON' "$cache"; then
  echo "build-deb: $build_dir is not a plain Release build" >&2
  exit 2
fi
if ! command -v dpkg-shlibdeps >/dev/null 2>&1; then
  # README command 1 installs only what compiling needs; the package's Depends come from dpkg-dev.
  echo "build-deb: dpkg-shlibdeps is missing: apt-get install -y dpkg-dev" >&2
  exit 2
fi
cmake --build "$build_dir" --target dkim-relay -j "$(nproc)" >/dev/null
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
rm -f "$out_dir"/dkim-relay_*.deb
cpack --config "$build_dir/CPackConfig.cmake" -B "$out_dir" >"$out_dir/cpack.log" 2>&1 \
  || { cat "$out_dir/cpack.log" >&2; exit 1; }
rm -rf "$out_dir/_CPack_Packages"
ls "$out_dir"/dkim-relay_*.deb
