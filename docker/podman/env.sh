# Sourced by docker/build-image.sh and tests/container/: point podman at the project's settings.
CONTAINERS_CONF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/containers.conf"
export CONTAINERS_CONF
