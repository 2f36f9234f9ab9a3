use gradual_interface::{
    error::GradualError,
    instruction::{expect_end, read_fixed, read_text, SubmitProofArgs, SUBMIT_COMMITS, SUBMIT_REVEALS},
    proof::proof_commitment,
    state::{MAX_PROOF_LOCATOR_LEN, SUBMISSION_FILLED, SUBMISSION_REVEALED},
};
use pinocchio::{AccountView, ProgramResult};

use crate::{
    fail,
    shared::{accounts, memory::copy_text},
};

/// In round `c + 1`'s submission window: commits to round `c`'s proof, and
/// reveals round `c - 1`'s, one or both. Nothing a copier can see before
/// round `c`'s window closes is worth copying: the commitment binds the
/// task, the node and the round, and hides the proof behind a salt. Only the node is written; the
/// task is read, so submissions never contend with each other.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [operator, node_account, task_account] = accounts::exact::<3>(accounts)?;
    // 1. the signing operator, its node and the node's task
    let (mut node, task) = accounts::node_as_operator(operator, node_account, task_account)?;

    let (args, rest) = read_fixed::<SubmitProofArgs>(data)?;
    let (locator, rest) = read_text(rest)?;
    expect_end(rest)?;
    if args._padding != [0; 7] {
        return fail(GradualError::NonZeroPadding);
    }
    let (commits, reveals) = (args.parts & SUBMIT_COMMITS != 0, args.parts & SUBMIT_REVEALS != 0);
    if args.parts & !(SUBMIT_COMMITS | SUBMIT_REVEALS) != 0 || !(commits || reveals) {
        return fail(GradualError::InvalidSubmissionParts);
    }

    if !task.is_active() {
        return fail(GradualError::TaskPaused);
    }
    // Round c's commitment belongs in round c + 1's submission window, as
    // round c's parameters set it: fixed before c's work began, so an update
    // made during round c cannot move it. Round c - 1's reveal, in the same
    // round, keeps to round c - 1's own window.
    let slot = accounts::current_slot()?;
    let Some((current_round, offset)) = task.timeline().position_at(slot) else {
        return fail(GradualError::OutsideSubmissionWindow);
    };
    if args.round.checked_add(1) != Some(current_round) {
        return fail(GradualError::OutsideSubmissionWindow);
    }

    let checkpoint = task.checkpoint_for(args.round)?;
    if commits {
        let round_params = &checkpoint.params;
        if !round_params.in_submission_window(offset) {
            return fail(GradualError::OutsideSubmissionWindow);
        }
        if node.stake_for_round(args.round) < round_params.min_stake {
            return fail(GradualError::StakeNotActiveForRound);
        }
        if node.submission(args.round).is_some() {
            return fail(GradualError::AlreadySubmitted);
        }
        // A reused entry keeps an older round's digest and locator, unread
        // until a reveal overwrites them: only a revealed entry is a proof.
        let entry = node.submission_slot_mut(args.round);
        entry.round = args.round;
        entry.slot = slot;
        entry.commitment = args.commitment;
        entry.flags = SUBMISSION_FILLED;
    } else if args.commitment != [0; 32] {
        return fail(GradualError::InvalidSubmissionParts);
    }

    if reveals {
        let revealed = args.round.checked_sub(1).ok_or(GradualError::NothingToReveal)?;
        // Round r's reveal closes with round r's own submission window, where
        // its raise window opens: no reveal can land once audits of it start.
        let revealed_params =
            if checkpoint.from_round <= revealed { &checkpoint.params } else { task.params_for(revealed)? };
        if !revealed_params.in_submission_window(offset) {
            return fail(GradualError::OutsideSubmissionWindow);
        }
        let node_address = *node_account.address().as_array();
        let entry = node.submission_slot_mut(revealed);
        if !entry.holds_round(revealed) || entry.is_revealed() {
            return fail(GradualError::NothingToReveal);
        }
        if locator.len() > MAX_PROOF_LOCATOR_LEN {
            return fail(GradualError::InvalidProofLocator);
        }
        let committer = (task_account.address().as_array(), &node_address, revealed);
        if proof_commitment(&args.digest, locator, committer, &args.salt) != entry.commitment {
            return fail(GradualError::RevealMismatch);
        }
        entry.digest = args.digest;
        entry.locator_len =
            copy_text(&mut entry.locator, locator).ok_or(GradualError::InvalidProofLocator)?;
        entry.flags |= SUBMISSION_REVEALED;
    } else if args.digest != [0; 32] || args.salt != [0; 32] || !locator.is_empty() {
        return fail(GradualError::InvalidSubmissionParts);
    }
    Ok(())
}
