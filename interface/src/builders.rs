//! Instruction builders for off-chain callers: the node, the CLI and the tests.

use solana_instruction::{AccountMeta, Instruction};
use std::vec::Vec;

use crate::{
    instruction::{
        CreateTaskArgs, GradualInstruction, ProposeDistributionArgs, RaiseAuditArgs, StakeArgs,
        SubmitProofArgs, SUBMIT_COMMITS, SUBMIT_REVEALS,
    },
    merkle::{leaf, Proof},
    pda::{find_audit_address, find_distribution_address, find_node_address, find_task_address},
    state::RoundParams,
    token::{associated_token_address, ASSOCIATED_TOKEN_PROGRAM_ID},
    Address, CLOCK_SYSVAR_ID, ID, SYSTEM_PROGRAM_ID,
};

/// Everything `CreateTask` needs besides the creator.
#[derive(Clone, Debug)]
pub struct CreateTaskConfig {
    pub args: CreateTaskArgs,
    pub name: Vec<u8>,
    pub description: Vec<u8>,
    pub executable_locator: Vec<u8>,
}

fn push_text(data: &mut Vec<u8>, text: &[u8]) {
    // Over-long text is truncated to 255 bytes here; the program rejects it
    // with a specific error if it is still too long for the field.
    let len = u8::try_from(text.len()).unwrap_or(u8::MAX);
    data.push(len);
    data.extend_from_slice(&text[..usize::from(len)]);
}

fn data_with(instruction: GradualInstruction, body: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(body.len().saturating_add(1));
    data.push(instruction as u8);
    data.extend_from_slice(body);
    data
}

pub fn create_task(creator: &Address, config: &CreateTaskConfig) -> Instruction {
    let (task, bump) = find_task_address(creator, config.args.task_id);
    let args = CreateTaskArgs { bump, ..config.args };
    let mut data = data_with(GradualInstruction::CreateTask, bytemuck::bytes_of(&args));
    push_text(&mut data, &config.name);
    push_text(&mut data, &config.description);
    push_text(&mut data, &config.executable_locator);
    Instruction {
        program_id: ID,
        accounts: std::vec![
            AccountMeta::new(*creator, true),
            AccountMeta::new(task, false),
            AccountMeta::new_readonly(SYSTEM_PROGRAM_ID, false),
        ],
        data,
    }
}

pub fn fund_task(funder: &Address, task: &Address, amount: u64) -> Instruction {
    Instruction {
        program_id: ID,
        accounts: std::vec![
            AccountMeta::new(*funder, true),
            AccountMeta::new(*task, false),
            AccountMeta::new_readonly(SYSTEM_PROGRAM_ID, false),
        ],
        data: data_with(GradualInstruction::FundTask, &amount.to_le_bytes()),
    }
}

fn manager_instruction(manager: &Address, task: &Address, data: Vec<u8>) -> Instruction {
    Instruction {
        program_id: ID,
        accounts: std::vec![AccountMeta::new_readonly(*manager, true), AccountMeta::new(*task, false)],
        data,
    }
}

pub fn update_task(manager: &Address, task: &Address, params: &RoundParams) -> Instruction {
    manager_instruction(manager, task, data_with(GradualInstruction::UpdateTask, bytemuck::bytes_of(params)))
}

/// Schedules the package with `sha256`, fetched from `locator`, from the next round on.
pub fn update_task_package(
    manager: &Address,
    task: &Address,
    sha256: &[u8; 32],
    locator: &[u8],
) -> Instruction {
    let mut data = data_with(GradualInstruction::UpdateTaskPackage, sha256);
    push_text(&mut data, locator);
    manager_instruction(manager, task, data)
}

pub fn set_task_active(manager: &Address, task: &Address, active: bool) -> Instruction {
    manager_instruction(manager, task, data_with(GradualInstruction::SetTaskActive, &[u8::from(active)]))
}

pub fn stake(operator: &Address, task: &Address, amount: u64, service_url: &[u8]) -> Instruction {
    let (node, bump) = find_node_address(task, operator);
    let args = StakeArgs { amount, bump, _padding: [0; 7] };
    let mut data = data_with(GradualInstruction::Stake, bytemuck::bytes_of(&args));
    push_text(&mut data, service_url);
    Instruction {
        program_id: ID,
        accounts: std::vec![
            AccountMeta::new(*operator, true),
            AccountMeta::new(*task, false),
            AccountMeta::new(node, false),
            AccountMeta::new_readonly(SYSTEM_PROGRAM_ID, false),
        ],
        data,
    }
}

/// `[operator (signer), node (writable), task]`, the shape of every
/// instruction an operator sends about its own node.
fn node_instruction(operator: &Address, task: &Address, writable: bool, data: Vec<u8>) -> Instruction {
    let (node, _) = find_node_address(task, operator);
    let meta = |address: Address, signer: bool| {
        if writable {
            AccountMeta::new(address, signer)
        } else {
            AccountMeta::new_readonly(address, signer)
        }
    };
    Instruction {
        program_id: ID,
        accounts: std::vec![meta(*operator, true), AccountMeta::new(node, false), meta(*task, false)],
        data,
    }
}

/// Writes the task: the node's stake leaves its counted stake.
pub fn request_unstake(operator: &Address, task: &Address) -> Instruction {
    let mut instruction =
        node_instruction(operator, task, false, data_with(GradualInstruction::RequestUnstake, &[]));
    instruction.accounts[2].is_writable = true;
    instruction
}

/// Pays the lamports to the operator and, when emptying the node, updates the task.
pub fn withdraw_stake(operator: &Address, task: &Address, amount: u64) -> Instruction {
    node_instruction(
        operator,
        task,
        true,
        data_with(GradualInstruction::WithdrawStake, &amount.to_le_bytes()),
    )
}

/// Round `round - 1`'s proof, revealed: its digest, locator and salt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reveal {
    pub digest: [u8; 32],
    pub locator: Vec<u8>,
    pub salt: [u8; 32],
}

/// `SubmitProof` in round `round + 1`: the commitment to round `round`'s
/// proof, the reveal of round `round - 1`'s, or both in one instruction.
pub fn submit_proof(
    operator: &Address,
    task: &Address,
    round: u64,
    commitment: Option<[u8; 32]>,
    reveal: Option<&Reveal>,
) -> Instruction {
    let commits = if commitment.is_some() { SUBMIT_COMMITS } else { 0 };
    let parts = commits | if reveal.is_some() { SUBMIT_REVEALS } else { 0 };
    let args = SubmitProofArgs {
        round,
        parts,
        _padding: [0; 7],
        commitment: commitment.unwrap_or_default(),
        digest: reveal.map_or([0; 32], |reveal| reveal.digest),
        salt: reveal.map_or([0; 32], |reveal| reveal.salt),
    };
    let mut data = data_with(GradualInstruction::SubmitProof, bytemuck::bytes_of(&args));
    push_text(&mut data, reveal.map_or(&[][..], |reveal| &reveal.locator));
    node_instruction(operator, task, false, data)
}

pub fn close_task(creator: &Address, task: &Address) -> Instruction {
    Instruction {
        program_id: ID,
        accounts: std::vec![AccountMeta::new(*creator, true), AccountMeta::new(*task, false)],
        data: data_with(GradualInstruction::CloseTask, &[]),
    }
}

/// The raiser (`operator`) audits `target`'s proof of `round`.
pub fn raise_audit(operator: &Address, task: &Address, target: &Address, round: u64) -> Instruction {
    raise_audit_for(operator, task, target, round, [0; 32])
}

/// `raise_audit`, logging `reason`: the raiser's digest of why the proof is invalid.
pub fn raise_audit_for(
    operator: &Address,
    task: &Address,
    target: &Address,
    round: u64,
    reason: [u8; 32],
) -> Instruction {
    let (raiser, _) = find_node_address(task, operator);
    let (audit, bump) = find_audit_address(target, round);
    let args = RaiseAuditArgs { round, bump, _padding: [0; 7], reason };
    Instruction {
        program_id: ID,
        accounts: std::vec![
            AccountMeta::new(*operator, true),
            AccountMeta::new(raiser, false),
            AccountMeta::new(*target, false),
            AccountMeta::new_readonly(*task, false),
            AccountMeta::new(audit, false),
            AccountMeta::new_readonly(SYSTEM_PROGRAM_ID, false),
        ],
        data: data_with(GradualInstruction::RaiseAudit, bytemuck::bytes_of(&args)),
    }
}

/// `operator`'s node votes that the audited proof is `valid` or not.
pub fn vote_audit(operator: &Address, task: &Address, audit: &Address, valid: bool) -> Instruction {
    let (voter, _) = find_node_address(task, operator);
    Instruction {
        program_id: ID,
        accounts: std::vec![
            AccountMeta::new_readonly(*operator, true),
            AccountMeta::new(voter, false),
            AccountMeta::new(*audit, false),
        ],
        data: data_with(GradualInstruction::VoteAudit, &[u8::from(valid)]),
    }
}

/// Settles `audit` (read from chain: its task, target and raiser's operator).
pub fn resolve_audit(
    audit: &Address,
    task: &Address,
    target: &Address,
    raiser_operator: &Address,
    target_operator: &Address,
) -> Instruction {
    Instruction {
        program_id: ID,
        accounts: std::vec![
            AccountMeta::new(*audit, false),
            AccountMeta::new(*task, false),
            AccountMeta::new(*target, false),
            AccountMeta::new(*raiser_operator, false),
            AccountMeta::new(*target_operator, false),
        ],
        data: data_with(GradualInstruction::ResolveAudit, &[]),
    }
}

/// A proposed distribution list, as `ProposeDistribution` carries it.
#[derive(Clone, Debug)]
pub struct Proposal {
    pub round: u64,
    pub total: u64,
    pub leaf_count: u64,
    pub root: [u8; 32],
    pub content_hash: [u8; 32],
    pub url: Vec<u8>,
}

impl Proposal {
    /// The proposal of `leaves` for `round`: their root, total and count,
    /// and the sha256 of the list as served (`node ‖ amount LE` per leaf).
    pub fn of(round: u64, leaves: &[([u8; 32], u64)], url: Vec<u8>) -> Self {
        let mut served = Vec::with_capacity(leaves.len().saturating_mul(40));
        for (node, amount) in leaves {
            served.extend_from_slice(node);
            served.extend_from_slice(&amount.to_le_bytes());
        }
        Self {
            round,
            total: leaves.iter().fold(0u64, |total, (_, amount)| total.saturating_add(*amount)),
            leaf_count: u64::try_from(leaves.len()).unwrap_or(u64::MAX),
            root: crate::merkle::tree_of(leaves).root(),
            content_hash: solana_sha256_hasher::hash(&served).to_bytes(),
            url,
        }
    }
}

pub fn propose_distribution(operator: &Address, task: &Address, proposal: &Proposal) -> Instruction {
    let (proposer, _) = find_node_address(task, operator);
    let (distribution, bump) = find_distribution_address(task, proposal.round);
    let args = ProposeDistributionArgs {
        round: proposal.round,
        total: proposal.total,
        leaf_count: proposal.leaf_count,
        root: proposal.root,
        content_hash: proposal.content_hash,
        bump,
        _padding: [0; 7],
    };
    let mut data = data_with(GradualInstruction::ProposeDistribution, bytemuck::bytes_of(&args));
    push_text(&mut data, &proposal.url);
    Instruction {
        program_id: ID,
        accounts: std::vec![
            AccountMeta::new(*operator, true),
            AccountMeta::new_readonly(proposer, false),
            AccountMeta::new(*task, false),
            AccountMeta::new(distribution, false),
            AccountMeta::new_readonly(SYSTEM_PROGRAM_ID, false),
        ],
        data,
    }
}

/// `[operator (signer), node (writable), round's distribution (writable)]`.
fn node_distribution_instruction(
    operator: AccountMeta,
    task: &Address,
    round: u64,
    data: Vec<u8>,
) -> Instruction {
    let (node, _) = find_node_address(task, &operator.pubkey);
    let (distribution, _) = find_distribution_address(task, round);
    Instruction {
        program_id: ID,
        accounts: std::vec![operator, AccountMeta::new(node, false), AccountMeta::new(distribution, false)],
        data,
    }
}

/// A dispute (`valid` false) may post a bond: the operator pays it.
pub fn vote_distribution(operator: &Address, task: &Address, round: u64, valid: bool) -> Instruction {
    let data = data_with(GradualInstruction::VoteDistribution, &[u8::from(valid)]);
    let mut instruction = node_distribution_instruction(AccountMeta::new(*operator, true), task, round, data);
    instruction.accounts.push(AccountMeta::new_readonly(SYSTEM_PROGRAM_ID, false));
    instruction
}

/// `[round's distribution, task, recipient]`, all writable, no signer.
fn settle_distribution_instruction(
    task: &Address,
    round: u64,
    recipient: &Address,
    instruction: GradualInstruction,
) -> Instruction {
    let (distribution, _) = find_distribution_address(task, round);
    Instruction {
        program_id: ID,
        accounts: std::vec![
            AccountMeta::new(distribution, false),
            AccountMeta::new(*task, false),
            AccountMeta::new(*recipient, false),
        ],
        data: data_with(instruction, &[]),
    }
}

/// `disputer_operator` is the distribution's, the proposer's operator when nobody disputed.
pub fn resolve_distribution(
    task: &Address,
    round: u64,
    proposer_operator: &Address,
    disputer_operator: &Address,
) -> Instruction {
    let mut instruction = settle_distribution_instruction(
        task,
        round,
        proposer_operator,
        GradualInstruction::ResolveDistribution,
    );
    instruction.accounts.push(AccountMeta::new(*disputer_operator, false));
    instruction
}

/// Claims `amount` for the operator's node: the proof's leaf at its position is
/// written as `(node, amount)`, so a wrong amount fails the proof on-chain.
/// Data: bucket index `u32`, position `u8`, leaf count `u8`, the bucket's
/// leaves, then the siblings (section 5.2 of the protocol).
pub fn claim_reward(
    operator: &Address,
    task: &Address,
    round: u64,
    amount: u64,
    proof: &Proof,
) -> Instruction {
    let (node, _) = find_node_address(task, operator);
    let mut data = data_with(GradualInstruction::ClaimReward, &proof.bucket_index.to_le_bytes());
    data.push(proof.position);
    data.push(u8::try_from(proof.bucket.len()).unwrap_or(u8::MAX));
    for (position, bucket_leaf) in proof.bucket.iter().enumerate() {
        let claimed = position == usize::from(proof.position);
        data.extend_from_slice(&if claimed { leaf(node.as_array(), amount) } else { *bucket_leaf });
    }
    for sibling in &proof.siblings {
        data.extend_from_slice(sibling);
    }
    let (distribution, _) = find_distribution_address(task, round);
    Instruction {
        program_id: ID,
        accounts: std::vec![
            AccountMeta::new(*operator, true),
            AccountMeta::new(node, false),
            AccountMeta::new(distribution, false),
            AccountMeta::new_readonly(CLOCK_SYSVAR_ID, false),
        ],
        data,
    }
}

pub fn expire_distribution(task: &Address, round: u64, payer: &Address) -> Instruction {
    settle_distribution_instruction(task, round, payer, GradualInstruction::ExpireDistribution)
}

/// A token task's mint and token program: what its token instructions add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskMint {
    pub mint: Address,
    pub token_program: Address,
}

impl TaskMint {
    /// The task's escrow: its own associated token account.
    pub fn vault(&self, task: &Address) -> Address {
        self.account_of(task)
    }

    /// `wallet`'s associated token account for the mint.
    pub fn account_of(&self, wallet: &Address) -> Address {
        associated_token_address(wallet, &self.mint, &self.token_program)
    }

    /// Appends `[mint, token program, vault (writable), wallet's token account (writable)]`.
    pub fn append_to(&self, mut instruction: Instruction, task: &Address, wallet: &Address) -> Instruction {
        instruction.accounts.extend([
            AccountMeta::new_readonly(self.mint, false),
            AccountMeta::new_readonly(self.token_program, false),
            AccountMeta::new(self.vault(task), false),
            AccountMeta::new(self.account_of(wallet), false),
        ]);
        instruction
    }

    /// Creates `wallet`'s associated token account if it is missing; `payer` pays its rent.
    pub fn create_account_of(&self, payer: &Address, wallet: &Address) -> Instruction {
        Instruction {
            program_id: ASSOCIATED_TOKEN_PROGRAM_ID,
            accounts: std::vec![
                AccountMeta::new(*payer, true),
                AccountMeta::new(self.account_of(wallet), false),
                AccountMeta::new_readonly(*wallet, false),
                AccountMeta::new_readonly(self.mint, false),
                AccountMeta::new_readonly(SYSTEM_PROGRAM_ID, false),
                AccountMeta::new_readonly(self.token_program, false),
            ],
            // CreateIdempotent.
            data: std::vec![1],
        }
    }
}

/// `CreateTask` for a bounty in `mint`, escrowed in the task's vault, which it creates.
pub fn create_token_task(creator: &Address, config: &CreateTaskConfig, mint: &TaskMint) -> Instruction {
    let (task, _) = find_task_address(creator, config.args.task_id);
    let mut instruction = mint.append_to(create_task(creator, config), &task, creator);
    instruction.accounts.push(AccountMeta::new_readonly(ASSOCIATED_TOKEN_PROGRAM_ID, false));
    instruction
}

pub fn fund_task_tokens(funder: &Address, task: &Address, mint: &TaskMint, amount: u64) -> Instruction {
    mint.append_to(fund_task(funder, task, amount), task, funder)
}

/// `Stake` of `amount` of the task's mint, from the operator's associated token account.
pub fn stake_tokens(
    operator: &Address,
    task: &Address,
    mint: &TaskMint,
    amount: u64,
    service_url: &[u8],
) -> Instruction {
    mint.append_to(stake(operator, task, amount, service_url), task, operator)
}

pub fn withdraw_stake_tokens(
    operator: &Address,
    task: &Address,
    mint: &TaskMint,
    amount: u64,
) -> Instruction {
    mint.append_to(withdraw_stake(operator, task, amount), task, operator)
}

/// Pays the creator the vault's whole balance and closes the vault and the task.
pub fn close_task_tokens(creator: &Address, task: &Address, mint: &TaskMint) -> Instruction {
    mint.append_to(close_task(creator, task), task, creator)
}

/// `resolve_audit` of a task whose stake is in its mint: the raiser's share
/// goes to `raiser_operator`'s associated token account.
pub fn resolve_audit_tokens(
    audit: &Address,
    task: &Address,
    (target, target_operator): (&Address, &Address),
    raiser_operator: &Address,
    mint: &TaskMint,
) -> Instruction {
    let instruction = resolve_audit(audit, task, target, raiser_operator, target_operator);
    mint.append_to(instruction, task, raiser_operator)
}

/// `claim_reward` from a token task's vault into the operator's associated token account.
pub fn claim_reward_tokens(
    operator: &Address,
    task: &Address,
    (round, amount): (u64, u64),
    proof: &Proof,
    mint: &TaskMint,
) -> Instruction {
    let mut instruction = claim_reward(operator, task, round, amount, proof);
    instruction.accounts.push(AccountMeta::new_readonly(*task, false));
    mint.append_to(instruction, task, operator)
}

impl TaskMint {
    /// The mint `task` pays in, or `None` for a lamport task.
    pub fn of(task: &crate::state::Task) -> Option<Self> {
        task.pays_in_tokens().then(|| Self {
            mint: Address::new_from_array(task.mint),
            token_program: Address::new_from_array(task.token_program),
        })
    }

    /// The mint `task`'s nodes stake, or `None` when they stake lamports.
    pub fn of_stake(task: &crate::state::Task) -> Option<Self> {
        Self::of(task).filter(|_| task.stakes_in_tokens())
    }
}
