#!/usr/bin/env bash
# Builds the program to an SBPF v0 ELF at target/deploy/gradual.so with
# Debian's rustc-web (std source for -Z build-std) and sbpf-linker.
# See docs/build.md for why this route and not `cargo build-sbf`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build --release --locked \
  --target bpfel-unknown-none -Z build-std=core,alloc \
  --config 'target.bpfel-unknown-none.linker="sbpf-linker"' \
  -p gradual
mkdir -p target/deploy
cp target/bpfel-unknown-none/release/libgradual.so target/deploy/gradual.so
echo "sbf: built target/deploy/gradual.so ($(stat -c %s target/deploy/gradual.so) bytes)"
