use gradual_interface::event::{AuditResolved, Event};
use gradual_interface::{
    error::GradualError,
    state::{StakeRemoval, SUBMISSION_EXCLUDED},
};
use pinocchio::{AccountView, ProgramResult};

use crate::{
    fail,
    shared::{accounts, events::emit, lamports, tokens::Escrow},
};

/// Settles an audit after its window. Upheld: the target loses
/// `slash_rate_bps` of its stake for the round (half to the raiser, half to
/// the bounty pool), is excluded from the round's rewards, and the raiser
/// gets its bond back. Rejected: the bond goes to the target's operator.
/// Either way the audit closes and its rent returns to the raiser's operator.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    // Stake in the task's mint adds `[mint, token program, vault, raiser operator's tokens]`.
    let ([audit_account, task_account, target_account, raiser_operator, target_operator], tokens) =
        accounts::with_tokens::<5, 4>(accounts)?;
    // 1. writable accounts
    accounts::writable(raiser_operator)?;
    accounts::writable(target_operator)?;
    // 2. the audit and the accounts it names
    let audit = *accounts::audit_mut(audit_account)?;
    let mut task = accounts::task_mut(task_account)?;
    let mut target = accounts::node_mut(target_account)?;
    if audit.task != *task_account.address().as_array()
        || audit.target != *target_account.address().as_array()
        || audit.raiser_operator != *raiser_operator.address().as_array()
        || target.operator != *target_operator.address().as_array()
    {
        return fail(GradualError::AuditAccountMismatch);
    }

    let escrow = match accounts::tokens_if(task.stakes_in_tokens(), tokens)? {
        Some(tokens) => Some(Escrow::appended(&task, tokens)?),
        None => None,
    };

    if !data.is_empty() {
        return fail(GradualError::InvalidInstructionData);
    }
    let slot = accounts::current_slot()?;
    if slot < audit.window_end {
        return fail(GradualError::AuditWindowOpen);
    }

    // The raiser's seats were counted at the raise and votes closed with the
    // window: the verdict is the same whenever the resolution comes.
    target.open_audits = target.open_audits.checked_sub(1).ok_or(GradualError::ArithmeticOverflow)?;
    let mut event = AuditResolved {
        head: AuditResolved::head_with(0),
        task: audit.task,
        target: audit.target,
        raiser_operator: audit.raiser_operator,
        target_operator: target.operator,
        round: audit.round,
        slashed: 0,
        to_raiser: 0,
        to_pool: 0,
        bond: audit.bond,
        rent: audit_account.lamports().checked_sub(audit.bond).ok_or(GradualError::ArithmeticOverflow)?,
        to_raiser_received: 0,
    };
    if !audit.is_upheld() {
        drop((task, target));
        emit(&event);
        lamports::pay_out(audit_account, target_operator, audit.bond)?;
        return lamports::close(audit_account, raiser_operator);
    }

    let split = audit.slash_of(&target).ok_or(GradualError::ArithmeticOverflow)?;
    target.remove_stake(split.slashed)?;
    let removal =
        if target.is_exiting() { StakeRemoval::FromExitingNode } else { StakeRemoval::FromCountedNode };
    task.count_stake_removed(slot, split.slashed, removal)?;
    target.total_slashed =
        target.total_slashed.checked_add(split.slashed).ok_or(GradualError::ArithmeticOverflow)?;
    if let Some(entry) = target.submission(audit.round).copied() {
        target.submission_slot_mut(audit.round).flags = entry.flags | SUBMISSION_EXCLUDED;
    }
    // The exclusion also blocks any claim for the round, whatever list is approved.
    match target.mark_claimed(audit.round) {
        Ok(()) | Err(GradualError::AlreadyClaimed) | Err(GradualError::ClaimPeriodOver) => {}
        Err(error) => return Err(error.into()),
    }
    // A raiser whose token account refuses payments (frozen, memo-required,
    // closed to plain credits) could hold the audit open and the target's
    // stake with it: a round after the window, the resolver may give the
    // vault as the raiser's account, and the raiser's share joins the pool.
    let mut split = split;
    let forfeit =
        escrow.as_ref().is_some_and(|escrow| escrow.wallet_tokens.address() == escrow.vault.address());
    if forfeit {
        let grace_end =
            audit.window_end.checked_add(task.round_length).ok_or(GradualError::ArithmeticOverflow)?;
        if slot < grace_end {
            return fail(GradualError::InvalidTokenAccount);
        }
        (split.to_pool, split.to_raiser) = (split.slashed, 0);
    }
    task.add_slashed_to_pool(split.to_pool)?;
    drop((task, target));
    event.head.flag = 1;
    (event.slashed, event.to_raiser, event.to_pool) = (split.slashed, split.to_raiser, split.to_pool);
    event.to_raiser_received = split.to_raiser;

    match escrow {
        // The stake is in the vault: the pool's share stays there.
        Some(_) if forfeit => event.to_raiser_received = 0,
        Some(escrow) => {
            event.to_raiser_received =
                escrow.pay_out(task_account, &audit.raiser_operator, split.to_raiser)?;
        }
        None => {
            lamports::pay_out(target_account, task_account, split.to_pool)?;
            lamports::pay_out(target_account, raiser_operator, split.to_raiser)?;
        }
    }
    emit(&event);
    lamports::pay_out(audit_account, raiser_operator, audit.bond)?;
    lamports::close(audit_account, raiser_operator)
}
