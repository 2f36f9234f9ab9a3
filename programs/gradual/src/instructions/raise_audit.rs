use gradual_interface::event::{AuditRaised, Event};
use gradual_interface::{
    error::GradualError,
    instruction::{expect_end, read_fixed, RaiseAuditArgs},
    pda::AUDIT_SEED,
    round::audit_round,
    selection::raiser_seats,
    state::{Account, Audit, ACCOUNT_VERSION, SUBMISSION_AUDITED},
    ID,
};
use pinocchio::{
    cpi::{Seed, Signer},
    AccountView, Address, ProgramResult,
};

use crate::{
    fail,
    shared::{accounts, create::create_program_account, events::emit},
};

/// Opens an audit of another node's proof for round `r` in the first half of
/// round `r + 2`'s audit window, once it is revealed; its committee votes in
/// the second half. The
/// raiser's bond waits in the audit account.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [operator, raiser_account, target_account, task_account, audit_account, system_program] =
        accounts::exact::<6>(accounts)?;
    // 1. signers and writable accounts
    accounts::signer(operator)?;
    accounts::writable(operator)?;
    accounts::writable(audit_account)?;
    // 2. program ids
    accounts::system_program(system_program)?;
    // 3. the raiser's node (operated by the signer), a different target node, one task
    if raiser_account.address() == target_account.address() {
        return fail(GradualError::SelfAudit);
    }
    let (mut raiser, task) = accounts::node_as_operator(operator, raiser_account, task_account)?;
    let mut target = accounts::node_mut(target_account)?;
    if target.task != *task_account.address().as_array() {
        return fail(GradualError::NodeTaskMismatch);
    }

    let (args, rest) = read_fixed::<RaiseAuditArgs>(data)?;
    expect_end(rest)?;
    if args._padding != [0; 7] {
        return fail(GradualError::NonZeroPadding);
    }
    let round = args.round;

    // Round r's audit window: in round r + 2, after the submission window that reveals its proofs.
    let slot = accounts::current_slot()?;
    let Some((current_round, offset)) = task.timeline().position_at(slot) else {
        return fail(GradualError::OutsideAuditWindow);
    };
    if audit_round(round) != Some(current_round) {
        return fail(GradualError::OutsideAuditWindow);
    }
    // Raises use the first half of the window, so every audit has the second
    // half for votes. The windows are round r's, fixed before its work began.
    let round_params = *task.params_for(round)?;
    let (raise_start, raise_end) =
        round_params.audit_raise_window().ok_or(GradualError::ArithmeticOverflow)?;
    if offset < raise_start || offset >= raise_end {
        return fail(GradualError::OutsideAuditWindow);
    }
    let window_close = round_params.audit_window_end().ok_or(GradualError::ArithmeticOverflow)?;
    let round_start = task.timeline().round_start(current_round).ok_or(GradualError::ArithmeticOverflow)?;
    let window_end = round_start.checked_add(window_close).ok_or(GradualError::ArithmeticOverflow)?;
    let stake = raiser.stake_for_round(round);
    if stake < round_params.min_stake {
        return fail(GradualError::StakeNotActiveForRound);
    }
    let Some(submission) = target.proof(round) else {
        return fail(GradualError::NoSubmissionForRound);
    };
    if submission.flags & SUBMISSION_AUDITED != 0 {
        return fail(GradualError::AlreadyAudited);
    }

    // 4. the audit's address
    let round_bytes = round.to_le_bytes();
    let bump = [args.bump];
    let expected = Address::derive_address(
        &[AUDIT_SEED, target_account.address().as_ref(), &round_bytes],
        Some(args.bump),
        &ID,
    );
    if *audit_account.address() != expected {
        return fail(GradualError::InvalidAuditAddress);
    }

    let digest = submission.digest;
    raiser.record_vote(round, audit_account.address().as_array())?;
    target.submission_slot_mut(round).flags |= SUBMISSION_AUDITED;
    target.open_audits = target.open_audits.checked_add(1).ok_or(GradualError::ArithmeticOverflow)?;

    let seeds = [
        Seed::from(AUDIT_SEED),
        Seed::from(target_account.address().as_ref()),
        Seed::from(&round_bytes),
        Seed::from(&bump),
    ];
    let rent = create_program_account(
        operator,
        audit_account,
        Audit::LEN,
        round_params.audit_bond,
        Signer::from(&seeds),
    )?;
    let bond = audit_account.lamports().checked_sub(rent).ok_or(GradualError::ArithmeticOverflow)?;

    // The account is new and zeroed: only non-zero fields are written.
    let mut audit = accounts::fresh_mut::<Audit>(audit_account)?;
    audit.discriminator = Audit::KIND as u8;
    audit.version = ACCOUNT_VERSION;
    audit.bump = args.bump;
    audit.task = *task_account.address().as_array();
    audit.target = *target_account.address().as_array();
    audit.raiser = *raiser_account.address().as_array();
    audit.raiser_operator = *operator.address().as_array();
    audit.round = round;
    audit.window_end = window_end;
    audit.bond = bond;
    audit.min_stake = round_params.min_stake;
    audit.slash_rate_bps = round_params.slash_rate_bps;
    audit.min_seats = task.min_audit_seats;
    audit.committee_seats = task.audit_committee_seats;
    // Only stake that counts in round r shares the seats: stake joining or
    // leaving later cannot dilute the committee.
    audit.committee_stake = task.counted_stake_for(round);
    audit.raiser_stake = stake;
    // The raise is the raiser's "invalid" vote, with seats fixed now.
    audit.invalid_weight = raiser_seats(stake, audit.committee_stake, audit.committee_seats);
    audit.voter_count = u32::from(audit.invalid_weight != 0);
    audit.votes_from = round_start.checked_add(raise_end).ok_or(GradualError::ArithmeticOverflow)?;
    emit(&AuditRaised {
        head: AuditRaised::head_with(0),
        task: audit.task,
        target: audit.target,
        raiser: audit.raiser,
        round,
        bond,
        raiser_seats: audit.invalid_weight,
        committee_stake: audit.committee_stake,
        digest,
        reason: args.reason,
    });
    Ok(())
}
