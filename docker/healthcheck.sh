#!/bin/bash
# The image's HEALTHCHECK and the Kubernetes probes: GET a path of the admin API (default /healthz)
# and succeed on 200. Uses bash's /dev/tcp, so the runtime image needs no curl and its libraries.
# The admin address comes from DKIM_RELAY_ADMIN_LISTEN (as the relay reads it), else 127.0.0.1:8025;
# the token from DKIM_RELAY_ADMIN_TOKEN_FILE, else the image's default token file.
listen=${DKIM_RELAY_ADMIN_LISTEN:-127.0.0.1:8025}
host=${listen%:*}
port=${listen##*:}
host=${host#[}
host=${host%]}
case "$host" in 0.0.0.0 | "") host=127.0.0.1 ;; ::) host=::1 ;; esac
# /healthz is public; /readyz wants the bearer token, read from the file the relay uses.
auth=
token_file=${DKIM_RELAY_ADMIN_TOKEN_FILE:-/var/lib/dkim-relay/data/admin.token}
if [ -r "$token_file" ] && IFS= read -r token <"$token_file"; then
  auth="Authorization: Bearer ${token%$'\r'}"$'\r\n'
fi
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n%s\r\n' "${1:-/healthz}" "$auth" >&3
IFS= read -r -t 3 status <&3 || exit 1
case "$status" in "HTTP/1."?" 200 "*) exit 0 ;; esac
echo "dkim-relay-healthcheck: ${status%$'\r'}" >&2
exit 1
