#!/usr/bin/env bash
# Tests the guards of scripts/e2e.sh without a validator: free ports are
# free, every wait gives up at its limit with a message, and a chain answering
# on the port that is not ours is refused, naming the port.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "$*" >&2; exit 1; }
# shellcheck source=scripts/e2e-lib.sh
source scripts/e2e-lib.sh
work="$(mktemp -d)"
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "test-e2e-lib: FAILED: $*" >&2; exit 1; }

# Free ports: each base and the port after it can be bound.
read -r -a ports <<<"$(free_ports 3 2)"
[ "${#ports[@]}" -eq 3 ] || fail "free_ports 3 2 gave ${ports[*]}"
for port in "${ports[@]}"; do
  python3 -c "import socket,sys; [socket.socket().bind(('127.0.0.1', p)) for p in (int(sys.argv[1]), int(sys.argv[1]) + 1)]" "$port" \
    || fail "port $port or $((port + 1)) is not free"
done

# A wait that never succeeds gives up at its limit, saying what it waited for.
started=$(date +%s)
if message="$( (wait_for 2 "a condition that never holds" false) 2>&1)"; then fail "wait_for succeeded"; fi
[ $(( $(date +%s) - started )) -le 5 ] || fail "wait_for 2 took more than 5 s"
grep -q "gave up after 2s waiting for a condition that never holds" <<<"$message" || fail "wait_for said: $message"

# A fake validator on a free port, answering getIdentity with its own key.
read -r port <<<"$(free_ports 1 1)"
python3 - "$port" "$work" <<'PY' &
import http.server, json, os, sys
port, work = int(sys.argv[1]), sys.argv[2]
key = bytes(range(1, 65))  # a fixed keypair: the identity is its last 32 bytes
json.dump(list(key), open(os.path.join(work, "theirs.json"), "w"))
json.dump(list(bytes(64)[:32] + bytes(range(100, 132))), open(os.path.join(work, "ours.json"), "w"))
alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
number, identity = int.from_bytes(key[32:], "big"), ""
while number:
    number, digit = divmod(number, 58)
    identity = alphabet[digit] + identity
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"identity": identity}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
PY
server=$!
for _ in $(seq 1 50); do [ -f "$work/ours.json" ] && break; sleep 0.1; done
listening() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$port" 2>/dev/null; }
wait_for 10 "the fake validator on port $port" listening
validator_is_ours "http://127.0.0.1:$port" "$work/theirs.json" || fail "our own validator was refused"
if message="$(validator_is_ours "http://127.0.0.1:$port" "$work/ours.json" 2>&1)"; then
  fail "another validator was taken for ours"
fi
grep -q "port $port is answered by validator" <<<"$message" || fail "the refusal does not name port $port: $message"
echo "test-e2e-lib: free ports, bounded waits and the identity check work"
