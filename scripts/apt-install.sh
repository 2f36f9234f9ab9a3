#!/usr/bin/env bash
# Installs the named Debian packages that are missing; does nothing when all
# are installed. `make test` and `make validator` may run at once, so our own
# callers take one lock, and an apt run by anything else is waited for: apt
# 2.6 fails at once on a held lists lock whatever DPkg::Lock::Timeout says.
# Usage: scripts/apt-install.sh [--no-install-recommends] PACKAGE...
set -euo pipefail

options=()
if [ "${1:-}" = --no-install-recommends ]; then options+=("$1"); shift; fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

exec 9>"${TMPDIR:-/tmp}/gradual-apt.lock"
flock 9
echo "apt: installing ${missing[*]} from Debian" >&2
for attempt in $(seq 1 60); do
  if as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq "${options[@]}" "${missing[@]}" >/dev/null; then
    exit 0
  fi
  echo "apt: attempt $attempt failed (another apt holding its lock?); retrying in 10 s" >&2
  sleep 10
done
echo "apt: could not install ${missing[*]}" >&2
exit 1
