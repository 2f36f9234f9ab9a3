#!/usr/bin/env bash
# What the dashboard's browser test needs: Debian's Chromium, Node.js, and
# playwright-core from npm at the version node/tests/browser/package-lock.json
# pins. Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-browser: installing ${missing[*]} from Debian"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

browser=node/tests/browser
stamp="$browser/node_modules/.package-lock.json"
if [ ! -d "$browser/node_modules/playwright-core" ] || [ "$browser/package-lock.json" -nt "$stamp" ]; then
  echo "setup-browser: npm ci in $browser"
  npm ci --prefix "$browser" --no-audit --no-fund
fi
