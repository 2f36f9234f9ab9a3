#!/usr/bin/env python3
"""The hello task in Python: every node's result is "Hello, World!"."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from gradual_task import run, sha256  # noqa: E402

HELLO = b"Hello, World!"


def work(context):
    return HELLO


def audit(round, submission, result):
    if result != HELLO:
        return False, "the result is not Hello, World!"
    return sha256(result) == submission["digest"]


if __name__ == "__main__":
    run(work=work, audit=audit)
