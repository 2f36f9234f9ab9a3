#!/usr/bin/env bash
# A verifiable build: the program built from two clean clones of HEAD, in
# directories of different names and depths, must have the same sha256.
# Prints that sha256, the one `gradual program verify` compares with what
# is deployed (trailing zero bytes removed, as solana-verify hashes it).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
commit="$(git rev-parse HEAD)"
work="$(mktemp -d "${TMPDIR:-/tmp}/gradual-verify.XXXXXX")"
trap 'rm -rf "$work"' EXIT

hashes=()
for dir in "$work/a" "$work/second/clone-of-gradual"; do
  git clone --quiet --no-local "$repo" "$dir"
  git -C "$dir" checkout --quiet "$commit"
  echo "verify: building $commit in $dir"
  # Each clone builds with its own target directory: nothing is shared.
  (cd "$dir" && CARGO_TARGET_DIR="$dir/target" bash scripts/build-sbf.sh >"$dir.log" 2>&1) || {
    cat "$dir.log"; exit 1; }
  hash="$(python3 -c 'import hashlib,sys; d=open(sys.argv[1],"rb").read().rstrip(b"\0"); print(hashlib.sha256(d).hexdigest())' "$dir/target/deploy/gradual.so")"
  echo "verify: $hash  $dir/target/deploy/gradual.so"
  hashes+=("$hash")
done
if [ "${hashes[0]}" != "${hashes[1]}" ]; then
  echo "verify: the two builds differ: the build is not reproducible" >&2
  exit 1
fi
echo "verify: reproducible; sha256 ${hashes[0]} (commit $commit)"
