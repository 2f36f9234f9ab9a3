//! `gradual_interface::token` against `spl-token-2022-interface`: mints built
//! by that crate, with each extension, are read or refused as the token
//! tasks' rules say; transfer fees match its own arithmetic.

use gradual_interface::{
    token::{read_mint, MintRefusal, TransferFee, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID},
    Address,
};
use proptest::prelude::*;
use solana_program_option::COption;
use solana_program_pack::Pack;
use spl_token_2022_interface::{
    extension::{
        default_account_state::DefaultAccountState, mint_close_authority::MintCloseAuthority,
        non_transferable::NonTransferable, pausable::PausableConfig, permanent_delegate::PermanentDelegate,
        transfer_fee, transfer_hook::TransferHook, BaseStateWithExtensionsMut, ExtensionType,
        StateWithExtensionsMut,
    },
    state::{AccountState, Mint},
};

const AUTHORITY: [u8; 32] = [7; 32];
const FREEZER: [u8; 32] = [9; 32];

fn base(freeze: bool) -> Mint {
    Mint {
        mint_authority: COption::Some(Address::new_from_array(AUTHORITY)),
        supply: 1_234_567,
        decimals: 6,
        is_initialized: true,
        freeze_authority: if freeze {
            COption::Some(Address::new_from_array(FREEZER))
        } else {
            COption::None
        },
    }
}

/// A Token-2022 mint with `extensions`, each set up by `set`.
fn mint_with(extensions: &[ExtensionType], set: impl FnOnce(&mut StateWithExtensionsMut<Mint>)) -> Vec<u8> {
    let len = ExtensionType::try_calculate_account_len::<Mint>(extensions).expect("length");
    let mut data = vec![0; len];
    let mut state = StateWithExtensionsMut::<Mint>::unpack_uninitialized(&mut data).expect("uninitialised");
    set(&mut state);
    state.base = base(false);
    state.pack_base();
    state.init_account_type().expect("account type");
    data
}

#[test]
fn a_plain_mint_of_either_program_is_read() {
    let mut data = vec![0; Mint::LEN];
    base(true).pack_into_slice(&mut data);
    for program in [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID] {
        let mint = read_mint(&program, &data).expect("a plain mint");
        assert_eq!((mint.decimals, mint.supply, mint.freeze_authority), (6, 1_234_567, Some(FREEZER)));
        assert!(!mint.pausable && mint.transfer_fee.is_none() && !mint.closable);
    }
    assert_eq!(read_mint(&Address::new_from_array([3; 32]), &data), Err(MintRefusal::NotAMint));
    let mut uninitialised = data.clone();
    uninitialised[45] = 0;
    assert_eq!(read_mint(&TOKEN_PROGRAM_ID, &uninitialised), Err(MintRefusal::NotAMint));
    assert_eq!(read_mint(&TOKEN_PROGRAM_ID, &data[..81]), Err(MintRefusal::NotAMint));
}

#[test]
fn mints_that_could_move_lock_or_block_the_escrow_are_refused() {
    let delegate = mint_with(&[ExtensionType::PermanentDelegate], |state| {
        state.init_extension::<PermanentDelegate>(true).expect("delegate").delegate =
            Some(Address::new_from_array(AUTHORITY)).try_into().expect("delegate");
    });
    assert_eq!(read_mint(&TOKEN_2022_PROGRAM_ID, &delegate), Err(MintRefusal::PermanentDelegate));
    // Only Token-2022 has extensions: the legacy program's mint is exactly 82 bytes.
    assert_eq!(read_mint(&TOKEN_PROGRAM_ID, &delegate), Err(MintRefusal::NotAMint));

    let hook = mint_with(&[ExtensionType::TransferHook], |state| {
        state.init_extension::<TransferHook>(true).expect("hook");
    });
    assert_eq!(
        read_mint(&TOKEN_2022_PROGRAM_ID, &hook),
        Err(MintRefusal::TransferHook),
        "even with no program set"
    );

    let soulbound = mint_with(&[ExtensionType::NonTransferable], |state| {
        state.init_extension::<NonTransferable>(true).expect("non-transferable");
    });
    assert_eq!(read_mint(&TOKEN_2022_PROGRAM_ID, &soulbound), Err(MintRefusal::NonTransferable));

    let frozen = mint_with(&[ExtensionType::DefaultAccountState], |state| {
        state.init_extension::<DefaultAccountState>(true).expect("default state").state =
            AccountState::Frozen as u8;
    });
    assert_eq!(read_mint(&TOKEN_2022_PROGRAM_ID, &frozen), Err(MintRefusal::DefaultFrozen));
    let open = mint_with(&[ExtensionType::DefaultAccountState], |state| {
        state.init_extension::<DefaultAccountState>(true).expect("default state").state =
            AccountState::Initialized as u8;
    });
    assert!(read_mint(&TOKEN_2022_PROGRAM_ID, &open).is_ok());
}

#[test]
fn allowed_powers_are_read_to_be_shown() {
    let data = mint_with(
        &[ExtensionType::Pausable, ExtensionType::MintCloseAuthority, ExtensionType::TransferFeeConfig],
        |state| {
            let pause = state.init_extension::<PausableConfig>(true).expect("pausable");
            pause.paused = true.into();
            state.init_extension::<MintCloseAuthority>(true).expect("close authority");
            let fee = state.init_extension::<transfer_fee::TransferFeeConfig>(true).expect("fee");
            fee.older_transfer_fee = transfer_fee::TransferFee {
                epoch: 3.into(),
                maximum_fee: 5_000.into(),
                transfer_fee_basis_points: 25.into(),
            };
            fee.newer_transfer_fee = transfer_fee::TransferFee {
                epoch: 9.into(),
                maximum_fee: u64::MAX.into(),
                transfer_fee_basis_points: 10_000.into(),
            };
        },
    );
    let mint = read_mint(&TOKEN_2022_PROGRAM_ID, &data).expect("allowed");
    assert!(mint.pausable && mint.paused && mint.closable);
    let fee = mint.transfer_fee.expect("a transfer fee");
    assert_eq!(fee.at(8).basis_points, 25);
    assert_eq!(fee.at(9).basis_points, 10_000);
    assert_eq!(fee.at(8).fee(1_000_000), Some(2_500));
}

#[test]
fn unknown_extensions_and_broken_lists_are_refused() {
    let data = mint_with(&[ExtensionType::MintCloseAuthority], |state| {
        state.init_extension::<MintCloseAuthority>(true).expect("close authority");
    });
    let start = 166;
    let mut unknown = data.clone();
    unknown[start..start + 2].copy_from_slice(&200u16.to_le_bytes());
    assert_eq!(read_mint(&TOKEN_2022_PROGRAM_ID, &unknown), Err(MintRefusal::UnknownExtension(200)));
    let mut overrun = data.clone();
    overrun[start + 2..start + 4].copy_from_slice(&1_000u16.to_le_bytes());
    assert_eq!(read_mint(&TOKEN_2022_PROGRAM_ID, &overrun), Err(MintRefusal::Malformed));
    let mut account_type = data.clone();
    account_type[165] = 2;
    assert_eq!(read_mint(&TOKEN_2022_PROGRAM_ID, &account_type), Err(MintRefusal::NotAMint));
    let mut padding = data;
    padding[100] = 1;
    assert_eq!(read_mint(&TOKEN_2022_PROGRAM_ID, &padding), Err(MintRefusal::NotAMint));
}

fn theirs(fee: &TransferFee) -> transfer_fee::TransferFee {
    transfer_fee::TransferFee {
        epoch: fee.epoch.into(),
        maximum_fee: fee.maximum_fee.into(),
        transfer_fee_basis_points: fee.basis_points.into(),
    }
}

fn any_fee() -> impl Strategy<Value = TransferFee> {
    (0u16..=10_000, prop_oneof![Just(u64::MAX), any::<u64>(), 0u64..1_000_000])
        .prop_map(|(basis_points, maximum_fee)| TransferFee { epoch: 0, maximum_fee, basis_points })
}

fn any_amount() -> impl Strategy<Value = u64> {
    prop_oneof![any::<u64>(), 0u64..100_000, (u64::MAX - 100_000)..=u64::MAX]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn the_fee_is_token_2022_s_own(fee in any_fee(), amount in any_amount()) {
        prop_assert_eq!(fee.fee(amount), theirs(&fee).calculate_fee(amount));
    }

    #[test]
    fn what_to_send_for_a_net_amount_is_token_2022_s_own(fee in any_fee(), net in any_amount()) {
        let gross = fee.gross_for_net(net);
        prop_assert_eq!(gross, theirs(&fee).calculate_pre_fee_amount(net));
        if let Some(gross) = gross {
            prop_assert_eq!(gross.checked_sub(fee.fee(gross).expect("fee")), Some(net), "net arrives");
        }
    }
}
