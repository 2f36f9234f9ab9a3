//! `gradual inspect mint` over RPC: mints planted on a localnet, built by
//! Token-2022's own crate, shown as a token task would take them.

// Test code: plain arithmetic on test values (the shared helpers use it too).
#![allow(clippy::arithmetic_side_effects)]

mod common;

use common::{failure, User};
use gradual_interface::{
    token::{TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID},
    Address,
};
use gradual_node::localnet::Faults;
use solana_account::Account;
use solana_program_option::COption;
use solana_program_pack::Pack;
use spl_token_2022_interface::{
    extension::{
        pausable::PausableConfig, permanent_delegate::PermanentDelegate, transfer_fee,
        BaseStateWithExtensionsMut, ExtensionType, StateWithExtensionsMut,
    },
    state::Mint,
};

const FREEZER: [u8; 32] = [9; 32];

fn base() -> Mint {
    Mint {
        mint_authority: COption::Some(Address::new_from_array([7; 32])),
        supply: 5_000_000,
        decimals: 6,
        is_initialized: true,
        freeze_authority: COption::Some(Address::new_from_array(FREEZER)),
    }
}

fn extended(extensions: &[ExtensionType], set: impl FnOnce(&mut StateWithExtensionsMut<Mint>)) -> Vec<u8> {
    let mut data = vec![0; ExtensionType::try_calculate_account_len::<Mint>(extensions).expect("length")];
    let mut state = StateWithExtensionsMut::<Mint>::unpack_uninitialized(&mut data).expect("uninitialised");
    set(&mut state);
    state.base = base();
    state.pack_base();
    state.init_account_type().expect("account type");
    data
}

fn account(owner: Address, data: Vec<u8>) -> Account {
    Account { lamports: 10_000_000, data, owner, executable: false, rent_epoch: 0 }
}

#[test]
fn inspect_mint_refuses_dangerous_mints_and_shows_the_powers_of_allowed_ones() {
    let [plain, fee_bearing, drainable, stranger] = [1u8, 2, 3, 4].map(|n| Address::new_from_array([n; 32]));
    let served = common::in_process_localnet(100, Faults::default(), |chain| {
        let mut legacy = vec![0; Mint::LEN];
        base().pack_into_slice(&mut legacy);
        let with_fee = extended(&[ExtensionType::TransferFeeConfig, ExtensionType::Pausable], |state| {
            let fee = state.init_extension::<transfer_fee::TransferFeeConfig>(true).expect("fee");
            let setting = |epoch: u64, bps: u16| transfer_fee::TransferFee {
                epoch: epoch.into(),
                maximum_fee: 1_000.into(),
                transfer_fee_basis_points: bps.into(),
            };
            fee.older_transfer_fee = setting(0, 50);
            fee.newer_transfer_fee = setting(2, 75);
            state.init_extension::<PausableConfig>(true).expect("pausable");
        });
        let with_delegate = extended(&[ExtensionType::PermanentDelegate], |state| {
            state.init_extension::<PermanentDelegate>(true).expect("delegate").delegate =
                Some(Address::new_from_array([5; 32])).try_into().expect("delegate");
        });
        let svm = chain.svm_mut();
        svm.set_account(plain, account(TOKEN_PROGRAM_ID, legacy)).expect("plant");
        svm.set_account(fee_bearing, account(TOKEN_2022_PROGRAM_ID, with_fee)).expect("plant");
        svm.set_account(drainable, account(TOKEN_2022_PROGRAM_ID, with_delegate)).expect("plant");
        svm.set_account(stranger, account(Address::new_from_array([6; 32]), vec![0; 82])).expect("plant");
    });
    let user = User::new(&served.url);

    let shown = user.json(&["inspect", "mint", &plain.to_string()]);
    assert_eq!(shown["escrow"], "allowed", "{shown}");
    assert_eq!(shown["program"], "spl-token");
    assert_eq!((shown["decimals"].as_u64(), shown["supply"].as_u64()), (Some(6), Some(5_000_000)));
    assert_eq!(shown["freeze_authority"], Address::new_from_array(FREEZER).to_string(), "USDC-like: shown");

    let shown = user.json(&["inspect", "mint", &fee_bearing.to_string()]);
    assert_eq!((shown["escrow"].as_str(), shown["program"].as_str()), (Some("allowed"), Some("token-2022")));
    assert_eq!(
        (shown["pausable"].as_bool(), shown["paused"].as_bool()),
        (Some(true), Some(false)),
        "{shown}"
    );
    assert_eq!(shown["transfer_fee"]["older"]["basis_points"], 50, "{shown}");
    assert_eq!(shown["transfer_fee"]["newer"]["from_epoch"], 2, "{shown}");
    assert_eq!(shown["transfer_fee"]["newer"]["maximum_fee"], 1_000, "{shown}");

    let shown = user.json(&["inspect", "mint", &drainable.to_string()]);
    assert_eq!(shown["escrow"], "refused", "{shown}");
    assert!(
        shown["refused_because"].as_str().is_some_and(|why| why.contains("permanent delegate")),
        "{shown}"
    );

    for missing in [stranger, Address::new_from_array([8; 32])] {
        let (code, message) = failure(&user.run(&["inspect", "mint", &missing.to_string()]));
        assert_eq!(code, 2, "{message}");
        assert_eq!(message.lines().count(), 1, "one line: {message}");
    }
}
