#!/usr/bin/env python3
"""Measures how the simulation's time per node grows with the number of
nodes, and records the table in docs/benchmarks.md between the
bench-growth markers.

Usage: scripts/bench-growth.py BINARY [REPEATS]
Runs 1,000, 2,000, 4,000, 8,000 and 16,000 nodes (5 work rounds, 1% bad,
1% offline, 1% bad-proposer), the whole sequence REPEATS times (default 3),
and keeps each count's median wall time: a 2-second run varies by several
percent from one run to the next on a shared machine.
"""

import datetime
import json
import pathlib
import statistics
import subprocess
import sys

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN = "<!-- bench-growth:begin -->"
END = "<!-- bench-growth:end -->"
COUNTS = [1000, 2000, 4000, 8000, 16000]
ROUNDS = 5
TARGET = 1.3


def run(binary: str, nodes: int) -> dict:
    share = nodes // 100
    command = [
        binary, "simulate", "--nodes", str(nodes), "--rounds", str(ROUNDS),
        "--bad", str(share), "--offline", str(share), "--bad-proposer", str(share),
        "--output", "json",
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    report = json.loads(done.stdout)
    if not report["conservation"]["holds"]:
        sys.exit(f"bench-growth: conservation broke at {nodes:,} nodes")
    return report


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    reports = {nodes: [] for nodes in COUNTS}
    for repeat in range(repeats):
        for nodes in COUNTS:
            print(f"bench-growth: pass {repeat + 1}/{repeats}, {nodes:,} nodes ...", file=sys.stderr, flush=True)
            reports[nodes].append(run(binary, nodes))
    rows = []
    base = None
    for nodes in COUNTS:
        runs = reports[nodes]
        wall = statistics.median(report["wall_seconds"] for report in runs)
        runtime = statistics.median(report["time"]["runtime"] for report in runs)
        transactions_time = statistics.median(report["time"]["transactions"] for report in runs)
        per_node = 1000 * wall / nodes
        base = base or per_node
        memory = max(report["peak_memory_kib"] for report in runs) / 1024
        rows.append(
            f"| {nodes:,} | {wall:.2f} s | {per_node:.2f} ms | {per_node / base:.2f}x "
            f"| {1000 * runtime / nodes:.2f} ms | {1000 * transactions_time / nodes:.2f} ms "
            f"| {runs[0]['transactions']:,} | {memory:,.0f} MiB |"
        )
    growth = (1000 * statistics.median(r["wall_seconds"] for r in reports[COUNTS[-1]]) / COUNTS[-1]) / base
    table = (
        f"Measured {datetime.date.today().isoformat()}, median of {repeats} passes; "
        f"time per node grows {growth:.2f}x from 1,000 to 16,000 nodes (target {TARGET}x).\n\n"
        "| nodes | wall time | per node | vs 1,000 | runtimes per node | transactions per node "
        "| transactions | peak memory |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n"
    )
    print(table)
    text = DOC.read_text()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        sys.exit(f"bench-growth: {DOC} has no {BEGIN} ... {END} section")
    DOC.write_text(text[: start + len(BEGIN)] + "\n" + table + text[end:])
    print(f"bench-growth: recorded in {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main()
