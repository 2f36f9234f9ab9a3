//! The Gradual node: the chain interface with its embedded and RPC backends,
//! tasks, the round runtime, local state, the peer service, the embedded
//! simulation and localnet, and the `gradual` CLI.

pub mod amount;
pub mod approved;
pub mod chain;
pub mod cli;
pub mod daemon;
pub mod dashboard;
pub mod follow;
pub mod history;
pub mod jobs;
pub mod localnet;
pub mod metrics;
pub mod mints;
pub mod misbehaviour;
pub mod package;
pub mod peers;
pub mod rpc;
pub mod runtime;
pub mod sandbox;
pub mod service;
pub mod simulate;
pub mod store;
pub mod tasks;
pub mod verify;
pub mod world;
