#!/usr/bin/env python3
"""A task that pays each node in proportion to the work units it proves.

- work: find every nonce below SEARCH whose sha256(node | round | nonce)
  starts with a zero byte. Each is one unit of work, bound to this node and
  round, so nobody else's nonces count.
- submission: sha256(result), and the units claimed in the locator, so the
  distribution rule can read them from chain state.
- audit: every nonce must be valid and distinct, and there must be exactly as
  many as the locator claims; a node that overstates its units is slashed.
- distribution: the bounty split in proportion to units, rounded down.
"""

import json

from gradual_task import run, sha256

SEARCH = 20_000


def is_unit(node: str, round: int, nonce: int) -> bool:
    return sha256(f"{node}|{round}|{nonce}".encode())[0] == 0


def work(context):
    node, round = context["node"], context["round"]
    nonces = [nonce for nonce in range(SEARCH) if is_unit(node, round, nonce)]
    return json.dumps({"node": node, "round": round, "nonces": nonces}).encode()


def units_of(result: bytes) -> int:
    try:
        return len(json.loads(result)["nonces"])
    except (ValueError, KeyError, TypeError):
        return 0


def submission(round, result):
    return sha256(result), f"v1/results/{round}#units={units_of(result)}"


def claimed_units(locator: str) -> int:
    _, _, units = locator.partition("#units=")
    return int(units) if units.isdigit() else 0


def audit(round, submission, result):
    if sha256(result) != submission["digest"]:
        return False, "the digest is not sha256(result)"
    try:
        parsed = json.loads(result)
        nonces = parsed["nonces"]
    except (ValueError, KeyError, TypeError):
        return False, "the result is not a work-units result"
    if parsed.get("node") != submission["node"] or parsed.get("round") != round:
        return False, "the result is another node's or another round's"
    if len(set(nonces)) != len(nonces) or not all(
        isinstance(nonce, int) and 0 <= nonce < SEARCH and is_unit(submission["node"], round, nonce) for nonce in nonces
    ):
        return False, "a nonce is not a unit of work"
    if claimed_units(submission["locator"]) != len(nonces):
        return False, f"the locator claims {claimed_units(submission['locator'])} units, the result proves {len(nonces)}"
    return True


def distribution(inputs):
    units = {node["node"]: claimed_units(node["locator"]) for node in inputs["eligible"]}
    total = sum(units.values())
    if total == 0:
        return []
    leaves = [(node, inputs["bounty"] * count // total) for node, count in sorted(units.items())]
    return [(node, amount) for node, amount in leaves if amount > 0]


if __name__ == "__main__":
    run(work=work, submission=submission, audit=audit, distribution=distribution)
