//! A node follows its task over the websocket: the bytes it reads per slot
//! do not grow with the task's node accounts, where reading every account
//! each slot grows with them. Measured as the bytes `gradual localnet`
//! sends, with one FundTask landing every slot so that something changes.

#![allow(clippy::arithmetic_side_effects)]

mod common;

use std::{sync::atomic::Ordering, sync::Arc, time::Duration};

use gradual_interface::{
    builders::{self, CreateTaskConfig},
    instruction::CreateTaskArgs,
    pda::find_task_address,
};
use gradual_node::{
    chain::{Chain, EmbeddedChain},
    localnet::{Faults, Traffic},
    rpc::RpcChain,
    world::{InProcessPeers, World},
};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_signer::Signer;

use common::SOL;

const SLOT_MS: u64 = 100;
const MEASURED_SLOTS: u64 = 10;

/// A task with `nodes` node accounts, made directly on the chain.
fn task_with_nodes(chain: &mut EmbeddedChain, creator: &Keypair, nodes: usize) -> gradual_interface::Address {
    chain.airdrop(&creator.pubkey(), 1_000 * SOL).expect("airdrop");
    let args = CreateTaskArgs {
        task_id: 7,
        initial_bounty: 10 * SOL,
        start_slot: chain.slot() + 1_000_000,
        round_length: 40,
        unstake_cooldown_rounds: 3,
        manager: creator.pubkey().to_bytes(),
        executable_sha256: [0; 32],
        params: gradual_interface::state::RoundParams::defaults(SOL),
        allowed_failed_distributions: 2,
        bump: 0,
        min_audit_seats: 8,
        audit_committee_seats: 64,
        stake_in_lamports: 0,
        _padding: [0; 1],
    };
    let config = CreateTaskConfig {
        args,
        name: b"follow".to_vec(),
        description: b"bytes per slot".to_vec(),
        executable_locator: b"builtin:hello".to_vec(),
    };
    chain.send(&[builders::create_task(&creator.pubkey(), &config)], creator, &[creator]).expect("create");
    let task = find_task_address(&creator.pubkey(), 7).0;
    for _ in 0..nodes {
        let operator = Keypair::new();
        chain.airdrop(&operator.pubkey(), 3 * SOL).expect("airdrop");
        let stake = builders::stake(&operator.pubkey(), &task, 2 * SOL, b"http://127.0.0.1:1");
        chain.send(&[stake], &operator, &[&operator]).expect("stake");
    }
    task
}

struct Measured {
    following: u64,
    reading_everything: u64,
}

fn bytes(traffic: &Traffic) -> u64 {
    traffic.http_bytes.load(Ordering::Relaxed) + traffic.websocket_bytes.load(Ordering::Relaxed)
}

/// Bytes per slot for `slots` slots of refreshing `world`, one FundTask landing each slot.
fn per_slot(chain: &mut RpcChain, world: &mut World, creator: &Keypair, traffic: &Traffic) -> u64 {
    let start = bytes(traffic);
    let mut slot = chain.refresh_slot().expect("slot");
    for _ in 0..MEASURED_SLOTS {
        slot = chain.advance_to(slot + 1).expect("next slot");
        let fund = builders::fund_task(&creator.pubkey(), &world.task, 1);
        chain.send(&[fund], creator, &[creator]).expect("fund");
        world.refresh(chain).expect("refresh");
    }
    (bytes(traffic) - start) / MEASURED_SLOTS
}

fn measure(nodes: usize) -> Measured {
    let creator = Keypair::new();
    let served = common::in_process_localnet(SLOT_MS, Faults::default(), |chain| {
        task_with_nodes(chain, &creator, nodes)
    });
    let (runtime, url, task, traffic) = (served.runtime, served.url, served.prepared, served.traffic);
    let commitment = CommitmentConfig::confirmed();

    let mut chain = RpcChain::new(&url, commitment, Arc::clone(&runtime));
    let mut world = World::new(task, Box::new(InProcessPeers::default()), 0, 0);
    chain.follow(task);
    // The first refreshes read everything, until the subscriptions are up.
    for _ in 0..50 {
        world.refresh(&mut chain).expect("refresh");
        if chain.take_written().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(SLOT_MS));
    }
    assert_eq!(world.node_cache.len(), nodes, "the first read has every node");
    let following = per_slot(&mut chain, &mut world, &creator, &traffic);
    assert_eq!(world.node_cache.len(), nodes);
    assert!(world.task_state.is_some_and(|task| task.total_funded >= 10 * SOL + MEASURED_SLOTS));

    let mut reader = RpcChain::new(&url, commitment, Arc::clone(&runtime));
    let mut everything = World::new(task, Box::new(InProcessPeers::default()), 0, 0);
    let reading_everything = per_slot(&mut reader, &mut everything, &creator, &traffic);
    eprintln!("{nodes} nodes: following {following} bytes per slot, reading everything {reading_everything}");
    Measured { following, reading_everything }
}

#[test]
fn bytes_read_per_slot_do_not_grow_with_the_nodes() {
    let small = measure(1_000);
    let large = measure(10_000);
    // Reading everything grows with the nodes; following does not.
    assert!(
        large.reading_everything > 8 * small.reading_everything,
        "{} vs {}",
        large.reading_everything,
        small.reading_everything
    );
    assert!(
        large.following < small.following * 3 / 2,
        "following: {} bytes per slot at 10,000 nodes, {} at 1,000",
        large.following,
        small.following
    );
    assert!(large.following * 100 < large.reading_everything);
}
