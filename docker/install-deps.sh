#!/usr/bin/env bash
# Installs the Debian 12 packages dkim-relay needs. Used by the README, .ci/run and the Dockerfile,
# so that what CI tests is what the image builds.
#   install-deps.sh            build + test dependencies (default)
#   install-deps.sh --build    build dependencies only (Docker build stage)
#   install-deps.sh --runtime  runtime libraries only (Docker runtime stage)
set -euo pipefail

# The image's HEALTHCHECK uses bash, not curl. libpq5: the PostgreSQL keystore.
runtime=(libssl3 libspdlog1.10 libfmt9 libc-ares2 libtomlplusplus3 libpq5 libldns3 libp11-kit0 libsystemd0 ca-certificates)
# Only what compiling the relay needs (README command 1 and the image's build stage): g++, not
# build-essential, whose dpkg-dev brings perl and make that a ninja build of the relay never runs
# (fewer packages to fetch before a newcomer's relay serves). git, the test tools, doctest and
# dpkg-dev (dpkg-shlibdeps for the .deb) are in the test list.
build=(g++ cmake ninja-build pkg-config
       libboost-dev libssl-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
       nlohmann-json3-dev libc-ares-dev libpq-dev libldns-dev libp11-kit-dev libsystemd-dev)
test=(build-essential doctest-dev git python3 python3-dkim python3-dnspython python3-aiosmtpd python3-prometheus-client
      libmail-dkim-perl swaks postfix dnsmasq-base opendkim-tools openssl curl iproute2 procps
      clang clang-format libclang-rt-14-dev
      podman runc catatonit debootstrap podman-compose uidmap slirp4netns fuse-overlayfs python3-yaml
      chromium chromium-driver python3-selenium
      postgresql python3-psycopg2 python3-cryptography
      bind9 bind9-utils bind9-dnsutils ldnsutils softhsm2 p11-kit p11-kit-modules
      prometheus lintian systemd ccache)

case "${1:-}" in
  --runtime) wanted=("${runtime[@]}") ;;
  --build) wanted=("${build[@]}") ;;
  ""|--test) wanted=("${runtime[@]}" "${build[@]}" "${test[@]}") ;;
  *) echo "usage: $0 [--build|--runtime|--test]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#wanted[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
