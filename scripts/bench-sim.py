#!/usr/bin/env python3
"""Runs `gradual simulate` (bench-sim build) at the given node counts and
records one row per count in docs/benchmarks.md, between the bench-sim
markers, replacing an earlier row for the same count.

Usage: scripts/bench-sim.py BINARY NODES [NODES ...]
Each run: 5 work rounds, 1% bad, 1% offline and 1% bad-proposer nodes.
"""

import datetime
import json
import pathlib
import subprocess
import sys

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN = "<!-- bench-sim:begin -->"
END = "<!-- bench-sim:end -->"
HEADER = (
    "| nodes | date | wall time | per node | transactions | tx per node per round "
    "| fees per node per round | CU per node per round | peak memory | dashboard snapshot | conservation |\n"
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
)
ROUNDS = 5


def run(binary: str, nodes: int) -> dict:
    share = max(nodes // 100, 0)
    command = [
        binary, "simulate", "--nodes", str(nodes), "--rounds", str(ROUNDS),
        "--bad", str(share), "--offline", str(share), "--bad-proposer", str(share),
        "--output", "json",
    ]
    print(f"bench-sim: {nodes:,} nodes ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def outcome_errors(report: dict) -> list:
    """What differs from the outcome every run must have: bad nodes slashed
    and never paid, honest nodes paid one equal share a round, offline nodes
    (working even rounds only) paid for exactly the rounds they worked."""
    errors = []
    rounds = range(report["config"]["rounds"])
    for node in report["nodes"]:
        paid = set(node["rounds_paid"])
        who = f"node {node['index']} ({node['behaviour']})"
        if node["behaviour"] == "bad" and (paid or node["lamports_slashed"] == 0):
            errors.append(f"{who}: paid {sorted(paid)}, slashed {node['lamports_slashed']}")
        if node["behaviour"] in ("honest", "bad-proposer") and paid != set(rounds):
            errors.append(f"{who}: paid for rounds {sorted(paid)}")
        if node["behaviour"] == "offline" and paid != {r for r in rounds if r % 2 == 0}:
            errors.append(f"{who}: paid for rounds {sorted(paid)}")
    for entry in report["rounds"]:
        shares = set(entry["paid"].values())
        if len(shares) != 1:
            errors.append(f"round {entry['round']}: shares {sorted(shares)[:5]}")
    return errors


def row(nodes: int, report: dict) -> str:
    cost = report["cost"]
    wall = report["wall_seconds"]
    return (
        f"| {nodes:,} | {datetime.date.today().isoformat()} | {wall:.1f} s "
        f"| {1000 * wall / nodes:.2f} ms | {report['transactions']:,} "
        f"| {cost['transactions_per_node_round']:.2f} | {cost['fee_lamports_per_node_round']:,.0f} "
        f"| {cost['compute_units_per_node_round']:,.0f} | {report['peak_memory_kib'] / 1024:,.0f} MiB "
        f"| {report['dashboard_snapshot_ms']:,.1f} ms "
        f"| {'holds' if report['conservation']['holds'] else 'BROKEN'} |"
    )


def record(rows: dict) -> None:
    text = DOC.read_text()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        sys.exit(f"bench-sim: {DOC} has no {BEGIN} ... {END} section")
    kept = {}
    for line in text[start + len(BEGIN):end].splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("|") and cells[0].replace(",", "").isdigit():
            kept[int(cells[0].replace(",", ""))] = line
    kept.update(rows)
    table = HEADER + "\n".join(kept[nodes] for nodes in sorted(kept)) + "\n"
    DOC.write_text(text[: start + len(BEGIN)] + "\n" + table + text[end:])


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, counts = sys.argv[1], [int(count) for count in sys.argv[2:]]
    rows = {}
    for nodes in counts:
        report = run(binary, nodes)
        rows[nodes] = row(nodes, report)
        print(rows[nodes], flush=True)
        if not report["conservation"]["holds"]:
            sys.exit(f"bench-sim: conservation broke at {nodes:,} nodes")
        errors = outcome_errors(report)
        if errors:
            sys.exit(f"bench-sim: {len(errors)} wrong outcomes at {nodes:,} nodes, first: {errors[:3]}")
        print(f"bench-sim: {nodes:,} nodes: bad nodes slashed and unpaid, honest nodes paid equal shares, "
              "offline nodes paid for the rounds they worked", file=sys.stderr)
    record(rows)
    print(f"bench-sim: recorded {', '.join(f'{n:,}' for n in counts)} nodes in {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main()
