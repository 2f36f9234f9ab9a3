//! Token tasks through the binary, over RPC: an SPL Token mint and a
//! Token-2022 mint with a transfer fee planted on an in-process localnet
//! (built by Token-2022's own crate), with token accounts for a creator and
//! an operator; then create, fund, stake, show, withdraw and close as users would.

// Test code: plain arithmetic on test values (the shared helpers use it too).
#![allow(clippy::arithmetic_side_effects)]

mod common;

use std::time::Duration;

use common::{failure, u64_of, Children, Operator, User, SOL};
use gradual_interface::{
    token::{associated_token_address, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID},
    Address,
};
use gradual_node::localnet::Faults;
use serde_json::Value;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_program_option::COption;
use solana_program_pack::Pack;
use solana_signer::Signer;
use spl_token_2022_interface::{
    extension::{
        pausable::PausableConfig, permanent_delegate::PermanentDelegate, transfer_fee,
        BaseStateWithExtensionsMut, ExtensionType, StateWithExtensionsMut,
    },
    state::{Account as TokenAccount, AccountState, Mint},
};

const FREEZER: [u8; 32] = [9; 32];
/// One token of a 6-decimal mint.
const TOKEN: u64 = 1_000_000;
/// The Token-2022 mint's fee: 1%, at most one token.
const FEE_BPS: u16 = 100;

fn base_mint() -> Mint {
    Mint {
        mint_authority: COption::Some(Address::new_from_array([7; 32])),
        supply: 1_000_000 * TOKEN,
        decimals: 6,
        is_initialized: true,
        freeze_authority: COption::Some(Address::new_from_array(FREEZER)),
    }
}

fn legacy_mint() -> Vec<u8> {
    let mut data = vec![0; Mint::LEN];
    base_mint().pack_into_slice(&mut data);
    data
}

fn extended_mint(
    extensions: &[ExtensionType],
    set: impl FnOnce(&mut StateWithExtensionsMut<Mint>),
) -> Vec<u8> {
    let mut data = vec![0; ExtensionType::try_calculate_account_len::<Mint>(extensions).expect("length")];
    let mut state = StateWithExtensionsMut::<Mint>::unpack_uninitialized(&mut data).expect("uninitialised");
    set(&mut state);
    state.base = base_mint();
    state.pack_base();
    state.init_account_type().expect("account type");
    data
}

/// A pausable (not paused) Token-2022 mint with a 1% fee, at most one token.
fn fee_mint() -> Vec<u8> {
    extended_mint(&[ExtensionType::TransferFeeConfig, ExtensionType::Pausable], |state| {
        let fee = state.init_extension::<transfer_fee::TransferFeeConfig>(true).expect("fee");
        let setting = transfer_fee::TransferFee {
            epoch: 0.into(),
            maximum_fee: TOKEN.into(),
            transfer_fee_basis_points: FEE_BPS.into(),
        };
        fee.older_transfer_fee = setting;
        fee.newer_transfer_fee = setting;
        state.init_extension::<PausableConfig>(true).expect("pausable");
    })
}

fn delegate_mint() -> Vec<u8> {
    extended_mint(&[ExtensionType::PermanentDelegate], |state| {
        state.init_extension::<PermanentDelegate>(true).expect("delegate").delegate =
            Some(Address::new_from_array([5; 32])).try_into().expect("delegate");
    })
}

fn token_account(mint: &Address, owner: &Address, amount: u64) -> TokenAccount {
    TokenAccount {
        mint: *mint,
        owner: *owner,
        amount,
        delegate: COption::None,
        state: AccountState::Initialized,
        is_native: COption::None,
        delegated_amount: 0,
        close_authority: COption::None,
    }
}

/// An SPL Token account (or a Token-2022 one without extensions).
fn legacy_account(mint: &Address, owner: &Address, amount: u64) -> Vec<u8> {
    let mut data = vec![0; TokenAccount::LEN];
    token_account(mint, owner, amount).pack_into_slice(&mut data);
    data
}

/// A Token-2022 account of a mint with a transfer fee: it keeps the fees withheld from what it receives.
fn fee_account(mint: &Address, owner: &Address, amount: u64) -> Vec<u8> {
    let extensions = [ExtensionType::TransferFeeAmount];
    let mut data =
        vec![0; ExtensionType::try_calculate_account_len::<TokenAccount>(&extensions).expect("length")];
    let mut state =
        StateWithExtensionsMut::<TokenAccount>::unpack_uninitialized(&mut data).expect("uninitialised");
    state.init_extension::<transfer_fee::TransferFeeAmount>(true).expect("fee amount");
    state.base = token_account(mint, owner, amount);
    state.pack_base();
    state.init_account_type().expect("account type");
    data
}

fn account(owner: Address, data: Vec<u8>) -> Account {
    Account { lamports: 10_000_000, data, owner, executable: false, rent_epoch: 0 }
}

/// A keypair file in `user`'s home, funded over RPC; its path and address.
fn keypair_file(user: &User, name: &str, keypair: &Keypair) -> (String, Address) {
    let path = user.path(name);
    gradual_node::cli::write_keypair(&path, keypair, false).expect("write keypair");
    let path = path.to_str().expect("utf-8 path").to_string();
    user.json(&["airdrop", "-k", &path, &(10 * SOL).to_string()]);
    (path, keypair.pubkey())
}

/// The balance of the token account at `address` over RPC; `None` if there is none.
fn token_balance(url: &str, address: &Address) -> Option<u64> {
    let request = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "getAccountInfo",
        "params": [address.to_string(), { "encoding": "base64" }],
    });
    let answer: Value =
        reqwest::blocking::Client::new().post(url).json(&request).send().expect("RPC").json().expect("JSON");
    let data = answer["result"]["value"]["data"][0].as_str()?;
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data).expect("base64");
    gradual_interface::token::token_amount(&bytes)
}

/// Waits until the node's stake counts (a node whose stake never counted leaves at once), then unstakes.
fn unstake_once_counted(user: &User, operator: &str, task: &str) {
    let joined = u64_of(&user.json(&["node", "show", "-k", operator, task])["joined_round"]);
    while user.json(&["task", "show", task])["current_round"].as_u64().is_none_or(|round| round <= joined) {
        std::thread::sleep(Duration::from_millis(100));
    }
    user.json(&["node", "unstake", "-k", operator, task]);
}

/// `node withdraw` once the cooldown allows it.
fn withdraw_after_cooldown(user: &User, operator: &str, task: &str) -> Value {
    for _ in 0..80 {
        std::thread::sleep(Duration::from_millis(250));
        let output = user
            .command()
            .args(["node", "withdraw", "-k", operator, task, "--output", "json"])
            .output()
            .expect("run");
        if output.status.success() {
            return serde_json::from_slice(&output.stdout).expect("json");
        }
    }
    panic!("could not withdraw from {task}");
}

/// `task create` flags for a token task of 1-second rounds (20 slots of 50 ms).
fn create_args<'a>(creator: &'a str, mint: &'a str, bounty: &'a str, per_round: &'a str) -> Vec<&'a str> {
    let mut args =
        vec!["task", "create", "-k", creator, "--name", "tokens", "--mint", mint, "--bounty", bounty];
    args.extend(["--bounty-per-round", per_round, "--round-length", "20", "--start-in", "2"]);
    args.extend(["--submission-window", "4", "--audit-window", "4", "--distribution-window", "8"]);
    args.extend(["--distribution-audit-window", "4"]);
    args
}

/// `gradual dashboard` shows the task's mint, what its freeze authority can do, and the mint's decimals.
fn check_dashboard(user: &User, task: &str, mint: &str) {
    let listen = format!("127.0.0.1:{}", common::free_port());
    let dashboard = user
        .command()
        .args(["dashboard", "--task", task, "--listen", &listen])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the dashboard");
    let _dashboard = Children(vec![dashboard]);
    let client = reqwest::blocking::Client::new();
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(100));
        let board = client
            .get(format!("http://{listen}/api/dashboard"))
            .send()
            .and_then(|answer| answer.json::<Value>());
        let Some(shown) = board.ok().and_then(|board| board["tasks"].get(0).cloned()) else { continue };
        assert_eq!((shown["mint"].as_str(), shown["decimals"].as_u64()), (Some(mint), Some(6)), "{shown}");
        assert_eq!(shown["stake_in_tokens"], true);
        if shown["mint_warnings"].as_array().is_some_and(|warnings| !warnings.is_empty()) {
            assert!(shown["mint_warnings"].to_string().contains("freeze authority"), "{shown}");
            return;
        }
    }
    panic!("the dashboard never showed the task's mint warnings");
}

fn one_line_refusal(user: &User, args: &[&str], needle: &str) {
    let (code, message) = failure(&user.run(args));
    assert_eq!(code, 2, "{args:?}: {message}");
    assert_eq!(message.lines().count(), 1, "one line: {message}");
    assert!(message.contains(needle), "{args:?}: {message:?} does not say {needle:?}");
}

#[test]
fn an_spl_token_task_is_created_funded_staked_shown_withdrawn_and_closed_in_the_mints_units() {
    let (creator_key, operator_key, stranger_key) = (Keypair::new(), Keypair::new(), Keypair::new());
    let [mint, drainable] = [1u8, 3].map(|n| Address::new_from_array([n; 32]));
    let holders = [(creator_key.pubkey(), 100 * TOKEN), (operator_key.pubkey(), 10 * TOKEN)];
    let served = common::in_process_localnet(50, Faults::default(), |chain| {
        let svm = chain.svm_mut();
        svm.set_account(mint, account(TOKEN_PROGRAM_ID, legacy_mint())).expect("plant");
        svm.set_account(drainable, account(TOKEN_2022_PROGRAM_ID, delegate_mint())).expect("plant");
        for (owner, amount) in holders {
            let address = associated_token_address(&owner, &mint, &TOKEN_PROGRAM_ID);
            svm.set_account(address, account(TOKEN_PROGRAM_ID, legacy_account(&mint, &owner, amount)))
                .expect("plant");
        }
    });
    let user = User::new(&served.url);
    let (creator, creator_address) = keypair_file(&user, "creator.json", &creator_key);
    let (operator, operator_address) = keypair_file(&user, "operator.json", &operator_key);
    let (stranger, _) = keypair_file(&user, "stranger.json", &stranger_key);
    let mint_text = mint.to_string();

    // Refused before anything is sent: a dangerous mint, too many decimals, too few tokens, no token account.
    let refused = create_args(&creator, "", "10", "1");
    let with_mint = |mint: &str, bounty: &str| {
        let mut args = refused.clone();
        args[7] = mint;
        args[9] = bounty;
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>, needle: &str| {
        one_line_refusal(&user, &args.iter().map(String::as_str).collect::<Vec<_>>(), needle)
    };
    run(with_mint(&drainable.to_string(), "10"), "permanent delegate");
    run(with_mint(&mint_text, "1.1234567"), "more than 6 decimal places");
    run(with_mint(&mint_text, "1000"), "holds 100 ");
    run(with_mint(&Address::new_from_array([8; 32]).to_string(), "10"), "no account");
    let mut strangers = with_mint(&mint_text, "10");
    strangers[3] = stranger.clone();
    run(strangers, "no token account");

    let created = user.json(&create_args(&creator, &mint_text, "20", "1.5"));
    assert_eq!(created["mint"], mint_text.as_str(), "{created}");
    assert_eq!(u64_of(&created["rounds_funded"]), 13, "20 tokens pay 13 rounds of 1.5: {created}");
    assert_eq!(created["bounty_ui"], "20");
    let task = created["task"].as_str().expect("task").to_string();
    let vault = associated_token_address(&task.parse().expect("address"), &mint, &TOKEN_PROGRAM_ID);
    assert_eq!(created["vault"], vault.to_string().as_str());

    let funded = user.json(&["task", "fund", "-k", &creator, &task, "2.5"]);
    assert_eq!(
        (u64_of(&funded["amount"]), funded["amount_ui"].as_str()),
        (2_500_000, Some("2.5")),
        "{funded}"
    );
    one_line_refusal(&user, &["task", "fund", "-k", &creator, &task, "0.0000001"], "decimal places");
    one_line_refusal(&user, &["task", "fund", "-k", &creator, &task, "-1"], "");
    one_line_refusal(&user, &["task", "fund", "-k", &creator, &task, "78"], "less than the 78");

    let staked = user.stake(&operator, &task, 3, "http://127.0.0.1:9");
    assert!(staked.status.success(), "{}", String::from_utf8_lossy(&staked.stderr));
    let staked: Value = serde_json::from_slice(&staked.stdout).expect("JSON");
    assert_eq!((u64_of(&staked["amount"]), staked["mint"].as_str()), (3 * TOKEN, Some(mint_text.as_str())));
    assert!(staked["mint_warnings"].to_string().contains("freeze authority"), "{staked}");
    assert_eq!(
        token_balance(&served.url, &associated_token_address(&operator_address, &mint, &TOKEN_PROGRAM_ID)),
        Some(7 * TOKEN)
    );

    let shown = user.json(&["task", "show", &task]);
    assert_eq!(shown["mint"], mint_text.as_str(), "{shown}");
    assert_eq!(shown["token_program"], TOKEN_PROGRAM_ID.to_string().as_str());
    assert_eq!(shown["token_program_name"], "spl-token");
    assert_eq!(shown["vault"], vault.to_string().as_str());
    assert_eq!(u64_of(&shown["decimals"]), 6);
    assert_eq!(shown["stake_asset"], mint_text.as_str());
    assert_eq!((u64_of(&shown["bounty_pool"]), shown["bounty_pool_ui"].as_str()), (22_500_000, Some("22.5")));
    assert_eq!(shown["total_stake_ui"], "3");
    assert_eq!(u64_of(&shown["vault_balance"]), 25_500_000, "pool and stake: {shown}");
    assert_eq!(shown["params"]["bounty_per_round_ui"], "1.5");
    assert_eq!(shown["params"]["min_stake_ui"], "1", "one token by default");
    assert_eq!(shown["freeze_authority"], Address::new_from_array(FREEZER).to_string().as_str());
    assert_eq!((shown["pausable"].as_bool(), shown["paused"].as_bool()), (Some(false), Some(false)));
    assert!(shown["transfer_fee"].is_null(), "{shown}");
    let warnings = shown["mint_warnings"].to_string();
    assert!(warnings.contains("freeze authority"), "{warnings}");
    let inspected = user.json(&["inspect", "task", &task]);
    assert_eq!(inspected["conservation"]["holds"], true, "{inspected}");
    assert_eq!(inspected["token_conservation"]["holds"], true, "{inspected}");
    assert_eq!(inspected["token_conservation"]["tracked"], "25500000", "{inspected}");
    assert_eq!(inspected["freeze_authority"], shown["freeze_authority"]);
    let status = user.json(&["node", "status", "-k", &operator, &task]);
    assert_eq!(
        (status["stake_ui"].as_str(), status["mint"].as_str()),
        (Some("3"), Some(mint_text.as_str())),
        "{status}"
    );
    assert_eq!(user.json(&["node", "claim", "-k", &operator, &task])["total_ui"], "0");
    check_dashboard(&user, &task, &mint_text);

    unstake_once_counted(&user, &operator, &task);
    let withdrawn = withdraw_after_cooldown(&user, &operator, &task);
    assert_eq!(
        (u64_of(&withdrawn["amount"]), withdrawn["amount_ui"].as_str()),
        (3 * TOKEN, Some("3")),
        "{withdrawn}"
    );
    assert_eq!(
        token_balance(&served.url, &associated_token_address(&operator_address, &mint, &TOKEN_PROGRAM_ID)),
        Some(10 * TOKEN)
    );

    user.json(&["task", "pause", "-k", &creator, &task]);
    let closed = user.json(&["task", "close", "-k", &creator, &task]);
    assert_eq!(u64_of(&closed["tokens_returned"]), 22_500_000, "{closed}");
    let creator_tokens = associated_token_address(&creator_address, &mint, &TOKEN_PROGRAM_ID);
    assert_eq!(token_balance(&served.url, &creator_tokens), Some(100 * TOKEN), "every token came back");
    assert_eq!(token_balance(&served.url, &vault), None, "the vault is closed");
}

#[test]
fn a_token_2022_task_with_a_transfer_fee_counts_what_arrives_and_harvests_the_fees_to_close() {
    let (creator_key, operator_key) = (Keypair::new(), Keypair::new());
    let mint = Address::new_from_array([2; 32]);
    let holders = [(creator_key.pubkey(), 100 * TOKEN), (operator_key.pubkey(), 10 * TOKEN)];
    let served = common::in_process_localnet(50, Faults::default(), |chain| {
        let svm = chain.svm_mut();
        svm.set_account(mint, account(TOKEN_2022_PROGRAM_ID, fee_mint())).expect("plant");
        for (owner, amount) in holders {
            let address = associated_token_address(&owner, &mint, &TOKEN_2022_PROGRAM_ID);
            svm.set_account(address, account(TOKEN_2022_PROGRAM_ID, fee_account(&mint, &owner, amount)))
                .expect("plant");
        }
    });
    let user = User::new(&served.url);
    let (creator, creator_address) = keypair_file(&user, "creator.json", &creator_key);
    let (operator, _) = keypair_file(&user, "operator.json", &operator_key);
    let mint_text = mint.to_string();

    // 1% of 10 tokens is withheld: 9.9 arrive, which pay 9 rounds of 1.
    let created = user.json(&create_args(&creator, &mint_text, "10", "1"));
    assert_eq!(u64_of(&created["transfer_fee_withheld"]), 100_000, "{created}");
    assert_eq!(u64_of(&created["rounds_funded"]), 9, "{created}");
    let task = created["task"].as_str().expect("task").to_string();
    user.json(&["task", "fund", "-k", &creator, &task, "1"]);
    let staked = user.stake(&operator, &task, 2, "http://127.0.0.1:9");
    assert!(staked.status.success(), "{}", String::from_utf8_lossy(&staked.stderr));

    let shown = user.json(&["task", "show", &task]);
    assert_eq!(shown["token_program_name"], "token-2022", "{shown}");
    assert_eq!(
        (u64_of(&shown["bounty_pool"]), shown["bounty_pool_ui"].as_str()),
        (10_890_000, Some("10.89"))
    );
    assert_eq!((u64_of(&shown["total_stake"]), shown["total_stake_ui"].as_str()), (1_980_000, Some("1.98")));
    assert_eq!(
        (shown["pausable"].as_bool(), shown["paused"].as_bool()),
        (Some(true), Some(false)),
        "{shown}"
    );
    for setting in ["older", "newer"] {
        let fee = &shown["transfer_fee"][setting];
        assert_eq!(u64_of(&fee["basis_points"]), u64::from(FEE_BPS), "{shown}");
        assert_eq!((u64_of(&fee["maximum_fee"]), fee["maximum_fee_ui"].as_str()), (TOKEN, Some("1")));
        assert_eq!(u64_of(&fee["from_epoch"]), 0);
    }
    let warnings = shown["mint_warnings"].to_string();
    assert!(warnings.contains("pausable") && warnings.contains("transfer fee"), "{warnings}");

    // A second task with no node: its vault holds the fees withheld from its
    // deposit, which the close harvests to the mint first.
    let mut args = create_args(&creator, &mint_text, "5", "1");
    args.extend(["--task-id", "7", "--stake-in-sol"]);
    let second = user.json(&args);
    assert_eq!(second["stake_asset"], "SOL", "{second}");
    let second = second["task"].as_str().expect("task").to_string();
    assert_eq!(user.json(&["task", "show", &second])["stake_asset"], "SOL");
    let creator_tokens = associated_token_address(&creator_address, &mint, &TOKEN_2022_PROGRAM_ID);
    let before = token_balance(&served.url, &creator_tokens).expect("creator's tokens");
    user.json(&["task", "pause", "-k", &creator, &second]);
    let closed = user.json(&["task", "close", "-k", &creator, &second]);
    assert_eq!(u64_of(&closed["tokens_returned"]), 4_950_000, "{closed}");
    // What the vault sends arrives less the fee: 1% of 4.95.
    assert_eq!(token_balance(&served.url, &creator_tokens), Some(before + 4_950_000 - 49_500));
    let vault = associated_token_address(&second.parse().expect("address"), &mint, &TOKEN_2022_PROGRAM_ID);
    assert_eq!(token_balance(&served.url, &vault), None, "the vault is closed");
}

#[test]
fn lamport_tasks_take_whole_lamports() {
    let served = common::in_process_localnet(50, Faults::default(), |_| ());
    let user = User::new(&served.url);
    let (creator, _) = user.funded_keypair("creator.json", 100 * SOL);
    let task = user.create_default_task(&creator, "lamports", &[]);
    one_line_refusal(&user, &["task", "fund", "-k", &creator, &task, "1.5"], "whole units");
    let funded = user.json(&["task", "fund", "-k", &creator, &task, "1000"]);
    assert_eq!(u64_of(&funded["lamports"]), 1000, "{funded}");
    let shown = user.json(&["task", "show", &task]);
    assert!(shown.get("mint").is_none() && shown.get("bounty_pool_ui").is_none(), "{shown}");
    one_line_refusal(
        &user,
        &["task", "create", "-k", &creator, "--name", "x", "--bounty", "1", "--stake-in-sol"],
        "--mint",
    );
}

/// The tests that run nodes, one at a time: they run several processes on real time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// An operator of `count` whose keypair was made in-process (its token
/// account can then be planted before the localnet serves), funded with SOL.
fn operator_from(user: &User, index: usize, keypair: &Keypair) -> Operator {
    let (keypair, address) = keypair_file(user, &format!("operator{index}.json"), keypair);
    Operator {
        keypair,
        address: address.to_string(),
        port: common::free_port(),
        db: user.path(&format!("node{index}.redb")).display().to_string(),
        log: user.path(&format!("node{index}.log")).display().to_string(),
    }
}

/// The JSON events a node wrote to its log.
fn events(operator: &Operator) -> Vec<Value> {
    let log = std::fs::read_to_string(&operator.log).unwrap_or_default();
    log.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()).collect()
}

fn stopped_stats(operator: &Operator) -> Value {
    let events = events(operator);
    let stopped = events.iter().find(|event| event["event"] == "stopped");
    stopped.unwrap_or_else(|| panic!("no stopped event: {events:?}"))["stats"].clone()
}

fn wait_until_exited(children: &mut Children, limit: Duration) {
    common::wait_for_exit(children, limit, "the nodes did not stop in time");
}

/// Nodes staking SOL in a Token-2022 task claim their rewards in the mint
/// into associated token accounts they did not have: each claim creates it first.
#[test]
fn running_nodes_claim_token_rewards_into_token_accounts_they_create() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let creator_key = Keypair::new();
    let mint = Address::new_from_array([2; 32]);
    let creator_owner = creator_key.pubkey();
    let served = common::in_process_localnet(100, Faults::default(), |chain| {
        let svm = chain.svm_mut();
        svm.set_account(mint, account(TOKEN_2022_PROGRAM_ID, fee_mint())).expect("plant");
        let address = associated_token_address(&creator_owner, &mint, &TOKEN_2022_PROGRAM_ID);
        svm.set_account(
            address,
            account(TOKEN_2022_PROGRAM_ID, fee_account(&mint, &creator_owner, 100 * TOKEN)),
        )
        .expect("plant");
    });
    let user = User::new(&served.url);
    let (creator, _) = keypair_file(&user, "creator.json", &creator_key);
    let mint_text = mint.to_string();
    let mut args = create_args(&creator, &mint_text, "20", "1");
    args.push("--stake-in-sol");
    let task = user.json(&args)["task"].as_str().expect("task").to_string();
    let operators: Vec<Operator> = (0..3)
        .map(|index| {
            let operator = operator_from(&user, index, &Keypair::new());
            let staked =
                user.stake(&operator.keypair, &task, 2 * SOL, &format!("http://127.0.0.1:{}", operator.port));
            assert!(staked.status.success(), "{}", String::from_utf8_lossy(&staked.stderr));
            operator
        })
        .collect();
    let mut children = Children(
        operators
            .iter()
            .map(|operator| common::start_node_with(&user, operator, &task, "honest", 3, &[]))
            .collect(),
    );
    wait_until_exited(&mut children, Duration::from_secs(60));
    for operator in &operators {
        let stats = stopped_stats(operator);
        // The nodes join after round 0 has started: round 1's list is the first to pay them.
        let paid: Vec<u64> = stats["rounds_paid"].as_array().expect("paid").iter().map(u64_of).collect();
        assert!(paid.contains(&1), "round 1 was not claimed: {stats}");
        let owner: Address = operator.address.parse().expect("address");
        let tokens =
            token_balance(&served.url, &associated_token_address(&owner, &mint, &TOKEN_2022_PROGRAM_ID));
        // Paid less the mint's 1% fee on the way out of the vault.
        let claimed = u64_of(&stats["rewards_claimed"]);
        assert!(claimed > 0, "{stats}");
        assert_eq!(tokens, Some(claimed - claimed.div_ceil(100)), "{} received its claims", operator.address);
    }
    assert_eq!(user.json(&["inspect", "task", &task])["conservation"]["holds"], true);
}

/// Nodes staking an SPL Token mint: a bad node's proofs are audited and its
/// stake slashed in the mint (the raiser's share to its token account); a
/// node with `--restake` puts its token rewards back into its stake; a node
/// that unstakes gets its tokens back by itself once its lists are settled.
#[test]
fn running_nodes_stake_slash_restake_and_withdraw_in_the_mint() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let keys: Vec<Keypair> = (0..5).map(|_| Keypair::new()).collect();
    let mint = Address::new_from_array([1; 32]);
    let owners: Vec<Address> = keys.iter().map(Signer::pubkey).collect();
    let served = common::in_process_localnet(100, Faults::default(), |chain| {
        let svm = chain.svm_mut();
        svm.set_account(mint, account(TOKEN_PROGRAM_ID, legacy_mint())).expect("plant");
        for owner in &owners {
            let address = associated_token_address(owner, &mint, &TOKEN_PROGRAM_ID);
            svm.set_account(address, account(TOKEN_PROGRAM_ID, legacy_account(&mint, owner, 100 * TOKEN)))
                .expect("plant");
        }
    });
    let user = User::new(&served.url);
    let (creator, _) = keypair_file(&user, "creator.json", &keys[0]);
    let mint_text = mint.to_string();
    let mut args = create_args(&creator, &mint_text, "50", "1");
    args.extend(["--allowed-failed-distributions", "0", "--min-stake", "2"]);
    let task = user.json(&args)["task"].as_str().expect("task").to_string();
    // 0 leaves, 1 restakes, 2 is honest, 3 is bad.
    let operators: Vec<Operator> =
        keys[1..].iter().enumerate().map(|(index, key)| operator_from(&user, index, key)).collect();
    for operator in &operators {
        let staked = user.stake(&operator.keypair, &task, 5, &format!("http://127.0.0.1:{}", operator.port));
        assert!(staked.status.success(), "{}", String::from_utf8_lossy(&staked.stderr));
    }
    let tokens_of = |operator: &Operator| {
        let owner: Address = operator.address.parse().expect("address");
        token_balance(&served.url, &associated_token_address(&owner, &mint, &TOKEN_PROGRAM_ID))
            .expect("tokens")
    };
    let start = |operator: &Operator, behaviour: &str, last: u64, extra: &[&str]| {
        common::start_node_with(&user, operator, &task, behaviour, last, extra)
    };
    let mut children = Children(vec![
        start(&operators[0], "honest", 100, &[]),
        start(&operators[1], "honest", 4, &["--restake"]),
        start(&operators[2], "honest", 4, &[]),
        start(&operators[3], "bad", 4, &[]),
    ]);
    while user.json(&["task", "show", &task])["current_round"].as_u64().is_none_or(|round| round < 2) {
        std::thread::sleep(Duration::from_millis(100));
    }
    user.json(&["node", "unstake", "-k", &operators[0].keypair, &task]);
    wait_until_exited(&mut children, Duration::from_secs(60));

    let withdrawn = events(&operators[0]).into_iter().find(|event| event["event"] == "withdrawn");
    let withdrawn = withdrawn.unwrap_or_else(|| panic!("no withdrawn event: {:?}", events(&operators[0])));
    assert_eq!(
        (u64_of(&withdrawn["amount"]), withdrawn["mint"].as_str()),
        (5 * TOKEN, Some(mint.to_string().as_str()))
    );
    let claimed = u64_of(&stopped_stats(&operators[0])["rewards_claimed"]);
    // Its stake and rewards are back, and its share of any slash it raised an audit for.
    assert!(tokens_of(&operators[0]) >= 100 * TOKEN + claimed, "{:?}", events(&operators[0]));

    let restaked: Vec<Value> =
        events(&operators[1]).into_iter().filter(|event| event["event"] == "restaked").collect();
    assert!(
        !restaked.is_empty() && restaked.iter().all(|event| event["mint"] == mint.to_string().as_str()),
        "{restaked:?}"
    );
    let restaked: u64 = restaked.iter().map(|event| u64_of(&event["amount"])).sum();
    let node = user.json(&["node", "show", "-k", &operators[1].keypair, &task]);
    assert_eq!(node["stake_in_tokens"], true, "{node}");
    assert_eq!(u64_of(&node["stake"]), 5 * TOKEN + restaked, "{node}");

    let bad = user.json(&["node", "show", "-k", &operators[3].keypair, &task]);
    let slashed = u64_of(&bad["total_slashed"]);
    assert!(slashed > 0, "the bad node was slashed: {bad}");
    assert_eq!(u64_of(&bad["stake"]), 5 * TOKEN - slashed, "{bad}");
    let shown = user.json(&["inspect", "task", &task]);
    assert_eq!(shown["conservation"]["holds"], true, "{shown}");
    assert_eq!(shown["token_conservation"]["holds"], true, "{shown}");
    let staked: u64 = [1, 2, 3]
        .map(|index| u64_of(&user.json(&["node", "show", "-k", &operators[index].keypair, &task])["stake"]))
        .iter()
        .sum();
    assert_eq!(u64_of(&shown["total_stake"]), staked);
    assert!(u64_of(&shown["vault_balance"]) >= u64_of(&shown["bounty_pool"]) + staked, "{shown}");
    // No token was made or lost: the token accounts and the vault hold what was planted.
    let creator_tokens = associated_token_address(&keys[0].pubkey(), &mint, &TOKEN_PROGRAM_ID);
    let held: u64 = operators.iter().map(tokens_of).sum::<u64>()
        + token_balance(&served.url, &creator_tokens).expect("creator's tokens")
        + u64_of(&shown["vault_balance"]);
    assert_eq!(held, 500 * TOKEN);
}

/// Freezes `accounts` of `mint` (an SPL Token mint) with its freeze authority, over RPC.
fn freeze(served: &common::InProcess<()>, (mint, freezer): (&Address, &Keypair), accounts: &[Address]) {
    use gradual_node::chain::Chain as _;
    let mut chain = gradual_node::rpc::RpcChain::new(
        &served.url,
        solana_commitment_config::CommitmentConfig::confirmed(),
        std::sync::Arc::clone(&served.runtime),
    );
    chain.refresh_slot().expect("slot");
    chain.airdrop(&freezer.pubkey(), SOL).expect("airdrop");
    // FreezeAccount: the account, the mint, the freeze authority.
    let instructions: Vec<solana_instruction::Instruction> = accounts
        .iter()
        .map(|account| solana_instruction::Instruction {
            program_id: TOKEN_PROGRAM_ID,
            accounts: vec![
                solana_instruction::AccountMeta::new(*account, false),
                solana_instruction::AccountMeta::new_readonly(*mint, false),
                solana_instruction::AccountMeta::new_readonly(freezer.pubkey(), true),
            ],
            data: vec![10],
        })
        .collect();
    chain.send(&instructions, freezer, &[freezer]).expect("freeze");
}

/// An upheld audit whose raiser's token account refuses its share (frozen)
/// cannot hold the target's stake: a round after the window, the nodes
/// resolve it with the vault standing in for that account, and the whole
/// slash joins the pool.
#[test]
fn running_nodes_resolve_an_audit_whose_raiser_account_is_frozen_into_the_pool() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (freezer, keys) = (Keypair::new(), (0..5).map(|_| Keypair::new()).collect::<Vec<_>>());
    let mint = Address::new_from_array([1; 32]);
    let owners: Vec<Address> = keys.iter().map(Signer::pubkey).collect();
    let freeze_authority = freezer.pubkey();
    let served = common::in_process_localnet(100, Faults::default(), |chain| {
        let mut data = vec![0; Mint::LEN];
        Mint { freeze_authority: COption::Some(freeze_authority), ..base_mint() }.pack_into_slice(&mut data);
        let svm = chain.svm_mut();
        svm.set_account(mint, account(TOKEN_PROGRAM_ID, data)).expect("plant");
        for owner in &owners {
            let address = associated_token_address(owner, &mint, &TOKEN_PROGRAM_ID);
            svm.set_account(address, account(TOKEN_PROGRAM_ID, legacy_account(&mint, owner, 100 * TOKEN)))
                .expect("plant");
        }
    });
    let user = User::new(&served.url);
    let (creator, _) = keypair_file(&user, "creator.json", &keys[0]);
    let mint_text = mint.to_string();
    let task =
        user.json(&create_args(&creator, &mint_text, "50", "1"))["task"].as_str().expect("task").to_string();
    // 0 to 2 are honest, 3 is bad.
    let operators: Vec<Operator> =
        keys[1..].iter().enumerate().map(|(index, key)| operator_from(&user, index, key)).collect();
    for operator in &operators {
        let staked = user.stake(&operator.keypair, &task, 5, &format!("http://127.0.0.1:{}", operator.port));
        assert!(staked.status.success(), "{}", String::from_utf8_lossy(&staked.stderr));
    }
    // Whichever honest node raises the audit, its account refuses the raiser's share.
    let honest: Vec<Address> =
        owners[1..4].iter().map(|owner| associated_token_address(owner, &mint, &TOKEN_PROGRAM_ID)).collect();
    freeze(&served, (&mint, &freezer), &honest);
    let mut children = Children(
        operators
            .iter()
            .enumerate()
            .map(|(index, operator)| {
                // The bad node's last proofs (round 2) are resolved while the others run on.
                let (behaviour, last) = if index == 3 { ("bad", 2) } else { ("honest", 4) };
                common::start_node_with(&user, operator, &task, behaviour, last, &[])
            })
            .collect(),
    );
    wait_until_exited(&mut children, Duration::from_secs(60));

    let bad = user.json(&["node", "show", "-k", &operators[3].keypair, &task]);
    assert!(u64_of(&bad["total_slashed"]) > 0, "the bad node was slashed: {bad}");
    assert_eq!(u64_of(&bad["open_audits"]), 0, "no audit holds its stake: {bad}");
    for account in &honest {
        assert_eq!(
            token_balance(&served.url, account),
            Some(95 * TOKEN),
            "no raiser was paid, nor any claim"
        );
    }
    let history = user.json(&["history", &task]);
    let resolved: Vec<&Value> = history["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|entry| entry["event"] == "AuditResolved" && entry["upheld"] == true)
        .collect();
    assert!(!resolved.is_empty(), "{history}");
    assert!(
        resolved.iter().all(|entry| entry["to_pool"] == entry["slashed"]),
        "the whole slash joins the pool: {resolved:?}"
    );
    let shown = user.json(&["inspect", "task", &task]);
    assert_eq!(shown["token_conservation"]["holds"], true, "{shown}");
}
