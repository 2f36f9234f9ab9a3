#!/usr/bin/env bash
# End to end on solana-test-validator: the freshly built .so preloaded at the
# program id, a task whose work takes 5 seconds (a package served over HTTP,
# fetched by each node and run sandboxed) created and funded with the CLI, four `gradual node run`
# processes (one submitting bad proofs, one killed mid-round and restarted),
# and every assertion made through `gradual inspect ... --output json`.
# Logs are kept in $E2E_DIR (printed at the end); everything started is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

# E2E_LOCALNET=1 runs the same script against `gradual localnet` (LiteSVM
# behind JSON-RPC, 400 ms slots) instead, to debug it without a validator.
if [ "${E2E_LOCALNET:-0}" != 1 ]; then
  VALIDATOR="$(bash scripts/install-validator.sh | tail -n 1)"
fi
SO="$PWD/target/deploy/gradual.so"
cargo build --locked -p gradual-node --bin gradual >&2
GRADUAL="$PWD/target/debug/gradual"
PROGRAM_ID="$("$GRADUAL" program-id)"
E2E_DIR="${E2E_DIR:-$(mktemp -d -t gradual-e2e.XXXXXX)}"
LAST_ROUND=7
export HOME="$E2E_DIR/home"   # keep the operator's real Solana config out of it
mkdir -p "$HOME"

pids=()
cleanup() {
  status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$status" -eq 0 ]; then
    echo "e2e: passed; logs in $E2E_DIR"
  else
    echo "e2e: FAILED (exit $status); validator and node logs kept in $E2E_DIR" >&2
  fi
}
trap cleanup EXIT
log() { echo "e2e: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=scripts/e2e-lib.sh
source scripts/e2e-lib.sh
g() { "$GRADUAL" "$@"; }
json() { g "$@" --output json; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# The chain this script started must stay alive; another process answering
# on its port would otherwise take its place unnoticed.
chain_alive() { kill -0 "$CHAIN_PID" 2>/dev/null || die "the chain (pid $CHAIN_PID) exited; its log: $E2E_DIR/validator.log"; }

if [ "${E2E_LOCALNET:-0}" = 1 ]; then
  log "starting gradual localnet with $SO on a port it picks"
  "$GRADUAL" localnet --listen 127.0.0.1:0 --program "$SO" --output json \
    >"$E2E_DIR/localnet.json" 2>"$E2E_DIR/validator.log" &
  CHAIN_PID=$!; pids+=($!)
  # It prints its own URL once it listens, so nothing else can answer for it.
  wait_for 60 "localnet to print its URL" grep -q url "$E2E_DIR/localnet.json"
  URL="$(field "['url']" <"$E2E_DIR/localnet.json")"
else
  # RPC on PORT, its websocket on PORT+1, the faucet on FAUCET.
  read -r RPC_PORT FAUCET_PORT <<<"$(free_ports 2 2)"
  URL="http://127.0.0.1:$RPC_PORT"
  log "starting solana-test-validator on $URL with $SO at $PROGRAM_ID (ledger $E2E_DIR/ledger)"
  "$VALIDATOR" --ledger "$E2E_DIR/ledger" --reset --quiet \
    --bind-address 127.0.0.1 --rpc-port "$RPC_PORT" --faucet-port "$FAUCET_PORT" \
    --bpf-program "$PROGRAM_ID" "$SO" >"$E2E_DIR/validator.log" 2>&1 &
  CHAIN_PID=$!; pids+=($!)
fi
export GRADUAL_URL="$URL"

reachable() {
  chain_alive
  g inspect task 11111111111111111111111111111111 >/dev/null 2>&1
  [ $? -eq 2 ]   # reachable: "not a Gradual task"
}
wait_for 120 "the chain to answer on $URL" reachable
if [ "${E2E_LOCALNET:-0}" != 1 ]; then
  # Whoever answers must be the validator this script started: its identity is in our ledger.
  validator_is_ours "$URL" "$E2E_DIR/ledger/validator-keypair.json" || die "another process is listening on $URL"
fi

# The task's work takes 5 seconds, longer than the 3.2-second submission
# window: it must run beside the node's slot loop to be submitted at all.
# Its audit accepts only the work itself: the bad node (`--behaviour bad`)
# serves and proves a well-formed wrong result, which only the audit can catch.
# It is a package, served over HTTP: the nodes fetch it from its locator,
# check its sha256 and run it sandboxed.
TASK_DIR="$E2E_DIR/slow-task"
mkdir -p "$TASK_DIR"
printf 'entry = "task.sh"\nruntime = "sh"\n' >"$TASK_DIR/gradual-task.toml"
cat >"$TASK_DIR/task.sh" <<'SH'
read -r request
case "$request" in
  *'"work"'*) sleep 5; echo '{"result":"aGVsbG8="}' ;;
  *'"audit"'*) case "$request" in
      *'"result":"aGVsbG8="'*) echo '{"valid":true}' ;;
      *) echo '{"valid":false,"reason":"the result is not the work"}' ;;
    esac ;;
  *) echo '{"error":"unknown method"}' ;;
esac
SH
mkdir -p "$E2E_DIR/served"
TASK_EXE="$E2E_DIR/served/slow-task.tar"
g task pack "$TASK_DIR" -o "$TASK_EXE" >/dev/null
read -r PACKAGE_PORT <<<"$(free_ports 1 1)"
python3 -m http.server "$PACKAGE_PORT" --bind 127.0.0.1 --directory "$E2E_DIR/served" >"$E2E_DIR/packages.log" 2>&1 &
pids+=($!)
PACKAGE_URL="http://127.0.0.1:$PACKAGE_PORT/slow-task.tar"
wait_for 30 "the package server" curl -sf -o /dev/null "$PACKAGE_URL"

g keygen --outfile "$E2E_DIR/creator.json" >/dev/null
g airdrop -k "$E2E_DIR/creator.json" 100000000000 >/dev/null
TASK="$(json task create -k "$E2E_DIR/creator.json" --name e2e --description "end to end" \
  --executable-locator "$PACKAGE_URL" --executable "$TASK_EXE" \
  --bounty 20000000000 --bounty-per-round 1000000000 --round-length 40 \
  --submission-window 8 --audit-window 16 --distribution-window 8 --distribution-audit-window 16 \
  --start-in 60 | field "['task']")"
g task fund -k "$E2E_DIR/creator.json" "$TASK" 1000000000 >/dev/null
log "task $TASK created and funded"

declare -a KEYS PORTS
read -r -a PORTS <<<"$(free_ports 4 1)"
for i in 0 1 2 3; do
  KEYS[$i]="$E2E_DIR/operator$i.json"
  g keygen --outfile "${KEYS[$i]}" >/dev/null
  g airdrop -k "${KEYS[$i]}" 10000000000 >/dev/null
  g node stake -k "${KEYS[$i]}" "$TASK" 2000000000 --service-url "http://127.0.0.1:${PORTS[$i]}" >/dev/null
done
log "four nodes staked"

start_node() {
  local i=$1 behaviour=$2
  GRADUAL_LOG=info "$GRADUAL" node run -k "${KEYS[$i]}" "$TASK" \
    --listen "127.0.0.1:${PORTS[$i]}" --db "$E2E_DIR/node$i.redb" \
    --exit-after-round "$LAST_ROUND" --behaviour "$behaviour" --output json \
    >>"$E2E_DIR/node$i.log" 2>&1 &
  NODE_PIDS[$i]=$!
  pids+=($!)
}
declare -a NODE_PIDS
start_node 0 bad
for i in 1 2 3; do start_node "$i" honest; done

# Beside it, a Token-2022 task with a 0.5% transfer fee: `gradual simulate
# --cluster` makes the mint with Token-2022's own instructions, creates and
# funds the task in it and runs three nodes (one bad) staking the mint over
# RPC, through their claims; it is checked below with inspect, history and
# the token balances.
log "starting a Token-2022 task beside it (gradual simulate --cluster --mint token-2022)"
"$GRADUAL" simulate --cluster --mint token-2022 --transfer-fee-bps 50 --nodes 3 --rounds 2 --bad 1 \
  --round-length 80 --seed 26 --program "$SO" --output json \
  >"$E2E_DIR/token-task.json" 2>"$E2E_DIR/token-task.log" &
TOKEN_PID=$!; pids+=($!)

current_round() { json inspect task "$TASK" | field ".get('current_round')"; }
round_reached() { chain_alive; r="$(current_round)" && [ "$r" != None ] && [ "$r" -ge "$1" ]; }
wait_for 300 "round 2" round_reached 2
sleep 6   # partway through round 2, after its submission window
log "killing node 1 in round $(current_round), restarting it"
kill -9 "${NODE_PIDS[1]}"; wait "${NODE_PIDS[1]}" 2>/dev/null || true
sleep 3
start_node 1 honest

# A second version of the package, whose work is "hi": scheduled while the
# nodes run, it takes over from the next round; rounds before keep "hello".
mkdir -p "$E2E_DIR/slow-task-v2"
cp "$TASK_DIR/gradual-task.toml" "$E2E_DIR/slow-task-v2/"
sed 's/aGVsbG8=/aGk=/' "$TASK_DIR/task.sh" >"$E2E_DIR/slow-task-v2/task.sh"
g task pack "$E2E_DIR/slow-task-v2" -o "$E2E_DIR/served/slow-task-v2.tar" >/dev/null
SWITCH_ROUND="$(json task update -k "$E2E_DIR/creator.json" "$TASK" \
  --executable "$E2E_DIR/served/slow-task-v2.tar" \
  --executable-locator "http://127.0.0.1:$PACKAGE_PORT/slow-task-v2.tar" | field "['from_round']")"
log "the second package runs from round $SWITCH_ROUND"
[ "$SWITCH_ROUND" -le 5 ] || die "the package switch came too late to be checked (round $SWITCH_ROUND)"

log "waiting for the nodes to finish round $LAST_ROUND"
nodes_done() {
  chain_alive
  for i in 0 1 2 3; do kill -0 "${NODE_PIDS[$i]}" 2>/dev/null && return 1; done
  return 0
}
# Round 7 ends about 6 rounds (4 minutes at 400 ms slots) after round 2; allow three times that.
wait_for 600 "the nodes to finish round $LAST_ROUND" nodes_done
for i in 0 1 2 3; do wait "${NODE_PIDS[$i]}" || die "node $i exited with status $?; its log: $E2E_DIR/node$i.log"; done

log "serving the task's dashboard with gradual dashboard"
read -r DASHBOARD_PORT <<<"$(free_ports 1 1)"
"$GRADUAL" dashboard --task "$TASK" --listen "127.0.0.1:$DASHBOARD_PORT" --output json \
  >>"$E2E_DIR/dashboard.log" 2>&1 &
pids+=($!)
DASHBOARD_URL="http://127.0.0.1:$DASHBOARD_PORT"

log "checking on-chain state through gradual inspect"
export TASK GRADUAL E2E_DIR DASHBOARD_URL SWITCH_ROUND SO
python3 - <<'PY'
import json, os, subprocess, sys

task, gradual, work = os.environ["TASK"], os.environ["GRADUAL"], os.environ["E2E_DIR"]

def inspect(*args):
    out = subprocess.run([gradual, *args, "--output", "json"], check=True, capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout)

failures = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)

def operator(i):
    return subprocess.run([gradual, "node", "show", task, "-k", f"{work}/operator{i}.json", "--output", "json"],
                          check=True, capture_output=True, text=True, timeout=60)

nodes = [json.loads(operator(i).stdout) for i in range(4)]
bad = nodes[0]["address"]
for r in range(0, 4):
    view = inspect("inspect", "round", task, str(r))
    check(len(view["submissions"]) == 4, f"round {r}: all four nodes submitted")
    check(view["excluded_nodes"] == [bad], f"round {r}: the bad node was audited, slashed and excluded")
    dist = inspect("inspect", "distribution", task, str(r))
    check(dist["status"] == "approved", f"round {r}: distribution list approved")
    check(dist["leaf_count"] == 3, f"round {r}: the list pays the three honest nodes")
    check(dist["claimed"] == dist["total"] and dist["total"] > 0, f"round {r}: every reward claimed")
    leaves = dist.get("leaves") or []
    check(len(leaves) == 3 and all(leaf["verified"] for leaf in leaves)
          and sum(leaf["amount"] for leaf in leaves) == dist["total"],
          f"round {r}: inspect shows the list's leaves ({dist.get('leaves_from')}), each proven against the root")
check(nodes[0]["total_slashed"] > 0, "the bad node lost stake")
for i in (1, 2, 3):
    claimed = nodes[i]["claimed_or_excluded_rounds"]
    check(all(r in claimed for r in range(4)), f"honest node {i} claimed rounds 0-3")
    check(nodes[i]["total_slashed"] == 0, f"honest node {i} was never slashed")
restarted = json.loads(subprocess.run([gradual, "node", "show", task, "-k", f"{work}/operator1.json",
                                       "--db", f"{work}/node1.redb", "--output", "json"],
                                      check=True, capture_output=True, text=True, timeout=60).stdout)
rounds = sorted(s["round"] for s in restarted["submissions"])
check(all(r in rounds for r in range(0, 5)), f"the restarted node missed no round (submitted {rounds})")
check(all(restarted["journal"].get(f"SubmitProof/{r}") == 1 for r in range(0, 5)),
      f"the restarted node submitted each round once (journal {restarted['journal']})")
def stopped_stats(i):
    for line in open(f"{work}/node{i}.log"):
        if line.startswith("{") and json.loads(line).get("event") == "stopped":
            return json.loads(line)["stats"]
    return {}
import hashlib
switch = int(os.environ["SWITCH_ROUND"])
for i in (1, 2, 3):
    revealed = [s for s in nodes[i]["submissions"] if s["digest"] != "0" * 64]
    expected = lambda r: hashlib.sha256(b"hi" if r >= switch else b"hello").hexdigest()
    check(all(s["digest"] == expected(s["round"]) for s in revealed)
          and any(s["round"] >= switch for s in revealed),
          f"node {i} ran the second package from round {switch} and the first before it")
def started(i):
    return [json.loads(line) for line in open(f"{work}/node{i}.log")
            if line.startswith("{") and json.loads(line).get("event") == "started"]
check(all(s["sandbox"] == "sandboxed" for i in range(4) for s in started(i)) and all(started(i) for i in range(4)),
      "every node fetched the package from its locator and ran it sandboxed")
votes = sum(stopped_stats(i).get("audit_votes", 0) for i in (1, 2, 3))
# The raiser's seats count without a vote; the other two honest nodes sit on every committee.
check(votes >= 4, f"committee members voted on the audits of rounds 0-3 ({votes} votes landed)")
# The dashboard, over the validator's RPC and websocket: each list it shows
# pays what inspect says, node by node.
import time, urllib.request
board, deadline = None, time.time() + 60
while time.time() < deadline:
    try:
        with urllib.request.urlopen(os.environ["DASHBOARD_URL"] + "/api/dashboard", timeout=5) as answer:
            board = json.load(answer)
        if board["tasks"]:
            break
    except OSError:
        pass
    time.sleep(1)
shown = board["tasks"][0] if board and board["tasks"] else {}
check(shown.get("task") == task, "gradual dashboard shows the task")
paid_rounds = [r for r in shown.get("rounds", []) if r["rewards"]]
for r in paid_rounds:
    dist = inspect("inspect", "distribution", task, str(r["round"]))
    check(r["rewards"]["total"] == dist["total"] and r["rewards"]["paid_nodes"] == dist["leaf_count"],
          f"dashboard round {r['round']}: rewards by node add up to the list's total")
check(len(paid_rounds) >= 1, f"the dashboard shows rewards by node ({len(paid_rounds)} rounds)")
# gradual history against what the nodes did: each node's journal of the
# transactions it landed, and the lists' leaves. Every vote, raise, list,
# slash and claim in the history is one of those, and nothing else is.
from collections import Counter
import time as clock
started = clock.time()
history = inspect("history", task)
print(f"info history: {history['transactions']} transactions, {len(history['entries'])} entries read in {clock.time() - started:.1f} s")
entries = history["entries"]
check(not history["incomplete"], "history: no transaction's logs were truncated")
journals = [json.loads(subprocess.run([gradual, "node", "show", task, "-k", f"{work}/operator{i}.json",
                                       "--db", f"{work}/node{i}.redb", "--output", "json"],
                                      check=True, capture_output=True, text=True, timeout=60).stdout)["journal"]
            for i in range(4)]
address = {i: nodes[i]["address"] for i in range(4)}
for kind, event, who in [("VoteAudit", "AuditVoted", "voter"), ("RaiseAudit", "AuditRaised", "raiser"),
                         ("ProposeDistribution", "ListProposed", "proposer"), ("VoteDistribution", "ListVoted", "voter")]:
    seen = Counter((e[who], e["round"]) for e in entries if e["event"] == event)
    sent = Counter()
    for i in range(4):
        for key, count in journals[i].items():
            if key.startswith(kind + "/"):
                sent[(address[i], int(key.split("/")[1]))] += count
    # Lists are optimistic: with every list right, nobody votes on one.
    check(seen == sent and (sum(seen.values()) > 0 or event == "ListVoted"),
          f"history: every {event} is one the nodes landed, and no other ({sum(seen.values())} of them)")
claims = [e for e in entries if e["event"] == "RewardClaimed"]
for r in range(0, 4):
    leaves = sorted((leaf["node"], leaf["amount"]) for leaf in inspect("inspect", "distribution", task, str(r))["leaves"])
    check(sorted((e["node"], e["amount"]) for e in claims if e["round"] == r) == leaves,
          f"history: round {r}'s claims are its list's leaves, each once")
for i in range(4):
    claim_txs = len({e["signature"] for e in claims if e["node"] == address[i]})
    landed = sum(count for key, count in journals[i].items() if key.startswith("ClaimReward/"))
    check(claim_txs == landed, f"history: node {i}'s {landed} claim transactions, and no other")
resolved = [e for e in entries if e["event"] == "AuditResolved"]
raised = {(e["target"], e["round"]) for e in entries if e["event"] == "AuditRaised"}
check({(e["target"], e["round"]) for e in resolved} == raised, "history: every audit raised was resolved once")
for r in range(0, 4):
    upheld = [e["target"] for e in resolved if e["round"] == r and e["upheld"]]
    check(upheld == [bad], f"history: round {r}'s one slash is the bad node's, as inspect round shows")
check(sum(e["slashed"] for e in resolved if e["target"] == bad) == nodes[0]["total_slashed"]
      and all(e["slashed"] == 0 for e in resolved if e["target"] != bad),
      f"history: the slashes add up to the bad node's total_slashed ({nodes[0]['total_slashed']})")
audit = inspect("inspect", "audit", "--target", bad, "--round", "0")
check(audit.get("resolved", {}).get("upheld") is True and audit.get("votes"),
      "inspect audit answers a resolved audit from history, with its votes")
task_view = inspect("inspect", "task", task)
check(task_view["total_funded"] == 21_000_000_000, "the task holds what create and fund deposited")
check(task_view["conservation"]["holds"], f"conservation: {task_view['conservation']}")
verified = inspect("program", "verify", "--program", os.environ["SO"])
check(verified["result"] == "match", f"the deployed program is this build ({verified['deployed_sha256']})")

sys.exit(1 if failures else 0)
PY

# The Token-2022 task beside it: checked once its run is over (it began
# after the lamport task and may end a little later).
token_done() { chain_alive; ! kill -0 "$TOKEN_PID" 2>/dev/null; }
wait_for 600 "the Token-2022 task to finish" token_done
wait "$TOKEN_PID" || die "the Token-2022 run exited with status $?; its log: $E2E_DIR/token-task.log"
log "checking the Token-2022 task through gradual inspect, history and its token balances"
python3 - <<'PY'
import json, os, subprocess, sys, urllib.request
from collections import Counter

gradual, work = os.environ["GRADUAL"], os.environ["E2E_DIR"]

def inspect(*args):
    out = subprocess.run([gradual, *args, "--output", "json"], check=True, capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout)

failures = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)

report = json.load(open(f"{work}/token-task.json"))
token_task, mint = report["task"], report["tokens"]["mint"]
check(report["conservation"]["holds"], f"token task: lamports conserve ({report['conservation']})")
check(report["tokens"]["holds"] and report["tokens"]["withheld"] > 0,
      f"token task: every token minted is held or withheld as a fee, the vault holds what it tracks ({report['tokens']})")
check(all(r["distribution"] == "approved" and r["claimed"] == r["total"] for r in report["rounds"]),
      "token task: every round's list approved and claimed in full")
token_view = inspect("inspect", "task", token_task)
check(token_view.get("mint") == mint and token_view.get("token_program_name") in ("token-2022", "Token-2022")
      and token_view["token_conservation"]["holds"],
      f"token task: inspect task shows the mint and its vault conserving ({token_view.get('token_conservation')})")
check(token_view.get("transfer_fee") is not None, "token task: inspect task shows the transfer fee")
def rpc(method, *params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(os.environ["GRADUAL_URL"], body, {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=30))["result"]
token_entries = inspect("history", token_task)["entries"]
received = Counter()
for e in token_entries:
    if e["event"] == "RewardClaimed":
        received[inspect("inspect", "node", e["node"])["operator"]] += e["received"]
    if e["event"] == "AuditResolved" and e["upheld"]:
        received[e["to_raiser"]["to"]] += e["to_raiser"]["received"]
check(sum(received.values()) > 0, f"token task: history shows claims ({dict(received)})")
for operator, expected in received.items():
    if os.environ.get("E2E_LOCALNET") == "1":
        print("skip token balances: gradual localnet does not answer getTokenAccountsByOwner")
        break
    accounts = rpc("getTokenAccountsByOwner", operator, {"mint": mint}, {"encoding": "jsonParsed"})["value"]
    held = sum(int(a["account"]["data"]["parsed"]["info"]["tokenAmount"]["amount"]) for a in accounts)
    check(held == expected, f"token task: {operator[:8]}'s token account holds what history says arrived ({held})")
sys.exit(1 if failures else 0)
PY
