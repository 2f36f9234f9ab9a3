use bytemuck::{Pod, Zeroable};

use super::{
    checkpoint_for_round,
    node::{set_total_from, total_for_round},
    params_for_round, Account, AccountKind, ParamsCheckpoint, RoundParams, StakeCheckpoint, PARAMS_HISTORY,
    STAKE_HISTORY,
};
use crate::{error::GradualError, round::Timeline};

pub const MAX_NAME_LEN: usize = 32;
pub const MAX_DESCRIPTION_LEN: usize = 192;
pub const MAX_EXECUTABLE_LOCATOR_LEN: usize = 128;
/// Upper bound on `allowed_failed_distributions`.
/// At most 5, so that attempt 5 (round `r + 8`) still finds round `r`'s
/// proofs in the nodes' eight-round submission rings.
pub const MAX_FAILED_DISTRIBUTIONS: u8 = 5;
/// Whose stake a removal takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StakeRemoval {
    /// A node that is not exiting (a slash): its stake counts until now.
    FromCountedNode,
    /// An exiting node that stays open.
    FromExitingNode,
    /// An exiting node that closes with it.
    Closed,
}

/// `Task::next_executable_from_round` when no package is scheduled.
pub const NO_SCHEDULED_PACKAGE: u64 = u64::MAX;
/// Rounds a scheduled package must have been in effect before another can
/// replace the one before it: round `r`'s package is needed until its last
/// distribution attempt, in round `r + 2 + MAX_FAILED_DISTRIBUTIONS + 1`.
pub const PACKAGE_SETTLE_ROUNDS: u64 = 9;
/// Shortest unstake cooldown: a node's last active round `r` is revealed
/// and audited in round `r + 2` and its distribution is decided in round `r + 3`.
pub const MIN_UNSTAKE_COOLDOWN_ROUNDS: u64 = 3;

/// A task: its configuration and its bounty escrow.
///
/// PDA seeds: `["task", creator, task_id (u64 LE)]`.
///
/// The account's lamports are its rent-exempt minimum plus `bounty_pool`,
/// or for a token task plus `forfeited_lamports`: its bounty is in `vault`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaAccount))]
pub struct Task {
    pub discriminator: u8,
    pub version: u8,
    pub bump: u8,
    /// 1 while the task takes stake and submissions, 0 while paused.
    pub is_active: u8,
    pub allowed_failed_distributions: u8,
    pub name_len: u8,
    pub description_len: u8,
    pub executable_locator_len: u8,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub creator: [u8; 32],
    /// May update parameters and pause or resume the task.
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub manager: [u8; 32],
    pub task_id: u64,
    pub start_slot: u64,
    pub round_length: u64,
    pub unstake_cooldown_rounds: u64,
    /// Bounty not yet allocated to any round: lamports, or the mint's base units.
    pub bounty_pool: u64,
    /// Bounty ever deposited (creation and funding), as it arrived.
    pub total_funded: u64,
    /// Open node accounts.
    pub node_count: u64,
    /// Stake held by all of its nodes, exiting or not.
    pub total_stake: u64,
    /// The stake that counts in each round: the newest total is the stake of
    /// every node not exiting (see [`Task::counted_stake_for`]).
    pub counted_stake: [StakeCheckpoint; STAKE_HISTORY],
    /// Fewest committee seats for an audit to be upheld.
    pub min_audit_seats: u16,
    /// Seats on each audit's committee (see `selection::committee_seats`).
    pub audit_committee_seats: u16,
    /// Distribution accounts not yet expired; the task cannot close while any remain.
    pub open_distributions: u32,
    /// Rounds that have a distribution account: one per round, whatever its bump.
    pub distributed_rounds: super::RoundSet,
    pub params_history: [ParamsCheckpoint; PARAMS_HISTORY],
    /// sha256 of the task executable; nodes refuse to run anything else.
    pub executable_sha256: [u8; 32],
    pub name: [u8; MAX_NAME_LEN],
    pub description: [u8; MAX_DESCRIPTION_LEN],
    /// URL or content id of the task executable.
    pub executable_locator: [u8; MAX_EXECUTABLE_LOCATOR_LEN],
    /// The package `UpdateTaskPackage` scheduled: rounds from this one on
    /// run it ([`NO_SCHEDULED_PACKAGE`]: none).
    pub next_executable_from_round: u64,
    pub next_executable_sha256: [u8; 32],
    pub next_executable_locator_len: u8,
    pub _next_padding: [u8; 7],
    pub next_executable_locator: [u8; MAX_EXECUTABLE_LOCATOR_LEN],
    /// The mint the bounty is paid in; all zero for lamports.
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub mint: [u8; 32],
    /// SPL Token or Token-2022, the mint's owner; all zero for lamports.
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub token_program: [u8; 32],
    /// The escrow: the task's associated token account for `mint`. It holds
    /// `bounty_pool`, the reserves of the task's lists and, unless
    /// `stake_in_lamports`, every node's stake.
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub vault: [u8; 32],
    /// A token task's lamports that went "to the pool": forfeited bonds and,
    /// with SOL stake, slashes. They go to the creator when the task closes.
    pub forfeited_lamports: u64,
    pub decimals: u8,
    /// 1 when a token task's nodes stake SOL rather than the mint.
    pub stake_in_lamports: u8,
    pub _token_padding: [u8; 6],
}

const _: () = assert!(core::mem::size_of::<Task>() == 1800);
const _: () = assert!(core::mem::align_of::<Task>() == 8);

impl Account for Task {
    const KIND: AccountKind = AccountKind::Task;
}

impl Task {
    pub fn timeline(&self) -> Timeline {
        Timeline { start_slot: self.start_slot, round_length: self.round_length }
    }

    pub fn is_active(&self) -> bool {
        self.is_active != 0
    }

    /// The bounty is in `mint`, not lamports.
    pub fn pays_in_tokens(&self) -> bool {
        self.mint != [0; 32]
    }

    /// Nodes stake `mint`, not lamports.
    pub fn stakes_in_tokens(&self) -> bool {
        self.pays_in_tokens() && self.stake_in_lamports == 0
    }

    /// Adds lamports that go "to the pool": the bounty of a lamport task, the
    /// forfeits of a token task.
    pub fn add_pool_lamports(&mut self, lamports: u64) -> Result<(), GradualError> {
        let pool = if self.pays_in_tokens() { &mut self.forfeited_lamports } else { &mut self.bounty_pool };
        *pool = pool.checked_add(lamports).ok_or(GradualError::ArithmeticOverflow)?;
        Ok(())
    }

    /// Adds stake slashed "to the pool": to the bounty when stake and bounty
    /// are one asset, else to the forfeits (SOL stake of a token task).
    pub fn add_slashed_to_pool(&mut self, stake: u64) -> Result<(), GradualError> {
        if self.stakes_in_tokens() {
            self.bounty_pool = self.bounty_pool.checked_add(stake).ok_or(GradualError::ArithmeticOverflow)?;
            Ok(())
        } else {
            self.add_pool_lamports(stake)
        }
    }

    /// The parameters governing `round`.
    pub fn params_for(&self, round: u64) -> Result<&RoundParams, GradualError> {
        params_for_round(&self.params_history, round)
    }

    /// The checkpoint whose parameters govern `round`.
    pub fn checkpoint_for(&self, round: u64) -> Result<&ParamsCheckpoint, GradualError> {
        checkpoint_for_round(&self.params_history, round)
    }

    /// The stake that counts in `round`, as it stood when the round began:
    /// the sum of the stake of every node whose stake counts in that round,
    /// less later slashes. Audit committees and proposer turns share it out.
    pub fn counted_stake_for(&self, round: u64) -> u64 {
        total_for_round(&self.counted_stake, round)
    }

    fn change_counted_stake(&mut self, slot: u64, added: u64, removed: u64) -> Result<(), GradualError> {
        let total = self.counted_stake[STAKE_HISTORY - 1]
            .total
            .checked_add(added)
            .and_then(|total| total.checked_sub(removed))
            .ok_or(GradualError::ArithmeticOverflow)?;
        let from_round = self.timeline().next_round_at(slot);
        set_total_from(&mut self.counted_stake, from_round, total);
        Ok(())
    }

    /// Counts `stake` added at `slot` to a node that is not exiting, a new one if `new_node`.
    pub fn count_stake_added(&mut self, slot: u64, stake: u64, new_node: bool) -> Result<(), GradualError> {
        self.node_count =
            self.node_count.checked_add(u64::from(new_node)).ok_or(GradualError::ArithmeticOverflow)?;
        self.total_stake = self.total_stake.checked_add(stake).ok_or(GradualError::ArithmeticOverflow)?;
        self.change_counted_stake(slot, stake, 0)
    }

    /// A node's `stake` stops counting from the next round: it asked to unstake.
    pub fn count_stake_exiting(&mut self, slot: u64, stake: u64) -> Result<(), GradualError> {
        self.change_counted_stake(slot, 0, stake)
    }

    /// Counts `stake` removed at `slot` (withdrawn or slashed), closing a node
    /// if `node_closed`. Stake of a node that is not exiting (a slash) also
    /// stops counting from the next round.
    pub fn count_stake_removed(
        &mut self,
        slot: u64,
        stake: u64,
        removal: StakeRemoval,
    ) -> Result<(), GradualError> {
        let node_closed = removal == StakeRemoval::Closed;
        self.node_count =
            self.node_count.checked_sub(u64::from(node_closed)).ok_or(GradualError::ArithmeticOverflow)?;
        self.total_stake = self.total_stake.checked_sub(stake).ok_or(GradualError::ArithmeticOverflow)?;
        if removal == StakeRemoval::FromCountedNode {
            self.change_counted_stake(slot, 0, stake)?;
        }
        Ok(())
    }

    pub fn name(&self) -> &[u8] {
        super::text(&self.name, self.name_len)
    }

    pub fn description(&self) -> &[u8] {
        self.description.get(..usize::from(self.description_len)).unwrap_or(&self.description)
    }

    pub fn executable_locator(&self) -> &[u8] {
        super::text(&self.executable_locator, self.executable_locator_len)
    }

    pub fn next_executable_locator(&self) -> &[u8] {
        super::text(&self.next_executable_locator, self.next_executable_locator_len)
    }

    /// The sha256 and locator of the package that runs `round`.
    pub fn executable_for(&self, round: u64) -> ([u8; 32], &[u8]) {
        if round >= self.next_executable_from_round {
            (self.next_executable_sha256, self.next_executable_locator())
        } else {
            (self.executable_sha256, self.executable_locator())
        }
    }

    /// Schedules a package from round `from_round` (the next round at the
    /// time). One scheduled before and not yet in effect is replaced; one in
    /// effect becomes the task's package first, once it has been for
    /// [`PACKAGE_SETTLE_ROUNDS`], so that every round still open keeps its own.
    pub fn schedule_package(
        &mut self,
        from_round: u64,
        sha256: [u8; 32],
        locator: &[u8],
    ) -> Result<(), GradualError> {
        if locator.is_empty() || locator.len() > MAX_EXECUTABLE_LOCATOR_LEN {
            return Err(GradualError::InvalidExecutableLocator);
        }
        let scheduled = self.next_executable_from_round;
        if scheduled != NO_SCHEDULED_PACKAGE && scheduled < from_round {
            let settled =
                scheduled.checked_add(PACKAGE_SETTLE_ROUNDS).ok_or(GradualError::ArithmeticOverflow)?;
            if from_round <= settled {
                return Err(GradualError::PackageChangePending);
            }
            self.executable_sha256 = self.next_executable_sha256;
            self.executable_locator = self.next_executable_locator;
            self.executable_locator_len = self.next_executable_locator_len;
        }
        let mut text = [0; MAX_EXECUTABLE_LOCATOR_LEN];
        text.get_mut(..locator.len()).ok_or(GradualError::InvalidExecutableLocator)?.copy_from_slice(locator);
        self.next_executable_locator_len =
            u8::try_from(locator.len()).map_err(|_| GradualError::InvalidExecutableLocator)?;
        self.next_executable_locator = text;
        self.next_executable_from_round = from_round;
        self.next_executable_sha256 = sha256;
        Ok(())
    }
}
