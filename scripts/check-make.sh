#!/usr/bin/env bash
# Checks that each named make target installs the SBF toolchain before it
# builds the .so, so that it works as the first command on a fresh machine.
# `make -n` prints what a target would run, dependencies first, without running it.
set -euo pipefail
cd "$(dirname "$0")/.."
failed=0
for target in "$@"; do
  plan="$(make -n -B "$target" 2>/dev/null)" || { echo "check-make: make -n $target failed" >&2; failed=1; continue; }
  setup_line="$(grep -n 'setup-sbf.sh' <<<"$plan" | head -n 1 | cut -d: -f1)"
  build_line="$(grep -n 'build-sbf.sh' <<<"$plan" | head -n 1 | cut -d: -f1)"
  if [ -z "$build_line" ]; then
    echo "check-make: make $target does not build the .so" >&2; failed=1
  elif [ -z "$setup_line" ] || [ "$setup_line" -gt "$build_line" ]; then
    echo "check-make: make $target builds the .so without installing the SBF toolchain first (make setup)" >&2; failed=1
  fi
done
[ "$failed" -eq 0 ] && echo "check-make: $* each install the SBF toolchain before building the .so"
exit "$failed"
