//! One module per instruction: accounts checked in numbered steps, data
//! parsed, then the state change.

pub mod claim_reward;
pub mod close_task;
pub mod create_task;
pub mod expire_distribution;
pub mod fund_task;
pub mod propose_distribution;
pub mod raise_audit;
pub mod request_unstake;
pub mod resolve_audit;
pub mod resolve_distribution;
pub mod set_task_active;
pub mod stake;
pub mod submit_proof;
pub mod update_task;
pub mod update_task_package;
pub mod vote_audit;
pub mod vote_distribution;
pub mod withdraw_stake;
