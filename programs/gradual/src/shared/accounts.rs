use gradual_interface::{
    error::GradualError,
    state::{Account, Audit, Distribution, Node, Task},
    ID, SYSTEM_PROGRAM_ID,
};
use pinocchio::{
    account::{Ref, RefMut},
    error::ProgramError,
    AccountView,
};

/// Takes exactly `N` accounts: fewer is `NotEnoughAccountKeys`, more is `TooManyAccounts`.
#[inline(always)]
pub fn exact<const N: usize>(accounts: &[AccountView]) -> Result<&[AccountView; N], ProgramError> {
    if accounts.len() < N {
        return Err(ProgramError::NotEnoughAccountKeys);
    }
    accounts.try_into().map_err(|_| GradualError::TooManyAccounts.into())
}

/// Exactly `N` accounts, or `N + M`: a token task's `M` more. Fewer, or a
/// count in between, is `NotEnoughAccountKeys`; more is `TooManyAccounts`.
#[inline(always)]
pub fn with_tokens<const N: usize, const M: usize>(
    accounts: &[AccountView],
) -> Result<(&[AccountView; N], Option<&[AccountView; M]>), ProgramError> {
    let (base, extra) = accounts.split_at_checked(N).ok_or(ProgramError::NotEnoughAccountKeys)?;
    let base = base.try_into().map_err(|_| ProgramError::NotEnoughAccountKeys)?;
    match extra.len() {
        0 => Ok((base, None)),
        len if len < M => Err(ProgramError::NotEnoughAccountKeys),
        len if len > M => Err(GradualError::TooManyAccounts.into()),
        _ => Ok((base, Some(extra.try_into().map_err(|_| ProgramError::NotEnoughAccountKeys)?))),
    }
}

/// The token accounts a task needs: present exactly when it pays in tokens.
#[inline(always)]
pub fn tokens_if<T>(in_tokens: bool, extra: Option<T>) -> Result<Option<T>, ProgramError> {
    match (in_tokens, extra) {
        (true, None) => Err(ProgramError::NotEnoughAccountKeys),
        (false, Some(_)) => Err(GradualError::TooManyAccounts.into()),
        (_, extra) => Ok(extra),
    }
}

#[inline(always)]
pub fn signer(account: &AccountView) -> Result<(), ProgramError> {
    if account.is_signer() {
        Ok(())
    } else {
        Err(ProgramError::MissingRequiredSignature)
    }
}

#[inline(always)]
pub fn writable(account: &AccountView) -> Result<(), ProgramError> {
    if account.is_writable() {
        Ok(())
    } else {
        Err(ProgramError::Immutable)
    }
}

#[inline(always)]
pub fn system_program(account: &AccountView) -> Result<(), ProgramError> {
    if *account.address() == SYSTEM_PROGRAM_ID {
        Ok(())
    } else {
        Err(GradualError::InvalidSystemProgram.into())
    }
}

#[inline(always)]
fn load<T: Account>(account: &AccountView, error: GradualError) -> Result<Ref<'_, T>, ProgramError> {
    if !account.owned_by(&ID) {
        return Err(error.into());
    }
    Ref::try_map(account.try_borrow()?, |data| T::load(data).ok_or(error)).map_err(|(_, e)| e.into())
}

#[inline(always)]
fn load_mut<T: Account>(account: &AccountView, error: GradualError) -> Result<RefMut<'_, T>, ProgramError> {
    if !account.owned_by(&ID) {
        return Err(error.into());
    }
    RefMut::try_map(account.try_borrow_mut()?, |data| T::load_mut(data).ok_or(error))
        .map_err(|(_, e)| e.into())
}

/// A just-created, zeroed account viewed as `T` (no header to check yet).
pub fn fresh_mut<T: Account>(account: &AccountView) -> Result<RefMut<'_, T>, ProgramError> {
    RefMut::try_map(account.try_borrow_mut()?, |data| {
        bytemuck::try_from_bytes_mut::<T>(data).map_err(|_| ProgramError::InvalidAccountData)
    })
    .map_err(|(_, e)| e)
}

pub fn task(account: &AccountView) -> Result<Ref<'_, Task>, ProgramError> {
    load(account, GradualError::InvalidTaskAccount)
}

pub fn task_mut(account: &AccountView) -> Result<RefMut<'_, Task>, ProgramError> {
    writable(account)?;
    load_mut(account, GradualError::InvalidTaskAccount)
}

pub fn audit_mut(account: &AccountView) -> Result<RefMut<'_, Audit>, ProgramError> {
    writable(account)?;
    load_mut(account, GradualError::InvalidAuditAccount)
}

pub fn distribution_mut(account: &AccountView) -> Result<RefMut<'_, Distribution>, ProgramError> {
    writable(account)?;
    load_mut(account, GradualError::InvalidDistributionAccount)
}

pub fn node(account: &AccountView) -> Result<Ref<'_, Node>, ProgramError> {
    load(account, GradualError::InvalidNodeAccount)
}

pub fn node_mut(account: &AccountView) -> Result<RefMut<'_, Node>, ProgramError> {
    writable(account)?;
    load_mut(account, GradualError::InvalidNodeAccount)
}

/// The task, writable, when `manager` signs as its manager.
pub fn task_as_manager<'a>(
    manager: &AccountView,
    task_account: &'a AccountView,
) -> Result<RefMut<'a, Task>, ProgramError> {
    signer(manager)?;
    let task = task_mut(task_account)?;
    if task.manager != *manager.address().as_array() {
        return Err(GradualError::ManagerMismatch.into());
    }
    Ok(task)
}

/// The node, writable, and its task, read-only, when `operator` signs as the
/// node's operator and the node belongs to the task.
pub fn node_as_operator<'a>(
    operator: &AccountView,
    node_account: &'a AccountView,
    task_account: &'a AccountView,
) -> Result<(RefMut<'a, Node>, Ref<'a, Task>), ProgramError> {
    signer(operator)?;
    let node = node_mut(node_account)?;
    let task = task(task_account)?;
    node_of(&node, task_account, operator)?;
    Ok((node, task))
}

/// The node must belong to `task` and be operated by `operator`.
#[inline(always)]
pub fn node_of(node: &Node, task: &AccountView, operator: &AccountView) -> Result<(), ProgramError> {
    if node.task != *task.address().as_array() {
        return Err(GradualError::NodeTaskMismatch.into());
    }
    if node.operator != *operator.address().as_array() {
        return Err(GradualError::OperatorMismatch.into());
    }
    Ok(())
}

pub use super::sysvars::current_slot;
