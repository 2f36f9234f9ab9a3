//! The Gradual program's interface: account layouts, instructions, errors,
//! PDA seeds and the round timeline. `no_std` for the program; the `std`
//! feature adds instruction builders for the node, the CLI and the tests.
#![no_std]

#[cfg(feature = "std")]
extern crate std;

pub mod error;
pub mod event;
pub mod instruction;
pub mod math;
pub mod merkle;
pub mod pda;
pub mod proof;
pub mod round;
pub mod selection;
pub mod state;
pub mod token;

#[cfg(feature = "std")]
pub mod builders;

pub use solana_address::Address;

/// The program id: `hQwwvjZE8X4y5CH2jHPr7Vd52qLbLrgDdKGFtGALUh9`, unless the
/// build sets `GRADUAL_PROGRAM_ID` to the address of a deployment's program
/// keypair (see `docs/deploy.md`). The program and every client must be
/// built with the same value.
pub const ID: Address = match option_env!("GRADUAL_PROGRAM_ID") {
    Some(id) => Address::from_str_const(id),
    None => DEFAULT_ID,
};

/// The id used when `GRADUAL_PROGRAM_ID` is not set: local validators and tests.
pub const DEFAULT_ID: Address = Address::new_from_array([
    10, 90, 79, 74, 148, 190, 4, 80, 5, 206, 74, 246, 117, 27, 83, 248, 224, 151, 136, 116, 128, 53, 30, 57,
    191, 106, 34, 16, 189, 97, 235, 140,
]);

/// The Clock sysvar's address, given to `ClaimReward` as an account.
pub const CLOCK_SYSVAR_ID: Address = Address::from_str_const("SysvarC1ock11111111111111111111111111111111");

/// The system program id (`11111111111111111111111111111111`).
pub const SYSTEM_PROGRAM_ID: Address = Address::new_from_array([0; 32]);
