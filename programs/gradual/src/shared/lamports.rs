use gradual_interface::error::GradualError;
use pinocchio::{error::ProgramError, AccountView};
use pinocchio_system::instructions::Transfer;

/// Moves lamports out of a program-owned account into any writable account.
pub fn pay_out(from: &AccountView, to: &AccountView, amount: u64) -> Result<(), ProgramError> {
    let remaining = from.lamports().checked_sub(amount).ok_or(GradualError::ArithmeticOverflow)?;
    let received = to.lamports().checked_add(amount).ok_or(GradualError::ArithmeticOverflow)?;
    from.set_lamports(remaining);
    to.set_lamports(received);
    Ok(())
}

/// Fails with our own error, before any transfer, when `payer` cannot pay
/// `amount`; the system program's own error code would collide with ours.
pub fn ensure_can_pay(payer: &AccountView, amount: u64) -> Result<(), ProgramError> {
    if payer.lamports() < amount {
        return Err(GradualError::InsufficientFunds.into());
    }
    Ok(())
}

/// Moves lamports from a signing system account into a program account.
pub fn pay_in(from: &AccountView, to: &AccountView, amount: u64) -> Result<(), ProgramError> {
    ensure_can_pay(from, amount)?;
    Transfer { from, to, lamports: amount }.invoke()
}

/// Moves every lamport out of a program-owned account and closes it, so it
/// cannot be used again in this transaction or revived later.
pub fn close(account: &AccountView, recipient: &AccountView) -> Result<(), ProgramError> {
    pay_out(account, recipient, account.lamports())?;
    account.close()
}
