use gradual_interface::{error::GradualError, ID, SYSTEM_PROGRAM_ID};
use pinocchio::{cpi::Signer, error::ProgramError, AccountView};
use pinocchio_system::instructions::{Allocate, Assign, CreateAccount};

/// Creates `account` as a program-owned PDA of `space` bytes holding its
/// rent-exempt minimum plus `deposit`, all paid by `payer`. Returns the
/// rent-exempt minimum.
///
/// Lamports someone sent to the address beforehand are kept: the caller
/// counts everything above rent as deposited, so nothing is stranded.
#[inline(always)]
pub fn create_program_account(
    payer: &AccountView,
    account: &AccountView,
    space: usize,
    deposit: u64,
    signer: Signer,
) -> Result<u64, ProgramError> {
    if !account.owned_by(&SYSTEM_PROGRAM_ID) || !account.is_data_empty() {
        return Err(GradualError::AccountAlreadyInUse.into());
    }
    if super::curve::is_on_curve(account.address()) {
        return Err(GradualError::BumpOnCurve.into());
    }
    let rent = super::sysvars::rent_exempt_minimum(space)?;
    let space_u64 = u64::try_from(space).map_err(|_| GradualError::ArithmeticOverflow)?;
    let existing = account.lamports();
    if existing == 0 {
        let lamports = rent.checked_add(deposit).ok_or(GradualError::ArithmeticOverflow)?;
        super::lamports::ensure_can_pay(payer, lamports)?;
        CreateAccount { from: payer, to: account, lamports, space: space_u64, owner: &ID }
            .invoke_signed(&[signer])?;
    } else {
        let shortfall = rent.saturating_sub(existing);
        let lamports = shortfall.checked_add(deposit).ok_or(GradualError::ArithmeticOverflow)?;
        if lamports > 0 {
            super::lamports::pay_in(payer, account, lamports)?;
        }
        Allocate { account, space: space_u64 }.invoke_signed(core::slice::from_ref(&signer))?;
        Assign { account, owner: &ID }.invoke_signed(&[signer])?;
    }
    Ok(rent)
}
