//! Checks and moves shared by the instruction handlers.

pub mod accounts;
pub mod committee;
pub mod create;
pub mod curve;
pub mod events;
pub mod lamports;
pub mod memory;
pub mod slot_hashes;
pub mod sysvars;
pub mod tokens;
