"""Gradual task SDK for Python 3.11: write a task's four parts as functions.

A task executable is started once per call. It reads one JSON request line
from stdin and writes one JSON answer line to stdout (docs/task-protocol.md).
`run` does that for you:

    from gradual_task import run
    run(work=work, audit=audit)                         # the two required parts
    run(work=work, audit=audit, submission=submission,  # and the optional ones
        distribution=distribution, variables=["API_KEY"])

- work(context) -> bytes. context: {"round", "task", "node"}.
- submission(round, result) -> (digest: 32 bytes, locator: str). Default:
  sha256(result) and "v1/results/<round>".
- audit(round, submission, result) -> True, False or (False, "reason").
  submission: {"node", "digest" (32 bytes), "locator"}.
- distribution(inputs) -> [(node, amount), ...]. inputs: {"round", "bounty",
  "eligible": [{"node", "stake", "digest" (32 bytes), "locator"}],
  "excluded": [node, ...]}. Default: the bounty shared out by stake, rounded
  down (stake_split). equal_split pays per node instead: one operator
  splitting its stake over many nodes then takes more (docs/external-tasks.md).

Only the standard library is used. Nothing here reaches the network.
"""

import base64
import hashlib
import json
import sys

PROTOCOL = 1


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def stake_split(bounty: int, eligible: list) -> list:
    """The default rule: the bounty shared out by stake, rounded down.

    eligible: the "eligible" entries of distribution's inputs, in their order."""
    total = sum(node["stake"] for node in eligible)
    return [(node["node"], bounty * node["stake"] // total if total else 0) for node in eligible]


def equal_split(bounty: int, nodes: list) -> list:
    """A rule that pays per node: the bounty split equally, rounded down."""
    if not nodes:
        return []
    share = bounty // len(nodes)
    return [(node, share) for node in nodes] if share > 0 else []


def _answer(method: str, request: dict, parts: dict, variables: list) -> dict:
    if method == "hello":
        implemented = [name for name, part in parts.items() if part is not None]
        return {"protocol": PROTOCOL, "parts": implemented, "variables": list(variables)}
    if method == "work":
        context = {key: request.get(key) for key in ("round", "task", "node")}
        result = parts["work"](context)
        if not isinstance(result, (bytes, bytearray)):
            raise TypeError("work must return bytes")
        return {"result": base64.b64encode(bytes(result)).decode()}
    if method == "submission" and parts["submission"] is not None:
        result = base64.b64decode(request["result"])
        digest, locator = parts["submission"](request["round"], result)
        if len(digest) != 32:
            raise ValueError("the digest must be 32 bytes")
        return {"digest": bytes(digest).hex(), "locator": locator}
    if method == "audit":
        submitted = dict(request.get("submission") or {})
        if "digest" in submitted:
            submitted["digest"] = bytes.fromhex(submitted["digest"])
        verdict = parts["audit"](request["round"], submitted, base64.b64decode(request["result"]))
        if isinstance(verdict, tuple):
            valid, reason = verdict
            return {"valid": bool(valid), "reason": str(reason)}
        return {"valid": bool(verdict)}
    if method == "distribution" and parts["distribution"] is not None:
        inputs = dict(request)
        inputs["eligible"] = [dict(node, digest=bytes.fromhex(node["digest"])) for node in request["eligible"]]
        leaves = parts["distribution"](inputs)
        return {"leaves": [{"node": node, "amount": int(amount)} for node, amount in leaves]}
    raise ValueError(f"unknown method {method!r}")


def run(*, work, audit, submission=None, distribution=None, variables=()):
    """Answers the one request on stdin; exits 0 with an answer or an error."""
    parts = {"work": work, "submission": submission, "audit": audit, "distribution": distribution}
    try:
        request = json.loads(sys.stdin.readline())
        answer = _answer(request.get("method"), request, parts, variables)
    except Exception as error:  # any failure is the answer, never a crash
        answer = {"error": f"{type(error).__name__}: {error}"}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
