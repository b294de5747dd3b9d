#!/bin/bash
# The image's HEALTHCHECK and the Kubernetes probes: GET a path of the admin API (default /healthz)
# and succeed on 200. Uses bash's /dev/tcp, so the runtime image needs no curl and its libraries.
# The admin address comes from DKIM_RELAY_ADMIN_LISTEN (as the relay reads it), else 127.0.0.1:8025.
listen=${DKIM_RELAY_ADMIN_LISTEN:-127.0.0.1:8025}
host=${listen%:*}
port=${listen##*:}
host=${host#[}
host=${host%]}
case "$host" in 0.0.0.0 | "") host=127.0.0.1 ;; ::) host=::1 ;; esac
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "${1:-/healthz}" >&3
IFS= read -r -t 3 status <&3 || exit 1
case "$status" in "HTTP/1."?" 200 "*) exit 0 ;; esac
echo "dkim-relay-healthcheck: ${status%$'\r'}" >&2
exit 1
