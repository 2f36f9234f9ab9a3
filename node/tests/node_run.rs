//! Four `gradual node run` processes against a localnet, one of them
//! submitting bad proofs, one killed mid-round and restarted. Everything is
//! checked through `gradual inspect` and `node show`, as an auditor would.

#![allow(clippy::arithmetic_side_effects)]

mod common;

use std::{
    process::Child,
    time::{Duration, Instant},
};

use common::{
    free_port, staked_operators, start_node_with, u64_of, Children, Localnet, Operator, TaskShape, User, SOL,
};
use serde_json::Value;

/// Nodes work rounds 0 to 7, then stay to commit and reveal round 7
/// (round 9's submission window): round 0's claims are still open then.
const LAST_ROUND: u64 = 7;

/// The two tests run many processes on real time; run them one at a time so
/// they do not starve each other of CPU.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn start_node(user: &User, operator: &Operator, task: &str, behaviour: &str) -> Child {
    start_node_until(user, operator, task, behaviour, LAST_ROUND)
}

fn start_node_until(user: &User, operator: &Operator, task: &str, behaviour: &str, last_round: u64) -> Child {
    start_node_with(user, operator, task, behaviour, last_round, &[])
}

fn current_round(user: &User, task: &str) -> Option<u64> {
    user.json(&["task", "show", task])["current_round"].as_u64()
}

fn wait_for_round(user: &User, task: &str, round: u64, offset_ms: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while current_round(user, task).is_none_or(|current| current < round) {
        assert!(Instant::now() < deadline, "round {round} never came");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(offset_ms));
}

/// Scrapes `/metrics` and `/api/dashboard` at each address until stopped,
/// keeping the last answer from each: the nodes' final counts, since they
/// exit when done.
struct Scraper {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(String, Value)>>,
}

impl Scraper {
    fn start(addresses: Vec<String>) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut last = vec![(String::new(), Value::Null); addresses.len()];
            while !stopping.load(std::sync::atomic::Ordering::SeqCst) {
                for (address, kept) in addresses.iter().zip(&mut last) {
                    let answer = client.get(format!("http://{address}/metrics")).send();
                    if let Ok(text) = answer.and_then(reqwest::blocking::Response::text) {
                        kept.0 = text;
                    }
                    let answer = client.get(format!("http://{address}/api/dashboard")).send();
                    if let Ok(board) = answer.and_then(reqwest::blocking::Response::json::<Value>) {
                        kept.1 = board;
                    }
                }
                std::thread::sleep(Duration::from_millis(300));
            }
            last
        });
        Self { stop, thread }
    }

    fn stop(self) -> Vec<(String, Value)> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.join().expect("scraper")
    }
}

/// The sum of a metric's samples over all its label sets.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|line| line.split(['{', ' ']).next() == Some(name))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|value| value as u64)
        .sum()
}

fn check_metrics(task: &str, bad: &str, honest: &str) {
    for text in [bad, honest] {
        assert!(text.trim_end().ends_with("# EOF"), "OpenMetrics text ends with # EOF: {text}");
        assert!(text.contains("# TYPE gradual_rounds_submitted counter"), "{text}");
        assert!(text.contains(&format!("gradual_rounds_submitted_total{{task=\"{task}\"}}")), "{text}");
    }
    // The honest node worked, submitted, audited and claimed every round it ran.
    assert!(metric(honest, "gradual_rounds_worked_total") >= 5, "{honest}");
    assert!(metric(honest, "gradual_work_duration_seconds_count") >= 5, "{honest}");
    assert!(metric(honest, "gradual_rounds_submitted_total") >= 5, "{honest}");
    assert!(metric(honest, "gradual_transactions_landed_total") >= 5, "{honest}");
    assert!(
        metric(honest, "gradual_audits_raised_total") + metric(honest, "gradual_audit_votes_total") >= 1,
        "{honest}"
    );
    assert!(metric(honest, "gradual_claimed_lamports_total") >= 4 * 333_333_333, "{honest}");
    assert_eq!(metric(honest, "gradual_slashes_total"), 0, "{honest}");
    assert_eq!(metric(honest, "gradual_stake_lamports"), 2 * SOL, "{honest}");
    let assets = format!("gradual_task_assets{{task=\"{task}\",bounty=\"lamports\",stake=\"lamports\"}} 1");
    assert!(honest.contains(&assets), "a lamport task's amounts are labelled lamports: {honest}");
    // The bad node's slashes show.
    assert!(metric(bad, "gradual_slashes_total") >= 1, "{bad}");
    assert!(metric(bad, "gradual_slashed_lamports_total") > 0, "{bad}");
    assert_eq!(metric(bad, "gradual_claimed_lamports_total"), 0, "{bad}");
}

/// The dashboard a node serves beside its metrics, as last read while it
/// ran: its own node's stake and each round it was paid for.
fn check_node_dashboard(user: &User, task: &str, operator: &Operator, board: &Value) {
    let shown = &board["tasks"][0];
    assert_eq!(shown["task"], task, "{board}");
    let own = &shown["own"];
    let node = user.json(&["inspect", "node", "--task", task, "--operator", &operator.address]);
    assert_eq!(own["node"], node["address"], "{own}");
    assert_eq!(u64_of(&own["stake"]), 2 * SOL, "{own}");
    let earned: Vec<&Value> =
        own["rounds"].as_array().expect("rounds").iter().filter(|round| !round["earned"].is_null()).collect();
    assert!(!earned.is_empty(), "the node's dashboard shows no earnings: {own}");
    for round in earned {
        assert_eq!(u64_of(&round["earned"]), 333_333_333, "{round}");
    }
}

/// The bad node's own dashboard, watching from its start, knows what each
/// slash took: going back from its stake, each is the slash rate of the
/// stake before it.
fn check_node_losses(user: &User, task: &str, board: &Value) {
    let own = &board["tasks"][0]["own"];
    let rate = u64_of(&user.json(&["inspect", "task", task])["params"]["slash_rate_bps"]);
    let mut stake = u64_of(&own["stake"]);
    let mut checked = 0;
    for round in own["rounds"].as_array().expect("rounds") {
        if round["excluded"] != true {
            continue;
        }
        let lost = round["lost"].as_u64().unwrap_or_else(|| panic!("a slash not seen: {own}"));
        stake += lost;
        assert_eq!(lost, stake * rate / 10_000, "round {}: {own}", round["round"]);
        checked += 1;
    }
    assert!(checked >= 3, "fewer than 3 slashes shown: {own}");
}

/// `gradual dashboard` in headless Chromium (`node/tests/browser`): every
/// figure it shows against `gradual inspect --output json`, the slot moving
/// without a reload, no request off the host, a screenshot under `target/`.
fn check_dashboard_in_browser(user: &User, (creator, task): (&str, &str), own: &Operator) {
    let browser_dir = format!("{}/tests/browser", env!("CARGO_MANIFEST_DIR"));
    assert!(
        std::path::Path::new(&format!("{browser_dir}/node_modules/playwright-core")).exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "the browser test needs Chromium and playwright-core: run `make browser`"
    );
    // A second task, named to run script if the page took names as HTML.
    let hostile_name = "<img src=x onerror=window.p=1>";
    let hostile = user.create_default_task(creator, hostile_name, &[]);
    let port = free_port();
    let mut dashboard = user
        .command()
        .args(["dashboard", "--task", task, "--task", &hostile, "--operator", &own.address])
        .args(["--listen", &format!("127.0.0.1:{port}"), "--output", "json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start gradual dashboard");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(dashboard.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("dashboard URL");
    let url = serde_json::from_str::<Value>(&line).expect("the URL as JSON")["url"]
        .as_str()
        .expect("url")
        .to_string();
    let screenshot = format!("{}/../target/dashboard.png", env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new("node")
        .arg(format!("{browser_dir}/dashboard.mjs"))
        .env("TASKS", "2")
        .args([&url, &screenshot])
        .output()
        .expect("run node");
    let _ = dashboard.kill();
    let _ = dashboard.wait();
    assert!(output.status.success(), "the browser test failed: {}", String::from_utf8_lossy(&output.stderr));
    let seen: Value = serde_json::from_slice(&output.stdout).expect("the page's figures as JSON");
    assert_eq!(seen["errors"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["off_host_requests"], serde_json::json!([]), "{seen}");
    assert!(std::fs::metadata(&screenshot).is_ok_and(|file| file.len() > 10_000), "no screenshot");
    assert_eq!(seen["script_ran"], false, "a task's name ran as script: {seen}");
    let shown = |address: &str| {
        seen["tasks"].as_array().expect("tasks").iter().find(|shown| shown["task"] == address).cloned()
    };
    let other = shown(&hostile).unwrap_or_else(|| panic!("the second task is not shown: {seen}"));
    assert_eq!(other["name"], hostile_name, "{seen}");
    let rows = other["rounds"].as_array().expect("rounds");
    assert!(rows.iter().all(|row| row["committed"] == "0"), "a task no node works: {seen}");
    let page = &shown(task).unwrap_or_else(|| panic!("the task is not shown: {seen}"));
    let number = |value: &Value| value.as_str().and_then(|text| text.parse::<u64>().ok());
    assert!(number(&page["fields"]["slot"]).expect("slot") > u64_of(&seen["first_slot"]), "not live: {seen}");

    let inspected = user.json(&["inspect", "task", task]);
    assert_eq!(page["name"], inspected["name"]);
    for field in ["bounty_pool", "node_count", "total_stake"] {
        assert_eq!(number(&page["fields"][field]), inspected[field].as_u64(), "{field}: {seen}");
    }
    // A round may end with slots in no window, so each window's state is
    // checked against the slot shown rather than expecting one open.
    let windows = page["windows"].as_array().expect("windows");
    let shown_slot = number(&page["fields"]["slot"]).expect("slot");
    let round = number(&page["fields"]["round"]).expect("round");
    assert!(windows.iter().any(|window| window["name"] == format!("proofs of round {round}")), "{seen}");
    for window in windows {
        let (start, end) = (u64_of(&window["start"]), u64_of(&window["end"]));
        let open = start <= shown_slot && shown_slot < end;
        assert_eq!(window["open"], open, "window {window} at slot {shown_slot}: {seen}");
    }

    let mut lists_checked = 0;
    let rows = page["rounds"].as_array().expect("rounds");
    assert_eq!(rows.len(), 8, "a node's 8 latest rounds: {seen}");
    for row in rows {
        let round = number(&row["round"]).expect("round");
        let view = user.json(&["inspect", "round", task, &round.to_string()]);
        let submissions = view["submissions"].as_array().expect("submissions");
        assert_eq!(
            number(&row["committed"]),
            Some(submissions.len() as u64),
            "round {round}: {row} vs {view}"
        );
        let revealed = submissions.iter().filter(|entry| entry["revealed"] == true).count() as u64;
        assert_eq!(number(&row["revealed"]), Some(revealed), "round {round}: {row} vs {view}");
        let excluded = view["excluded_nodes"].as_array().expect("excluded").len() as u64;
        assert_eq!(number(&row["excluded"]), Some(excluded), "round {round}: {row} vs {view}");
        let list = &view["distribution"];
        if list.is_null() {
            assert_eq!(row["list_status"], "", "round {round}: {row}");
            continue;
        }
        assert_eq!(row["list_status"], list["status"], "round {round}: {row} vs {list}");
        for field in ["valid_weight", "invalid_weight", "voter_count"] {
            assert_eq!(number(&row[field]), list[field].as_u64(), "round {round} {field}: {row} vs {list}");
        }
        assert_eq!(number(&row["list_total"]), list["total"].as_u64(), "round {round}: {row} vs {list}");
        // Every node the list pays, in the chart and in the table, adding up to its total.
        for drawn in ["chart", "table"] {
            let paid: Vec<&Value> = page[drawn]
                .as_array()
                .expect("rewards")
                .iter()
                .filter(|entry| entry["round"].as_u64() == Some(round))
                .collect();
            assert_eq!(paid.len() as u64, u64_of(&list["leaf_count"]), "round {round} {drawn}: {seen}");
            let total: u64 = paid.iter().map(|entry| u64_of(&entry["amount"])).sum();
            assert_eq!(total, u64_of(&list["total"]), "round {round} {drawn}: {seen}");
        }
        lists_checked += 1;
    }
    assert!(lists_checked >= 2, "the page showed fewer than 2 lists: {seen}");

    // Every audit of the rounds shown, resolved ones too (from history), with its votes.
    let audits = page["audits"].as_array().expect("audits");
    assert!(
        audits.iter().filter(|audit| audit["status"] == "upheld").count() >= 2,
        "resolved audits: {seen}"
    );
    for audit in audits {
        let round = audit["round"].as_str().expect("round");
        let target = audit["target"].as_str().expect("target");
        let inspected = user.json(&["inspect", "audit", "--target", target, "--round", round]);
        assert_eq!(audit["status"], inspected["status"], "{audit} vs {inspected}");
        for field in ["invalid_weight", "valid_weight", "voter_count"] {
            assert_eq!(number(&audit[field]), inspected[field].as_u64(), "{field}: {audit} vs {inspected}");
        }
        let votes = inspected["votes"].as_array().expect("votes").len() as u64;
        assert_eq!(number(&audit["votes"]), Some(votes), "{audit} vs {inspected}");
        if inspected["status"] != "open" {
            assert_eq!(number(&audit["slashed"]), inspected["slashed"].as_u64(), "{audit} vs {inspected}");
        }
    }

    // The bad node as its own: its stake, what it lost, and an alert for it.
    let node = user.json(&["inspect", "node", "--task", task, "--operator", &own.address]);
    let own_view = &page["own"];
    assert_eq!(own_view["node"], node["address"], "{seen}");
    assert_eq!(number(&own_view["fields"]["own_stake"]), node["stake"].as_u64(), "{seen}");
    assert_eq!(number(&own_view["fields"]["own_total_slashed"]), node["total_slashed"].as_u64(), "{seen}");
    // It started after the slashes: what each took comes from the ledger.
    for round in own_view["rounds"].as_array().expect("rounds") {
        if round["proof"] != "excluded" {
            assert_eq!(round["lost"], "0", "{round}");
            continue;
        }
        let number_of_round = round["round"].as_str().expect("round");
        let audit = user.json(&[
            "inspect",
            "audit",
            "--target",
            own_view["node"].as_str().expect("node"),
            "--round",
            number_of_round,
        ]);
        assert_eq!(number(&round["lost"]), audit["slashed"].as_u64(), "{round} vs {audit}");
    }
    let alerts = own_view["alerts"].as_array().expect("alerts");
    assert!(alerts.iter().any(|alert| alert.as_str().is_some_and(|text| text.contains("slashed"))), "{seen}");
}

#[test]
fn nodes_work_audit_slash_distribute_and_claim_and_a_restart_repeats_nothing() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let localnet = Localnet::start(&["--slot-ms", "100"]);
    let user = User::new(&localnet.url);
    let (creator, _) = user.funded_keypair("creator.json", 100 * SOL);
    let shape = TaskShape {
        name: "hello",
        bounty: 20 * SOL,
        bounty_per_round: SOL,
        // 6-second rounds with a 1.5-second raise window: room for slow ticks on a busy machine.
        round_length: 60,
        windows: [10, 30, 10, 20],
        // 15 s to fund and stake four operators before round 0 (every node must work round 0).
        start_in: 150,
    };
    let task = user.create_task(&creator, &shape);

    let operators = staked_operators(&user, &task, 4);
    // Nodes 0 (bad) and 2 export metrics, scraped while they run.
    let metrics_at = [free_port(), free_port()].map(|port| format!("127.0.0.1:{port}"));
    // Node 3 leaves its rewards for `gradual node claim`.
    let mut children = Children(vec![
        start_node_with(
            &user,
            &operators[0],
            &task,
            "bad",
            LAST_ROUND,
            &["--metrics-listen", &metrics_at[0]],
        ),
        start_node(&user, &operators[1], &task, "honest"),
        start_node_with(
            &user,
            &operators[2],
            &task,
            "honest",
            LAST_ROUND,
            &["--metrics-listen", &metrics_at[1]],
        ),
        start_node_with(&user, &operators[3], &task, "honest", LAST_ROUND, &["--no-claim"]),
    ]);
    let scraper = Scraper::start(metrics_at.to_vec());

    // Kill node 1 without warning in the middle of round 2, restart it a second later.
    wait_for_round(&user, &task, 2, 1_500);
    children[1].kill().expect("kill");
    children[1].wait().expect("reap");
    std::thread::sleep(Duration::from_secs(1));
    children[1] = start_node(&user, &operators[1], &task, "honest");

    let deadline = Instant::now() + Duration::from_secs(180);
    for child in children.iter_mut() {
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "nodes did not stop after round {LAST_ROUND}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let [(bad_metrics, bad_board), (honest_metrics, honest_board)] =
        <[(String, Value); 2]>::try_from(scraper.stop()).expect("two scrapes");
    check_metrics(&task, &bad_metrics, &honest_metrics);
    check_node_dashboard(&user, &task, &operators[2], &honest_board);
    check_node_losses(&user, &task, &bad_board);
    // An auditor opens the dashboard, showing the bad node as its own.
    check_dashboard_in_browser(&user, (&creator, &task), &operators[0]);

    let claimed = user.json(&["node", "claim", "-k", &operators[3].keypair, &task]);
    let claimed_rounds: Vec<u64> =
        claimed["claims"].as_array().expect("claims").iter().map(|claim| u64_of(&claim["round"])).collect();
    for round in 0..=4 {
        assert!(
            claimed_rounds.contains(&round),
            "node claim did not claim round {round}: {claimed}; the list: {}; node 3: {}",
            user.json(&["inspect", "distribution", &task, &round.to_string()]),
            user.json(&["inspect", "node", "--task", &task, "--operator", &operators[3].address])
        );
    }
    assert!(u64_of(&claimed["total"]) >= 5 * 333_333_333, "{claimed}");
    let again = user.json(&["node", "claim", "-k", &operators[3].keypair, &task]);
    assert_eq!(u64_of(&again["total"]), 0, "a second claim pays nothing: {again}");

    let logs: Vec<String> =
        operators.iter().map(|operator| std::fs::read_to_string(&operator.log).unwrap_or_default()).collect();
    let context = |index: usize| format!("node {index} log:\n{}", logs[index]);

    let nodes: Vec<Value> = operators
        .iter()
        .map(|operator| user.json(&["inspect", "node", "--task", &task, "--operator", &operator.address]))
        .collect();
    let node_address = |index: usize| nodes[index]["address"].as_str().expect("address").to_string();

    // Every node submitted every round, and the bad node's proofs were all excluded.
    for round in 0..=4u64 {
        let view = user.json(&["inspect", "round", &task, &round.to_string()]);
        assert_eq!(view["submissions"].as_array().expect("submissions").len(), 4, "round {round}: {view}");
        assert_eq!(view["excluded_nodes"], serde_json::json!([node_address(0)]), "round {round}: {view}");
        let distribution = user.json(&["inspect", "distribution", &task, &round.to_string()]);
        assert_eq!(distribution["status"], "approved", "round {round}: {distribution}");
        assert_eq!(u64_of(&distribution["leaf_count"]), 3, "the bad node is not on the list");
        // An auditor sees the leaves, each checked against the root, and each proof.
        assert_eq!(distribution["leaves_from"], "rule", "{distribution}");
        let leaves = distribution["leaves"].as_array().expect("leaves");
        assert!(leaves.len() == 3 && leaves.iter().all(|leaf| leaf["verified"] == true), "{distribution}");
        let paid: u64 = leaves.iter().map(|leaf| u64_of(&leaf["amount"])).sum();
        assert_eq!(paid, u64_of(&distribution["total"]), "{distribution}");
        for entry in view["submissions"].as_array().expect("submissions") {
            let honest = entry["node"] != node_address(0).as_str();
            assert_eq!(entry["revealed"], true, "{entry}");
            assert_ne!(entry["digest"], "0".repeat(64), "{entry}");
            assert_eq!(entry["paid"], honest, "round {round}: {entry}");
        }
        assert_eq!(
            u64_of(&distribution["claimed"]),
            u64_of(&distribution["total"]),
            "round {round} fully claimed"
        );
    }
    assert!(u64_of(&nodes[0]["total_slashed"]) > 0, "the bad node was slashed");
    assert!(u64_of(&nodes[0]["stake"]) < 2 * SOL);
    for (index, node) in nodes.iter().enumerate().skip(1) {
        assert_eq!(u64_of(&node["total_slashed"]), 0, "honest node {index} was slashed");
        let claimed: Vec<u64> =
            node["claimed_or_excluded_rounds"].as_array().expect("rounds").iter().map(u64_of).collect();
        for round in 0..=4 {
            assert!(claimed.contains(&round), "node {index} did not claim round {round}: {}", context(index));
        }
    }
    assert_eq!(user.json(&["inspect", "task", &task])["conservation"]["holds"], true);

    // The restarted node missed no round and submitted none twice.
    let shown = user.json(&["node", "show", "-k", &operators[1].keypair, &task, "--db", &operators[1].db]);
    for round in 0..=5u64 {
        let submitted = shown["submissions"]
            .as_array()
            .expect("submissions")
            .iter()
            .any(|entry| u64_of(&entry["round"]) == round);
        assert!(submitted, "node 1 missed round {round}: {}", context(1));
        assert_eq!(
            shown["journal"][format!("SubmitProof/{round}")],
            1,
            "node 1 journal: {}",
            shown["journal"]
        );
    }
    assert_eq!(logs[1].matches("\"event\":\"started\"").count(), 2, "{}", context(1));
    check_history(&user, &task, &operators, &nodes);
}

/// `gradual history` against what the nodes did: their journals of landed
/// transactions, the accounts' proofs and the lists' leaves.
fn check_history(user: &User, task: &str, operators: &[Operator], nodes: &[Value]) {
    use std::collections::BTreeMap;
    let history = user.json(&["history", task]);
    assert_eq!(history["incomplete"], serde_json::json!([]), "{history}");
    assert_eq!(history["from_creation"], true, "the localnet keeps every transaction");
    let nothing = user.json(&["history", &gradual_interface::Address::new_from_array([3; 32]).to_string()]);
    assert_eq!((u64_of(&nothing["transactions"]), &nothing["from_creation"]), (0, &serde_json::json!(false)));
    let entries = history["entries"].as_array().expect("entries");
    let named = |event: &'static str| entries.iter().filter(move |entry| entry["event"] == event);
    let address = |index: usize| nodes[index]["address"].as_str().expect("address").to_string();
    let bad = address(0);
    for round in 0..=4u64 {
        let view = user.json(&["inspect", "round", task, &round.to_string()]);
        let from_accounts: BTreeMap<String, String> = view["submissions"]
            .as_array()
            .expect("submissions")
            .iter()
            .map(|entry| (entry["node"].as_str().expect("node").to_string(), entry["digest"].to_string()))
            .collect();
        let revealed: BTreeMap<String, String> = named("Revealed")
            .filter(|entry| u64_of(&entry["round"]) == round)
            .map(|entry| (entry["node"].as_str().expect("node").to_string(), entry["digest"].to_string()))
            .collect();
        assert_eq!(revealed, from_accounts, "round {round}: each node revealed once, the digest it holds");
        let committed = named("Committed").filter(|entry| u64_of(&entry["round"]) == round).count();
        assert_eq!(committed, 4, "round {round}: each node committed once, the restarted one too");
        let upheld: Vec<&Value> =
            named("AuditResolved").filter(|entry| u64_of(&entry["round"]) == round).collect();
        assert!(
            upheld.len() == 1 && upheld[0]["target"] == bad.as_str() && upheld[0]["upheld"] == true,
            "round {round}: one audit, of the bad node, upheld: {upheld:?}"
        );
        let distribution = user.json(&["inspect", "distribution", task, &round.to_string()]);
        let mut leaves: Vec<(String, u64)> = distribution["leaves"]
            .as_array()
            .expect("leaves")
            .iter()
            .map(|leaf| (leaf["node"].as_str().expect("node").to_string(), u64_of(&leaf["amount"])))
            .collect();
        let mut claims: Vec<(String, u64)> = named("RewardClaimed")
            .filter(|entry| u64_of(&entry["round"]) == round)
            .map(|entry| (entry["node"].as_str().expect("node").to_string(), u64_of(&entry["amount"])))
            .collect();
        leaves.sort();
        claims.sort();
        assert_eq!(claims, leaves, "round {round}: the claims are the list's leaves, each once");
    }
    let slashed: u64 = named("AuditResolved").map(|entry| u64_of(&entry["slashed"])).sum();
    assert_eq!(slashed, u64_of(&nodes[0]["total_slashed"]), "the slashes add up to the bad node's loss");
    // Every vote and raise is one a node journaled as landed, and no other.
    let mut seen: BTreeMap<(String, String, u64), u64> = BTreeMap::new();
    for (event, who, kind) in [("AuditVoted", "voter", "VoteAudit"), ("AuditRaised", "raiser", "RaiseAudit")]
    {
        for entry in named(event) {
            let key =
                (kind.to_string(), entry[who].as_str().expect("node").to_string(), u64_of(&entry["round"]));
            *seen.entry(key).or_default() += 1;
        }
    }
    let mut journaled: BTreeMap<(String, String, u64), u64> = BTreeMap::new();
    for (index, operator) in operators.iter().enumerate() {
        let shown = user.json(&["node", "show", "-k", &operator.keypair, task, "--db", &operator.db]);
        for (key, count) in shown["journal"].as_object().expect("journal") {
            let (kind, round) = key.split_once('/').expect("kind/round");
            if kind == "VoteAudit" || kind == "RaiseAudit" {
                let round = round.parse().expect("round");
                *journaled.entry((kind.to_string(), address(index), round)).or_default() += u64_of(count);
            }
        }
    }
    assert!(!seen.is_empty());
    assert_eq!(seen, journaled, "the history's votes and raises are the nodes' own");

    // A resolved audit is answered from history, with why and who voted.
    let audit = user.json(&["inspect", "audit", "--target", &bad, "--round", "1"]);
    assert_eq!(audit["status"], "upheld", "{audit}");
    assert_eq!(audit["resolved"]["upheld"], true, "{audit}");
    assert_eq!(audit["raised"]["reason_text"], gradual_node::runtime::RAISED_INVALID, "{audit}");
    assert!(!audit["votes"].as_array().expect("votes").is_empty(), "{audit}");
    // Filters, and a round read from history only.
    let filtered = user.json(&["history", task, "--round", "1", "--node", &bad]);
    let filtered = filtered["entries"].as_array().expect("entries");
    assert!(!filtered.is_empty());
    assert!(filtered.iter().all(|entry| entry.to_string().contains(&bad) && u64_of(&entry["round"]) == 1));
    let old = user.json(&["inspect", "round", task, "1", "--history"]);
    assert_eq!(old["submissions_from"], "history");
    let submissions = old["submissions"].as_array().expect("submissions");
    assert_eq!(submissions.len(), 4, "{old}");
    assert!(submissions.iter().all(|entry| entry["revealed"] == true && entry["committed"] == true), "{old}");
    assert!(submissions.iter().all(|entry| entry["paid"] == (entry["node"] != bad.as_str())), "{old}");
}

#[test]
fn a_running_node_that_unstakes_withdraws_once_its_rewards_are_settled() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let localnet = Localnet::start(&["--slot-ms", "100"]);
    let user = User::new(&localnet.url);
    let (creator, _) = user.funded_keypair("creator.json", 100 * SOL);
    let shape = TaskShape {
        name: "leaving",
        bounty: 5 * SOL,
        bounty_per_round: SOL / 10,
        round_length: 20,
        windows: [4, 4, 8, 4],
        start_in: 10,
    };
    let task = user.create_task(&creator, &shape);
    // Three nodes, so that lists have voters besides their proposer.
    let operators = staked_operators(&user, &task, 3);
    let mut others = Children(
        operators[1..]
            .iter()
            .map(|operator| start_node_until(&user, operator, &task, "honest", 100))
            .collect(),
    );
    let operator = &operators[0];
    let mut child = start_node_until(&user, operator, &task, "honest", 100);
    wait_for_round(&user, &task, 2, 0);
    let exit_round = {
        user.json(&["node", "unstake", "-k", &operator.keypair, &task]);
        u64_of(
            &user.json(&["inspect", "node", "--task", &task, "--operator", &operator.address])["exit_round"],
        )
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "the node never withdrew");
        std::thread::sleep(Duration::from_millis(200));
    }
    for other in others.iter_mut() {
        let _ = other.kill();
        let _ = other.wait();
    }
    let log = std::fs::read_to_string(&operator.log).unwrap_or_default();
    let withdrawn: Value = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|event| event["event"] == "withdrawn")
        .unwrap_or_else(|| panic!("no withdrawn event:\n{log}"));
    assert_eq!(u64_of(&withdrawn["lamports"]), 2 * SOL);
    // Defaults: cooldown 2 rounds, 2 failed distributions allowed.
    assert!(
        u64_of(&withdrawn["round"]) >= exit_round + 4,
        "withdrew before its last list was settled: {withdrawn}"
    );
    let (code, _) =
        common::failure(&user.run(&["inspect", "node", "--task", &task, "--operator", &operator.address]));
    assert_eq!(code, 2, "the node account is closed");
    // It was paid for every round it worked before leaving: rounds before its exit round.
    let stopped: Value = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|event| event["event"] == "stopped")
        .unwrap_or_else(|| panic!("no stopped event:\n{log}"));
    let paid: Vec<u64> =
        stopped["stats"]["rounds_paid"].as_array().expect("rounds paid").iter().map(u64_of).collect();
    let worked: Vec<u64> =
        stopped["stats"]["rounds_submitted"].as_array().expect("rounds").iter().map(u64_of).collect();
    assert!(!worked.is_empty(), "{log}");
    for round in &worked {
        assert!(paid.contains(round), "round {round} worked but not paid before withdrawing:\n{log}");
    }
    assert_eq!(user.json(&["inspect", "task", &task])["conservation"]["holds"], true);
}

/// A node stops working a task whose bounty pool can pay nothing, so it
/// spends no fees on it, and starts again by itself once the pool is refilled.
#[test]
fn a_node_pauses_while_the_pool_cannot_pay_and_resumes_when_it_is_refilled() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let localnet = Localnet::start(&["--slot-ms", "100"]);
    let user = User::new(&localnet.url);
    let (creator, _) = user.funded_keypair("creator.json", 100 * SOL);
    // Two rounds' bounty, 2-second rounds.
    let shape = TaskShape {
        name: "drained",
        bounty: SOL / 5,
        bounty_per_round: SOL / 10,
        round_length: 20,
        windows: [4, 4, 8, 4],
        start_in: 10,
    };
    let task = user.create_task(&creator, &shape);
    let operators = staked_operators(&user, &task, 1);
    let mut child = start_node_until(&user, &operators[0], &task, "honest", 12);
    wait_for_round(&user, &task, 6, 0);
    user.json(&["task", "fund", "-k", &creator, &task, &SOL.to_string()]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "the node did not stop after round 12");
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = std::fs::read_to_string(&operators[0].log).unwrap_or_default();
    let stopped: Value = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|event| event["event"] == "stopped")
        .unwrap_or_else(|| panic!("no stopped event:\n{log}"));
    let rounds = |key: &str| -> Vec<u64> {
        stopped["stats"][key].as_array().expect("rounds").iter().map(u64_of).collect()
    };
    let unfunded = rounds("rounds_unfunded");
    let submitted = rounds("rounds_submitted");
    assert!(submitted.contains(&0) && submitted.contains(&1), "{stopped}");
    // The pool's two rounds were spoken for once rounds 0 and 1 were worked.
    for round in 2..=5 {
        assert!(unfunded.contains(&round), "round {round} was worked on an empty pool: {stopped}");
    }
    for round in &unfunded {
        assert!(!submitted.contains(round), "round {round} was submitted though unfunded: {stopped}");
        let view = user.json(&["inspect", "round", &task, &round.to_string()]);
        assert_eq!(view["submissions"].as_array().map_or(0, Vec::len), 0, "round {round}: {view}");
    }
    // Refilled in round 6, it worked again by itself.
    assert!(submitted.iter().any(|round| (7..=11).contains(round)), "never resumed: {stopped}");
    assert!(log.contains("the bounty pool cannot pay this round"), "{log}");
}
