#!/usr/bin/env bash
# Installs the SBF toolchain described in ../shared/sbf-toolchain.md, idempotently:
# Debian's rustc-web (std source for -Z build-std), LLVM 22 and sbpf-linker.
set -euo pipefail

SBPF_LINKER_VERSION=0.1.9

bash "$(dirname "$0")/apt-install.sh" rustc-web cargo-web rust-web-src llvm-22-dev

# `sbpf-linker --version` prints its version but exits 1, so its status is not a test.
installed="$(sbpf-linker --version 2>&1 || true)"
if grep -q "sbpf-linker $SBPF_LINKER_VERSION" <<<"$installed"; then
  echo "setup: sbpf-linker $SBPF_LINKER_VERSION present"
else
  # An unoptimised build: 41 s instead of 73 s on 2 cores, and it links
  # the same .so byte for byte (checked by sha256 against the optimised one).
  echo "setup: installing sbpf-linker $SBPF_LINKER_VERSION (about a minute)"
  RUSTFLAGS="-L /usr/lib/llvm-22/lib" LLVM_SYS_221_PREFIX=/usr/lib/llvm-22 \
    cargo install "sbpf-linker@$SBPF_LINKER_VERSION" --locked --no-default-features \
    --features upstream-gallery-22 --debug
fi
