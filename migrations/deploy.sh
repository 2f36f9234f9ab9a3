#!/usr/bin/env bash
# Deploys (or upgrades) the Gradual program to a cluster with the standard
# Solana CLI. See docs/deploy.md.
#
#   migrations/deploy.sh <program-keypair.json> [url-or-moniker] [upgrade-authority.json]
#
# The program keypair's address becomes the program id. The .so and the
# `gradual` binary are rebuilt with GRADUAL_PROGRAM_ID set to it, so the
# program checks its own id and the CLI derives the same PDAs.
set -euo pipefail
cd "$(dirname "$0")/.."

PROGRAM_KEYPAIR="${1:?usage: migrations/deploy.sh <program-keypair.json> [url] [upgrade-authority.json]}"
URL="${2:-devnet}"
AUTHORITY="${3:-$HOME/.config/solana/id.json}"

command -v solana >/dev/null || {
  echo "deploy: the Solana CLI (solana) is not installed; see docs/deploy.md" >&2
  exit 2
}
PROGRAM_ID="$(solana address -k "$PROGRAM_KEYPAIR")"
export GRADUAL_PROGRAM_ID="$PROGRAM_ID"

echo "deploy: building the program and CLI for $PROGRAM_ID" >&2
make sbf >&2
cargo build --release --locked -p gradual-node --bin gradual >&2
BUILT_ID="$(target/release/gradual program-id)"
if [ "$BUILT_ID" != "$PROGRAM_ID" ]; then
  echo "deploy: the CLI was built for $BUILT_ID, not $PROGRAM_ID" >&2
  exit 1
fi

echo "deploy: deploying target/deploy/gradual.so to $URL (upgrade authority $(solana address -k "$AUTHORITY"))" >&2
solana program deploy target/deploy/gradual.so \
  --url "$URL" \
  --program-id "$PROGRAM_KEYPAIR" \
  --upgrade-authority "$AUTHORITY" \
  --keypair "$AUTHORITY"

bash migrations/verify.sh "$PROGRAM_ID" "$URL"
