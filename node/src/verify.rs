//! Whether the program deployed at an address is a given build: the sha256
//! of its ELF, trailing zero bytes removed (as `solana-verify` hashes it: a
//! deployment may pad the program's data with zeros).

use gradual_interface::Address;

use crate::chain::{Chain, Read};

const LOADER_V1: Address = Address::from_str_const("BPFLoader1111111111111111111111111111111111");
const LOADER_V2: Address = Address::from_str_const("BPFLoader2111111111111111111111111111111111");
const LOADER_V3: Address = Address::from_str_const("BPFLoaderUpgradeab1e11111111111111111111111");
const LOADER_V4: Address = Address::from_str_const("LoaderV411111111111111111111111111111111111");

/// Bytes before the ELF in a loader v3 program data account: the state tag
/// (u32), the deployment slot (u64) and the optional upgrade authority (1 + 32).
const PROGRAM_DATA_HEADER: usize = 45;
/// Bytes before the ELF in a loader v4 program account: slot, authority, status.
const LOADER_V4_HEADER: usize = 48;

/// The sha256 of `elf` without its trailing zero bytes.
pub fn elf_hash(elf: &[u8]) -> [u8; 32] {
    let end = elf.iter().rposition(|byte| *byte != 0).map_or(0, |last| last.saturating_add(1));
    solana_sha256_hasher::hash(&elf[..end]).to_bytes()
}

/// The ELF deployed at `program`, through whichever loader owns it; the
/// error says why there is none.
pub fn deployed_elf(chain: &dyn Chain, program: &Address) -> Read<Result<Vec<u8>, String>> {
    let Some(account) = chain.account(program)? else {
        return Ok(Err(format!("no account at {program}")));
    };
    if !account.executable {
        return Ok(Err(format!("{program} is not a program")));
    }
    let owner = account.owner;
    if owner == LOADER_V1 || owner == LOADER_V2 {
        return Ok(Ok(account.data));
    }
    if owner == LOADER_V4 {
        return Ok(account
            .data
            .get(LOADER_V4_HEADER..)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| format!("{program}: a loader v4 account too short for its header")));
    }
    if owner != LOADER_V3 {
        return Ok(Err(format!("{program} is owned by {owner}, not a BPF loader")));
    }
    // Loader v3: the program account names its program data account.
    let Some(data_address) = account
        .data
        .get(4..36)
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .map(Address::new_from_array)
    else {
        return Ok(Err(format!("{program}: not an upgradeable program account")));
    };
    let Some(data) = chain.account(&data_address)? else {
        return Ok(Err(format!("{program}'s program data account {data_address} is gone (closed)")));
    };
    Ok(data
        .data
        .get(PROGRAM_DATA_HEADER..)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| format!("{data_address}: program data too short for its header")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_does_not_change_the_hash_and_a_byte_does() {
        let elf = b"\x7fELF and some code".to_vec();
        let mut padded = elf.clone();
        padded.extend([0u8; 100]);
        assert_eq!(elf_hash(&elf), elf_hash(&padded));
        let mut changed = elf.clone();
        changed[5] ^= 1;
        assert_ne!(elf_hash(&elf), elf_hash(&changed));
    }
}
