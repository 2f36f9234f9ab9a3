#!/usr/bin/env python3
"""What stopping a node costs: rounds that end up not committed and revealed.

One node on a localnet (100 ms slots), a task with `task create`'s default
round (40 slots, an 8-slot submission window). For each stop length and
start offset, the node is stopped with SIGTERM at that offset of a round,
started again after the stop, and left to run three more rounds. A round
counts as lost when the node's proof of it is not revealed on-chain.

Usage: scripts/stop-cost.py GRADUAL_BINARY   (GRADUAL_SO names the .so)
Prints one JSON line per trial and a summary table for docs/node.md.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

SLOT_MS = 100
ROUND = 40
WINDOW = 8
SOL = 1_000_000_000


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Run:
    def __init__(self, binary, home, url):
        self.binary, self.home, self.url = binary, home, url

    def env(self):
        return dict(os.environ, HOME=self.home, GRADUAL_URL=self.url)

    def json(self, *args):
        out = subprocess.run([self.binary, *args, "--output", "json"], env=self.env(),
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    def slot(self, task):
        return self.json("task", "show", task)["current_slot"]


def wait_slot(run, task, slot):
    while run.slot(task) < slot:
        time.sleep(0.03)


def trial(binary, stop_slots, offset):
    home = tempfile.mkdtemp(prefix="gradual-stop-")
    # The websocket takes the port above: try again if either is taken.
    for _ in range(10):
        port = free_port()
        localnet = subprocess.Popen(
            [binary, "localnet", "--listen", f"127.0.0.1:{port}", "--slot-ms", str(SLOT_MS), "--output", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if localnet.stdout.readline().strip():
            break
        localnet.wait()
    run = Run(binary, home, f"http://127.0.0.1:{port}")
    try:
        keypair = os.path.join(home, "id.json")
        subprocess.run([binary, "keygen", "--outfile", keypair], env=run.env(), capture_output=True, check=True)
        run.json("airdrop", "-k", keypair, str(100 * SOL))
        task = run.json("task", "create", "-k", keypair, "--name", "stop", "--bounty", str(20 * SOL),
                        "--bounty-per-round", str(SOL // 10), "--start-in", "20")["task"]
        service = free_port()
        run.json("node", "stake", "-k", keypair, task, str(2 * SOL), "--service-url", f"http://127.0.0.1:{service}")
        start = run.json("task", "show", task)["start_slot"]
        db = os.path.join(home, "node.redb")

        def node():
            return subprocess.Popen(
                [binary, "node", "run", "-k", keypair, task, "--db", db, "--listen", f"127.0.0.1:{service}"],
                env=run.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        child = node()
        stop_at = start + 2 * ROUND + offset
        wait_slot(run, task, stop_at)
        child.send_signal(signal.SIGTERM)
        child.wait()
        wait_slot(run, task, stop_at + stop_slots)
        child = node()
        last = (stop_at + stop_slots - start) // ROUND + 3
        wait_slot(run, task, start + (last + 2) * ROUND + WINDOW + 2)
        child.send_signal(signal.SIGTERM)
        child.wait()
        lost = []
        for round_ in range(1, last + 1):
            view = run.json("inspect", "round", task, str(round_))
            if not any(entry.get("revealed") for entry in view["submissions"]):
                lost.append(round_)
        return {"stop_slots": stop_slots, "offset": offset, "stopped_in_round": 2,
                "rounds_checked": [1, last], "lost": lost}
    finally:
        localnet.terminate()
        localnet.wait()


def main():
    binary = sys.argv[1]
    # Offsets: in the submission window, just after it, late in the round.
    cases = [(stop, offset) for stop in (4, 12, 40, 80, 170) for offset in (1, 10, 30)]
    rows = []
    for stop, offset in cases:
        result = trial(binary, stop, offset)
        print(json.dumps(result), flush=True)
        rows.append(result)
    print("\n| stop (slots) | at 400 ms | rounds lost, stopped at offset 1 / 10 / 30 |")
    print("|---|---|---|")
    for stop in sorted({row["stop_slots"] for row in rows}):
        lost = [str(len(row["lost"])) for row in rows if row["stop_slots"] == stop]
        print(f"| {stop} | {stop * 0.4:.1f} s | {' / '.join(lost)} |")


if __name__ == "__main__":
    main()
