#!/usr/bin/env bash
# What the dashboard's browser test needs: Debian's Chromium, Node.js, and
# playwright-core from npm at the version node/tests/browser/package-lock.json
# pins. Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] || bash scripts/apt-install.sh --no-install-recommends "${missing[@]}"

browser=node/tests/browser
stamp="$browser/node_modules/.package-lock.json"
if [ ! -d "$browser/node_modules/playwright-core" ] || [ "$browser/package-lock.json" -nt "$stamp" ]; then
  echo "setup-browser: npm ci in $browser"
  npm ci --prefix "$browser" --no-audit --no-fund
fi
