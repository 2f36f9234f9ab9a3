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
    free_port, staked_operators, start_node_with, u64_of, Localnet, Operator, TaskShape, User, SOL,
};
use serde_json::Value;

const LAST_ROUND: u64 = 8;

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

/// Scrapes `/metrics` at each address until stopped, keeping the last
/// answer from each: the nodes' final counts, since they exit when done.
struct Scraper {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<String>>,
}

impl Scraper {
    fn start(addresses: Vec<String>) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut last = vec![String::new(); addresses.len()];
            while !stopping.load(std::sync::atomic::Ordering::SeqCst) {
                for (address, kept) in addresses.iter().zip(&mut last) {
                    let answer = client.get(format!("http://{address}/metrics")).send();
                    if let Ok(text) = answer.and_then(reqwest::blocking::Response::text) {
                        *kept = text;
                    }
                }
                std::thread::sleep(Duration::from_millis(300));
            }
            last
        });
        Self { stop, thread }
    }

    fn stop(self) -> Vec<String> {
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
    // The bad node's slashes show.
    assert!(metric(bad, "gradual_slashes_total") >= 1, "{bad}");
    assert!(metric(bad, "gradual_slashed_lamports_total") > 0, "{bad}");
    assert_eq!(metric(bad, "gradual_claimed_lamports_total"), 0, "{bad}");
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
    let mut children: Vec<Child> = vec![
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
    ];
    let scraper = Scraper::start(metrics_at.to_vec());

    // Kill node 1 without warning in the middle of round 2, restart it a second later.
    wait_for_round(&user, &task, 2, 1_500);
    children[1].kill().expect("kill");
    children[1].wait().expect("reap");
    std::thread::sleep(Duration::from_secs(1));
    children[1] = start_node(&user, &operators[1], &task, "honest");

    let deadline = Instant::now() + Duration::from_secs(180);
    for child in &mut children {
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "nodes did not stop after round {LAST_ROUND}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let [bad_metrics, honest_metrics] = <[String; 2]>::try_from(scraper.stop()).expect("two scrapes");
    check_metrics(&task, &bad_metrics, &honest_metrics);

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
    let mut others: Vec<Child> = operators[1..]
        .iter()
        .map(|operator| start_node_until(&user, operator, &task, "honest", 100))
        .collect();
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
    for other in &mut others {
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
