#!/usr/bin/env python3
"""The hello task in Python: every node's result is "Hello, World!"."""

from gradual_task import run, sha256

HELLO = b"Hello, World!"


def work(context):
    return HELLO


def audit(round, submission, result):
    if result != HELLO:
        return False, "the result is not Hello, World!"
    return sha256(result) == submission["digest"]


if __name__ == "__main__":
    run(work=work, audit=audit)
