#!/usr/bin/env bash
# Builds the dkim-relay image with podman, without Docker Hub: the Debian 12 base image is made
# locally with debootstrap from the Debian mirror apt already uses (once; kept as a podman image
# and reused by later runs), then docker/Dockerfile is built on it. Prints the image size and the
# build time.
#   docker/build-image.sh [TAG]        build the image (default tag: dkim-relay:dev)
#   docker/build-image.sh --base-only  only make the base image
# Env: DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR override the mirrors; REBUILD_BASE=1 remakes the base image.
set -euo pipefail
cd "$(dirname "$0")/.."
source docker/podman/env.sh
tag=${1:-dkim-relay:dev}
base=docker.io/library/debian:bookworm

# A minbase Debian slimmed the way the official -slim images are: dpkg leaves out documentation,
# man pages and translations from now on (the same rules stay in the image for later installs),
# and what debootstrap already put there is removed before the import.
slim_rootfs() {  # slim_rootfs DIR MIRROR
  local dir=$1 mirror=$2
  # Security and point-release updates too, as the official image has them.
  cat >"$dir/etc/apt/sources.list" <<LIST
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${DEBIAN_SECURITY_MIRROR:-${mirror%/debian}/debian-security} bookworm-security main
LIST
  mkdir -p "$dir/etc/dpkg/dpkg.cfg.d" "$dir/etc/apt/apt.conf.d"
  cat >"$dir/etc/dpkg/dpkg.cfg.d/slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
CFG
  cat >"$dir/etc/apt/apt.conf.d/slim" <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Binary::apt::APT::Keep-Downloaded-Packages "false";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
  find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$dir"/usr/share/man/* "$dir"/usr/share/groff/* "$dir"/usr/share/info/* \
    "$dir"/usr/share/lintian/* "$dir"/usr/share/locale/* \
    "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/* "$dir"/var/cache/debconf/*-old "$dir"/var/log/*
}

if [ "${REBUILD_BASE:-0}" = 1 ] || ! podman image exists "$base"; then
  started=$SECONDS
  mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
  mirror=${mirror:-http://deb.debian.org/debian}
  rootfs=$(mktemp -d /var/tmp/bookworm-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  echo "build-image: making $base with debootstrap from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
  slim_rootfs "$rootfs" "$mirror"
  tar -C "$rootfs" -c . | podman import --quiet - "$base" >/dev/null
  podman tag "$base" docker.io/library/debian:bookworm-slim
  rm -rf "$rootfs"
  trap - EXIT
  echo "build-image: base image made in $((SECONDS - started))s," \
    "$(($(podman image inspect "$base" --format '{{.Size}}') / 1000000)) MB"
fi
[ "$tag" = --base-only ] && exit 0

started=$SECONDS
# --format docker keeps the HEALTHCHECK (the OCI format drops it); --network=host because apt-get
# reaches the mirror from the host. --layers keeps the dependency layers between builds.
podman build --network=host --format docker --layers -f docker/Dockerfile -t "$tag" .
size=$(podman image inspect "$tag" --format '{{.Size}}')
echo "build-image: $tag built in $((SECONDS - started))s, size $((size / 1000000)) MB ($size bytes)"
