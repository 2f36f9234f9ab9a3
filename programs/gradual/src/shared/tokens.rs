//! A token task's escrow: the checks and transfers of its mint.
use gradual_interface::{
    error::GradualError,
    pda::TASK_SEED,
    state::Task,
    token::{is_token_program, read_mint, read_token_account, token_amount, ASSOCIATED_TOKEN_PROGRAM_ID},
};
use pinocchio::{
    cpi::{Seed, Signer},
    error::ProgramError,
    AccountView, ProgramResult,
};
use pinocchio_associated_token_account::instructions::CreateIdempotent;
use pinocchio_token_2022::instructions::{CloseAccount, TransferChecked};

/// `[mint, token program, vault, wallet's token account]`, the four accounts
/// a token instruction appends, checked against the task.
pub struct Escrow<'a> {
    pub mint: &'a AccountView,
    pub token_program: &'a AccountView,
    pub vault: &'a AccountView,
    /// The token account of the wallet this instruction charges or pays.
    pub wallet_tokens: &'a AccountView,
    decimals: u8,
    /// The task PDA's seeds, to sign for the vault.
    creator: [u8; 32],
    task_id: [u8; 8],
    bump: [u8; 1],
}

impl<'a> Escrow<'a> {
    /// The escrow of `task`, from the four accounts appended to an instruction.
    pub fn appended(task: &Task, accounts: &'a [AccountView; 4]) -> Result<Self, ProgramError> {
        let [mint, token_program, vault, wallet_tokens] = accounts;
        Self::of(task, [mint, token_program, vault, wallet_tokens])
    }

    pub fn of(
        task: &Task,
        [mint, token_program, vault, wallet_tokens]: [&'a AccountView; 4],
    ) -> Result<Self, ProgramError> {
        if *token_program.address().as_array() != task.token_program {
            return Err(GradualError::InvalidTokenProgram.into());
        }
        if *mint.address().as_array() != task.mint {
            return Err(GradualError::MintMismatch.into());
        }
        if *vault.address().as_array() != task.vault {
            return Err(GradualError::VaultMismatch.into());
        }
        Ok(Self {
            mint,
            token_program,
            vault,
            wallet_tokens,
            decimals: task.decimals,
            creator: task.creator,
            task_id: task.task_id.to_le_bytes(),
            bump: [task.bump],
        })
    }

    fn vault_amount(&self) -> Result<u64, ProgramError> {
        let data = self.vault.try_borrow()?;
        Ok(token_amount(&data).ok_or(GradualError::VaultMismatch)?)
    }

    /// The wallet's token account, which must be of the task's mint and owned by `wallet`.
    fn check_wallet_account(&self, wallet: &[u8; 32]) -> Result<(), ProgramError> {
        let data = self.wallet_tokens.try_borrow()?;
        let matches = self.wallet_tokens.owned_by(self.token_program.address())
            && read_token_account(self.token_program.address(), &data).is_some_and(|account| {
                account.mint == *self.mint.address().as_array() && account.owner == *wallet
            });
        if !matches {
            return Err(GradualError::InvalidTokenAccount.into());
        }
        Ok(())
    }

    /// Moves `amount` from the signing `wallet`'s token account into the vault,
    /// the mint checked again first; returns what arrived (less any transfer fee).
    pub fn deposit(&self, wallet: &AccountView, amount: u64) -> Result<u64, ProgramError> {
        check_mint(self.mint, self.token_program)?;
        self.check_wallet_account(wallet.address().as_array())?;
        let before = self.vault_amount()?;
        TransferChecked {
            from: self.wallet_tokens,
            mint: self.mint,
            to: self.vault,
            authority: wallet,
            amount,
            decimals: self.decimals,
            token_program: self.token_program.address(),
        }
        .invoke()?;
        Ok(self.vault_amount()?.checked_sub(before).ok_or(GradualError::ArithmeticOverflow)?)
    }

    /// Sends `amount` from the vault to `wallet`'s token account, the task
    /// signing; returns what arrived there (less any transfer fee).
    pub fn pay_out(
        &self,
        task_account: &AccountView,
        wallet: &[u8; 32],
        amount: u64,
    ) -> Result<u64, ProgramError> {
        self.check_wallet_account(wallet)?;
        if amount == 0 {
            return Ok(0);
        }
        let before =
            token_amount(&self.wallet_tokens.try_borrow()?).ok_or(GradualError::InvalidTokenAccount)?;
        let transfer = TransferChecked {
            from: self.vault,
            mint: self.mint,
            to: self.wallet_tokens,
            authority: task_account,
            amount,
            decimals: self.decimals,
            token_program: self.token_program.address(),
        };
        self.signed(|signers| transfer.invoke_signed(signers))?;
        let after =
            token_amount(&self.wallet_tokens.try_borrow()?).ok_or(GradualError::InvalidTokenAccount)?;
        Ok(after.checked_sub(before).ok_or(GradualError::ArithmeticOverflow)?)
    }

    /// Pays the vault's whole balance to `wallet`'s token account and closes
    /// the vault, its rent to `rent_to`. Returns (sent, received).
    pub fn empty_and_close(
        &self,
        task_account: &AccountView,
        wallet: &[u8; 32],
        rent_to: &AccountView,
    ) -> Result<(u64, u64), ProgramError> {
        let sent = self.vault_amount()?;
        let received = self.pay_out(task_account, wallet, sent)?;
        let close = CloseAccount {
            account: self.vault,
            destination: rent_to,
            authority: task_account,
            token_program: self.token_program.address(),
        };
        self.signed(|signers| close.invoke_signed(signers))?;
        Ok((sent, received))
    }

    /// Runs `invoke` with the task PDA as signer: the vault's owner.
    fn signed(&self, invoke: impl FnOnce(&[Signer]) -> ProgramResult) -> ProgramResult {
        let seeds = [
            Seed::from(TASK_SEED),
            Seed::from(&self.creator),
            Seed::from(&self.task_id),
            Seed::from(&self.bump),
        ];
        invoke(&[Signer::from(&seeds)])
    }
}

/// The mint, owned by `token_program`, must be one a task may escrow in
/// (`token::read_mint`). Returns its decimals.
pub fn check_mint(mint: &AccountView, token_program: &AccountView) -> Result<u8, ProgramError> {
    let program = token_program.address();
    if !is_token_program(program) {
        return Err(GradualError::InvalidTokenProgram.into());
    }
    if !mint.owned_by(program) {
        return Err(GradualError::InvalidMint.into());
    }
    let data = mint.try_borrow()?;
    let info = read_mint(program, &data).map_err(GradualError::from)?;
    Ok(info.decimals)
}

/// Creates the task's vault, its associated token account, `payer` paying
/// the rent. The mint is checked by the caller.
pub fn create_vault(
    payer: &AccountView,
    task_account: &AccountView,
    [mint, token_program, vault]: [&AccountView; 3],
    [system_program, associated_token_program]: [&AccountView; 2],
) -> Result<(), ProgramError> {
    if *associated_token_program.address() != ASSOCIATED_TOKEN_PROGRAM_ID {
        return Err(GradualError::InvalidAssociatedTokenProgram.into());
    }
    CreateIdempotent {
        funding_account: payer,
        account: vault,
        wallet: task_account,
        mint,
        system_program,
        token_program,
    }
    .invoke()
}
