//! Token tasks in the CLI: the mint a task escrows, the wallet's token
//! account a deposit comes from, and what Token-2022's transfer fees need.

use gradual_interface::{
    builders::TaskMint,
    state::Task,
    token::{read_mint, read_token_account, MintInfo, MintRefusal, TOKEN_2022_PROGRAM_ID},
    Address, CLOCK_SYSVAR_ID,
};
use solana_instruction::{AccountMeta, Instruction};

use super::{views, CliError, CliResult};
use crate::{amount::Asset, chain::Chain};

/// Token-2022's `TransferFeeExtension` instruction and its `HarvestWithheldTokensToMint`.
const TRANSFER_FEE_EXTENSION: u8 = 26;
const HARVEST_WITHHELD_TOKENS_TO_MINT: u8 = 4;

/// A mint's account as it is now: its token program and what `read_mint`
/// makes of it; `None` when there is no account or no token program owns it.
pub fn read_mint_state(
    chain: &dyn Chain,
    mint: &Address,
) -> CliResult<Option<(Address, Result<MintInfo, MintRefusal>)>> {
    let Some(account) = chain.account(mint)? else { return Ok(None) };
    if !gradual_interface::token::is_token_program(&account.owner) {
        return Ok(None);
    }
    Ok(Some((account.owner, read_mint(&account.owner, &account.data))))
}

/// The mint a new task would escrow, with what its token program lets others
/// do with it; a mint the program would refuse is refused here, before anything is sent.
pub fn read_allowed_mint(chain: &dyn Chain, mint: &Address) -> CliResult<(TaskMint, MintInfo)> {
    let account =
        chain.account(mint)?.ok_or_else(|| CliError::usage(format!("--mint {mint}: no account")))?;
    let program = account.owner;
    if !gradual_interface::token::is_token_program(&program) {
        return Err(CliError::usage(format!(
            "--mint {mint} is not a mint: its owner {program} is no token program"
        )));
    }
    let info = read_mint(&program, &account.data).map_err(|refusal| {
        CliError::usage(format!("--mint {mint} cannot back a task: {}", crate::mints::mint_refusal(refusal)))
    })?;
    Ok((TaskMint { mint: *mint, token_program: program }, info))
}

/// Refuses a deposit of a paused mint: the token program would refuse its transfer.
pub fn refuse_paused(info: &MintInfo, mint: &Address) -> CliResult {
    if info.paused {
        return Err(CliError::usage(format!("mint {mint} is paused: no transfer of it goes through now")));
    }
    Ok(())
}

/// `wallet`'s balance in its associated token account for the mint: refuses
/// (exit 2) an account that is missing, frozen, or holds less than `amount`.
pub fn check_balance(
    chain: &dyn Chain,
    mint: &TaskMint,
    wallet: &Address,
    (amount, asset): (u64, &Asset),
) -> CliResult<u64> {
    let address = mint.account_of(wallet);
    let account = chain.account(&address)?.ok_or_else(|| {
        CliError::usage(format!(
            "{wallet} has no token account for mint {} (its associated token account {address} does not exist), so it holds none to deposit",
            mint.mint
        ))
    })?;
    let read = read_token_account(&mint.token_program, &account.data)
        .filter(|read| read.mint == mint.mint.to_bytes() && account.owner == mint.token_program)
        .ok_or_else(|| CliError::usage(format!("{address} is not a token account of mint {}", mint.mint)))?;
    if read.frozen {
        return Err(CliError::usage(format!("{wallet}'s token account {address} is frozen")));
    }
    if read.amount < amount {
        return Err(CliError::usage(format!(
            "{wallet}'s token account {address} holds {}, less than the {} to deposit",
            asset.display(read.amount),
            asset.format(amount)
        )));
    }
    Ok(read.amount)
}

/// The cluster's epoch, from the clock sysvar; `None` if it cannot be decoded.
pub fn current_epoch(chain: &dyn Chain) -> CliResult<Option<u64>> {
    let clock = chain.account(&CLOCK_SYSVAR_ID)?;
    // Clock: slot, epoch_start_timestamp, epoch, ... (u64 each).
    Ok(clock.and_then(|clock| Some(u64::from_le_bytes(*clock.data.get(16..)?.first_chunk::<8>()?))))
}

/// The fee the mint withholds from a transfer of `amount` now (0 without a
/// fee; at the higher setting if the epoch is unknown).
pub fn transfer_fee(info: &MintInfo, amount: u64, epoch: Option<u64>) -> u64 {
    let Some(config) = info.transfer_fee else { return 0 };
    let fee_at = |setting: &gradual_interface::token::TransferFee| setting.fee(amount).unwrap_or(0);
    match epoch {
        Some(epoch) => fee_at(config.at(epoch)),
        None => fee_at(&config.older).max(fee_at(&config.newer)),
    }
}

/// Token-2022's `HarvestWithheldTokensToMint`: moves the fees withheld in
/// `accounts` to the mint, which anyone may do. A vault holding withheld
/// fees cannot be closed.
pub fn harvest_withheld(mint: &Address, accounts: &[Address]) -> Instruction {
    let mut metas = vec![AccountMeta::new(*mint, false)];
    metas.extend(accounts.iter().map(|account| AccountMeta::new(*account, false)));
    Instruction {
        program_id: TOKEN_2022_PROGRAM_ID,
        accounts: metas,
        data: vec![TRANSFER_FEE_EXTENSION, HARVEST_WITHHELD_TOKENS_TO_MINT],
    }
}

/// The token account balance at `address`, `None` if there is none.
pub fn token_balance(chain: &dyn Chain, program: &Address, address: &Address) -> CliResult<Option<u64>> {
    Ok(chain
        .account(address)?
        .and_then(|account| read_token_account(program, &account.data))
        .map(|read| read.amount))
}

/// Adds a token task's mint, vault and amounts in the mint's units to its view.
pub fn add_task_fields(chain: &dyn Chain, view: &mut serde_json::Value, task: &Task) -> CliResult {
    let Some(mint) = TaskMint::of(task) else { return Ok(()) };
    let state = read_mint_state(chain, &mint.mint)?;
    let balance = token_balance(chain, &mint.token_program, &Address::new_from_array(task.vault))?;
    views::add_token_fields(view, task, state, balance);
    Ok(())
}

/// What the authorities of a token task's mint can do, one line each; none for a lamport task.
pub fn task_mint_warnings(chain: &dyn Chain, task: &Task) -> CliResult<Vec<String>> {
    let Some(mint) = TaskMint::of(task) else { return Ok(Vec::new()) };
    let asset = Asset::of_bounty(task);
    Ok(match read_mint_state(chain, &mint.mint)? {
        None => vec!["the mint account is gone: no token of it can move".into()],
        Some((_, Err(refusal))) => {
            vec![format!("the mint would now be refused: {}", crate::mints::mint_refusal(refusal))]
        }
        Some((_, Ok(info))) => crate::mints::mint_warnings(&info, &asset),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harvest_is_token_2022s_instruction_26_4_over_the_mint_then_the_accounts() {
        let [mint, vault] = [1u8, 2].map(|n| Address::new_from_array([n; 32]));
        let harvest = harvest_withheld(&mint, &[vault]);
        assert_eq!(harvest.program_id, TOKEN_2022_PROGRAM_ID);
        assert_eq!(harvest.data, vec![26, 4]);
        assert_eq!(harvest.accounts, vec![AccountMeta::new(mint, false), AccountMeta::new(vault, false)]);
    }
}
