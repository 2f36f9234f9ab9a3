# Helpers for scripts/e2e.sh, tested by scripts/test-e2e-lib.sh. The caller
# defines `die MESSAGE`.

# Free TCP ports on 127.0.0.1, COUNT consecutive ones from each of N bases:
# `free_ports N COUNT` prints N base ports.
free_ports() {
  python3 - "$1" "$2" <<'PY'
import random, socket, sys
wanted, run = int(sys.argv[1]), int(sys.argv[2])
def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
found = []
while len(found) < wanted:
    base = random.randrange(20000, 60000 - run)
    if all(free(base + i) for i in range(run)) and all(abs(base - other) >= run for other in found):
        found.append(base)
print(" ".join(map(str, found)))
PY
}

# Waits until COMMAND succeeds, at most SECONDS; fails naming WHAT.
wait_for() {
  local seconds=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + seconds ))
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || die "gave up after ${seconds}s waiting for $what"
    sleep 1
  done
}

# Succeeds if the validator answering at URL has the identity in KEYPAIR (a
# Solana keypair file, its ledger's validator-keypair.json); otherwise says
# whose it is, naming the port: `validator_is_ours URL KEYPAIR`.
validator_is_ours() {
  python3 - "$1" "$2" <<'PY'
import json, sys, urllib.request
url, keypair = sys.argv[1], sys.argv[2]
alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
raw = bytes(json.load(open(keypair))[32:])
number, text = int.from_bytes(raw, "big"), ""
while number:
  number, digit = divmod(number, 58)
  text = alphabet[digit] + text
ours = "1" * (len(raw) - len(raw.lstrip(b"\0"))) + text
request = urllib.request.Request(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getIdentity"}).encode(),
                               {"Content-Type": "application/json"})
theirs = json.load(urllib.request.urlopen(request, timeout=5))["result"]["identity"]
sys.exit(0 if theirs == ours else f"port {url.rsplit(':', 1)[1]} is answered by validator {theirs}, not ours ({ours})")
PY
}
