//! The Gradual node: the chain interface, tasks, the round runtime and the
//! embedded simulation. Work in progress: the RPC backend, the HTTP peer
//! service, the local database and the operator CLI are still to come.

pub mod chain;
pub mod runtime;
pub mod simulate;
pub mod tasks;
