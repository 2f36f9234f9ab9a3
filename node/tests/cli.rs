//! Every creator, operator and auditor command, run through the binary
//! against a localnet process, as a user would.

#![allow(clippy::arithmetic_side_effects)]

mod common;

use std::{os::unix::fs::PermissionsExt, time::Duration};

use common::{failure, u64_of, Localnet, TaskShape, User, SOL};

/// Short rounds (20 slots of 50 ms) so cooldowns pass quickly.
fn create_task(user: &User, creator: &str, start_in: u64) -> String {
    let shape = TaskShape {
        name: "cli test",
        bounty: 5 * SOL,
        bounty_per_round: SOL,
        round_length: 20,
        windows: [4, 4, 8, 4],
        start_in,
    };
    user.create_task(creator, &shape)
}

#[test]
fn creators_and_operators_run_every_command() {
    let localnet = Localnet::start(&["--slot-ms", "50"]);
    let user = User::new(&localnet.url);
    let (creator, creator_address) = user.funded_keypair("creator.json", 100 * SOL);
    let (operator, operator_address) = user.funded_keypair("operator.json", 10 * SOL);

    let task = create_task(&user, &creator, 2);
    let shown = user.json(&["task", "show", &task]);
    assert_eq!(shown["name"], "cli test");
    assert_eq!(shown["creator"], creator_address.as_str());
    assert_eq!(u64_of(&shown["bounty_pool"]), 5 * SOL);
    assert_eq!(shown["active"], true);
    assert_eq!(shown["executable_locator"], "builtin:hello");

    user.json(&["task", "fund", "-k", &creator, &task, "1000000000"]);
    let shown = user.json(&["task", "show", &task]);
    assert_eq!(u64_of(&shown["total_funded"]), 6 * SOL);
    assert_eq!(u64_of(&shown["bounty_pool"]), 6 * SOL);

    let updated = user.json(&["task", "update", "-k", &creator, &task, "--bounty-per-round", "2000000000"]);
    let from_round = u64_of(&updated["from_round"]);
    let history = user.json(&["task", "show", &task])["params_history"].clone();
    let last = history.as_array().expect("history").last().expect("an entry").clone();
    assert_eq!(u64_of(&last["from_round"]), from_round);
    assert_eq!(u64_of(&last["params"]["bounty_per_round"]), 2 * SOL);

    user.json(&["task", "pause", "-k", &creator, &task]);
    assert_eq!(user.json(&["task", "show", &task])["active"], false);
    let refused = user.stake(&operator, &task, 2 * SOL, "http://127.0.0.1:9");
    let (code, message) = failure(&refused);
    assert_eq!(code, 2, "{message}");
    assert!(message.contains("TaskPaused"), "{message}");
    user.json(&["task", "resume", "-k", &creator, &task]);
    assert_eq!(user.json(&["task", "show", &task])["active"], true);

    let staked = user.stake(&operator, &task, 2 * SOL, "http://127.0.0.1:9");
    assert!(staked.status.success(), "{}", String::from_utf8_lossy(&staked.stderr));
    let staked: serde_json::Value = serde_json::from_slice(&staked.stdout).expect("JSON");
    let node = staked["node"].as_str().expect("node").to_string();
    let shown = user.json(&["node", "show", "-k", &operator, &task]);
    assert_eq!(shown["address"], node.as_str());
    assert_eq!(u64_of(&shown["stake"]), 2 * SOL);
    assert_eq!(shown["service_url"], "http://127.0.0.1:9");
    let inspected = user.json(&["inspect", "node", "--task", &task, "--operator", &operator_address]);
    assert_eq!(inspected["address"], node.as_str());
    assert_eq!(user.json(&["inspect", "node", &node])["operator"], operator_address.as_str());
    assert_eq!(user.json(&["inspect", "task", &task])["conservation"]["holds"], true);

    let claimed = user.json(&["node", "claim", "-k", &operator, &task]);
    assert_eq!(u64_of(&claimed["total"]), 0, "nothing was earned");

    // A node whose stake never counted may leave at once; wait until it counts.
    let joined = u64_of(&shown["joined_round"]);
    while user.json(&["task", "show", &task])["current_round"].as_u64().is_none_or(|round| round <= joined) {
        std::thread::sleep(Duration::from_millis(100));
    }
    user.json(&["node", "unstake", "-k", &operator, &task]);
    let exit_round = u64_of(&user.json(&["node", "show", "-k", &operator, &task])["exit_round"]);
    let early = user.run(&["node", "withdraw", "-k", &operator, &task]);
    assert_eq!(failure(&early).0, 2, "withdrawing during the cooldown is refused");

    // Wait out the cooldown (two 1-second rounds), then take everything back.
    let mut withdrawn = None;
    for _ in 0..60 {
        std::thread::sleep(Duration::from_millis(250));
        let output = user
            .command()
            .args(["node", "withdraw", "-k", &operator, &task, "--output", "json"])
            .output()
            .expect("run");
        if output.status.success() {
            withdrawn = Some(serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("json"));
            break;
        }
    }
    let withdrawn = withdrawn.unwrap_or_else(|| panic!("could not withdraw after round {exit_round}"));
    assert_eq!(u64_of(&withdrawn["lamports"]), 2 * SOL);
    let (code, message) = failure(&user.run(&["node", "show", "-k", &operator, &task]));
    assert_eq!(code, 2, "{message}");
    assert!(message.contains("no node"), "{message}");

    let (code, message) = failure(&user.run(&["task", "close", "-k", &creator, &task]));
    assert_eq!(code, 2, "an active, funded task cannot close: {message}");
    assert!(message.contains("TaskNotFinished"), "{message}");
    user.json(&["task", "pause", "-k", &creator, &task]);
    let closed = user.json(&["task", "close", "-k", &creator, &task]);
    assert!(u64_of(&closed["returned"]) >= 6 * SOL);
    let (code, message) = failure(&user.run(&["task", "show", &task]));
    assert_eq!(code, 2);
    assert!(message.contains("no account"), "{message}");
}

#[test]
fn bad_input_gets_one_line_and_exit_code_2() {
    let localnet = Localnet::start(&["--slot-ms", "50"]);
    let user = User::new(&localnet.url);
    let (creator, creator_address) = user.funded_keypair("creator.json", 10 * SOL);

    let one_line = |args: &[&str], expected_code: i32, needle: &str| {
        let (code, message) = failure(&user.run(args));
        assert_eq!(code, expected_code, "gradual {args:?}: {message}");
        assert_eq!(message.lines().count(), 1, "gradual {args:?} printed more than one line: {message}");
        assert!(message.starts_with("error:"), "{message}");
        assert!(message.contains(needle), "gradual {args:?}: {message:?} does not mention {needle:?}");
    };

    let exposed = user.path("exposed.json");
    std::fs::copy(&creator, &exposed).expect("copy");
    std::fs::set_permissions(&exposed, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    one_line(&["airdrop", "-k", exposed.to_str().expect("path"), "1"], 2, "chmod 600");
    one_line(&["airdrop", "-k", "/nonexistent/id.json", "1"], 2, "/nonexistent/id.json");
    one_line(&["task", "show", "not-an-address"], 2, "not-an-address");
    let elsewhere = User::new("nowhere");
    let (code, message) = failure(&elsewhere.run(&["task", "show", "11111111111111111111111111111111"]));
    assert_eq!(code, 2);
    assert!(message.contains("nowhere") && message.lines().count() == 1, "{message}");
    one_line(&["task", "show", "--commitment", "soon", "11111111111111111111111111111111"], 2, "soon");
    one_line(&["task", "show", "11111111111111111111111111111111"], 2, "not a Gradual task");
    one_line(&["inspect", "audit"], 2, "--target");
    one_line(&["dashboard"], 2, "--task");
    one_line(&["dashboard", "--task", "not-a-task"], 2, "not-a-task");
    one_line(&["dashboard", "--task", "11111111111111111111111111111111"], 2, "not a Gradual task");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = taken.local_addr().expect("address").to_string();
    let (rich, _) = user.funded_keypair("rich.json", 30 * SOL);
    let task = user.create_default_task(&rich, "busy", &[]);
    one_line(&["dashboard", "--task", &task, "--listen", &busy], 2, &busy);
    // A wallet that has never been funded: bad input, naming the fix.
    let empty = user.path("empty.json");
    user.json(&["keygen", "--outfile", empty.to_str().expect("path")]);
    one_line(&["task", "fund", "-k", empty.to_str().expect("path"), &task, "1000"], 2, "fund it");
    one_line(
        &[
            "task",
            "create",
            "-k",
            &creator,
            "--name",
            "x",
            "--bounty",
            "1",
            "--bounty-per-round",
            "1",
            "--submission-window",
            "0",
        ],
        2,
        "ZeroWindow",
    );
    one_line(
        &[
            "node",
            "stake",
            "-k",
            &creator,
            "11111111111111111111111111111111",
            "1",
            "--service-url",
            "not a url",
        ],
        2,
        "--service-url",
    );
    // A request the program refuses is bad input too, and names the program's error.
    let task = create_task(&user, &creator, 2);
    one_line(&["task", "update", "-k", &creator, &task, "--slash-rate-bps", "20000"], 2, "SlashRateTooHigh");
    // An unreachable cluster is a failure, not bad input.
    let unreachable = User::new("http://127.0.0.1:9");
    let (code, message) = failure(&unreachable.run(&["task", "show", &task]));
    assert_eq!(code, 1, "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");

    // Auditors fetch results over HTTP(S): other service URLs are refused before anything is sent.
    for (service_url, needle) in [("ftp://x", "http"), ("file:///tmp/x", "http"), ("http://", "host")] {
        one_line(
            &["node", "stake", "-k", &creator, &task, "2000000000", "--service-url", service_url],
            2,
            needle,
        );
    }
    one_line(&["inspect", "node", "--task", &task, "--operator", &creator_address], 2, "no account");

    // A bounty per round that the deposit cannot pay once is refused unless the user insists.
    let underfunded =
        ["task", "create", "-k", &creator, "--name", "u", "--bounty", "1000", "--bounty-per-round", "2000"];
    one_line(&underfunded, 2, "pays for 0 rounds");
    let created = user.json(&[&underfunded[..], &["--allow-underfunded"]].concat());
    assert_eq!(u64_of(&created["rounds_funded"]), 0);
    let created = user.json(&[
        "task",
        "create",
        "-k",
        &creator,
        "--name",
        "f",
        "--bounty",
        "5000",
        "--bounty-per-round",
        "2000",
    ]);
    assert_eq!(u64_of(&created["rounds_funded"]), 2, "5,000 lamports pay two rounds of 2,000");
    one_line(
        &["task", "update", "-k", &creator, &task, "--bounty-per-round", "6000000000"],
        2,
        "the bounty pool",
    );
    let updated = user.json(&["task", "update", "-k", &creator, &task, "--bounty-per-round", "2000000000"]);
    assert_eq!(u64_of(&updated["rounds_funded"]), 2, "5 SOL pay two rounds of 2 SOL");

    // Options exist only where they mean something.
    one_line(&["localnet", "--priority-fee", "1"], 2, "--priority-fee");
    one_line(&["inspect", "task", &task, "-k", &creator], 2, "-k");
    one_line(&["task", "show", &task, "--priority-fee", "1"], 2, "--priority-fee");
    one_line(&["keygen", "--outfile", "x.json", "--url", "localhost"], 2, "--url");
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let localnet = Localnet::start(&["--slot-ms", "50"]);
    let user = User::new(&localnet.url);
    let (creator, _) = user.funded_keypair("creator.json", 10 * SOL);
    let task = create_task(&user, &creator, 2);
    // `gradual task show TASK | head -0`: the pipe is closed before the command prints.
    let mut child = user
        .command()
        .args(["task", "show", &task])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn defaults_come_from_the_solana_cli_config() {
    let localnet = Localnet::start(&["--slot-ms", "50"]);
    let user = User::new("unused");
    let solana = user.path(".config/solana");
    std::fs::create_dir_all(solana.join("cli")).expect("mkdir");
    // ~/.config/solana/id.json is the default keypair, and the config file's URL the default cluster.
    let gradual = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_gradual"));
        command.env("HOME", user.home.path()).env_remove("GRADUAL_URL");
        command
    };
    let keygen = gradual()
        .args(["keygen", "--outfile"])
        .arg(solana.join("id.json"))
        .args(["--output", "json"])
        .output()
        .expect("keygen");
    assert!(keygen.status.success());
    let address = serde_json::from_slice::<serde_json::Value>(&keygen.stdout).expect("json")["address"]
        .as_str()
        .expect("address")
        .to_string();
    std::fs::write(
        solana.join("cli/config.yml"),
        format!("json_rpc_url: {}\ncommitment: confirmed\n", localnet.url),
    )
    .expect("config");

    let output = gradual().args(["airdrop", "5000000000", "--output", "json"]).output().expect("airdrop");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let airdrop: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(airdrop["address"], address.as_str());
    assert_eq!(u64_of(&airdrop["balance"]), 5 * SOL);

    // -C names another config file, whose keypair_path is used.
    let other = user.path("other.json");
    let keygen = gradual()
        .args(["keygen", "--outfile"])
        .arg(&other)
        .args(["--output", "json"])
        .output()
        .expect("keygen");
    let other_address = serde_json::from_slice::<serde_json::Value>(&keygen.stdout).expect("json")["address"]
        .as_str()
        .expect("address")
        .to_string();
    let config = user.path("other.yml");
    std::fs::write(&config, format!("json_rpc_url: {}\nkeypair_path: {}\n", localnet.url, other.display()))
        .expect("config");
    let output = gradual()
        .args(["airdrop", "7000000000", "--output", "json", "-C"])
        .arg(&config)
        .output()
        .expect("airdrop");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let airdrop: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(airdrop["address"], other_address.as_str());
}

/// Funds a task four times through a misbehaving localnet and checks every
/// deposit landed exactly once; returns what the client logged.
fn fund_four_times(faults: &[&str], log: &tempfile::NamedTempFile) -> String {
    let localnet =
        Localnet::start_logging(&[&["--slot-ms", "50"], faults].concat(), log.reopen().expect("log handle"));
    let user = User::new(&localnet.url);
    let (creator, _) = user.funded_keypair("creator.json", 100 * SOL);
    let task = create_task(&user, &creator, 1000);
    let mut client_log = String::new();
    for _ in 0..4 {
        let output = user
            .command()
            .env("GRADUAL_LOG", "warn")
            .args(["task", "fund", "-k", &creator, &task, "1000000000"])
            .output()
            .expect("fund");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        client_log.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    let shown = user.json(&["inspect", "task", &task]);
    assert_eq!(u64_of(&shown["total_funded"]), 9 * SOL, "each deposit landed exactly once");
    assert_eq!(shown["conservation"]["holds"], true);
    client_log
}

#[test]
fn dropped_sends_are_re_signed_after_the_blockhash_expires_and_land_once() {
    let log = tempfile::NamedTempFile::new().expect("log file");
    // Every second send is dropped and blockhashes live 4 slots (200 ms), less
    // than the resend interval: a dropped transaction can only land re-signed.
    let client_log = fund_four_times(&["--drop-every", "2", "--blockhash-ttl", "4"], &log);
    assert!(std::fs::read_to_string(log.path()).expect("log").contains("fault: dropping transaction"));
    assert!(client_log.contains("re-signing"), "no transaction was re-signed: {client_log}");
}

#[test]
fn rpc_errors_are_retried_with_backoff_and_writes_land_once() {
    let log = tempfile::NamedTempFile::new().expect("log file");
    let client_log = fund_four_times(&["--fail-every", "3"], &log);
    assert!(std::fs::read_to_string(log.path()).expect("log").contains("fault: failing request"));
    assert!(client_log.contains("RPC error"), "no RPC error was retried: {client_log}");
}

/// An auditor checks the deployed program against a local build: the build
/// localnet serves matches, and one changed byte does not.
#[test]
fn program_verify_tells_a_match_from_a_mismatch() {
    let localnet = Localnet::start(&["--slot-ms", "50"]);
    let user = User::new(&localnet.url);
    let verified = user.json(&["program", "verify", "--program", &common::program()]);
    assert_eq!(verified["result"], "match", "{verified}");
    assert_eq!(verified["local_sha256"], verified["deployed_sha256"]);

    let mut changed = std::fs::read(common::program()).expect("read the .so");
    let middle = changed.len() / 2;
    changed[middle] ^= 1;
    let other = user.path("other.so");
    std::fs::write(&other, &changed).expect("write");
    let output =
        user.run(&["program", "verify", "--program", other.to_str().expect("path"), "--output", "json"]);
    let (code, stderr) = failure(&output);
    assert_eq!(code, 1, "a mismatch fails: {stderr}");
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the comparison as JSON");
    assert_eq!(shown["result"], "mismatch", "{shown}");
    assert_ne!(shown["local_sha256"], shown["deployed_sha256"]);
    assert!(stderr.contains("mismatch") && stderr.lines().count() == 1, "{stderr}");
}
