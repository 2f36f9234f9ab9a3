use gradual_interface::event::{Event, RewardClaimed};
use gradual_interface::{
    error::GradualError,
    merkle::{parse_leaf, verify, Hash, BUCKET_LEAVES, LEAF_LEN, MAX_PROOF_DEPTH},
    state::DISTRIBUTION_APPROVED,
};
use pinocchio::{AccountView, ProgramResult};

use crate::{
    fail,
    shared::{accounts, events::emit, lamports, sysvars, tokens::Escrow},
};

/// Pays the node's amount from an approved list against a Merkle proof,
/// once per node and round, never beyond the list's total.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    // A token task's list adds `[task, mint, token program, vault, operator's tokens]`.
    let ([operator, node_account, distribution_account, clock], tokens) =
        accounts::with_tokens::<4, 5>(accounts)?;
    // 1. signers and writable accounts
    accounts::signer(operator)?;
    accounts::writable(operator)?;
    // 2. the node (operated by the signer) and a list of its task
    let mut node = accounts::node_mut(node_account)?;
    if node.operator != *operator.address().as_array() {
        return fail(GradualError::OperatorMismatch);
    }
    let mut distribution = accounts::distribution_mut(distribution_account)?;
    if node.task != distribution.task {
        return fail(GradualError::NodeTaskMismatch);
    }

    let claim = Claim::parse(data).ok_or(GradualError::InvalidInstructionData)?;
    if distribution.status != DISTRIBUTION_APPROVED {
        return fail(GradualError::DistributionNotApproved);
    }
    if sysvars::slot_from_clock_account(clock)? >= distribution.claim_deadline {
        return fail(GradualError::ClaimPeriodOver);
    }
    // A node account closed and opened again joins later than the round it
    // might already have been paid for.
    if node.joined_round > distribution.round {
        return fail(GradualError::StakeNotActiveForRound);
    }
    let (claimed_node, amount) = parse_leaf(claim.leaf).ok_or(GradualError::InvalidInstructionData)?;
    if claimed_node != node_account.address().as_array()
        || !verify(&distribution.root, claim.bucket, claim.bucket_index, claim.siblings)
    {
        return fail(GradualError::InvalidProof);
    }
    node.mark_claimed(distribution.round)?;
    distribution.record_claim(amount)?;
    let mut event = RewardClaimed {
        head: RewardClaimed::head_with(0),
        task: distribution.task,
        node: *claimed_node,
        round: distribution.round,
        amount,
        received: amount,
    };
    let tokens = accounts::tokens_if(distribution.reserve_in_tokens != 0, tokens)?;
    drop((node, distribution));
    match tokens {
        None => lamports::pay_out(distribution_account, operator, amount)?,
        Some([task_account, token_accounts @ ..]) => {
            let task = accounts::task(task_account)?;
            if *task_account.address().as_array() != event.task {
                return fail(GradualError::NodeTaskMismatch);
            }
            let escrow = Escrow::appended(&task, token_accounts)?;
            drop(task);
            event.received = escrow.pay_out(task_account, operator.address().as_array(), amount)?;
        }
    }
    emit(&event);
    Ok(())
}

/// The instruction's data: bucket index `u32`, slot `u8`, leaf count `u8`,
/// the bucket's leaves, then the sibling hashes.
struct Claim<'a> {
    bucket_index: u64,
    leaf: &'a [u8],
    bucket: &'a [u8],
    siblings: &'a [Hash],
}

impl<'a> Claim<'a> {
    fn parse(data: &'a [u8]) -> Option<Self> {
        let ([index @ .., slot, count], rest) = data.split_first_chunk::<6>()?;
        let (slot, count) = (usize::from(*slot), usize::from(*count));
        if slot >= count || count > BUCKET_LEAVES {
            return None;
        }
        let (bucket, siblings) = rest.split_at_checked(count.checked_mul(LEAF_LEN)?)?;
        let siblings: &[Hash] = bytemuck::try_cast_slice(siblings).ok()?;
        if siblings.len() > MAX_PROOF_DEPTH {
            return None;
        }
        Some(Self {
            bucket_index: u64::from(u32::from_le_bytes(*index)),
            leaf: bucket.get(slot.checked_mul(LEAF_LEN)?..)?.get(..LEAF_LEN)?,
            bucket,
            siblings,
        })
    }
}
