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
            unstake_cooldown_rounds: 2,
            manager: manager.to_bytes(),
            executable_sha256: [0xab; 32],
            params: round_params(),
            allowed_failed_distributions: 2,
            bump: 0,
            min_audit_voters: 1,
            _padding: [0; 4],
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
