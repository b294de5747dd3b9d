#!/usr/bin/env bash
# Time to serving for a newcomer: README command 1 in a fresh Debian 12 container (docker/build-image.sh's
# debootstrap base, --network=host for the mirror), on a clean `git clone` of REF, timed from the start
# of the command until the relay answers 220 on 127.0.0.1:2525. Prints the wall time, the CPU time
# of the install + build, and the load average before and after (the machine may be shared).
#   bench/first_run/time_to_serving.sh [REF [COMMAND]]
# REF: a branch or commit of this repository (default HEAD). COMMAND: the build part of command 1
# (default: "./docker/install-deps.sh --build && ./docker/build.sh --relay"); the relay is then
# started as ./build/release/app/dkim-relay, as command 1 does. PORT (default 2525): another SMTP
# port, set as DKIM_RELAY_RELAY_LISTEN (and the admin API on PORT+1), for two runs side by side.
set -euo pipefail
cd "$(dirname "$0")/../.."
source docker/podman/env.sh
ref=${1:-HEAD}
build=${2:-./docker/install-deps.sh --build && ./docker/build.sh --relay}
port=${PORT:-2525}
listen=()
[ "$port" = 2525 ] || listen=(-e "DKIM_RELAY_RELAY_LISTEN=127.0.0.1:$port" -e "DKIM_RELAY_ADMIN_LISTEN=127.0.0.1:$((port + 1))")
./docker/build-image.sh --base-only >/dev/null
if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
  echo "time_to_serving: 127.0.0.1:$port is in use on this machine; the container shares its network" >&2
  exit 1
fi
work=$(mktemp -d /var/tmp/time-to-serving.XXXXXX)
trap 'rm -rf "$work"' EXIT
git clone --quiet --no-hardlinks "$(pwd)" "$work/src"
git -C "$work/src" checkout --quiet "$(git rev-parse "$ref")"
echo "time_to_serving: $(git -C "$work/src" log --oneline -1)"
echo "time_to_serving: load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
name="time-to-serving-$$"
podman run --rm --name "$name" --network=host "${listen[@]}" -e "PORT=$port" -v "$work/src:/src" -w /src docker.io/library/debian:bookworm \
  bash -c '
started=$(date +%s.%N)
TIMEFORMAT="build: %R s wall, %U s user, %S s sys"
time ( ( '"$build"' ) >/tmp/build.log 2>&1 ) || { tail -30 /tmp/build.log; exit 1; }
./build/release/app/dkim-relay >/tmp/relay.log 2>&1 &
until [ "$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && head -c 3 <&3" 2>/dev/null)" = 220 ]; do
  kill -0 $! 2>/dev/null || { cat /tmp/relay.log; exit 1; }
  sleep 0.2
done
echo "serving: $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $started}") s from the start of command 1 to the SMTP 220"
./build/release/app/dkim-relay --version
kill -TERM $!; wait $! || true'
echo "time_to_serving: load after: $(cut -d' ' -f1-3 /proc/loadavg)"
