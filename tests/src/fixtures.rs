//! A standard task and its actors, so each test states only what it changes.

use gradual_interface::{
    builders::CreateTaskConfig, instruction::CreateTaskArgs, pda::find_node_address, state::RoundParams,
    Address, SYSTEM_PROGRAM_ID,
};
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::{TestContext, SOL};

pub const ROUND_LENGTH: u64 = 100;
pub const SUBMISSION_WINDOW: u64 = 20;
pub const AUDIT_WINDOW: u64 = 30;
pub const BOUNTY_PER_ROUND: u64 = 2 * SOL;
pub const MIN_STAKE: u64 = SOL;
pub const INITIAL_BOUNTY: u64 = 20 * SOL;
/// Slots between "now" and the first round when a fixture task is created.
pub const START_DELAY: u64 = 50;

pub fn round_params() -> RoundParams {
    RoundParams {
        bounty_per_round: BOUNTY_PER_ROUND,
        submission_window: SUBMISSION_WINDOW,
        audit_window: AUDIT_WINDOW,
        distribution_window: 20,
        distribution_audit_window: 30,
        min_stake: MIN_STAKE,
        audit_bond: SOL / 10,
        slash_rate_bps: 1_000,
        _padding: [0; 6],
    }
}

pub fn task_config(start_slot: u64, manager: &Address) -> CreateTaskConfig {
    CreateTaskConfig {
        args: CreateTaskArgs {
            task_id: 7,
            initial_bounty: INITIAL_BOUNTY,
            start_slot,
            round_length: ROUND_LENGTH,
            unstake_cooldown_rounds: 3,
            manager: manager.to_bytes(),
            executable_sha256: [0xab; 32],
            params: round_params(),
            allowed_failed_distributions: 2,
            bump: 0,
            min_audit_seats: 1,
            audit_committee_seats: 64,
            stake_in_lamports: 0,
            _padding: [0; 1],
        },
        name: b"hello".to_vec(),
        description: b"stores Hello, World! every round".to_vec(),
        executable_locator: b"builtin:hello".to_vec(),
    }
}

/// A created task with its creator (who is also its manager).
pub struct TaskFixture {
    pub creator: Keypair,
    pub task: Address,
}

impl TaskFixture {
    pub fn new(ctx: &mut TestContext) -> Self {
        let creator = ctx.funded_keypair(1_000 * SOL);
        let config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
        let task = ctx.create_task(&creator, &config);
        Self { creator, task }
    }
}

/// A task whose nodes, staked as given before its start, all proved round
/// 0: committed in round 1 and revealed at round 2's first slot, where the
/// clock is left.
pub struct ProvedTask {
    pub ctx: TestContext,
    pub task: Address,
    pub creator: Keypair,
    pub nodes: Vec<NodeFixture>,
}

impl ProvedTask {
    pub fn new(stakes: &[u64], min_audit_seats: u16) -> Self {
        let mut ctx = TestContext::new();
        let creator = ctx.funded_keypair(1_000 * SOL);
        let mut config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
        config.args.min_audit_seats = min_audit_seats;
        let task = ctx.create_task(&creator, &config);
        let nodes: Vec<NodeFixture> =
            stakes.iter().map(|stake| NodeFixture::new(&mut ctx, &task, *stake)).collect();
        let operators: Vec<&Keypair> = nodes.iter().map(|node| &node.operator).collect();
        prove_round(&mut ctx, &task, &operators, 0, [7; 32]);
        Self { ctx, task, creator, nodes }
    }
}

/// An operator staked on a task.
pub struct NodeFixture {
    pub operator: Keypair,
    pub node: Address,
}

impl NodeFixture {
    pub fn new(ctx: &mut TestContext, task: &Address, stake: u64) -> Self {
        let operator = ctx.funded_keypair(100 * SOL);
        let (node, _) = ctx.stake(&operator, task, stake);
        Self { operator, node }
    }

    pub fn unstaked(ctx: &mut TestContext, task: &Address) -> Self {
        let operator = ctx.funded_keypair(100 * SOL);
        let (node, _) = find_node_address(task, &operator.pubkey());
        Self { operator, node }
    }
}

/// A plain system-program transfer, for pre-funding addresses.
pub fn system_transfer(from: &Address, to: &Address, lamports: u64) -> Instruction {
    let mut data = vec![2, 0, 0, 0];
    data.extend_from_slice(&lamports.to_le_bytes());
    Instruction {
        program_id: SYSTEM_PROGRAM_ID,
        accounts: vec![AccountMeta::new(*from, true), AccountMeta::new(*to, false)],
        data,
    }
}

/// The proposer-selection seed of `round`'s attempt `attempt`, as the
/// program computes it from the harness's slot hashes.
pub fn proposal_seed(ctx: &TestContext, task: &Address, round: u64, attempt: u8) -> [u8; 32] {
    let stored = ctx.task(task);
    let attempt_round = round + gradual_interface::round::LIST_LAG + u64::from(attempt);
    let seed_slot = stored.start_slot + attempt_round * stored.round_length - 1;
    crate::oracle::proposal_seed(&crate::slot_hash(seed_slot), round, attempt)
}

/// The earliest offset into the distribution window at which one of
/// `nodes` may propose `round`'s list in `attempt`, and which node, each
/// with its stake for the round out of the task's counted stake.
pub fn first_entitled(
    ctx: &TestContext,
    task: &Address,
    round: u64,
    attempt: u8,
    nodes: &[Address],
) -> (u64, usize) {
    let stored = ctx.task(task);
    let list_round = round + gradual_interface::round::LIST_LAG + u64::from(attempt);
    let window = stored.params_for(list_round).expect("params").distribution_window;
    let seed = proposal_seed(ctx, task, round, attempt);
    let total = stored.counted_stake_for(round);
    let stakes: Vec<u64> = nodes
        .iter()
        .map(|node| if ctx.exists(node) { ctx.node(node).stake_for_round(round) } else { 0 })
        .collect();
    (0..window)
        .find_map(|offset| {
            (0..nodes.len())
                .find(|index| {
                    let stake = (stakes[*index], total);
                    crate::oracle::entitled(&seed, &nodes[*index].to_bytes(), stake, offset, window)
                })
                .map(|index| (offset, index))
        })
        .expect("everyone is entitled by the end of the window")
}

/// Round `round`'s list by the default rule, from chain state: nodes that
/// submitted for the round and were not excluded share its bounty by stake.
pub fn default_list(
    ctx: &TestContext,
    task: &Address,
    round: u64,
    nodes: &[Address],
) -> Vec<([u8; 32], u64)> {
    let eligible: Vec<([u8; 32], u64)> = nodes
        .iter()
        .filter(|node| ctx.exists(node))
        .filter(|node| {
            ctx.node(node)
                .proof(round)
                .is_some_and(|proof| proof.flags & gradual_interface::state::SUBMISSION_EXCLUDED == 0)
        })
        .map(|node| (node.to_bytes(), ctx.node(node).stake_for_round(round)))
        .collect();
    let bounty = ctx.task(task).params_for(round).expect("params").bounty_per_round;
    crate::oracle::stake_split(bounty, &eligible)
}

/// A proposal carrying `leaves`.
pub fn proposal_of(round: u64, leaves: &[([u8; 32], u64)]) -> gradual_interface::builders::Proposal {
    let url = format!("http://127.0.0.1:8900/distribution/{round}").into_bytes();
    gradual_interface::builders::Proposal::of(round, leaves, url)
}

/// A tree of 2^20 leaves (about a million): the listed nodes first, then
/// filler leaves of one lamport each.
pub fn million_leaf_tree(listed: &[([u8; 32], u64)]) -> gradual_interface::merkle::MerkleTree {
    use gradual_interface::merkle::{leaf, Leaf};
    let mut leaves: Vec<Leaf> = listed.iter().map(|(node, amount)| leaf(node, *amount)).collect();
    let mut filler = [0u8; 32];
    while leaves.len() < 1 << 20 {
        filler[..8].copy_from_slice(&(leaves.len() as u64).to_le_bytes());
        leaves.push(leaf(&filler, 1));
    }
    gradual_interface::merkle::MerkleTree::new(leaves)
}

/// Seats `node`, holding `stake` of the round's counted stake, holds on the
/// committee of the audit of `target`'s proof of `round`, seeded by the
/// harness's hash of the last slot of round `round + 2`'s raise window.
pub fn committee_seats(
    ctx: &TestContext,
    task: &Address,
    (target, round): (&Address, u64),
    node: &Address,
    (stake, total_stake): (u64, u64),
) -> u64 {
    let stored = ctx.task(task);
    let (_, raise_end) = stored.params_for(round).expect("params").audit_raise_window().expect("window");
    let seed_slot =
        stored.start_slot + (round + gradual_interface::round::AUDIT_LAG) * stored.round_length + raise_end
            - 1;
    let seed = crate::oracle::committee_seed(&crate::slot_hash(seed_slot), &target.to_bytes(), round);
    let seats = stored.audit_committee_seats;
    crate::oracle::voter_seats(&seed, &node.to_bytes(), stake, total_stake, seats)
}

/// The salt the tests use for `round`: any 32 bytes do, as long as the
/// reveal repeats them.
pub fn test_salt(round: u64) -> [u8; 32] {
    let mut salt = [0x5a; 32];
    salt[..8].copy_from_slice(&round.to_le_bytes());
    salt
}

/// `operator`'s node's commitment to a proof of `round` and the reveal that opens it.
pub fn proof_parts(
    task: &Address,
    operator: &Address,
    round: u64,
    (digest, locator): ([u8; 32], &[u8]),
) -> ([u8; 32], gradual_interface::builders::Reveal) {
    let node = find_node_address(task, operator).0;
    let salt = test_salt(round);
    let committer = (&task.to_bytes(), &node.to_bytes(), round);
    let commitment = gradual_interface::proof::proof_commitment(&digest, locator, committer, &salt);
    (commitment, gradual_interface::builders::Reveal { digest, locator: locator.to_vec(), salt })
}

/// `SubmitProof` committing `operator`'s proof of `round` (no reveal).
pub fn commit_proof(task: &Address, operator: &Address, round: u64, proof: ([u8; 32], &[u8])) -> Instruction {
    let (commitment, _) = proof_parts(task, operator, round, proof);
    gradual_interface::builders::submit_proof(operator, task, round, Some(commitment), None)
}

/// `SubmitProof` revealing `operator`'s proof of `round` (sent in round `round + 2`, no commitment).
pub fn reveal_proof(task: &Address, operator: &Address, round: u64, proof: ([u8; 32], &[u8])) -> Instruction {
    let (_, reveal) = proof_parts(task, operator, round, proof);
    gradual_interface::builders::submit_proof(operator, task, round + 1, None, Some(&reveal))
}

/// Each of `operators` commits to its proof of `round` in round `round + 1`
/// and reveals it at the start of round `round + 2`; the clock is left there.
pub fn prove_round(
    ctx: &mut TestContext,
    task: &Address,
    operators: &[&Keypair],
    round: u64,
    digest: [u8; 32],
) {
    ctx.warp_to_round(task, round + 1, 0);
    for operator in operators {
        ctx.send_ok(commit_proof(task, &operator.pubkey(), round, (digest, b"cid")), &[*operator]);
    }
    ctx.warp_to_round(task, round + 2, 0);
    for operator in operators {
        ctx.send_ok(reveal_proof(task, &operator.pubkey(), round, (digest, b"cid")), &[*operator]);
    }
}
