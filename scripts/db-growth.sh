#!/usr/bin/env bash
# A long run on `gradual localnet` (25 ms slots): two `gradual node run`
# processes work ROUNDS rounds of a task whose result is 48 KiB, and the
# size of one node's database is printed every 20 rounds. Kept whole, the
# results alone would add about 1 MiB every 20 rounds; with old rounds
# pruned (store.rs, Store::forget_before) the size levels off.
# Usage: scripts/db-growth.sh [ROUNDS]   (default 200; about 4 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${1:-200}"
SO="$PWD/target/deploy/gradual.so"
cargo build --locked -p gradual-node --bin gradual >&2
GRADUAL="$PWD/target/debug/gradual"
DIR="$(mktemp -d -t gradual-db-growth.XXXXXX)"
export HOME="$DIR/home"
mkdir -p "$HOME"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "db-growth: logs in $DIR" >&2
}
trap cleanup EXIT
g() { "$GRADUAL" "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# shellcheck source=scripts/e2e-lib.sh
source scripts/e2e-lib.sh

"$GRADUAL" localnet --listen 127.0.0.1:0 --slot-ms 25 --program "$SO" --output json \
  >"$DIR/localnet.json" 2>"$DIR/localnet.log" &
pids+=($!)
wait_for 60 "localnet to print its URL" grep -q url "$DIR/localnet.json"
export GRADUAL_URL="$(field "['url']" <"$DIR/localnet.json")"

TASK_EXE="$DIR/big-result.sh"
cat >"$TASK_EXE" <<'SH'
#!/bin/sh
read -r request
case "$request" in
  *'"work"'*) printf '{"result":"%s"}\n' "$(head -c 49152 /dev/zero | base64 -w0)" ;;
  *'"audit"'*) echo '{"valid":true}' ;;
  *) echo '{"error":"unknown method"}' ;;
esac
SH
chmod +x "$TASK_EXE"

g keygen --outfile "$DIR/creator.json" >/dev/null
g airdrop -k "$DIR/creator.json" 1000000000000 >/dev/null
TASK="$(g task create -k "$DIR/creator.json" --name growth --bounty 500000000000 \
  --executable-locator file:big-result.sh --executable "$TASK_EXE" \
  --bounty-per-round 1000000000 --round-length 40 --start-in 200 --output json | field "['task']")"
read -r -a PORTS <<<"$(free_ports 2 1)"
for i in 0 1; do
  g keygen --outfile "$DIR/operator$i.json" >/dev/null
  g airdrop -k "$DIR/operator$i.json" 20000000000 >/dev/null
  g node stake -k "$DIR/operator$i.json" "$TASK" 2000000000 --service-url "http://127.0.0.1:${PORTS[$i]}" >/dev/null
  "$GRADUAL" node run -k "$DIR/operator$i.json" "$TASK" --executable "$TASK_EXE" --listen "127.0.0.1:${PORTS[$i]}" \
    --db "$DIR/node$i.redb" --exit-after-round "$ROUNDS" --output json >"$DIR/node$i.log" 2>&1 &
  pids+=($!)
done
echo "db-growth: task $TASK, two nodes, $ROUNDS rounds of 40 slots of 25 ms" >&2

echo "| round | database | rounds submitted |"
echo "|---:|---:|---:|"
next=20
while kill -0 "${pids[1]}" 2>/dev/null; do
  round="$(grep -o '"event":"round","round":[0-9]*' "$DIR/node0.log" | tail -n 1 | grep -o '[0-9]*$' || echo 0)"
  if [ "$round" -ge "$next" ]; then
    submitted="$(grep -c '"kind":"SubmitProof"' "$DIR/node0.log" || true)"
    echo "| $round | $(stat -c %s "$DIR/node0.redb") bytes | $submitted |"
    next=$((next + 20))
  fi
  sleep 1
done
