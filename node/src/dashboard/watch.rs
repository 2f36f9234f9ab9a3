//! `gradual dashboard` without a node: each task's thread follows the task's
//! accounts over RPC, as a node does, and keeps its snapshot current.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use gradual_interface::Address;

use super::{Own, Publisher, Sources};
use crate::{
    rpc::RpcChain,
    tasks::Hello,
    world::{InProcessPeers, World},
};

/// One task to watch, and the node to show as its own, if any.
pub struct Watch {
    pub task: Address,
    pub own: Option<Address>,
}

/// Keeps `watch`'s snapshot current until `stop` is set.
pub fn run(mut chain: RpcChain, watch: Watch, mut publisher: Publisher, stop: &AtomicBool) {
    chain.follow(watch.task);
    let mut world = World::new(watch.task, Box::new(InProcessPeers::default()), 0, 0);
    let mut last_slot = None;
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
        let slot = match chain.refresh_slot() {
            Ok(slot) => slot,
            Err(unreachable) => {
                tracing::warn!(task = %watch.task, error = %unreachable, "cannot read the slot");
                continue;
            }
        };
        // Every slot, as a node reads: the counts then move with the nodes that changed.
        if last_slot != Some(slot) {
            if let Err(unreachable) = world.refresh(&mut chain) {
                tracing::warn!(task = %watch.task, error = %unreachable, "cannot read the task's accounts");
                continue;
            }
            publisher.sync(&world);
            publisher.follow_audits(&chain, &world, slot);
            publisher.follow_mint(&chain, &world);
            last_slot = Some(slot);
        }
        if !publisher.due() {
            continue;
        }
        // Rewards are claimed by the node, which this process is not: no alert for them.
        let own = watch.own.map(|node| Own {
            node,
            last_error: None,
            paused: false,
            auto_claim: true,
            unsandboxed: false,
            warnings: Vec::new(),
            claimed: std::collections::BTreeMap::new(),
            claimed_total: 0,
        });
        // Lists by the default rule; a task with a rule of its own shows its proposers' lists.
        publisher.publish(&mut world, &Sources { slot, rule: &Hello, own });
    }
}
