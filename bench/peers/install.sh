#!/usr/bin/env bash
# Installs what bench/peers/peers_bench.py needs beyond docker/install-deps.sh's test packages:
# Postfix (smtp-source, smtp-sink, and the private Postfix instance), OpenDKIM, Node.js/npm, and
# Haraka 3 with its DKIM plugin from the npm registry into a cache directory outside the repository.
# CI does not run the bench, so nothing here is part of install-deps.sh's default set.
#   bench/peers/install.sh [HARAKA_DIR]     (default /var/cache/dkim-relay-bench/haraka)
set -euo pipefail

haraka_dir="${1:-/var/cache/dkim-relay-bench/haraka}"
packages=(postfix opendkim opendkim-tools python3 python3-dkim python3-aiosmtpd openssl)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Node.js may come from elsewhere than Debian's nodejs package (with its own npm): use it if present.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench/peers/install.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # The bench never uses a system-wide postfix or opendkim service: it runs private instances.
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Haraka 3.x and haraka-plugin-dkim (a dependency of Haraka's package) from the npm registry.
if [ ! -x "$haraka_dir/node_modules/.bin/haraka" ] || [ ! -d "$haraka_dir/node_modules/haraka-plugin-dkim" ]; then
  echo "bench/peers/install.sh: npm install Haraka@3 haraka-plugin-dkim into $haraka_dir"
  $SUDO mkdir -p "$haraka_dir"
  (cd "$haraka_dir" && $SUDO npm install --no-audit --no-fund --loglevel=error Haraka@3 haraka-plugin-dkim)
fi
echo "bench/peers/install.sh: Haraka $(node -p "require('$haraka_dir/node_modules/Haraka/package.json').version")," \
  "haraka-plugin-dkim $(node -p "require('$haraka_dir/node_modules/haraka-plugin-dkim/package.json').version"), $(postconf -d -h mail_version | sed 's/^/Postfix /'), $(opendkim -V | head -1)"
