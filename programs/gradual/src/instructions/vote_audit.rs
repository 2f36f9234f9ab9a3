use gradual_interface::error::GradualError;
use gradual_interface::event::{AuditVoted, Event};
use pinocchio::{AccountView, ProgramResult};

use crate::{
    fail,
    shared::{accounts, committee, events::emit},
};

/// Adds the voter's committee seats (drawn by its stake for the audited
/// round) to one side of the audit.
/// Writes only the voter's node and the audit.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [operator, voter_account, audit_account] = accounts::exact::<3>(accounts)?;
    // 1. signers
    accounts::signer(operator)?;
    // 2. the voter's node (operated by the signer) and an audit of its task
    let mut voter = accounts::node_mut(voter_account)?;
    if voter.operator != *operator.address().as_array() {
        return fail(GradualError::OperatorMismatch);
    }
    let mut audit = accounts::audit_mut(audit_account)?;
    if voter.task != audit.task {
        return fail(GradualError::NodeTaskMismatch);
    }
    if audit.target == *voter_account.address().as_array() {
        return fail(GradualError::SelfAudit);
    }

    let valid = match data {
        [0] => false,
        [1] => true,
        _ => return fail(GradualError::InvalidInstructionData),
    };
    let slot = accounts::current_slot()?;
    if slot < audit.votes_from || slot >= audit.window_end {
        return fail(GradualError::OutsideAuditWindow);
    }
    // Stake that was not active in the audited round carries no weight.
    let stake = voter.stake_for_round(audit.round);
    if stake < audit.min_stake {
        return fail(GradualError::StakeNotActiveForRound);
    }
    // The committee is drawn from the hash of the raise window's last slot,
    // unknown to every raiser: nobody could pick a target by its committee.
    if !committee::draw(&mut audit)? {
        return fail(GradualError::SeedUnavailable);
    }
    let seats = audit.seats(&audit.committee_seed, voter_account.address().as_array(), stake);
    if seats == 0 {
        return fail(GradualError::NotOnCommittee);
    }
    voter.record_vote(audit.round, audit_account.address().as_array())?;

    let side = if valid { &mut audit.valid_weight } else { &mut audit.invalid_weight };
    *side = side.checked_add(seats).ok_or(GradualError::ArithmeticOverflow)?;
    audit.voter_count = audit.voter_count.checked_add(1).ok_or(GradualError::ArithmeticOverflow)?;
    emit(&AuditVoted {
        head: AuditVoted::head_with(u8::from(valid)),
        task: audit.task,
        target: audit.target,
        voter: *voter_account.address().as_array(),
        round: audit.round,
        seats,
    });
    Ok(())
}
