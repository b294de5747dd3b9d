#!/bin/bash
# The image's HEALTHCHECK: GET a path (default /livez) from the relay's [metrics] listener, which
# answers /livez and /readyz without a token, and succeed on 200. Plain HTTP over bash's /dev/tcp,
# so the runtime image needs no curl and its libraries. Kubernetes uses httpGet probes on the same
# port instead (docker/kubernetes-sidecar.yaml).
# The address comes from DKIM_RELAY_METRICS_LISTEN (as the relay reads it), else the image's
# 0.0.0.0:9464. With DKIM_RELAY_METRICS_ENABLED=false it asks the admin API instead, with the token
# from DKIM_RELAY_ADMIN_TOKEN_FILE (else the image's default token file) for /readyz.
auth=
if [ "${DKIM_RELAY_METRICS_ENABLED:-true}" = false ]; then
  listen=${DKIM_RELAY_ADMIN_LISTEN:-127.0.0.1:8025}
  token_file=${DKIM_RELAY_ADMIN_TOKEN_FILE:-/var/lib/dkim-relay/data/admin.token}
  if [ -r "$token_file" ] && IFS= read -r token <"$token_file"; then
    auth="Authorization: Bearer ${token%$'\r'}"$'\r\n'
  fi
else
  listen=${DKIM_RELAY_METRICS_LISTEN:-0.0.0.0:9464}
fi
host=${listen%:*}
port=${listen##*:}
host=${host#[}
host=${host%]}
case "$host" in 0.0.0.0 | "") host=127.0.0.1 ;; ::) host=::1 ;; esac
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n%s\r\n' "${1:-/livez}" "$auth" >&3
IFS= read -r -t 3 status <&3 || exit 1
case "$status" in "HTTP/1."?" 200 "*) exit 0 ;; esac
echo "dkim-relay-healthcheck: ${status%$'\r'}" >&2
exit 1
