#!/usr/bin/env bash
# Checks that the program deployed at <program-id> is byte for byte the local
# target/deploy/gradual.so, and prints its upgrade authority.
#
#   migrations/verify.sh <program-id> [url-or-moniker]
set -euo pipefail
cd "$(dirname "$0")/.."

PROGRAM_ID="${1:?usage: migrations/verify.sh <program-id> [url]}"
URL="${2:-devnet}"
command -v solana >/dev/null || { echo "verify: the Solana CLI (solana) is not installed" >&2; exit 2; }

dump="$(mktemp)"
trap 'rm -f "$dump"' EXIT
solana program show "$PROGRAM_ID" --url "$URL"
solana program dump "$PROGRAM_ID" "$dump" --url "$URL" >/dev/null
# The program account is padded to its allocated size: compare the .so's length only.
size="$(stat -c %s target/deploy/gradual.so)"
if cmp -s -n "$size" "$dump" target/deploy/gradual.so; then
  echo "verify: $PROGRAM_ID on $URL matches target/deploy/gradual.so ($(sha256sum target/deploy/gradual.so | cut -c1-16)...)"
else
  echo "verify: $PROGRAM_ID on $URL differs from target/deploy/gradual.so" >&2
  exit 1
fi
