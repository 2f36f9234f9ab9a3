//! Sending keeps up: on a localnet where every transaction lands three
//! slots after it is sent, a node with eight audits to vote on lands all
//! eight inside the 12-slot vote window when they are in flight together,
//! and fewer one at a time. Through dropped sends and failing requests,
//! every transaction of a batch still lands exactly once.

#![allow(clippy::arithmetic_side_effects)]

mod common;

use gradual_interface::{
    builders::{self, CreateTaskConfig, Reveal},
    instruction::CreateTaskArgs,
    pda::{find_audit_address, find_node_address, find_task_address},
    proof::proof_commitment,
    round::AUDIT_LAG,
    state::{Account as _, Audit, Node, Task},
    Address,
};
use gradual_node::{
    chain::{Chain, EmbeddedChain},
    localnet::Faults,
    rpc::RpcChain,
};
use solana_commitment_config::CommitmentConfig;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

use common::SOL;

const SLOT_MS: u64 = 200;
const LAND_AFTER_SLOTS: u64 = 3;
const TARGETS: usize = 8;

/// 80-slot rounds: the audit window is 24 slots, its vote half 12.
const ROUND_LENGTH: u64 = 80;

fn task_args(start_slot: u64, manager: &Keypair) -> CreateTaskArgs {
    let base = gradual_interface::state::RoundParams::defaults(SOL);
    let params = gradual_interface::state::RoundParams {
        submission_window: base.submission_window * 2,
        audit_window: base.audit_window * 2,
        distribution_window: base.distribution_window * 2,
        distribution_audit_window: base.distribution_audit_window * 2,
        ..base
    };
    CreateTaskArgs {
        task_id: 1,
        initial_bounty: 10 * SOL,
        start_slot,
        round_length: ROUND_LENGTH,
        unstake_cooldown_rounds: 3,
        manager: manager.pubkey().to_bytes(),
        executable_sha256: [0; 32],
        params,
        allowed_failed_distributions: 2,
        bump: 0,
        min_audit_seats: 8,
        audit_committee_seats: 64,
        stake_in_lamports: 0,
        _padding: [0; 1],
    }
}

fn send(chain: &mut EmbeddedChain, instruction: Instruction, signer: &Keypair) {
    chain.send(&[instruction], signer, &[signer]).expect("setup transaction");
}

fn funded(chain: &mut EmbeddedChain, lamports: u64) -> Keypair {
    let keypair = Keypair::new();
    chain.airdrop(&keypair.pubkey(), lamports).expect("airdrop");
    keypair
}

/// The voter's task, left at the first slot of round 0's audit votes: eight
/// proofs of round 0 under audit, and a voter holding most of the stake, so
/// that it sits on every committee.
struct Setup {
    task: Address,
    voter: Keypair,
    audits: Vec<Address>,
}

fn eight_audits_open_for_votes(chain: &mut EmbeddedChain) -> Setup {
    let creator = funded(chain, 100 * SOL);
    let start_slot = chain.slot() + 10;
    let config = CreateTaskConfig {
        args: task_args(start_slot, &creator),
        name: b"send window".to_vec(),
        description: b"votes in flight together".to_vec(),
        executable_locator: b"builtin:hello".to_vec(),
    };
    send(chain, builders::create_task(&creator.pubkey(), &config), &creator);
    let task = find_task_address(&creator.pubkey(), 1).0;
    let voter = funded(chain, 100 * SOL);
    send(chain, builders::stake(&voter.pubkey(), &task, 60 * SOL, b"http://127.0.0.1:1"), &voter);
    let raiser = funded(chain, 10 * SOL);
    send(chain, builders::stake(&raiser.pubkey(), &task, 2 * SOL, b"http://127.0.0.1:1"), &raiser);
    let targets: Vec<Keypair> = (0..TARGETS).map(|_| funded(chain, 3 * SOL)).collect();
    for target in &targets {
        send(chain, builders::stake(&target.pubkey(), &task, 2 * SOL, b"http://127.0.0.1:1"), target);
    }

    let round_start = |round: u64| start_slot + round * ROUND_LENGTH;
    let reveal = |_: &Keypair| Reveal { digest: [7; 32], locator: b"cid".to_vec(), salt: [9; 32] };
    chain.advance_to(round_start(1)).expect("round 1");
    for target in &targets {
        let node = find_node_address(&task, &target.pubkey()).0;
        let opened = reveal(target);
        let committer = (&task.to_bytes(), &node.to_bytes(), 0);
        let commitment = proof_commitment(&opened.digest, &opened.locator, committer, &opened.salt);
        send(chain, builders::submit_proof(&target.pubkey(), &task, 0, Some(commitment), None), target);
    }
    chain.advance_to(round_start(2)).expect("round 2");
    for target in &targets {
        send(chain, builders::submit_proof(&target.pubkey(), &task, 1, None, Some(&reveal(target))), target);
    }
    let params = *chain
        .account(&task)
        .expect("read")
        .and_then(|account| Task::read(&account.data))
        .expect("task")
        .params_for(0)
        .expect("params");
    let (raise_from, _) = params.audit_raise_window().expect("raise window");
    chain.advance_to(round_start(AUDIT_LAG) + raise_from).expect("raise window");
    let audits: Vec<Address> = targets
        .iter()
        .map(|target| {
            let node = find_node_address(&task, &target.pubkey()).0;
            send(chain, builders::raise_audit(&raiser.pubkey(), &task, &node, 0), &raiser);
            find_audit_address(&node, 0).0
        })
        .collect();
    let votes_from = audit(chain, &audits[0]).votes_from;
    chain.advance_to(votes_from).expect("vote window");
    Setup { task, voter, audits }
}

fn audit(chain: &dyn Chain, address: &Address) -> Audit {
    chain.account(address).expect("read").and_then(|account| Audit::read(&account.data)).expect("audit")
}

/// A localnet serving a chain `prepare`d by `setup`, and a client for it.
fn serve<T>(faults: Faults, setup: impl FnOnce(&mut EmbeddedChain) -> T) -> (RpcChain, T) {
    let served = common::in_process_localnet(SLOT_MS, faults, setup);
    (RpcChain::new(&served.url, CommitmentConfig::confirmed(), served.runtime), served.prepared)
}

/// Votes the voter lands in the 12-slot window with `max_in_flight`, as
/// counted by the program.
fn votes_landed(max_in_flight: usize) -> usize {
    let faults = Faults { land_after_slots: LAND_AFTER_SLOTS, ..Faults::default() };
    let (mut chain, setup) = serve(faults, eight_audits_open_for_votes);
    chain.set_max_in_flight(max_in_flight);
    let votes: Vec<Vec<Instruction>> = setup
        .audits
        .iter()
        .map(|address| vec![builders::vote_audit(&setup.voter.pubkey(), &setup.task, address, false)])
        .collect();
    let outcomes = chain.send_all(&votes, &setup.voter, &[&setup.voter]);
    let landed = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    // Each vote landed at most once, and the sender knows which did.
    let voter = find_node_address(&setup.task, &setup.voter.pubkey()).0;
    let node = chain
        .account(&voter)
        .expect("read")
        .and_then(|account| Node::read(&account.data))
        .expect("voter's node");
    let recorded = node.votes.iter().filter(|vote| vote.round == 0 && vote.audit != [0; 32]).count();
    assert_eq!(recorded, landed, "{outcomes:?}");
    for refused in outcomes.iter().filter_map(|outcome| outcome.as_ref().err()) {
        assert!(refused.message.contains("OutsideAuditWindow"), "{}", refused.message);
    }
    eprintln!("max in flight {max_in_flight}: {landed} of {TARGETS} votes landed in the 12-slot window");
    landed
}

#[test]
fn votes_in_flight_together_all_land_in_the_window() {
    let one_at_a_time = votes_landed(1);
    // Each vote takes at least three of the window's twelve slots.
    assert!(one_at_a_time <= 4, "one at a time landed {one_at_a_time}");
    assert_eq!(votes_landed(16), TARGETS, "in flight together, every vote lands in the window");
}

#[test]
fn a_batch_lands_exactly_once_through_dropped_sends_and_failing_requests() {
    let faults = Faults { fail_every: 5, drop_every: 3, land_after_slots: 1 };
    let (mut chain, (creator, task)) = serve(faults, |chain| {
        let creator = funded(chain, 100 * SOL);
        let config = CreateTaskConfig {
            args: task_args(chain.slot() + 1_000, &creator),
            name: b"exactly once".to_vec(),
            description: b"a batch under faults".to_vec(),
            executable_locator: b"builtin:hello".to_vec(),
        };
        send(chain, builders::create_task(&creator.pubkey(), &config), &creator);
        let task = find_task_address(&creator.pubkey(), 1).0;
        (creator, task)
    });
    let funded_before = |chain: &RpcChain| {
        chain
            .account(&task)
            .expect("read")
            .and_then(|account| Task::read(&account.data).map(|task| task.total_funded))
            .expect("task")
    };
    let before = funded_before(&chain);
    let deposits: Vec<Vec<Instruction>> =
        (1..=12u64).map(|lamports| vec![builders::fund_task(&creator.pubkey(), &task, lamports)]).collect();
    let outcomes = chain.send_all(&deposits, &creator, &[&creator]);
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(funded_before(&chain) - before, (1..=12u64).sum::<u64>(), "each deposit landed exactly once");
}
