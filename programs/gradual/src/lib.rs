//! The Gradual program: task escrow, staking and round submissions.
//! See `docs/protocol.md` for the round timeline, accounts and errors.
#![no_std]

mod instructions;
mod shared;

use gradual_interface::{error::GradualError, instruction::GradualInstruction};
use pinocchio::{error::ProgramError, no_allocator, nostd_panic_handler, program_entrypoint};
use pinocchio::{AccountView, Address, ProgramResult};

program_entrypoint!(process_instruction);
no_allocator!();
nostd_panic_handler!();

#[inline(always)]
pub fn process_instruction(_program_id: &Address, accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    // No check of `program_id`: the loader passes the running program's own
    // address, and every account it trusts is checked against
    // `gradual_interface::ID` (owner or PDA), so a copy deployed elsewhere
    // can use no account of this one.
    let (instruction, data) = GradualInstruction::unpack(data)?;
    match instruction {
        GradualInstruction::CreateTask => instructions::create_task::process(accounts, data),
        GradualInstruction::FundTask => instructions::fund_task::process(accounts, data),
        GradualInstruction::UpdateTask => instructions::update_task::process(accounts, data),
        GradualInstruction::UpdateTaskPackage => instructions::update_task_package::process(accounts, data),
        GradualInstruction::SetTaskActive => instructions::set_task_active::process(accounts, data),
        GradualInstruction::Stake => instructions::stake::process(accounts, data),
        GradualInstruction::RequestUnstake => instructions::request_unstake::process(accounts, data),
        GradualInstruction::WithdrawStake => instructions::withdraw_stake::process(accounts, data),
        GradualInstruction::SubmitProof => instructions::submit_proof::process(accounts, data),
        GradualInstruction::CloseTask => instructions::close_task::process(accounts, data),
        GradualInstruction::RaiseAudit => instructions::raise_audit::process(accounts, data),
        GradualInstruction::VoteAudit => instructions::vote_audit::process(accounts, data),
        GradualInstruction::ResolveAudit => instructions::resolve_audit::process(accounts, data),
        GradualInstruction::ProposeDistribution => {
            instructions::propose_distribution::process(accounts, data)
        }
        GradualInstruction::VoteDistribution => instructions::vote_distribution::process(accounts, data),
        GradualInstruction::ResolveDistribution => {
            instructions::resolve_distribution::process(accounts, data)
        }
        GradualInstruction::ClaimReward => instructions::claim_reward::process(accounts, data),
        GradualInstruction::ExpireDistribution => instructions::expire_distribution::process(accounts, data),
    }
}

/// Every failure leaves through here so handlers can use `?` on interface errors.
#[inline(always)]
fn fail<T>(error: GradualError) -> Result<T, ProgramError> {
    Err(error.into())
}
