// Gradual task SDK for JavaScript (Node 20): write a task's four parts as functions.
//
// A task executable is started once per call. It reads one JSON request line
// from stdin and writes one JSON answer line to stdout (docs/task-protocol.md).
// `run` does that for you:
//
//   const { run } = require("./gradual-task");
//   run({ work, audit });                                          // required parts
//   run({ work, audit, submission, distribution, variables: ["API_KEY"] });
//
// - work(context) -> Buffer | Uint8Array | string. context: { round, task, node }.
// - submission(round, result: Buffer) -> { digest: Buffer (32 bytes), locator: string }.
//   Default: sha256(result) and "v1/results/<round>".
// - audit(round, submission, result: Buffer) -> true, false or { valid: false, reason }.
//   submission: { node, digest: Buffer, locator }.
// - distribution(inputs) -> [[node, amount], ...]. inputs: { round, bounty,
//   eligible: [{ node, stake, digest: Buffer, locator }], excluded: [node, ...] }.
//   Amounts are numbers or BigInts. Default: the bounty shared out by stake, rounded
//   down (stakeSplit). equalSplit pays per node instead: one operator splitting
//   its stake over many nodes then takes more (docs/external-tasks.md).
//
// Only Node's standard library is used. Nothing here reaches the network.
// May be async: any part may return a Promise.

"use strict";

const crypto = require("node:crypto");
const readline = require("node:readline");

const PROTOCOL = 1;

function sha256(data) {
  return crypto.createHash("sha256").update(data).digest();
}

/** The default rule: the bounty shared out by stake, rounded down. `eligible`
 * is the inputs' list, in its order. */
function stakeSplit(bounty, eligible) {
  const total = eligible.reduce((sum, node) => sum + BigInt(node.stake), 0n);
  return eligible.map((node) => [node.node, total === 0n ? 0n : (BigInt(bounty) * BigInt(node.stake)) / total]);
}

/** A rule that pays per node: the bounty split equally, rounded down. */
function equalSplit(bounty, nodes) {
  if (nodes.length === 0) return [];
  const share = BigInt(bounty) / BigInt(nodes.length);
  return share > 0n ? nodes.map((node) => [node, share]) : [];
}

async function answer(request, parts, variables) {
  switch (request.method) {
    case "hello":
      return {
        protocol: PROTOCOL,
        parts: Object.keys(parts).filter((name) => typeof parts[name] === "function"),
        variables,
      };
    case "work": {
      const context = { round: request.round, task: request.task, node: request.node };
      const result = await parts.work(context);
      return { result: Buffer.from(result).toString("base64") };
    }
    case "submission": {
      if (!parts.submission) break;
      const { digest, locator } = await parts.submission(request.round, Buffer.from(request.result, "base64"));
      if (Buffer.from(digest).length !== 32) throw new Error("the digest must be 32 bytes");
      return { digest: Buffer.from(digest).toString("hex"), locator };
    }
    case "audit": {
      const submission = { ...(request.submission || {}) };
      if (submission.digest) submission.digest = Buffer.from(submission.digest, "hex");
      const verdict = await parts.audit(request.round, submission, Buffer.from(request.result, "base64"));
      if (typeof verdict === "object" && verdict !== null) {
        return { valid: Boolean(verdict.valid), reason: String(verdict.reason || "") };
      }
      return { valid: Boolean(verdict) };
    }
    case "distribution": {
      if (!parts.distribution) break;
      const inputs = {
        ...request,
        eligible: request.eligible.map((node) => ({ ...node, digest: Buffer.from(node.digest, "hex") })),
      };
      const leaves = await parts.distribution(inputs);
      return { leaves: leaves.map(([node, amount]) => ({ node, amount: BigInt(amount) })) };
    }
  }
  throw new Error(`unknown method ${JSON.stringify(request.method)}`);
}

// Amounts may exceed 2^53: BigInts are written as plain JSON numbers.
function stringify(value) {
  return JSON.stringify(value, (_, item) => (typeof item === "bigint" ? `@@${item}@@` : item)).replace(
    /"@@(\d+)@@"/g,
    "$1",
  );
}

/** Answers the one request on stdin; exits 0 with an answer or an error. */
function run({ work, audit, submission, distribution, variables = [] }) {
  const parts = { work, submission, audit, distribution };
  const input = readline.createInterface({ input: process.stdin });
  input.once("line", async (line) => {
    input.close();
    let reply;
    try {
      reply = await answer(JSON.parse(line), parts, variables);
    } catch (error) {
      reply = { error: `${error.name}: ${error.message}` };
    }
    process.stdout.write(stringify(reply) + "\n");
  });
}

module.exports = { run, sha256, stakeSplit, equalSplit, PROTOCOL };
