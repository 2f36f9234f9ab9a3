// Reads a task and one of its nodes from a cluster through the generated
// client, and prints what it decoded as JSON, in the shape of
// `gradual inspect task|node --output json` (node/src/cli/views.rs), so that
// node/tests/client_js.rs can compare the two field by field.
//
//   node test.mjs RPC_URL TASK NODE [--fund KEYPAIR.json LAMPORTS] [--layouts LAYOUTS.json] [--events EVENTS.json]
//
// --fund sends FundTask, built by the generated client and signed with
// KEYPAIR, before reading. --layouts names a file of base64 Audit and
// Distribution account data (written by the Rust test from the interface's
// own structs), decoded with the generated codecs; --events a file of
// base64 events of every kind, decoded as if logged.
// Besides the accounts it prints the events that the program logged in the
// task's transactions (getSignaturesForAddress, getTransaction), decoded
// with the generated event codecs, and the text arguments of the task's
// CreateTask and the node's Stake, decoded from the transactions' data.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  address,
  appendTransactionMessageInstruction,
  createKeyPairSignerFromBytes,
  createSolanaRpc,
  createTransactionMessage,
  getBase58Encoder,
  getBase64EncodedWireTransaction,
  getBase64Encoder,
  getSignatureFromTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from '@solana/kit';
import * as gradual from './dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const [url, taskArg, nodeArg, ...rest] = process.argv.slice(2);
if (!url || !taskArg || !nodeArg) {
  console.error('usage: node test.mjs RPC_URL TASK NODE [--fund KEYPAIR.json LAMPORTS] [--layouts FILE]');
  process.exit(2);
}
const option = (name, count) => {
  const at = rest.indexOf(name);
  return at < 0 ? null : rest.slice(at + 1, at + 1 + count);
};
const rpc = createSolanaRpc(url);
const taskAddress = address(taskArg);
const nodeAddress = address(nodeArg);
const NONE = 2n ** 64n - 1n; // u64::MAX: no scheduled package, not exiting, unused checkpoint
const NO_MINT = '11111111111111111111111111111111'; // all-zero address: a lamport task
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const text = (bytes, len) => Buffer.from(bytes.slice(0, Number(len))).toString('utf8');
const fail = (message) => {
  console.error(`test.mjs: ${message}`);
  process.exit(1);
};

// FundTask through the generated instruction builder.
const fund = option('--fund', 2);
let funded = null;
if (fund) {
  const funder = await createKeyPairSignerFromBytes(new Uint8Array(JSON.parse(readFileSync(fund[0], 'utf8'))));
  const instruction = gradual.getFundTaskInstruction({ funder, task: taskAddress, amount: BigInt(fund[1]) });
  const { value: blockhash } = await rpc.getLatestBlockhash().send();
  const message = pipe(
    createTransactionMessage({ version: 'legacy' }),
    (m) => setTransactionMessageFeePayerSigner(funder, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => appendTransactionMessageInstruction(instruction, m),
  );
  const transaction = await signTransactionMessageWithSigners(message);
  const signature = getSignatureFromTransaction(transaction);
  await rpc.sendTransaction(getBase64EncodedWireTransaction(transaction), { encoding: 'base64' }).send();
  for (let tries = 0; ; tries++) {
    const { value } = await rpc.getSignatureStatuses([signature]).send();
    if (value[0]?.err) fail(`FundTask failed: ${JSON.stringify(value[0].err, (_, v) => (typeof v === 'bigint' ? `${v}` : v))}`);
    if (value[0]) break;
    if (tries > 200) fail('FundTask did not land in 20 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  funded = { signature, funder: funder.address };
}

// The accounts, fetched and decoded by the generated client.
const task = await gradual.fetchTask(rpc, taskAddress);
const node = await gradual.fetchNode(rpc, nodeAddress);
const [taskPda] = await gradual.findTaskPda({ creator: task.data.creator, taskId: task.data.taskId });
const [nodePda] = await gradual.findNodePda({ task: taskAddress, operator: node.data.operator });
if (taskPda !== taskAddress) fail(`findTaskPda gives ${taskPda}, not ${taskAddress}`);
if (nodePda !== nodeAddress) fail(`findNodePda gives ${nodePda}, not ${nodeAddress}`);

const params = (p) => ({
  bounty_per_round: p.bountyPerRound,
  submission_window: p.submissionWindow,
  audit_window: p.auditWindow,
  distribution_window: p.distributionWindow,
  distribution_audit_window: p.distributionAuditWindow,
  min_stake: p.minStake,
  audit_bond: p.auditBond,
  slash_rate_bps: p.slashRateBps,
});

function taskView(account) {
  const t = account.data;
  return {
    address: account.address,
    kind: 'task',
    name: text(t.name, t.nameLen),
    description: text(t.description, t.descriptionLen),
    creator: t.creator,
    manager: t.manager,
    task_id: t.taskId,
    active: t.isActive !== 0,
    start_slot: t.startSlot,
    round_length: t.roundLength,
    unstake_cooldown_rounds: t.unstakeCooldownRounds,
    bounty_pool: t.bountyPool,
    total_funded: t.totalFunded,
    node_count: t.nodeCount,
    total_stake: t.totalStake,
    counted_stake: t.countedStake
      .filter((c) => c.total !== 0n || c.fromRound !== 0n)
      .map((c) => ({ from_round: c.fromRound, total: c.total })),
    min_audit_seats: t.minAuditSeats,
    audit_committee_seats: t.auditCommitteeSeats,
    allowed_failed_distributions: t.allowedFailedDistributions,
    open_distributions: t.openDistributions,
    executable_sha256: hex(t.executableSha256),
    executable_locator: text(t.executableLocator, t.executableLocatorLen),
    next_executable:
      t.nextExecutableFromRound === NONE
        ? null
        : {
            from_round: t.nextExecutableFromRound,
            sha256: hex(t.nextExecutableSha256),
            locator: text(t.nextExecutableLocator, t.nextExecutableLocatorLen),
          },
    params_history: t.paramsHistory
      .filter((c) => c.fromRound !== NONE)
      .map((c) => ({ from_round: c.fromRound, params: params(c.params) })),
    lamports: account.lamports,
    // A token task's fields from its own account, as inspect names them
    // (views::add_token_fields); inspect adds more read from the mint and
    // the vault (`*_ui`, `vault_balance`, `mint_escrow`, …), not decoded here.
    ...(t.mint === NO_MINT
      ? {}
      : {
          mint: t.mint,
          token_program: t.tokenProgram,
          vault: t.vault,
          decimals: t.decimals,
          stake_asset: t.stakeInLamports === 0 ? t.mint : 'SOL',
          forfeited_lamports: t.forfeitedLamports,
        }),
  };
}

const SUBMISSION_AUDITED = 2;
const SUBMISSION_EXCLUDED = 4;

function nodeView(account) {
  const n = account.data;
  const claimed = [];
  for (let bit = 0n; bit < 64n; bit++) {
    if ((n.claimedRounds.bits >> bit) & 1n) claimed.push(n.claimedRounds.base + bit);
  }
  return {
    address: account.address,
    kind: 'node',
    task: n.task,
    operator: n.operator,
    service_url: text(n.serviceUrl, n.serviceUrlLen),
    stake: n.stakeHistory[n.stakeHistory.length - 1].total,
    stake_history: n.stakeHistory
      .filter((c) => c.total > 0n || c.fromRound > 0n)
      .map((c) => ({ from_round: c.fromRound, total: c.total })),
    joined_round: n.joinedRound,
    exit_round: n.exitRound === NONE ? null : n.exitRound,
    open_audits: n.openAudits,
    total_slashed: n.totalSlashed,
    submissions: n.submissions
      .filter((s) => s.flags !== 0)
      .map((s) => ({
        round: s.round,
        slot: s.slot,
        digest: hex(s.digest),
        locator: text(s.locator, s.locatorLen),
        flags: [
          ...(s.flags & SUBMISSION_AUDITED ? ['audited'] : []),
          ...(s.flags & SUBMISSION_EXCLUDED ? ['excluded'] : []),
        ],
      }))
      .sort((a, b) => (a.round < b.round ? -1 : a.round > b.round ? 1 : 0)),
    claimed_or_excluded_rounds: claimed,
    lamports: account.lamports,
    // The stake is in the task's vault, in its mint: inspect shows the flag only then.
    ...(n.stakeInTokens !== 0 ? { stake_in_tokens: true } : {}),
  };
}

// Audit and Distribution: the generated codecs on bytes the interface wrote.
const STATUS = { 1: 'proposed', 2: 'rejected', 3: 'approved', 4: 'failed' };
function layouts(file) {
  const given = JSON.parse(readFileSync(file, 'utf8'));
  const bytes = (base64) => new Uint8Array(getBase64Encoder().encode(base64));
  const auditBytes = bytes(given.audit.data);
  const distributionBytes = bytes(given.distribution.data);
  if (auditBytes.length !== gradual.getAuditSize()) fail(`an Audit is ${gradual.getAuditSize()} bytes here`);
  if (distributionBytes.length !== gradual.getDistributionSize()) fail('a Distribution has another size here');
  const a = gradual.getAuditDecoder().decode(auditBytes);
  const d = gradual.getDistributionDecoder().decode(distributionBytes);
  return {
    audit: {
      address: given.audit.address,
      kind: 'audit',
      task: a.task,
      target: a.target,
      raiser: a.raiser,
      raiser_operator: a.raiserOperator,
      round: a.round,
      window_end: a.windowEnd,
      bond: a.bond,
      slash_rate_bps: a.slashRateBps,
      min_seats: a.minSeats,
      voter_count: a.voterCount,
      committee_seats: a.committeeSeats,
      committee_stake: a.committeeStake,
      committee_seed: hex(a.committeeSeed),
      invalid_weight: a.invalidWeight,
      valid_weight: a.validWeight,
      // Audit::is_upheld: strictly more seats against than for, with the quorum.
      upheld_if_resolved_now: a.invalidWeight + a.validWeight >= BigInt(a.minSeats) && a.invalidWeight > a.validWeight,
      lamports: BigInt(given.audit.lamports),
    },
    distribution: {
      address: given.distribution.address,
      kind: 'distribution',
      task: d.task,
      round: d.round,
      status: STATUS[d.status] ?? 'unknown',
      attempt: d.attempt,
      proposer: d.proposer,
      proposer_operator: d.proposerOperator,
      payer: d.payer,
      root: hex(d.root),
      content_hash: hex(d.contentHash),
      url: text(d.url, d.urlLen),
      total: d.total,
      leaf_count: d.leafCount,
      claimed: d.claimed,
      bond: d.bond,
      reserved: d.reserved,
      dispute_bond: d.disputeBond,
      disputer_operator: d.disputerOperator,
      vote_start: d.voteStart,
      vote_end: d.voteEnd,
      claim_deadline: d.claimDeadline,
      valid_weight: d.validWeight,
      invalid_weight: d.invalidWeight,
      voter_count: d.voterCount,
      lamports: BigInt(given.distribution.lamports),
      // `total`, `claimed` and `reserved` in the task's mint: inspect shows the flag only then.
      ...(d.reserveInTokens !== 0 ? { reserve_in_tokens: true } : {}),
    },
  };
}

// Events: `Program data:` lines logged while this program is the innermost
// one running (as interface/src/event.rs `logged_by` reads them), decoded
// by the generated codec the IDL's discriminators (kind, version) name.
const idl = JSON.parse(readFileSync(join(here, '..', '..', 'idl', 'gradual.json'), 'utf8'));
const programId = gradual.GRADUAL_PROGRAM_ADDRESS;
const eventKinds = new Map(
  idl.program.events.map((event) => {
    const [kind, version] = event.discriminators.map((d) => d.constant.value.number);
    const pascal = event.name[0].toUpperCase() + event.name.slice(1);
    return [kind, { name: pascal, version, decoder: gradual[`get${pascal}EventDecoder`]() }];
  }),
);
const snake = (name) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** Decoded values as JSON: snake_case keys, bytes in hex; the head of an event as its `flag`. */
function plain(value) {
  if (value instanceof Uint8Array) return hex(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [key, inner] of Object.entries(value)) out[snake(key)] = plain(inner);
  return out;
}
function eventJson(decoded) {
  const { head, ...fields } = decoded;
  return { ...(head ? { flag: head.flag } : {}), ...plain(fields) };
}
function eventsIn(logs) {
  const running = [];
  const events = [];
  for (const line of logs) {
    if (line === 'Log truncated') fail('truncated logs');
    if (!line.startsWith('Program ')) continue;
    const rest = line.slice('Program '.length);
    if (rest.startsWith('data: ')) {
      if (running[running.length - 1] !== programId) continue;
      const bytes = new Uint8Array(getBase64Encoder().encode(rest.slice('data: '.length)));
      const kind = eventKinds.get(bytes[0]);
      if (!kind || bytes[1] !== kind.version) continue;
      events.push({ event: kind.name, ...eventJson(kind.decoder.decode(bytes)) });
    } else {
      const [id, word] = rest.split(' ');
      if (word?.startsWith('invoke')) running.push(id);
      else if (word === 'success' || word?.startsWith('failed')) running.pop();
    }
  }
  return events;
}

// Instruction data: the generated data decoders on what the transactions carried.
const base58 = getBase58Encoder();
function instructionsIn(transaction) {
  const { accountKeys, instructions } = transaction.transaction.message;
  return instructions
    .filter((ix) => accountKeys[ix.programIdIndex] === programId)
    .map((ix) => {
      const data = new Uint8Array(base58.encode(ix.data));
      const which = gradual.identifyGradualInstruction(data);
      const name = gradual.GradualInstruction[which];
      const decoder = gradual[`get${name}InstructionDataDecoder`]?.();
      const args = decoder ? decoder.decode(data) : {};
      const accounts = ix.accounts.map((index) => accountKeys[index]);
      return { instruction: name, accounts, ...eventJson(args) };
    });
}

const signatures = await rpc.getSignaturesForAddress(taskAddress).send();
const events = [];
const instructions = [];
for (const { signature, slot } of [...signatures].reverse()) {
  const transaction = await rpc
    .getTransaction(signature, { encoding: 'json', maxSupportedTransactionVersion: 0 })
    .send();
  if (!transaction) fail(`getTransaction(${signature}) found nothing`);
  if (transaction.meta?.err) continue;
  for (const event of eventsIn(transaction.meta.logMessages)) events.push({ ...event, signature, slot });
  for (const ix of instructionsIn(transaction)) instructions.push({ ...ix, signature });
}

// --events FILE: base64 events of every kind, written by the Rust test from
// the interface's structs, decoded as if the program had logged them.
const eventsFile = option('--events', 1);
const given = eventsFile ? JSON.parse(readFileSync(eventsFile[0], 'utf8')) : null;
const written = given && eventsIn([
  `Program ${programId} invoke [1]`,
  ...given.map((data) => `Program data: ${data}`),
  `Program ${programId} success`,
]);

const out = {
  task: taskView(task),
  ...(written ? { written_events: written } : {}),
  node: nodeView(node),
  ...(option('--layouts', 1) ? layouts(option('--layouts', 1)[0]) : {}),
  events,
  instructions,
  funded,
};
// u64s as exact JSON numbers (JSON.stringify cannot write a bigint).
const json = JSON.stringify(out, (_, value) => (typeof value === 'bigint' ? `@big:${value}` : value), 2);
console.log(json.replace(/"@big:(\d+)"/g, '$1'));
