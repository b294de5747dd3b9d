#!/usr/bin/env bash
# The container.image test: builds the relay image (docker/build-image.sh, base image cached) and
# the tests' peer image (swaks + aiosmtpd; its apt layer is kept between runs).
# DKIM_RELAY_FRESH_PEER_IMAGE=1 removes the peer image first, so the build runs as on a machine that
# never made it (tests/run-all.sh sets it: a cached image once hid a build context that lacked
# mail_drop.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
source docker/podman/env.sh
./docker/build-image.sh "${DKIM_RELAY_IMAGE:-localhost/dkim-relay:dev}"
peer=${DKIM_RELAY_PEER_IMAGE:-localhost/dkim-relay-test-peer:dev}
if [ "${DKIM_RELAY_FRESH_PEER_IMAGE:-0}" = 1 ] && podman image exists "$peer"; then
  podman image rm "$peer" >/dev/null
fi
# Its own context (tests/container): the repository root's .dockerignore leaves tests/ out. Built
# every time (the layers are cached), so that a broken context fails here and not only on a new machine.
podman build --network=host --format docker --layers -f tests/container/Containerfile.peer -t "$peer" tests/container
# The image's own HEALTHCHECK made it through the build (podman's OCI format would drop it).
podman image inspect "${DKIM_RELAY_IMAGE:-localhost/dkim-relay:dev}" --format '{{json .Config.Healthcheck}}' \
  | grep -q dkim-relay-healthcheck || { echo "FAIL: the image has no HEALTHCHECK" >&2; exit 1; }
