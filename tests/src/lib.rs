//! The test harness: LiteSVM running `target/deploy/gradual.so` built from
//! source in the same run, plus the conservation check run after every step.

// The send helpers return LiteSVM's own `TransactionResult` unchanged.
#![allow(clippy::result_large_err)]

mod context;
pub mod events;
pub mod fixtures;
mod ledger;
pub mod oracle;
pub mod tokens;

pub use context::*;
pub use ledger::*;
