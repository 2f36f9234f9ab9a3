//! SPL Token and Token-2022 mints, read as token tasks will need them: which
//! mints a task may escrow, and transfer fees computed exactly. Hand-written
//! rather than taken from `spl-token-2022-interface` because the program
//! needs it `no_std`, without an allocator and without 128-bit arithmetic
//! (`docs/build.md`); the tests check it against that crate.

use crate::Address;

pub const TOKEN_PROGRAM_ID: Address = Address::from_str_const("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
pub const TOKEN_2022_PROGRAM_ID: Address =
    Address::from_str_const("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
pub const ASSOCIATED_TOKEN_PROGRAM_ID: Address =
    Address::from_str_const("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");

/// Either token program: the ones a task may escrow in.
pub fn is_token_program(program: &Address) -> bool {
    *program == TOKEN_PROGRAM_ID || *program == TOKEN_2022_PROGRAM_ID
}

/// A mint without extensions; a token account without extensions.
pub const MINT_LEN: usize = 82;
pub const ACCOUNT_LEN: usize = 165;
/// Token-2022 writes the account type here when a mint or account has extensions.
const ACCOUNT_TYPE_AT: usize = ACCOUNT_LEN;
const ACCOUNT_TYPE_MINT: u8 = 1;

/// Basis points in a whole.
const ONE_IN_BPS: u64 = 10_000;

/// Why a mint cannot back a task's escrow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MintRefusal {
    /// Not an initialised mint of the SPL Token or Token-2022 program.
    NotAMint,
    /// Its extensions do not parse.
    Malformed,
    /// A permanent delegate could move the escrow's tokens.
    PermanentDelegate,
    /// A transfer hook runs a program of the mint's choosing on every transfer, which can fail them all.
    TransferHook,
    /// Its tokens cannot be transferred.
    NonTransferable,
    /// New token accounts, the escrow among them, start frozen.
    DefaultFrozen,
    /// An extension this code does not know: it might be any of the above.
    UnknownExtension(u16),
}

impl From<MintRefusal> for crate::error::GradualError {
    fn from(refusal: MintRefusal) -> Self {
        use crate::error::GradualError;
        match refusal {
            MintRefusal::NotAMint => GradualError::InvalidMint,
            MintRefusal::Malformed => GradualError::MalformedMint,
            MintRefusal::PermanentDelegate => GradualError::MintHasPermanentDelegate,
            MintRefusal::TransferHook => GradualError::MintHasTransferHook,
            MintRefusal::NonTransferable => GradualError::MintNonTransferable,
            MintRefusal::DefaultFrozen => GradualError::MintDefaultFrozen,
            MintRefusal::UnknownExtension(_) => GradualError::MintUnknownExtension,
        }
    }
}

/// The fields of a token account a task reads: its mint, its owner, its
/// balance and whether it is frozen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenAccount {
    pub mint: [u8; 32],
    pub owner: [u8; 32],
    pub amount: u64,
    pub frozen: bool,
}

const ACCOUNT_TYPE_ACCOUNT: u8 = 2;
const STATE_INITIALIZED: u8 = 1;
const STATE_FROZEN: u8 = 2;

/// Reads an initialised token account of either program (`program` owns it),
/// or `None`: a mint, a multisig, an uninitialised or a malformed account.
pub fn read_token_account(program: &Address, data: &[u8]) -> Option<TokenAccount> {
    let extended = data.len() > ACCOUNT_LEN
        && *program == TOKEN_2022_PROGRAM_ID
        && data.get(ACCOUNT_TYPE_AT) == Some(&ACCOUNT_TYPE_ACCOUNT);
    if !is_token_program(program) || !(data.len() == ACCOUNT_LEN || extended) {
        return None;
    }
    let state = *data.get(108)?;
    if state != STATE_INITIALIZED && state != STATE_FROZEN {
        return None;
    }
    Some(TokenAccount {
        mint: *data.first_chunk::<32>()?,
        owner: *data.get(32..)?.first_chunk::<32>()?,
        amount: u64_at(data, 64)?,
        frozen: state == STATE_FROZEN,
    })
}

/// The balance of a token account: the 8 bytes every program writes at offset 64.
pub fn token_amount(data: &[u8]) -> Option<u64> {
    u64_at(data, 64)
}

/// The associated token account of `wallet` for `mint` under `token_program`;
/// a task's vault is its own.
#[cfg(feature = "std")]
pub fn associated_token_address(wallet: &Address, mint: &Address, token_program: &Address) -> Address {
    Address::find_program_address(
        &[wallet.as_ref(), token_program.as_ref(), mint.as_ref()],
        &ASSOCIATED_TOKEN_PROGRAM_ID,
    )
    .0
}

/// One of a transfer fee's two settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransferFee {
    /// First epoch the setting applies in.
    pub epoch: u64,
    pub maximum_fee: u64,
    pub basis_points: u16,
}

impl TransferFee {
    /// The fee withheld from a transfer of `amount`: `ceil(amount * bps / 10_000)`,
    /// at most `maximum_fee`. `amount = q * 10_000 + r` keeps it in 64 bits.
    pub fn fee(&self, amount: u64) -> Option<u64> {
        let bps = u64::from(self.basis_points);
        if bps == 0 || amount == 0 {
            return Some(0);
        }
        let whole = (amount / ONE_IN_BPS).checked_mul(bps)?;
        let part = (amount % ONE_IN_BPS).checked_mul(bps)?.div_ceil(ONE_IN_BPS);
        Some(whole.checked_add(part)?.min(self.maximum_fee))
    }

    /// The smallest amount to send so that `net` arrives, or `None` if none fits in a u64.
    pub fn gross_for_net(&self, net: u64) -> Option<u64> {
        let bps = u64::from(self.basis_points);
        match (bps, net) {
            (0, _) => Some(net),
            (_, 0) => Some(0),
            (ONE_IN_BPS, _) => net.checked_add(self.maximum_fee),
            _ => {
                // ceil(net * 10_000 / kept) = net + ceil(net * bps / kept), the
                // second part with net = q * kept + r; a part past u64 is past any maximum.
                let kept = ONE_IN_BPS.checked_sub(bps)?;
                let part = net.checked_div(kept).and_then(|whole| whole.checked_mul(bps)).and_then(|whole| {
                    whole.checked_add(net.checked_rem(kept)?.checked_mul(bps)?.div_ceil(kept))
                });
                match part {
                    Some(part) if part < self.maximum_fee => net.checked_add(part),
                    _ => net.checked_add(self.maximum_fee),
                }
            }
        }
    }
}

/// Token-2022's transfer fee: the older setting until the newer one's epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransferFeeConfig {
    pub older: TransferFee,
    pub newer: TransferFee,
}

impl TransferFeeConfig {
    pub fn at(&self, epoch: u64) -> &TransferFee {
        if epoch >= self.newer.epoch {
            &self.newer
        } else {
            &self.older
        }
    }
}

/// What a task's creator and its operators need to know of a mint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MintInfo {
    pub decimals: u8,
    pub supply: u64,
    /// Who can freeze any account of the mint, the escrow included (USDC has one).
    pub freeze_authority: Option<[u8; 32]>,
    /// Token-2022's pausable mint: while paused, no transfer goes through.
    pub pausable: bool,
    pub paused: bool,
    pub transfer_fee: Option<TransferFeeConfig>,
    /// The mint can be closed at zero supply and created again with other extensions.
    pub closable: bool,
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(*data.get(at..)?.first_chunk::<8>()?))
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(*data.get(at..)?.first_chunk::<2>()?))
}

/// A `COption<Pubkey>`: a 4-byte tag (0 none, 1 some), then the key.
fn optional_key(data: &[u8], at: usize) -> Result<Option<[u8; 32]>, MintRefusal> {
    let (tag, rest) = data.get(at..).and_then(<[u8]>::split_first_chunk::<4>).ok_or(MintRefusal::NotAMint)?;
    let key = rest.first_chunk::<32>().ok_or(MintRefusal::NotAMint)?;
    match tag {
        [0, 0, 0, 0] => Ok(None),
        [1, 0, 0, 0] => Ok(Some(*key)),
        _ => Err(MintRefusal::NotAMint),
    }
}

/// Token-2022's `TransferFeeConfig` (108 bytes): two authorities, the
/// withheld amount, then the older and the newer setting at 72 and 90.
fn transfer_fee(value: &[u8]) -> Option<TransferFeeConfig> {
    let setting = |bytes: &[u8]| {
        let (epoch, rest) = bytes.split_first_chunk::<8>()?;
        let (maximum_fee, rest) = rest.split_first_chunk::<8>()?;
        Some(TransferFee {
            epoch: u64::from_le_bytes(*epoch),
            maximum_fee: u64::from_le_bytes(*maximum_fee),
            basis_points: u16::from_le_bytes(*rest.first_chunk::<2>()?),
        })
    };
    (value.len() == 108).then_some(())?;
    Some(TransferFeeConfig { older: setting(value.get(72..)?)?, newer: setting(value.get(90..)?)? })
}

/// Reads `data`, the mint account owned by `owner`, and refuses a mint that
/// could let anyone move, lock or block a task's escrow. Allowed powers (a
/// freeze authority, a pause, a transfer fee, closing) are returned to be shown.
pub fn read_mint(owner: &Address, data: &[u8]) -> Result<MintInfo, MintRefusal> {
    let extended = match data.len() {
        MINT_LEN => false,
        len if *owner == TOKEN_2022_PROGRAM_ID
            && len > ACCOUNT_TYPE_AT
            && data[ACCOUNT_TYPE_AT] == ACCOUNT_TYPE_MINT
            && data[MINT_LEN..ACCOUNT_TYPE_AT].iter().all(|byte| *byte == 0) =>
        {
            true
        }
        _ => return Err(MintRefusal::NotAMint),
    };
    if *owner != TOKEN_PROGRAM_ID && *owner != TOKEN_2022_PROGRAM_ID || data[45] != 1 {
        return Err(MintRefusal::NotAMint);
    }
    optional_key(data, 0)?;
    let mut mint = MintInfo {
        decimals: data[44],
        supply: u64_at(data, 36).ok_or(MintRefusal::NotAMint)?,
        freeze_authority: optional_key(data, 46)?,
        ..MintInfo::default()
    };
    if !extended {
        return Ok(mint);
    }
    let mut rest = &data[ACCOUNT_TYPE_AT + 1..];
    // Type u16, length u16, value; a zero type, or fewer than 2 bytes, ends the list.
    while let Some(kind) = u16_at(rest, 0).filter(|kind| *kind != 0) {
        let (header, after) = rest.split_first_chunk::<4>().ok_or(MintRefusal::Malformed)?;
        let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
        let (value, next) = after.split_at_checked(len).ok_or(MintRefusal::Malformed)?;
        match kind {
            1 => mint.transfer_fee = Some(transfer_fee(value).ok_or(MintRefusal::Malformed)?),
            3 => mint.closable = true,
            6 if value.first() == Some(&2) => return Err(MintRefusal::DefaultFrozen),
            6 => {}
            9 => return Err(MintRefusal::NonTransferable),
            12 => return Err(MintRefusal::PermanentDelegate),
            14 => return Err(MintRefusal::TransferHook),
            26 => {
                mint.pausable = true;
                mint.paused = value.get(32).ok_or(MintRefusal::Malformed)? != &0;
            }
            // Confidential transfers and their fees, interest (display only),
            // metadata and groups, confidential mint-burn, a UI scale, permissioned burns.
            4 | 10 | 16 | 18..=25 | 28 => {}
            other => return Err(MintRefusal::UnknownExtension(other)),
        }
        rest = next;
    }
    Ok(mint)
}
