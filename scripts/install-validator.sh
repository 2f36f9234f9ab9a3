#!/usr/bin/env bash
# Installs solana-test-validator from the Agave 4.2.x crates into a cache
# outside the clone, idempotently: nothing is rebuilt when it is there.
# Prints the binary's path on its last line.
set -euo pipefail

AGAVE_VERSION=4.2.2
CACHE="${GRADUAL_CACHE:-$HOME/.cache/gradual}"
ROOT="$CACHE/agave-$AGAVE_VERSION"
BIN="$ROOT/bin/solana-test-validator"

if [ -x "$BIN" ]; then
  echo "validator: solana-test-validator $AGAVE_VERSION present" >&2
  echo "$BIN"
  exit 0
fi

bash "$(dirname "$0")/apt-install.sh" clang libclang-dev protobuf-compiler libudev-dev pkg-config libssl-dev

echo "validator: building agave-validator $AGAVE_VERSION (solana-test-validator); the first build took 1 h 41 min on a 2-core machine, about 50 min of it RocksDB" >&2
# A kept target directory lets an interrupted build resume where it stopped.
cargo install "agave-validator@$AGAVE_VERSION" --locked --bin solana-test-validator \
  --root "$ROOT" --target-dir "$CACHE/agave-build" >&2
rm -rf "$CACHE/agave-build"
echo "$BIN"
