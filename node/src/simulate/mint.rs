//! `simulate --mint`: a mint made with the token program's own instructions
//! on whatever chain the simulation runs on, its tokens minted to the
//! creator and the operators, and the check that every token minted is
//! still somewhere at the end.

use gradual_interface::{
    builders::TaskMint,
    token::{TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID},
    Address,
};
use serde::Serialize;
use solana_keypair::Keypair;
use solana_program_pack::Pack;
use solana_signer::Signer;
use spl_token_2022_interface::{
    extension::{
        transfer_fee::{self, TransferFeeAmount, TransferFeeConfig},
        BaseStateWithExtensions, ExtensionType, StateWithExtensions,
    },
    instruction as token_instruction,
    state::{Account as TokenAccount, Mint},
};

use crate::chain::Chain;

/// The mint's decimals: the token amounts are the lamport amounts the
/// simulation uses, read as base units of a 9-decimal token.
pub const DECIMALS: u8 = 9;

/// Which token program, and a transfer fee in basis points (Token-2022 only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MintChoice {
    pub token_2022: bool,
    pub transfer_fee_bps: u16,
}

impl MintChoice {
    pub fn program(&self) -> Address {
        if self.token_2022 {
            TOKEN_2022_PROGRAM_ID
        } else {
            TOKEN_PROGRAM_ID
        }
    }
}

/// Creates the mint (`mint` signs its account into being), `authority`
/// minting and paying.
pub fn create(
    chain: &mut dyn Chain,
    authority: &Keypair,
    mint: &Keypair,
    choice: MintChoice,
) -> Result<TaskMint, String> {
    let program = choice.program();
    let with_fee = choice.transfer_fee_bps > 0;
    if with_fee && !choice.token_2022 {
        return Err("--transfer-fee-bps needs --mint token-2022".into());
    }
    if choice.transfer_fee_bps > 10_000 {
        return Err("--transfer-fee-bps is at most 10000".into());
    }
    let extensions: &[ExtensionType] = if with_fee { &[ExtensionType::TransferFeeConfig] } else { &[] };
    let space = if choice.token_2022 {
        ExtensionType::try_calculate_account_len::<Mint>(extensions).map_err(|error| error.to_string())?
    } else {
        Mint::LEN
    };
    let lamports = chain.rent_exempt_minimum(space).map_err(|error| error.to_string())?;
    let space_u64 = u64::try_from(space).map_err(|error| error.to_string())?;
    let owner = authority.pubkey();
    let mut instructions = vec![solana_system_interface::instruction::create_account(
        &owner,
        &mint.pubkey(),
        lamports,
        space_u64,
        &program,
    )];
    if with_fee {
        instructions.push(
            transfer_fee::instruction::initialize_transfer_fee_config(
                &program,
                &mint.pubkey(),
                Some(&owner),
                Some(&owner),
                choice.transfer_fee_bps,
                u64::MAX,
            )
            .map_err(|error| error.to_string())?,
        );
    }
    instructions.push(
        token_instruction::initialize_mint2(&program, &mint.pubkey(), &owner, Some(&owner), DECIMALS)
            .map_err(|error| error.to_string())?,
    );
    chain.send(&instructions, authority, &[authority, mint]).map_err(|refused| refused.message)?;
    Ok(TaskMint { mint: mint.pubkey(), token_program: program })
}

/// Mints `amount` into `wallet`'s associated token account, creating it.
pub fn mint_to(
    chain: &mut dyn Chain,
    authority: &Keypair,
    mint: &TaskMint,
    wallet: &Address,
    amount: u64,
) -> Result<(), String> {
    let account = mint.account_of(wallet);
    let create = mint.create_account_of(&authority.pubkey(), wallet);
    let mint_to = token_instruction::mint_to(
        &mint.token_program,
        &mint.mint,
        &account,
        &authority.pubkey(),
        &[],
        amount,
    )
    .map_err(|error| error.to_string())?;
    chain.send(&[create, mint_to], authority, &[authority]).map(|_| ()).map_err(|refused| refused.message)
}

/// Where the tokens are at the end, against what was minted.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TokenConservation {
    pub mint: String,
    pub program: String,
    pub transfer_fee_bps: u16,
    pub minted: u128,
    /// In the wallets' token accounts and the task's vault.
    pub held: u128,
    /// Transfer fees withheld in those accounts or harvested to the mint.
    pub withheld: u128,
    /// The vault's balance, and what the task says it holds: the pool, the
    /// lists' reserves and the stake in the mint.
    pub vault: u64,
    pub vault_tracked: u64,
    pub holds: bool,
}

/// Every token minted is held or withheld, and the vault holds what the task tracks.
pub fn conservation(
    chain: &dyn Chain,
    mint: &TaskMint,
    (choice, minted): (MintChoice, u128),
    (wallets, task, vault_tracked): (&[Address], &Address, u64),
) -> Result<TokenConservation, String> {
    let read = |address: &Address| chain.account(address).map_err(|error| error.to_string());
    let mut report = TokenConservation {
        mint: mint.mint.to_string(),
        program: mint.token_program.to_string(),
        transfer_fee_bps: choice.transfer_fee_bps,
        minted,
        vault_tracked,
        ..TokenConservation::default()
    };
    if let Some(account) = read(&mint.mint)? {
        let state = StateWithExtensions::<Mint>::unpack(&account.data).map_err(|error| error.to_string())?;
        if let Ok(config) = state.get_extension::<TransferFeeConfig>() {
            report.withheld = u128::from(u64::from(config.withheld_amount));
        }
    }
    let vault = mint.vault(task);
    let accounts = wallets.iter().map(|wallet| mint.account_of(wallet)).chain([vault]);
    for address in accounts {
        let Some(account) = read(&address)? else { continue };
        let state =
            StateWithExtensions::<TokenAccount>::unpack(&account.data).map_err(|error| error.to_string())?;
        report.held = report.held.saturating_add(u128::from(state.base.amount));
        if let Ok(fees) = state.get_extension::<TransferFeeAmount>() {
            report.withheld = report.withheld.saturating_add(u128::from(u64::from(fees.withheld_amount)));
        }
        if address == vault {
            report.vault = state.base.amount;
        }
    }
    report.holds =
        report.held.saturating_add(report.withheld) == minted && report.vault == report.vault_tracked;
    Ok(report)
}

/// A simulation's mint: made at the start, minted to each wallet that
/// deposits, checked at the end.
pub struct TokenRun {
    pub choice: MintChoice,
    pub mint: TaskMint,
    minted: u128,
    wallets: Vec<Address>,
}

impl TokenRun {
    /// Makes the mint, `authority` (the task's creator) holding its powers.
    pub fn start(
        chain: &mut dyn Chain,
        authority: &Keypair,
        choice: MintChoice,
        seed: u64,
    ) -> Result<Self, String> {
        let mint_keypair = super::keypair(seed, u64::MAX.saturating_sub(1));
        let mint = create(chain, authority, &mint_keypair, choice)?;
        Ok(Self { choice, mint, minted: 0, wallets: Vec::new() })
    }

    /// Mints `amount` to `wallet`, which will deposit it.
    pub fn give(
        &mut self,
        chain: &mut dyn Chain,
        authority: &Keypair,
        wallet: &Address,
        amount: u64,
    ) -> Result<(), String> {
        mint_to(chain, authority, &self.mint, wallet, amount)?;
        self.minted = self.minted.saturating_add(u128::from(amount));
        if !self.wallets.contains(wallet) {
            self.wallets.push(*wallet);
        }
        Ok(())
    }

    /// Where every token minted went, once the run is over.
    pub fn finish(&self, chain: &dyn Chain, task: &Address) -> Result<TokenConservation, String> {
        let tracked = vault_tracked(chain, task)?;
        conservation(chain, &self.mint, (self.choice, self.minted), (&self.wallets, task, tracked))
    }
}

/// What `task` says its vault holds: its pool, its token lists' reserves
/// and its nodes' stake when they stake the mint.
fn vault_tracked(chain: &dyn Chain, task_address: &Address) -> Result<u64, String> {
    use gradual_interface::state::{Account, Distribution, Task};
    let task = chain
        .account(task_address)
        .map_err(|error| error.to_string())?
        .and_then(|account| Task::read(&account.data))
        .ok_or("the task is gone")?;
    let mut tracked = task.bounty_pool;
    if task.stakes_in_tokens() {
        tracked = tracked.saturating_add(task.total_stake);
    }
    for (_, account) in chain.task_accounts(task_address).map_err(|error| error.to_string())? {
        if let Some(list) = Distribution::read(&account.data).filter(|list| list.reserve_in_tokens != 0) {
            tracked = tracked.saturating_add(list.reserved);
        }
    }
    Ok(tracked)
}
