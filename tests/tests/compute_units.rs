//! Compute units per instruction, measured on the .so. Asserts the ceilings
//! from the issues; with GRADUAL_WRITE_CU_TABLE=path (see `make cu`) it also
//! writes the table committed as docs/compute-units.md.

use gradual_interface::builders;
use gradual_tests::{fixtures::*, Flow, TestContext, SOL};
use solana_signer::Signer;

struct Measure {
    instruction: &'static str,
    case: &'static str,
    units: u64,
    ceiling: u64,
}

fn measure_all() -> Vec<Measure> {
    let mut rows = Vec::new();
    let mut row =
        |instruction, case, units, ceiling| rows.push(Measure { instruction, case, units, ceiling });
    let mut ctx = TestContext::new();
    let creator = ctx.funded_keypair(1_000 * SOL);

    let mut config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    config.name = vec![b'n'; 32];
    config.description = vec![b'd'; 192];
    config.executable_locator = vec![b'l'; 128];
    let create = builders::create_task(&creator.pubkey(), &config);
    let units = ctx.send_flow_ok(create, &[&creator], Flow::deposit(INITIAL_BOUNTY));
    row("CreateTask", "longest name, description and locator", units, 10_000);
    let task = gradual_interface::pda::find_task_address(&creator.pubkey(), config.args.task_id).0;

    let units = ctx.fund(&creator, &task, SOL);
    row("FundTask", "", units, 10_000);
    let units = ctx.send_ok(builders::update_task(&creator.pubkey(), &task, &round_params()), &[&creator]);
    row("UpdateTask", "before the start", units, 10_000);
    let locator = vec![b'l'; 128];
    let schedule = builders::update_task_package(&creator.pubkey(), &task, &[7; 32], &locator);
    let units = ctx.send_ok(schedule, &[&creator]);
    row("UpdateTaskPackage", "longest locator", units, 1_000);

    // Stake creation does not depend on the operator's address: no bump search.
    let mut worst_create = 0;
    let mut operators = Vec::new();
    for _ in 0..16 {
        let operator = ctx.funded_keypair(100 * SOL);
        let instruction = builders::stake(&operator.pubkey(), &task, 2 * SOL, &[b'u'; 128]);
        worst_create = worst_create.max(ctx.send_flow_ok(instruction, &[&operator], Flow::deposit(2 * SOL)));
        operators.push(operator);
    }
    row("Stake", "creates the node (worst of 16 operators)", worst_create, 6_000);
    let top_up = builders::stake(&operators[0].pubkey(), &task, SOL, &[b'u'; 128]);
    let units = ctx.send_flow_ok(top_up, &[&operators[0]], Flow::deposit(SOL));
    row("Stake", "top-up", units, 10_000);

    // Round 1: commitments to round 0's proofs; round 2: their reveals, the
    // worst case with round 1's commitment and the longest locator.
    ctx.warp_to_round(&task, 1, 1);
    let longest: &[u8] = &[b'c'; 64];
    let units =
        ctx.send_ok(commit_proof(&task, &operators[1].pubkey(), 0, ([5; 32], longest)), &[&operators[1]]);
    row("SubmitProof", "commitment only", units, 800);
    for operator in &operators[3..6] {
        ctx.send_ok(commit_proof(&task, &operator.pubkey(), 0, ([5; 32], b"c")), &[operator]);
    }

    let units = ctx.send_ok(builders::update_task(&creator.pubkey(), &task, &round_params()), &[&creator]);
    row("UpdateTask", "mid-round, new checkpoint", units, 10_000);

    ctx.warp_to_round(&task, 2, 1);
    let (commitment, _) = proof_parts(&task, &operators[1].pubkey(), 1, ([6; 32], longest));
    let (_, reveal) = proof_parts(&task, &operators[1].pubkey(), 0, ([5; 32], longest));
    let both = builders::submit_proof(&operators[1].pubkey(), &task, 1, Some(commitment), Some(&reveal));
    let units = ctx.send_ok(both, &[&operators[1]]);
    row("SubmitProof", "round r's commitment and round r-1's reveal, longest locator", units, 850);
    for operator in &operators[3..6] {
        ctx.send_ok(reveal_proof(&task, &operator.pubkey(), 0, ([5; 32], b"c")), &[operator]);
    }

    // Audits of round 0's proofs in round 2's audit window.
    ctx.warp_to_round(&task, 2, SUBMISSION_WINDOW);
    let target =
        |index: usize| gradual_interface::pda::find_node_address(&task, &operators[index].pubkey()).0;
    let bond = round_params().audit_bond;
    let raise = builders::raise_audit(&operators[3].pubkey(), &task, &target(4), 0);
    let units = ctx.send_flow_ok(raise, &[&operators[3]], Flow::deposit(bond));
    row("RaiseAudit", "creates the audit", units, 6_000);
    let audit = gradual_interface::pda::find_audit_address(&target(4), 0).0;
    let second = builders::raise_audit(&operators[3].pubkey(), &task, &target(5), 0);
    ctx.send_flow_ok(second, &[&operators[3]], Flow::deposit(bond));
    let rejected_audit = gradual_interface::pda::find_audit_address(&target(5), 0).0;
    // Votes open when raises close. The first draws the committee (reading
    // `SlotHashes`); every vote scans the whole eight-entry vote ring.
    ctx.warp_to_votes(&audit);
    let mut worst_vote = 0;
    for voter in &operators[5..13] {
        worst_vote = worst_vote.max(ctx.vote_audit(voter, &task, &audit, false));
    }
    row("VoteAudit", "worst of 8 voters, the first drawing the committee", worst_vote, 2_000);
    for voter in &operators[6..13] {
        ctx.vote_audit(voter, &task, &rejected_audit, true);
    }
    ctx.warp_to_round(&task, 2, SUBMISSION_WINDOW + AUDIT_WINDOW);
    let stake = ctx.node(&target(4)).total_stake();
    let share = stake / 10 / 2;
    let units = ctx.resolve_audit(&audit, bond + share);
    row("ResolveAudit", "upheld: slash, share, exclusion, close", units, 5_000);
    let units = ctx.resolve_audit(&rejected_audit, bond);
    row("ResolveAudit", "rejected: bond to the target, close", units, 5_000);

    // Round 0's distribution in round 3: a million-leaf list holding the two
    // nodes that submitted and were not excluded (4 was), claimed at depth 20.
    let paid = [3usize, 5];
    let (tree, proposal, chosen) = million_leaf_proposal(&mut ctx, &task, paid.map(target));
    let proposer = &operators[paid[chosen]];
    let units = ctx.propose(proposer, &task, &proposal);
    row("ProposeDistribution", "creates the distribution, reserves the total", units, 8_000);
    ctx.warp_to_round(&task, 3, round_params().distribution_window);
    let units = ctx.vote_distribution(&operators[6], &task, 0, false);
    row("VoteDistribution", "the first dispute, posting its bond", units, 3_000);
    let mut worst_vote = 0;
    for voter in operators[7..14].iter() {
        worst_vote = worst_vote.max(ctx.vote_distribution(voter, &task, 0, true));
    }
    row("VoteDistribution", "worst of 7 answers", worst_vote, 1_500);
    ctx.warp_to_round(
        &task,
        3,
        round_params().distribution_window + round_params().distribution_audit_window,
    );
    let units = ctx.resolve_distribution(&task, 0);
    row("ResolveDistribution", "approved, the dispute's bond to the pool", units, 10_000);
    let mut worst_claim = 0;
    for (leaf, index) in paid.iter().enumerate() {
        let proof = tree.proof(leaf).expect("a listed leaf");
        assert_eq!((proof.siblings.len(), proof.bucket.len()), (18, 4));
        worst_claim = worst_claim.max(ctx.claim(&operators[*index], &task, 0, SOL / 10, &proof));
    }
    row("ClaimReward", "2^20 leaves (18 levels over buckets of 4), worst of 2", worst_claim, 3_300);
    let deadline =
        ctx.distribution(&gradual_interface::pda::find_distribution_address(&task, 0).0).claim_deadline;
    ctx.warp_to_slot(deadline);
    let units = ctx.expire_distribution(&task, 0);
    row("ExpireDistribution", "returns the unclaimed rest, closes", units, 10_000);

    let units = ctx.send_ok(builders::request_unstake(&operators[2].pubkey(), &task), &[&operators[2]]);
    row("RequestUnstake", "", units, 10_000);
    let now = ctx.task(&task).timeline().round_at(ctx.slot()).expect("started");
    ctx.warp_to_round(&task, now + 4, 0);
    let partial = builders::withdraw_stake(&operators[2].pubkey(), &task, SOL);
    let units = ctx.send_flow_ok(partial, &[&operators[2]], Flow::payout(SOL));
    row("WithdrawStake", "partial", units, 10_000);
    let units = ctx.withdraw(&operators[2], &task, SOL);
    row("WithdrawStake", "everything, closes the node", units, 10_000);

    let units = ctx.send_ok(builders::set_task_active(&creator.pubkey(), &task, false), &[&creator]);
    row("SetTaskActive", "", units, 10_000);
    for operator in operators.iter().filter(|o| o.pubkey() != operators[2].pubkey()) {
        ctx.send_ok(builders::request_unstake(&operator.pubkey(), &task), &[operator]);
    }
    let now = ctx.task(&task).timeline().round_at(ctx.slot()).expect("started");
    ctx.warp_to_round(&task, now + 5, 0);
    for operator in operators.iter().filter(|o| o.pubkey() != operators[2].pubkey()) {
        let (node, _) = gradual_interface::pda::find_node_address(&task, &operator.pubkey());
        let stake = ctx.node(&node).total_stake();
        ctx.withdraw(operator, &task, stake);
    }
    let units = ctx.close_task(&creator, &task);
    row("CloseTask", "", units, 10_000);
    rows
}

/// Round 0's list in round 3: a million-leaf tree holding `paid` (0.1 SOL
/// each), to be claimed at depth 20. Moves to the first slot one of them may
/// propose; returns the tree, the proposal and which of `paid` proposes.
fn million_leaf_proposal(
    ctx: &mut TestContext,
    task: &gradual_interface::Address,
    paid: [gradual_interface::Address; 2],
) -> (gradual_interface::merkle::MerkleTree, gradual_interface::builders::Proposal, usize) {
    let listed: Vec<([u8; 32], u64)> = paid.iter().map(|node| (node.to_bytes(), SOL / 10)).collect();
    let tree = million_leaf_tree(&listed);
    let proposal = gradual_interface::builders::Proposal {
        total: BOUNTY_PER_ROUND,
        leaf_count: 1 << 20,
        root: tree.root(),
        ..proposal_of(0, &listed)
    };
    let (offset, chosen) = first_entitled(ctx, task, 0, 0, &paid);
    ctx.warp_to_round(task, 3, offset);
    (tree, proposal, chosen)
}

/// The compute units a program invoked by the transaction reports it
/// consumed, summed over its invocations: the token program's own share.
fn consumed_by(logs: &[String], program: &gradual_interface::Address) -> u64 {
    let prefix = format!("Program {program} consumed ");
    logs.iter()
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// A token task's instructions on `program`, with the token program's own
/// units separated from the claim's.
fn measure_tokens(program: gradual_interface::Address, name: &'static str) -> Vec<Measure> {
    use gradual_tests::tokens::{Extras, TestMint};
    let mut rows = Vec::new();
    let mut row =
        |instruction, case, units, ceiling| rows.push(Measure { instruction, case, units, ceiling });
    let mut ctx = TestContext::new();
    let mint = TestMint::plant(&mut ctx, program, Extras::None);
    let task_mint = mint.task_mint();
    let creator = ctx.funded_keypair(1_000 * SOL);
    mint.fund(&mut ctx, &creator.pubkey(), 100 * SOL);
    let config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    let create = builders::create_token_task(&creator.pubkey(), &config, &task_mint);
    let units = ctx.send_flow_ok(create, &[&creator], Flow::tokens_in(&mint.address, INITIAL_BOUNTY));
    row("CreateTask", name_case(name, "creates the vault (ATA CPI), deposits"), units, 60_000);
    let task = gradual_interface::pda::find_task_address(&creator.pubkey(), config.args.task_id).0;
    let units = ctx.fund_tokens(&creator, &task, &mint, SOL);
    row("FundTask", name_case(name, "re-checks the mint, transfers"), units, 5_000);

    let mut operators = Vec::new();
    let mut worst = 0;
    for _ in 0..4 {
        let operator = ctx.funded_keypair(100 * SOL);
        mint.fund(&mut ctx, &operator.pubkey(), 10 * SOL);
        let stake = builders::stake_tokens(&operator.pubkey(), &task, &task_mint, 2 * SOL, &[b'u'; 128]);
        worst = worst.max(ctx.send_flow_ok(stake, &[&operator], Flow::tokens_in(&mint.address, 2 * SOL)));
        operators.push(operator);
    }
    row("Stake", name_case(name, "creates the node, stake in the mint (worst of 4)"), worst, 7_500);
    let refs: Vec<&solana_keypair::Keypair> = operators.iter().collect();
    prove_round(&mut ctx, &task, &refs, 0, [5; 32]);
    let target =
        |index: usize| gradual_interface::pda::find_node_address(&task, &operators[index].pubkey()).0;

    ctx.warp_to_round(&task, 2, SUBMISSION_WINDOW);
    let audit = ctx.raise_audit(&operators[0], &task, &target(3), 0);
    ctx.warp_to_round(&task, 2, SUBMISSION_WINDOW + AUDIT_WINDOW);
    mint.fund(&mut ctx, &operators[0].pubkey(), 0);
    let record = ctx.audit(&audit);
    let resolve = builders::resolve_audit_tokens(
        &audit,
        &task,
        (&target(3), &operators[3].pubkey()),
        &operators[0].pubkey(),
        &task_mint,
    );
    let share = ctx.node(&target(3)).total_stake() / 10 / 2;
    let flow = Flow::tokens_out(&mint.address, share).with_lamports(0, record.bond);
    let units = ctx.send_flow_ok(resolve, &[], flow);
    row("ResolveAudit", name_case(name, "upheld: the raiser's share from the vault"), units, 6_000);

    let paid = [1usize, 2];
    let (tree, proposal, chosen) = million_leaf_proposal(&mut ctx, &task, paid.map(target));
    let units = ctx.propose(&operators[paid[chosen]], &task, &proposal);
    row("ProposeDistribution", name_case(name, "reserves the total in the vault"), units, 8_000);
    ctx.warp_to_round(
        &task,
        3,
        round_params().distribution_window + round_params().distribution_audit_window,
    );
    ctx.resolve_distribution(&task, 0);

    // The claim alone (the operator's account exists), and the token program's share of it.
    let (mut worst_claim, mut worst_gradual) = (0, 0);
    for (leaf, index) in paid.iter().enumerate() {
        let operator = &operators[*index];
        let proof = tree.proof(leaf).expect("a listed leaf");
        let claim =
            builders::claim_reward_tokens(&operator.pubkey(), &task, (0, SOL / 10), &proof, &task_mint);
        let flow = Flow::tokens_out(&mint.address, SOL / 10);
        let meta = ctx.send_with_flow(&[claim], &[operator], flow).expect("the claim lands");
        let transfer = consumed_by(&meta.logs, &program);
        assert!(transfer > 0, "the token program's share is in the logs");
        worst_claim = worst_claim.max(meta.compute_units_consumed);
        worst_gradual = worst_gradual.max(meta.compute_units_consumed - transfer);
    }
    row(
        "ClaimReward",
        name_case(name, "2^20 leaves, into the operator's account (worst of 2)"),
        worst_claim,
        8_000,
    );
    row("ClaimReward", name_case(name, "the same, less the token program's own units"), worst_gradual, 5_000);

    let deadline =
        ctx.distribution(&gradual_interface::pda::find_distribution_address(&task, 0).0).claim_deadline;
    ctx.warp_to_slot(deadline);
    ctx.expire_distribution(&task, 0);
    for operator in &operators {
        ctx.send_ok(builders::request_unstake(&operator.pubkey(), &task), &[operator]);
    }
    let now = ctx.task(&task).timeline().round_at(ctx.slot()).expect("started");
    ctx.warp_to_round(&task, now + 5, 0);
    let partial = builders::withdraw_stake_tokens(&operators[0].pubkey(), &task, &task_mint, SOL);
    let units = ctx.send_flow_ok(partial, &[&operators[0]], Flow::tokens_out(&mint.address, SOL));
    row("WithdrawStake", name_case(name, "partial, from the vault"), units, 5_000);
    for operator in &operators {
        let (node, _) = gradual_interface::pda::find_node_address(&task, &operator.pubkey());
        let stake = ctx.node(&node).total_stake();
        ctx.withdraw_tokens(operator, &task, &mint, stake);
    }
    ctx.send_ok(builders::set_task_active(&creator.pubkey(), &task, false), &[&creator]);
    let vault = gradual_tests::tokens::token_balance(&ctx, &task_mint.vault(&task));
    let close = builders::close_task_tokens(&creator.pubkey(), &task, &task_mint);
    let units = ctx.send_flow_ok(close, &[&creator], Flow::tokens_out(&mint.address, vault));
    row("CloseTask", name_case(name, "empties and closes the vault"), units, 8_000);
    rows
}

/// A row's case, naming the token program.
fn name_case(program: &'static str, case: &'static str) -> &'static str {
    Box::leak(format!("{program}: {case}").into_boxed_str())
}

#[test]
fn every_instruction_fits_its_ceiling() {
    let mut rows = measure_all();
    rows.extend(measure_tokens(gradual_interface::token::TOKEN_PROGRAM_ID, "SPL Token (p-token)"));
    rows.extend(measure_tokens(gradual_interface::token::TOKEN_2022_PROGRAM_ID, "Token-2022"));
    for row in &rows {
        assert!(
            row.units <= row.ceiling,
            "{} ({}) used {} CU, ceiling {}",
            row.instruction,
            row.case,
            row.units,
            row.ceiling
        );
    }
    if let Some(path) = std::env::var_os("GRADUAL_WRITE_CU_TABLE") {
        let mut table = String::from(
            "# Compute units per instruction\n\n\
             Measured on `target/deploy/gradual.so` (built from source by `make sbf`) in LiteSVM 0.16.\n\
             Regenerate with `make cu`; `tests/tests/compute_units.rs` asserts the ceilings on every `make test`.\n\
             For comparison, an empty Anchor v1 instruction costs about 550 CU.\n\n\
             | instruction | case | CU | ceiling |\n|---|---|---:|---:|\n",
        );
        for row in &rows {
            table.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                row.instruction, row.case, row.units, row.ceiling
            ));
        }
        table.push_str(
            "\n## Where the units go\n\n\
             Measured with `sol_log_compute_units` probes (100 CU each, subtracted).\n\n\
             - `SubmitProof` with both parts: the clock syscall about 130, the node and task checks about 125, \
             reading the arguments about 60, the round's parameters about 75, and the commitment's sha256 about 185 \
             (165 of it the syscall's own fee), as probed in protocol v2. v3's commitment hashes two more slices \
             (the task and the round): the case rose from 784 to 822.\n\
             - Creating an account (`CreateTask`, `Stake`, `RaiseAudit`, `ProposeDistribution`) first checks that \
             the address is off the ed25519 curve (`sol_curve_validate_point`, 159 CU of fee): those rows rose by \
             170 to 220 from v2. `RaiseAudit` also counts the raiser's seats; `VoteAudit` no longer does.\n\
             - `ClaimReward` against a list of 2^20 leaves: the bucket's sha256 (160 bytes, 165 CU) and 18 \
             levels (117 CU each) cost 2,271 in syscall fees. Each level adds about 14 SBF instructions: two hash \
             buffers taken in turns, the loop unrolled by two, and the syscall's slices laid out so that the index \
             bit picks the order without a branch. The dispatch and account checks take about 180, the status, \
             deadline and rejoin checks about 80 (the slot read from the Clock account, not the syscall, saves \
             about 100), and the bookkeeping and payout about 65. Before buckets, index bits and the Clock \
             account (one leaf hash and 20 levels in byte order): 3,329.\n\
             - Copies from instruction data (locators, names, URLs) use the `sol_memcpy_` syscall: the compiled copy \
             of unaligned bytes cost about one CU a byte.\n\
             - Events (`sol_log_data`, one slice): the syscall's fee is 100, plus 100 for the slice, plus one a \
             byte, so 240 (`TaskActiveSet`, 40 bytes) to 400 (`AuditRaised`, 200 bytes), and building the event \
             adds 20 to 120. Every row above rose by its event from protocol v3 without events: from +262 \
             (`SetTaskActive`) to +484 (`ResolveAudit`, upheld); `ClaimReward` +333 (88 bytes), its ceiling \
             raised from 3,000 to 3,300. `SubmitProof` logs none: history decodes its data.\n\
             - Token tasks (protocol v5): the rows named after a token program run the same instructions on a task \
             paying in a mint planted for the test, through the real p-token and Token-2022 that LiteSVM loads. A \
             token `ClaimReward` is the lamport claim plus one signed `TransferChecked` CPI: the invocation's fee \
             (946), the token program's own units (read from its `consumed` log line: about 105 on p-token, about \
             2,030 on Token-2022) and about 580 of ours (the task's escrow accounts checked, the operator's token \
             account read, the balances before and after). \"Less the token program's own units\" is that claim \
             minus the token program's line: the 3,000 the issue asked of it cannot hold while the lamport claim \
             alone costs 3,259 and the CPI's fee 946. `CreateTask` on a mint is dominated by the associated token \
             account program creating the vault (about 20,000 to 27,000: its search for the vault's bump, \
             1,500 a step, depends on the task's address; the ceiling leaves room for unlucky ones).\n",
        );
        std::fs::write(&path, table).expect("write the CU table");
        eprintln!("wrote {}", std::path::Path::new(&path).display());
    }
}
