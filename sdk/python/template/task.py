#!/usr/bin/env python3
"""A Gradual task. Fill in the parts; delete the optional ones you do not need.

Try it: gradual task check .
        gradual simulate --executable . --nodes 4 --rounds 2 --bad 1
"""

from gradual_task import run, sha256, stake_split


def work(context):
    """Round context["round"]'s work; the bytes are served to auditors."""
    return f"round {context['round']} done by {context['node']}".encode()


def submission(round, result):
    """Optional. The proof: a 32-byte digest and a locator (at most 64 bytes)."""
    return sha256(result), f"v1/results/{round}"


def audit(round, submission, result):
    """Whether another node's result is valid: True, False or (False, "why")."""
    if sha256(result) != submission["digest"]:
        return False, "the digest is not sha256(result)"
    return result == f"round {round} done by {submission['node']}".encode()


def distribution(inputs):
    """Optional. Who is paid what, from on-chain inputs only (deterministic)."""
    return stake_split(inputs["bounty"], inputs["eligible"])


if __name__ == "__main__":
    run(work=work, submission=submission, audit=audit, distribution=distribution)
