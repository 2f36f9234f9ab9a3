use gradual_interface::{
    error::GradualError,
    instruction::{expect_end, read_fixed, read_text, SubmitProofArgs},
    state::{copy_text, SUBMISSION_FILLED},
};
use pinocchio::{AccountView, ProgramResult};

use crate::{fail, shared::accounts};

/// Records round `r`'s proof in the node's own account. Only the node is
/// written; the task is read, so submissions never contend with each other.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [operator, node_account, task_account] = accounts::exact::<3>(accounts)?;
    // 1. the signing operator, its node and the node's task
    let (mut node, task) = accounts::node_as_operator(operator, node_account, task_account)?;

    let (args, rest) = read_fixed::<SubmitProofArgs>(data)?;
    let (locator, rest) = read_text(rest)?;
    expect_end(rest)?;

    if !task.is_active() {
        return fail(GradualError::TaskPaused);
    }
    // Round r's proof belongs in round r + 1's submission window, as round
    // r's parameters set it: fixed before r's work began, so an update made
    // during round r cannot move it.
    let slot = accounts::current_slot()?;
    let Some((current_round, offset)) = task.timeline().position_at(slot) else {
        return fail(GradualError::OutsideSubmissionWindow);
    };
    let round_params = *task.params_for(args.round)?;
    if args.round.checked_add(1) != Some(current_round) || !round_params.in_submission_window(offset) {
        return fail(GradualError::OutsideSubmissionWindow);
    }
    if node.stake_for_round(args.round) < round_params.min_stake {
        return fail(GradualError::StakeNotActiveForRound);
    }
    if node.submission(args.round).is_some() {
        return fail(GradualError::AlreadySubmitted);
    }

    let entry = node.submission_slot_mut(args.round);
    entry.locator = [0; gradual_interface::state::MAX_PROOF_LOCATOR_LEN];
    entry.locator_len = copy_text(&mut entry.locator, locator).ok_or(GradualError::InvalidProofLocator)?;
    entry.round = args.round;
    entry.slot = slot;
    entry.digest = args.digest;
    entry.flags = SUBMISSION_FILLED;
    Ok(())
}
