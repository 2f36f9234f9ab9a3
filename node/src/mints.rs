//! What a mint lets third parties do to a token task, in words: the powers
//! `task show`, `node stake` and the dashboard warn of, and why a mint is refused.

use gradual_interface::{
    token::{MintInfo, MintRefusal},
    Address,
};

use crate::amount::Asset;

/// One line per power the mint's authorities keep over a task's tokens.
pub fn mint_warnings(info: &MintInfo, asset: &Asset) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(freezer) = &info.freeze_authority {
        warnings.push(format!(
            "freeze authority {}: can freeze the task's vault and any operator's token account",
            Address::new_from_array(*freezer)
        ));
    }
    if info.paused {
        warnings
            .push("paused: no transfer of the mint goes through, so no deposit, claim or withdrawal".into());
    } else if info.pausable {
        warnings.push("pausable: its pause authority can stop every transfer of the mint".into());
    }
    if let Some(config) = info.transfer_fee {
        for fee in [&config.older, &config.newer] {
            if fee.basis_points > 0 {
                warnings.push(format!(
                    "transfer fee from epoch {}: {} bps, at most {} per transfer, withheld from every deposit and payout",
                    fee.epoch,
                    fee.basis_points,
                    asset.format(fee.maximum_fee)
                ));
            }
        }
    }
    if info.closable {
        warnings.push("closable: at zero supply the mint can be closed and created again".into());
    }
    warnings
}

pub fn mint_refusal(refusal: MintRefusal) -> String {
    match refusal {
        MintRefusal::NotAMint => "not an initialised mint of the SPL Token or Token-2022 program".into(),
        MintRefusal::Malformed => "its extensions do not parse".into(),
        MintRefusal::PermanentDelegate => "a permanent delegate could move the escrow's tokens".into(),
        MintRefusal::TransferHook => {
            "a transfer hook runs another program on every transfer and can fail them".into()
        }
        MintRefusal::NonTransferable => "its tokens cannot be transferred".into(),
        MintRefusal::DefaultFrozen => "new token accounts, the escrow among them, start frozen".into(),
        MintRefusal::UnknownExtension(kind) => format!("extension {kind} is not known to be safe"),
    }
}
