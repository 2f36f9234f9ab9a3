//! Zero-copy account layouts. Every account starts with a 1-byte
//! discriminator and a 1-byte version; every struct is `#[repr(C)]`, has
//! explicit padding, and its size is checked at compile time.

mod audit;
mod distribution;
mod node;
mod params;
mod task;

pub use audit::*;
pub use distribution::*;
pub use node::*;
pub use params::*;
pub use task::*;

/// Layout version written into every account created by this program.
pub const ACCOUNT_VERSION: u8 = 1;

/// First byte of every account: what kind of account it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum AccountKind {
    Task = 1,
    Node = 2,
    Audit = 3,
    Distribution = 4,
}

/// A fixed-size account layout with a discriminator and version header.
pub trait Account: bytemuck::Pod {
    const KIND: AccountKind;
    const LEN: usize = core::mem::size_of::<Self>();

    /// Views `data` as this account, if its length, alignment, discriminator
    /// and version all match.
    fn load(data: &[u8]) -> Option<&Self> {
        if data.len() != Self::LEN || data[0] != Self::KIND as u8 || data[1] != ACCOUNT_VERSION {
            return None;
        }
        bytemuck::try_from_bytes(data).ok()
    }

    /// Mutable form of [`Account::load`].
    fn load_mut(data: &mut [u8]) -> Option<&mut Self> {
        if data.len() != Self::LEN || data[0] != Self::KIND as u8 || data[1] != ACCOUNT_VERSION {
            return None;
        }
        bytemuck::try_from_bytes_mut(data).ok()
    }

    /// Copies the account out of `data` whatever its alignment (off-chain reads).
    fn read(data: &[u8]) -> Option<Self> {
        if data.len() != Self::LEN || data[0] != Self::KIND as u8 || data[1] != ACCOUNT_VERSION {
            return None;
        }
        Some(bytemuck::pod_read_unaligned(data))
    }
}

/// The used prefix of a fixed text buffer.
pub fn text<const N: usize>(buffer: &[u8; N], len: u8) -> &[u8] {
    buffer.get(..usize::from(len)).unwrap_or(buffer)
}

/// Lamports a program account holds above its rent-exempt minimum by
/// design (decision 7): a task its bounty pool, a node its stake, an audit
/// its bond, a distribution its proposer's bond, a dispute's bond and its
/// reserve for claims.
/// `None` for data that is none of these.
pub fn tracked_lamports(data: &[u8]) -> Option<u64> {
    if let Some(task) = Task::read(data) {
        Some(if task.pays_in_tokens() { task.forfeited_lamports } else { task.bounty_pool })
    } else if let Some(node) = Node::read(data) {
        Some(if node.stake_in_tokens != 0 { 0 } else { node.total_stake() })
    } else if let Some(audit) = Audit::read(data) {
        Some(audit.bond)
    } else {
        Distribution::read(data).and_then(|list| {
            let reserved = if list.reserve_in_tokens != 0 { 0 } else { list.reserved };
            list.bond.checked_add(reserved)?.checked_add(list.dispute_bond)
        })
    }
}

/// A set of recent rounds: bit `i` of `bits` is round `base + i`. Marking a
/// round beyond the 64-round window slides it forward, forgetting the
/// oldest; every user of it only ever needs far fewer than 64 rounds back.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaType))]
pub struct RoundSet {
    pub base: u64,
    pub bits: u64,
}

/// Why a round could not be marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundMark {
    AlreadyMarked,
    /// Older than the window: treated as unusable.
    TooOld,
}

impl RoundSet {
    pub fn contains(&self, round: u64) -> bool {
        match round.checked_sub(self.base) {
            Some(offset) if offset < 64 => self.bits & (1u64 << offset) != 0,
            _ => false,
        }
    }

    pub fn mark(&mut self, round: u64) -> Result<(), RoundMark> {
        let mut offset = round.checked_sub(self.base).ok_or(RoundMark::TooOld)?;
        if offset >= 64 {
            let shift = offset.saturating_sub(63);
            let kept = u32::try_from(shift).ok().and_then(|shift| self.bits.checked_shr(shift));
            self.bits = kept.unwrap_or(0);
            self.base = self.base.saturating_add(shift);
            offset = 63;
        }
        let bit = 1u64 << offset;
        if self.bits & bit != 0 {
            return Err(RoundMark::AlreadyMarked);
        }
        self.bits |= bit;
        Ok(())
    }
}
