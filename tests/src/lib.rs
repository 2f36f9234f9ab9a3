//! The test harness: LiteSVM running `target/deploy/gradual.so` built from
//! source in the same run, plus the conservation check run after every step.

mod context;
mod ledger;
pub mod fixtures;

pub use context::*;
pub use ledger::*;
