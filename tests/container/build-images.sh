#!/usr/bin/env bash
# The container.image test: builds the relay image (docker/build-image.sh, base image cached) and
# the tests' peer image (swaks + aiosmtpd, made once and kept).
set -euo pipefail
cd "$(dirname "$0")/../.."
source docker/podman/env.sh
./docker/build-image.sh "${DKIM_RELAY_IMAGE:-localhost/dkim-relay:dev}"
peer=${DKIM_RELAY_PEER_IMAGE:-localhost/dkim-relay-test-peer:dev}
if ! podman image exists "$peer"; then
  podman build --network=host --format docker -f tests/container/Containerfile.peer -t "$peer" .
fi
# The image's own HEALTHCHECK made it through the build (podman's OCI format would drop it).
podman image inspect "${DKIM_RELAY_IMAGE:-localhost/dkim-relay:dev}" --format '{{json .Config.Healthcheck}}' \
  | grep -q dkim-relay-healthcheck || { echo "FAIL: the image has no HEALTHCHECK" >&2; exit 1; }
