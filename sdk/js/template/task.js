#!/usr/bin/env node
// A Gradual task. Fill in the parts; delete the optional ones you do not need.
//
// Try it: gradual task check .
//         gradual simulate --executable . --nodes 4 --rounds 2 --bad 1
"use strict";

const { run, sha256, stakeSplit } = require("./gradual-task.js");

/** Round context.round's work; the bytes are served to auditors. */
function work(context) {
  return Buffer.from(`round ${context.round} done by ${context.node}`);
}

/** Optional. The proof: a 32-byte digest and a locator (at most 64 bytes). */
function submission(round, result) {
  return { digest: sha256(result), locator: `v1/results/${round}` };
}

/** Whether another node's result is valid: true, false or { valid: false, reason }. */
function audit(round, submission, result) {
  if (!sha256(result).equals(submission.digest)) {
    return { valid: false, reason: "the digest is not sha256(result)" };
  }
  return result.toString() === `round ${round} done by ${submission.node}`;
}

/** Optional. Who is paid what, from on-chain inputs only (deterministic). */
function distribution(inputs) {
  return stakeSplit(inputs.bounty, inputs.eligible);
}

run({ work, submission, audit, distribution });
