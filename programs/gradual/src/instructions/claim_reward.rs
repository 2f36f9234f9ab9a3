use gradual_interface::{
    error::GradualError,
    merkle::{leaf_hash, verify, Hash, MAX_PROOF_DEPTH},
    state::DISTRIBUTION_APPROVED,
};
use pinocchio::{AccountView, ProgramResult};

use crate::{
    fail,
    shared::{accounts, lamports},
};

/// Pays the node's amount from an approved list against a Merkle proof,
/// once per node and round, never beyond the list's total.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [operator, node_account, distribution_account] = accounts::exact::<3>(accounts)?;
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

    let (amount, proof) = data.split_at_checked(8).ok_or(GradualError::InvalidInstructionData)?;
    let amount = u64::from_le_bytes(amount.try_into().map_err(|_| GradualError::InvalidInstructionData)?);
    let proof: &[Hash] = bytemuck::try_cast_slice(proof).map_err(|_| GradualError::InvalidInstructionData)?;
    if proof.len() > MAX_PROOF_DEPTH {
        return fail(GradualError::InvalidInstructionData);
    }

    if distribution.status != DISTRIBUTION_APPROVED {
        return fail(GradualError::DistributionNotApproved);
    }
    if accounts::current_slot()? >= distribution.claim_deadline {
        return fail(GradualError::ClaimPeriodOver);
    }
    // A node account closed and opened again joins later than the round it
    // might already have been paid for.
    if node.joined_round > distribution.round {
        return fail(GradualError::StakeNotActiveForRound);
    }
    if !verify(&distribution.root, leaf_hash(node_account.address().as_array(), amount), proof) {
        return fail(GradualError::InvalidProof);
    }
    node.mark_claimed(distribution.round)?;
    distribution.record_claim(amount)?;
    drop((node, distribution));
    lamports::pay_out(distribution_account, operator, amount)
}
