#!/usr/bin/env bash
# What the generated TypeScript client (clients/js) needs: Node.js and npm
# (Debian's), and its packages from npm at the versions
# clients/js/package-lock.json pins (Codama's renderer, TypeScript, esbuild,
# @solana/kit). Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] || bash scripts/apt-install.sh --no-install-recommends "${missing[@]}"

client=clients/js
stamp="$client/node_modules/.package-lock.json"
if [ ! -d "$client/node_modules/@solana/kit" ] || [ "$client/package-lock.json" -nt "$stamp" ]; then
  echo "setup-client: npm ci in $client"
  npm ci --prefix "$client" --no-audit --no-fund
fi
