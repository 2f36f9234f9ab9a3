//! Security tests 1, 2 and 11 for every instruction and every account slot:
//! substituted, duplicated, foreign, forged, missing-signer and extra
//! accounts all fail, panic-free, with every account unchanged.

use gradual_interface::{
    builders,
    pda::{find_audit_address, find_distribution_address, find_node_address},
    state::{Account, AccountKind, Audit, Distribution, Node, Task},
    Address, ID, SYSTEM_PROGRAM_ID,
};
use gradual_tests::{fixtures::*, TestContext, SOL};
use solana_account::Account as SolanaAccount;
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_signer::Signer;

const CLOCK_SYSVAR: Address = Address::from_str_const("SysvarC1ock11111111111111111111111111111111");

/// A chain state in which each baseline instruction succeeds.
struct World {
    ctx: TestContext,
    /// Everyone who may need to sign a baseline.
    keypairs: Vec<Keypair>,
    /// Funded, signs, and has no business with any of it.
    stranger: Keypair,
    /// Another creator's task, where the world's operators also have nodes.
    other_task: Address,
}

fn other_task(ctx: &mut TestContext, operators: &[&Keypair]) -> Address {
    let other_creator = ctx.funded_keypair(100 * SOL);
    let config = task_config(ctx.slot() + START_DELAY, &other_creator.pubkey());
    let task = ctx.create_task(&other_creator, &config);
    for operator in operators {
        ctx.stake(operator, &task, 2 * SOL);
    }
    task
}

/// Part 1: a task mid-round-1, with a node that may submit, a node that may
/// withdraw at once, a paused task that may close, and a newcomer.
fn part_one() -> (World, Vec<(&'static str, Instruction)>) {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let (creator, task) = (fixture.creator, fixture.task);
    let operator = ctx.funded_keypair(100 * SOL);
    ctx.stake(&operator, &task, 2 * SOL);
    let leaver = ctx.funded_keypair(100 * SOL);
    ctx.stake(&leaver, &task, 2 * SOL);
    ctx.send_ok(builders::request_unstake(&leaver.pubkey(), &task), &[&leaver]);
    let mut closable_config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    closable_config.args.task_id = 99;
    let closable = ctx.create_task(&creator, &closable_config);
    ctx.send_ok(builders::set_task_active(&creator.pubkey(), &closable, false), &[&creator]);
    let other_task = other_task(&mut ctx, &[&operator]);
    ctx.warp_to_round(&task, 1, 1);
    let newcomer = ctx.funded_keypair(100 * SOL);
    let stranger = ctx.funded_keypair(100 * SOL);

    let mut next_config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    next_config.args.task_id = 1234;
    let baselines = vec![
        ("CreateTask", builders::create_task(&creator.pubkey(), &next_config)),
        ("FundTask", builders::fund_task(&creator.pubkey(), &task, SOL)),
        ("UpdateTask", builders::update_task(&creator.pubkey(), &task, &round_params())),
        ("UpdateTaskPackage", builders::update_task_package(&creator.pubkey(), &task, &[7; 32], b"v2")),
        ("SetTaskActive", builders::set_task_active(&creator.pubkey(), &task, false)),
        ("Stake (create)", builders::stake(&newcomer.pubkey(), &task, SOL, b"u")),
        ("Stake (top up)", builders::stake(&operator.pubkey(), &task, SOL, b"u")),
        ("RequestUnstake", builders::request_unstake(&operator.pubkey(), &task)),
        ("WithdrawStake", builders::withdraw_stake(&leaver.pubkey(), &task, SOL)),
        ("SubmitProof (commitment)", commit_proof(&task, &operator.pubkey(), 0, ([1; 32], b"c"))),
        ("CloseTask", builders::close_task(&creator.pubkey(), &closable)),
    ];
    let keypairs = vec![creator, operator, leaver, newcomer];
    (World { ctx, keypairs, stranger, other_task }, baselines)
}

/// Part 2: round 2's reveals and audit window, with a proof to audit and an open audit to vote on.
struct AuditWorld {
    world: World,
    task: Address,
    audit: Address,
    raiser: Address,
    target: Address,
}

fn part_two() -> (AuditWorld, Vec<(&'static str, Instruction)>) {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let task = fixture.task;
    let operators: Vec<Keypair> = (0..3).map(|_| ctx.funded_keypair(100 * SOL)).collect();
    for operator in &operators {
        ctx.stake(operator, &task, 2 * SOL);
    }
    let other_task = other_task(&mut ctx, &operators.iter().collect::<Vec<_>>());
    ctx.warp_to_round(&task, 1, 0);
    for operator in &operators[1..] {
        ctx.send_ok(commit_proof(&task, &operator.pubkey(), 0, ([1; 32], b"c")), &[operator]);
    }
    // Round 2: round 1's commitment with round 0's reveal, swept, then the reveals.
    ctx.warp_to_round(&task, 2, 0);
    let stranger = ctx.funded_keypair(100 * SOL);
    let mut world = World { ctx, keypairs: operators, stranger, other_task };
    let prover = world.keypairs[1].pubkey();
    let (commitment, _) = proof_parts(&task, &prover, 1, ([4; 32], b"c"));
    let (_, reveal) = proof_parts(&task, &prover, 0, ([1; 32], b"c"));
    let both = builders::submit_proof(&prover, &task, 1, Some(commitment), Some(&reveal));
    let revealed = sweep(&mut world, &[("SubmitProof (commitment and reveal)", both)]);
    assert!(revealed > 0);
    for operator in world.keypairs[1..].iter().map(Keypair::insecure_clone).collect::<Vec<_>>() {
        world.ctx.send_ok(reveal_proof(&task, &operator.pubkey(), 0, ([1; 32], b"c")), &[&operator]);
    }
    world.ctx.warp_to_round(&task, 2, SUBMISSION_WINDOW);
    let node = |operator: &Keypair| find_node_address(&task, &operator.pubkey()).0;
    let (target, fresh_target) = (node(&world.keypairs[1]), node(&world.keypairs[2]));
    let raiser_keypair = world.keypairs[2].insecure_clone();
    let audit = world.ctx.raise_audit(&raiser_keypair, &task, &target, 0);
    let baselines =
        vec![("RaiseAudit", builders::raise_audit(&world.keypairs[0].pubkey(), &task, &fresh_target, 0))];
    let raiser = world.keypairs[2].pubkey();
    (AuditWorld { world, task, audit, raiser, target }, baselines)
}

/// The keypairs `instruction` needs; a signer slot nobody holds stops signing.
fn signers_for(w: &World, instruction: &mut Instruction) -> Vec<Keypair> {
    let mut signers: Vec<Keypair> = Vec::new();
    for meta in &mut instruction.accounts {
        if !meta.is_signer {
            continue;
        }
        let holder = w.keypairs.iter().chain([&w.stranger]).find(|keypair| keypair.pubkey() == meta.pubkey);
        match holder {
            Some(keypair) if !signers.iter().any(|s| s.pubkey() == meta.pubkey) => {
                signers.push(keypair.insecure_clone())
            }
            Some(_) => {}
            None => meta.is_signer = false,
        }
    }
    signers
}

fn copy_with_owner(w: &mut World, original: &Address, owner: Address) -> Address {
    let mut account = w.ctx.svm.get_account(original).unwrap_or_else(|| SolanaAccount {
        lamports: SOL,
        data: vec![],
        owner,
        executable: false,
        rent_epoch: 0,
    });
    account.owner = owner;
    let address = Keypair::new().pubkey();
    if owner == ID {
        w.ctx.forge(address, account);
    } else {
        w.ctx.svm.set_account(address, account).unwrap();
    }
    address
}

/// A program-owned account of the same length that claims to be another kind.
fn other_kind_same_length(w: &mut World, original: &Address) -> Option<Address> {
    let account = w.ctx.svm.get_account(original)?;
    if account.owner != ID {
        return None;
    }
    let mut data = account.data.clone();
    data[0] = match data.len() {
        Task::LEN => AccountKind::Node,
        Node::LEN => AccountKind::Audit,
        Audit::LEN => AccountKind::Distribution,
        _ => AccountKind::Task,
    } as u8;
    let address = Keypair::new().pubkey();
    w.ctx.forge(address, SolanaAccount { data, ..account });
    Some(address)
}

/// The same account's counterpart under another task.
fn another_tasks_counterpart(w: &World, original: &Address) -> Option<Address> {
    let account = w.ctx.svm.get_account(original)?;
    if Task::read(&account.data).is_some() {
        return Some(w.other_task);
    }
    if let Some(node) = Node::read(&account.data) {
        return Some(find_node_address(&w.other_task, &Address::new_from_array(node.operator)).0);
    }
    if let Some(distribution) = Distribution::read(&account.data) {
        return Some(find_distribution_address(&w.other_task, distribution.round).0);
    }
    let audit = Audit::read(&account.data)?;
    let target = Node::read(&w.ctx.svm.get_account(&Address::new_from_array(audit.target))?.data)?;
    let counterpart = find_node_address(&w.other_task, &Address::new_from_array(target.operator)).0;
    Some(find_audit_address(&counterpart, audit.round).0)
}

/// Every variant of every baseline: each must fail cleanly and change nothing.
fn sweep(w: &mut World, baselines: &[(&'static str, Instruction)]) -> usize {
    let mut checked = 0;
    for (name, baseline) in baselines {
        // The baseline itself must succeed, or the sweep would prove nothing.
        let mut probe = baseline.clone();
        let signers = signers_for(w, &mut probe);
        let transaction = solana_transaction::Transaction::new_signed_with_payer(
            &[probe],
            Some(&w.ctx.payer.pubkey()),
            &[vec![&w.ctx.payer], signers.iter().collect()].concat(),
            w.ctx.svm.latest_blockhash(),
        );
        let simulated = w.ctx.svm.simulate_transaction(transaction);
        assert!(simulated.is_ok(), "{name} baseline fails: {:?}", simulated.err());

        let mut variants: Vec<(String, Instruction)> = Vec::new();
        for slot in 0..baseline.accounts.len() {
            let original = baseline.accounts[slot].pubkey;
            let is_signer = baseline.accounts[slot].is_signer;
            let mut substitutes: Vec<(String, Address)> = Vec::new();
            if is_signer {
                // Security test 2: the authority present but not signing.
                let mut unsigned = baseline.clone();
                unsigned.accounts[slot].is_signer = false;
                variants.push((format!("{name}: slot {slot} not signing"), unsigned));
                // Anyone may fund any task.
                if *name != "FundTask" {
                    substitutes.push(("another signer".into(), w.stranger.pubkey()));
                }
            }
            if original == SYSTEM_PROGRAM_ID {
                substitutes.push(("fake system program".into(), ID));
                substitutes.push(("forged clock sysvar".into(), CLOCK_SYSVAR));
            } else if !is_signer {
                let foreign = copy_with_owner(w, &original, Keypair::new().pubkey());
                substitutes.push(("owned by another program".into(), foreign));
                if let Some(forged) = other_kind_same_length(w, &original) {
                    substitutes.push(("another kind of the same length".into(), forged));
                }
                if let Some(pda) = another_tasks_counterpart(w, &original).filter(|_| *name != "FundTask") {
                    substitutes.push(("PDA of another task".into(), pda));
                }
            }
            for (other, meta) in baseline.accounts.iter().enumerate() {
                if other != slot && meta.pubkey != original {
                    substitutes.push((format!("duplicate of slot {other}"), meta.pubkey));
                }
            }
            for (label, address) in substitutes {
                let mut instruction = baseline.clone();
                instruction.accounts[slot].pubkey = address;
                variants.push((format!("{name}: slot {slot} {label}"), instruction));
            }
        }
        let mut extra = baseline.clone();
        extra.accounts.push(AccountMeta::new_readonly(CLOCK_SYSVAR, false));
        variants.push((format!("{name}: extra forged sysvar"), extra));
        let mut trailing = baseline.clone();
        trailing.accounts.push(AccountMeta::new(Keypair::new().pubkey(), false));
        variants.push((format!("{name}: extra trailing account"), trailing));
        let mut missing = baseline.clone();
        missing.accounts.pop();
        variants.push((format!("{name}: last account missing"), missing));

        for (label, mut instruction) in variants {
            let signers = signers_for(w, &mut instruction);
            eprintln!("{label}");
            let signer_refs: Vec<&Keypair> = signers.iter().collect();
            w.ctx.expect_failure(&[instruction], &signer_refs);
            checked += 1;
        }
    }
    checked
}

#[test]
fn part_one_instructions_refuse_every_substitution() {
    let (mut world, baselines) = part_one();
    let checked = sweep(&mut world, &baselines);
    assert!(checked > 150, "only {checked} substitutions were tried");
}

#[test]
fn audit_instructions_refuse_every_substitution() {
    let (mut audits, baselines) = part_two();
    let mut checked = sweep(&mut audits.world, &baselines);
    // Votes open once raises close.
    audits.world.ctx.warp_to_votes(&audits.audit);
    let voter = audits.world.keypairs[0].pubkey();
    let vote = builders::vote_audit(&voter, &audits.task, &audits.audit, false);
    checked += sweep(&mut audits.world, &[("VoteAudit", vote)]);

    let ctx = &mut audits.world.ctx;
    let window_end = ctx.audit(&audits.audit).window_end;
    ctx.warp_to_slot(window_end);
    let target_operator = Address::new_from_array(ctx.node(&audits.target).operator);
    let resolve = builders::resolve_audit(
        &audits.audit,
        &audits.task,
        &audits.target,
        &audits.raiser,
        &target_operator,
    );
    checked += sweep(&mut audits.world, &[("ResolveAudit", resolve)]);
    assert!(checked > 50, "only {checked} substitutions were tried");
}

#[test]
fn distribution_instructions_refuse_every_substitution() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let task = fixture.task;
    let operators: Vec<Keypair> = (0..3).map(|_| ctx.funded_keypair(100 * SOL)).collect();
    for operator in &operators {
        ctx.stake(operator, &task, 2 * SOL);
    }
    let other_task = other_task(&mut ctx, &operators.iter().collect::<Vec<_>>());
    let provers: Vec<&Keypair> = operators.iter().collect();
    prove_round(&mut ctx, &task, &provers, 0, [1; 32]);
    let nodes: Vec<Address> =
        operators.iter().map(|operator| find_node_address(&task, &operator.pubkey()).0).collect();
    let leaves = default_list(&ctx, &task, 0, &nodes);
    let tree = gradual_interface::merkle::tree_of(&leaves);
    let proposal = proposal_of(0, &leaves);
    let (offset, proposer) = first_entitled(&ctx, &task, 0, 0, &nodes);
    ctx.warp_to_round(&task, 3, offset);
    let voter = (proposer + 1) % 3;
    let stranger = ctx.funded_keypair(100 * SOL);
    let mut world = World { ctx, keypairs: operators, stranger, other_task };
    let operator = |world: &World, index: usize| world.keypairs[index].pubkey();

    let propose = builders::propose_distribution(&operator(&world, proposer), &task, &proposal);
    let mut checked = sweep(&mut world, &[("ProposeDistribution", propose)]);
    let proposer_keypair = world.keypairs[proposer].insecure_clone();
    world.ctx.propose(&proposer_keypair, &task, &proposal);
    let distribution = world.ctx.distribution(&find_distribution_address(&task, 0).0);

    world.ctx.warp_to_slot(distribution.vote_start);
    let vote = builders::vote_distribution(&operator(&world, voter), &task, 0, true);
    checked += sweep(&mut world, &[("VoteDistribution", vote)]);

    world.ctx.warp_to_slot(distribution.vote_end);
    let proposer_operator = operator(&world, proposer);
    let resolve = builders::resolve_distribution(&task, 0, &proposer_operator, &proposer_operator);
    checked += sweep(&mut world, &[("ResolveDistribution", resolve)]);
    world.ctx.resolve_distribution(&task, 0);

    let index = leaves.iter().position(|(node, _)| *node == nodes[voter].to_bytes()).expect("listed");
    let claim = builders::claim_reward(
        &operator(&world, voter),
        &task,
        0,
        leaves[index].1,
        &tree.proof(index).unwrap(),
    );
    checked += sweep(&mut world, &[("ClaimReward", claim)]);

    world.ctx.warp_to_slot(distribution.claim_deadline);
    let expire = builders::expire_distribution(&task, 0, &operator(&world, proposer));
    checked += sweep(&mut world, &[("ExpireDistribution", expire)]);
    assert!(checked > 60, "only {checked} substitutions were tried");
}
