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

/// Copies `bytes` into a fixed buffer, returning its length, or `None` if it
/// does not fit or its length is outside `1..=N`.
pub fn copy_text<const N: usize>(buffer: &mut [u8; N], bytes: &[u8]) -> Option<u8> {
    if bytes.is_empty() || bytes.len() > N {
        return None;
    }
    buffer.fill(0);
    buffer.get_mut(..bytes.len())?.copy_from_slice(bytes);
    u8::try_from(bytes.len()).ok()
}

/// The used prefix of a fixed text buffer.
pub fn text<const N: usize>(buffer: &[u8; N], len: u8) -> &[u8] {
    buffer.get(..usize::from(len)).unwrap_or(buffer)
}
