use gradual_interface::event::{Event, ListProposed};
use gradual_interface::{
    error::GradualError,
    instruction::{expect_end, read_fixed, read_text, ProposeDistributionArgs},
    pda::DISTRIBUTION_SEED,
    round::{claims_end, list_round},
    selection::{is_entitled, proposal_seed},
    state::{
        Account, Distribution, ACCOUNT_VERSION, DISTRIBUTION_PROPOSED, DISTRIBUTION_REJECTED,
        MAX_LIST_URL_LEN, SUBMISSION_EXCLUDED,
    },
    ID,
};
use pinocchio::{
    cpi::{Seed, Signer},
    AccountView, Address, ProgramResult,
};

use crate::{
    fail,
    shared::{
        accounts, create::create_program_account, events::emit, lamports, memory::copy_text, slot_hashes,
    },
};

/// Proposes round `r`'s list in attempt `a`, during round `r + 3 + a`'s
/// distribution window, when the proposer is entitled (see
/// `gradual_interface::selection`). The bond comes from the proposer; the
/// list's total moves from the pool into the distribution account.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [operator, proposer_account, task_account, distribution_account, system_program] =
        accounts::exact::<5>(accounts)?;
    // 1. signers and writable accounts
    accounts::signer(operator)?;
    accounts::writable(operator)?;
    accounts::writable(distribution_account)?;
    // 2. program ids
    accounts::system_program(system_program)?;
    // 3. the proposer's node (operated by the signer) and its task
    let proposer = accounts::node(proposer_account)?;
    let mut task = accounts::task_mut(task_account)?;
    accounts::node_of(&proposer, task_account, operator)?;

    let (args, rest) = read_fixed::<ProposeDistributionArgs>(data)?;
    let (url, rest) = read_text(rest)?;
    expect_end(rest)?;
    if args._padding != [0; 7] {
        return fail(GradualError::NonZeroPadding);
    }
    if url.is_empty() || url.len() > MAX_LIST_URL_LEN || (args.leaf_count == 0 && args.total != 0) {
        return fail(GradualError::InvalidDistributionList);
    }
    let round = args.round;

    // Attempt a of round r happens in round r + 3 + a, inside its distribution window.
    let slot = accounts::current_slot()?;
    let Some((current_round, offset)) = task.timeline().position_at(slot) else {
        return fail(GradualError::OutsideDistributionWindow);
    };
    let attempt = list_round(round, 0)
        .and_then(|first| current_round.checked_sub(first))
        .filter(|attempt| *attempt <= u64::from(task.allowed_failed_distributions))
        .ok_or(GradualError::OutsideDistributionWindow)?;
    let window = *task.params_for(current_round)?;
    if offset >= window.distribution_window {
        return fail(GradualError::OutsideDistributionWindow);
    }
    let round_params = *task.params_for(round)?;
    let weight = proposer.stake_for_round(round);
    if weight < round_params.min_stake {
        return fail(GradualError::StakeNotActiveForRound);
    }
    // Only a node that did the round's work (and was not excluded) may list its payees.
    let has_proof = proposer.proof(round).is_some_and(|proof| proof.flags & SUBMISSION_EXCLUDED == 0);
    if !has_proof {
        return fail(GradualError::ProposerHasNoProof);
    }
    if args.total > round_params.bounty_per_round || args.total > task.bounty_pool {
        return fail(GradualError::TotalExceedsBounty);
    }

    // The proposer must be entitled for this attempt at this slot, by its
    // share of the stake that counted in round r: both were fixed before the
    // seed existed, and splitting stake over accounts buys no turns.
    let round_start = task.timeline().round_start(current_round).ok_or(GradualError::ArithmeticOverflow)?;
    let seed_slot = round_start.checked_sub(1).ok_or(GradualError::SeedUnavailable)?;
    let attempt = u8::try_from(attempt).map_err(|_| GradualError::OutsideDistributionWindow)?;
    let seed = proposal_seed(&slot_hashes::hash_at_or_before(seed_slot)?, round, attempt);
    let entitled = is_entitled(
        &seed,
        proposer_account.address().as_array(),
        weight,
        task.counted_stake_for(round),
        offset,
        window.distribution_window,
    );
    if !entitled {
        return fail(GradualError::NotEntitledToPropose);
    }
    let vote_start =
        round_start.checked_add(window.distribution_window).ok_or(GradualError::ArithmeticOverflow)?;
    let vote_end =
        vote_start.checked_add(window.distribution_audit_window).ok_or(GradualError::ArithmeticOverflow)?;
    // Claims run until the end of round r + 3 + F + CLAIM_PERIOD_ROUNDS.
    let claim_deadline = claims_end(round, task.allowed_failed_distributions)
        .and_then(|end| task.timeline().round_start(end))
        .ok_or(GradualError::ArithmeticOverflow)?;
    drop(proposer);

    // 4. the distribution account: new on the first proposal, reused after a rejection
    let bond = if distribution_account.owned_by(&ID) {
        {
            let existing = accounts::distribution_mut(distribution_account)?;
            if existing.task != *task_account.address().as_array() || existing.round != round {
                return fail(GradualError::InvalidDistributionAddress);
            }
            if existing.status != DISTRIBUTION_REJECTED || u64::from(existing.attempt) >= u64::from(attempt) {
                return fail(GradualError::DistributionNotOpenForProposal);
            }
        }
        lamports::pay_in(operator, distribution_account, round_params.audit_bond)?;
        round_params.audit_bond
    } else {
        let round_bytes = round.to_le_bytes();
        let bump = [args.bump];
        let expected = Address::derive_address(
            &[DISTRIBUTION_SEED, task_account.address().as_ref(), &round_bytes],
            Some(args.bump),
            &ID,
        );
        if *distribution_account.address() != expected {
            return fail(GradualError::InvalidDistributionAddress);
        }
        // Another bump gives another valid address: the task remembers the round.
        if task.distributed_rounds.mark(round).is_err() {
            return fail(GradualError::DistributionAlreadyExists);
        }
        let seeds = [
            Seed::from(DISTRIBUTION_SEED),
            Seed::from(task_account.address().as_ref()),
            Seed::from(&round_bytes),
            Seed::from(&bump),
        ];
        let rent = create_program_account(
            operator,
            distribution_account,
            Distribution::LEN,
            round_params.audit_bond,
            Signer::from(&seeds),
        )?;
        let mut fresh = accounts::fresh_mut::<Distribution>(distribution_account)?;
        fresh.discriminator = Distribution::KIND as u8;
        fresh.version = ACCOUNT_VERSION;
        fresh.bump = args.bump;
        fresh.task = *task_account.address().as_array();
        fresh.payer = *operator.address().as_array();
        fresh.round = round;
        task.open_distributions =
            task.open_distributions.checked_add(1).ok_or(GradualError::ArithmeticOverflow)?;
        // Lamports sent to the address beforehand go to the pool: the bond
        // is exactly the round's, so a dispute's bond, equal to it, cannot
        // be inflated out of reach by pre-funding.
        let deposited =
            distribution_account.lamports().checked_sub(rent).ok_or(GradualError::ArithmeticOverflow)?;
        let sent_before =
            deposited.checked_sub(round_params.audit_bond).ok_or(GradualError::ArithmeticOverflow)?;
        task.add_pool_lamports(sent_before)?;
        drop(fresh);
        lamports::pay_out(distribution_account, task_account, sent_before)?;
        round_params.audit_bond
    };

    // 5. reserve the list's total out of the pool
    task.bounty_pool = task.bounty_pool.checked_sub(args.total).ok_or(GradualError::TotalExceedsBounty)?;
    // A token task's reserve stays in its vault.
    let in_tokens = task.pays_in_tokens();
    if !in_tokens {
        lamports::pay_out(task_account, distribution_account, args.total)?;
    }

    let mut distribution = accounts::distribution_mut(distribution_account)?;
    distribution.status = DISTRIBUTION_PROPOSED;
    distribution.attempt = attempt;
    distribution.proposer = *proposer_account.address().as_array();
    distribution.proposer_operator = *operator.address().as_array();
    distribution.seed = seed;
    distribution.root = args.root;
    distribution.content_hash = args.content_hash;
    distribution.total = args.total;
    distribution.leaf_count = args.leaf_count;
    distribution.claimed = 0;
    distribution.bond = bond;
    distribution.reserved = args.total;
    distribution.reserve_in_tokens = u8::from(in_tokens);
    distribution.min_stake = round_params.min_stake;
    distribution.vote_start = vote_start;
    distribution.vote_end = vote_end;
    distribution.claim_deadline = claim_deadline;
    distribution.valid_weight = weight;
    distribution.invalid_weight = 0;
    distribution.voter_count = 1;
    distribution.disputer_operator = *operator.address().as_array();
    distribution.dispute_bond = 0;
    distribution.url = [0; MAX_LIST_URL_LEN];
    distribution.url_len =
        copy_text(&mut distribution.url, url).ok_or(GradualError::InvalidDistributionList)?;
    emit(&ListProposed {
        head: ListProposed::head_with(attempt),
        task: distribution.task,
        proposer: distribution.proposer,
        root: args.root,
        round,
        total: args.total,
        leaf_count: args.leaf_count,
        bond,
    });
    Ok(())
}
