//! `gradual node run` as a daemon under trouble, each against a localnet of
//! its own: an RPC outage, a chain reset under it, a second instance, stake
//! below the task's minimum, and a stop across a reveal.

#![allow(clippy::arithmetic_side_effects)]

mod common;

use std::{
    process::Child,
    time::{Duration, Instant},
};

use common::{
    failure, free_port, staked_operators, start_node_with, u64_of, Children, Localnet, Operator, TaskShape,
    User, SOL,
};
use serde_json::Value;

/// 2-second rounds (20 slots of 100 ms), round 0 `start_in` slots away.
fn short_rounds(name: &'static str, start_in: u64) -> TaskShape {
    TaskShape {
        name,
        bounty: 20 * SOL,
        bounty_per_round: SOL / 10,
        round_length: 20,
        windows: [4, 4, 8, 4],
        start_in,
    }
}

/// Waits for `found` to give a value, at most `limit`.
fn wait_for<T>(limit: Duration, what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn get(url: &str) -> Option<String> {
    reqwest::blocking::Client::new().get(url).timeout(Duration::from_secs(3)).send().ok()?.text().ok()
}

/// The node's `/status` for `task`.
fn status(metrics: &str, task: &str) -> Option<Value> {
    let status: Value = serde_json::from_str(&get(&format!("http://{metrics}/status"))?).ok()?;
    status.get(task).cloned()
}

/// The value of the sample of `name` whose labels contain `labels`.
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    text.lines()
        .filter(|line| line.split(['{', ' ']).next() == Some(name) && line.contains(labels))
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
}

/// One node process, killed when dropped: a failing test leaves none behind.
type Running = Children;

fn running(child: Child) -> Running {
    Children(vec![child])
}

fn stop(node: Running) {
    drop(node);
}

/// The task's current round; 0 before it starts.
fn current_round(user: &User, task: &str) -> u64 {
    user.json(&["task", "show", task])["current_round"].as_u64().unwrap_or(0)
}

/// What Chromium shows at `url`: each task's stale-data banner and the
/// status line (`node/tests/browser/stale.mjs`; `make browser` installs it).
fn browser_view(url: &str) -> Value {
    let script = format!("{}/tests/browser/stale.mjs", env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new("node").args([script.as_str(), url]).output().expect("run node");
    assert!(output.status.success(), "the browser failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("the page as JSON")
}

/// Asks the localnet to fail every request for `millis` (HTTP 503).
fn outage(url: &str, millis: u64) {
    let request =
        serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": "localnetOutage", "params": [millis] });
    reqwest::blocking::Client::new().post(url).json(&request).send().expect("ask for an outage");
}

/// A localnet with one task of 2-second rounds and one operator staked in it.
struct OneNode {
    _localnet: Localnet,
    user: User,
    creator: String,
    task: String,
    operator: Operator,
}

fn one_node(name: &'static str) -> OneNode {
    one_node_with(&short_rounds(name, 20))
}

fn one_node_with(shape: &TaskShape) -> OneNode {
    let localnet = Localnet::start(&["--slot-ms", "100"]);
    let user = User::new(&localnet.url);
    let (creator, _) = user.funded_keypair("creator.json", 100 * SOL);
    let task = user.create_task(&creator, shape);
    let operator = staked_operators(&user, &task, 1).remove(0);
    OneNode { _localnet: localnet, user, creator, task, operator }
}

impl OneNode {
    /// Runs the node with `--metrics-listen`; returns it and that address.
    fn run_with_metrics(&self) -> (Running, String) {
        let metrics = format!("127.0.0.1:{}", free_port());
        let args = ["--metrics-listen", metrics.as_str()];
        (running(start_node_with(&self.user, &self.operator, &self.task, "honest", 1_000, &args)), metrics)
    }
}

#[test]
fn an_rpc_outage_is_loud_and_the_node_carries_on_after_it() {
    let fixture = one_node("outage");
    let (node, metrics) = fixture.run_with_metrics();
    let (localnet_url, task, operators) = (&fixture.user.url, &fixture.task, [&fixture.operator]);
    // Every series is there from the start, at zero, before anything happened.
    let mut node = node;
    let text = wait_for(Duration::from_secs(30), "metrics", || {
        if let Some(status) = node[0].try_wait().expect("wait") {
            let log = std::fs::read_to_string(&operators[0].log).unwrap_or_default();
            panic!("the node exited ({status}) before serving metrics:\n{log}");
        }
        // The listener may answer before the task's series are registered.
        get(&format!("http://{metrics}/metrics")).filter(|text| text.contains(&format!("task=\"{task}\"")))
    });
    for name in ["gradual_rpc_errors_total", "gradual_slashes_total", "gradual_rounds_missed_total"] {
        assert!(sample(&text, name, task).is_some(), "{name} is not exported from zero:\n{text}");
    }
    assert!(!text.contains("..\n"), "a HELP line ends in '..':\n{text}");
    wait_for(Duration::from_secs(30), "a first tick", || {
        status(&metrics, task).filter(|status| status["last_successful_tick"].is_u64())
    });

    outage(localnet_url, 18_000);
    std::thread::sleep(Duration::from_secs(11));
    let during = status(&metrics, task).expect("status during the outage");
    let error = during["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("cannot reach the chain"), "last_error during the outage: {during}");
    assert!(u64_of(&during["seconds_since_tick"]) >= 8, "{during}");
    let text = get(&format!("http://{metrics}/metrics")).expect("metrics during the outage");
    assert!(sample(&text, "gradual_rpc_errors_total", task).unwrap_or(0.0) >= 3.0, "{text}");
    let ticked = sample(&text, "gradual_last_successful_tick_timestamp_seconds", task).expect("tick gauge");
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64();
    assert!(now - ticked >= 8.0, "the tick gauge moved during the outage: {ticked} at {now}");
    let board: Value =
        serde_json::from_str(&get(&format!("http://{metrics}/api/dashboard")).expect("dashboard"))
            .expect("json");
    let age = u64_of(&board["now"]) - u64_of(&board["tasks"][0]["read_at"]);
    assert!(age >= 8_000, "the dashboard's data is {age} ms old during the outage: the page must say so");
    // And the page says so, in a real browser, once the data is over 10 s old.
    let page = browser_view(&format!("http://{metrics}/"));
    let banner = &page["banners"][0];
    assert!(u64_of(&banner["seconds"]) > 10, "no stale banner during the outage: {page}");
    assert!(banner["text"].as_str().is_some_and(|text| text.contains("s old")), "{page}");
    assert!(page["status"].as_str().is_some_and(|status| status.contains("s old")), "{page}");

    // Once the chain answers again, the node acts again, and says so.
    wait_for(Duration::from_secs(30), "recovery", || {
        status(&metrics, task).filter(|status| {
            status["alerts"].as_array().is_some_and(Vec::is_empty)
                && u64_of(&status["seconds_since_tick"]) <= 2
        })
    });
    assert!(node[0].try_wait().expect("wait").is_none(), "the node exited over an outage");
    stop(node);
}

#[test]
fn a_chain_reset_under_a_running_node_is_a_failure_not_an_unstake() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let localnet = Localnet::start_on(&listen, &["--slot-ms", "100"], std::process::Stdio::null());
    let user = User::new(&localnet.url);
    let (creator, _) = user.funded_keypair("creator.json", 100 * SOL);
    let task = user.create_task(&creator, &short_rounds("reset", 20));
    let operators = staked_operators(&user, &task, 1);
    let mut node = running(start_node_with(&user, &operators[0], &task, "honest", 1_000, &[]));
    let log = || std::fs::read_to_string(&operators[0].log).unwrap_or_default();
    wait_for(Duration::from_secs(30), "the node's first round", || {
        log().contains("\"event\":\"round\"").then_some(())
    });
    drop(localnet);
    // A new, empty chain at the same address, its slots soon past the old ones.
    let _reset = Localnet::start_on(&listen, &["--slot-ms", "50"], std::process::Stdio::null());
    let status = wait_for(Duration::from_secs(60), "the node to exit", || node[0].try_wait().expect("wait"));
    let log = log();
    assert_eq!(
        status.code(),
        Some(1),
        "a reset chain must fail the node so a supervisor restarts it:\n{log}"
    );
    assert!(!log.contains("\"event\":\"unstaked\""), "a reset chain is not an unstake:\n{log}");
    assert!(log.contains("genesis"), "the reason names the chain's identity:\n{log}");

    // Restarted on the reset chain, the node refuses the database of the old one, in one line.
    let restarted = user
        .command()
        .args(["node", "run", "-k", &operators[0].keypair, &task, "--db", &operators[0].db])
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .output()
        .expect("run");
    let (code, stderr) = failure(&restarted);
    assert!(code == 2 && stderr.lines().count() == 1 && stderr.contains("genesis"), "exit {code}: {stderr}");
}

#[test]
fn a_second_instance_of_a_node_refuses_to_start_whatever_its_database() {
    let fixture = one_node("twice");
    let (user, task, operators) = (&fixture.user, &fixture.task, [&fixture.operator]);
    let first = running(start_node_with(user, operators[0], task, "honest", 1_000, &[]));
    let log = || std::fs::read_to_string(&operators[0].log).unwrap_or_default();
    wait_for(Duration::from_secs(30), "the first instance", || {
        log().contains("\"event\":\"started\"").then_some(())
    });
    let second = user
        .command()
        .args([
            "node",
            "run",
            "-k",
            &operators[0].keypair,
            task,
            "--db",
            &user.path("other.redb").display().to_string(),
        ])
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .output()
        .expect("run a second instance");
    let (code, stderr) = failure(&second);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("already running") && stderr.lines().count() == 1, "{stderr}");
    assert!(!user.path("other.redb").exists(), "the second instance touched a database");
    stop(first);
    // Once the first is gone, the node starts.
    let again = running(start_node_with(user, operators[0], task, "honest", 1_000, &[]));
    wait_for(Duration::from_secs(30), "the node to start again", || {
        (log().matches("\"event\":\"started\"").count() == 2).then_some(())
    });
    stop(again);
}

#[test]
fn stake_below_the_minimum_is_warned_counted_and_shown() {
    let fixture = one_node("minimum");
    let (node, metrics) = fixture.run_with_metrics();
    let (user, creator, task, operators) =
        (&fixture.user, &fixture.creator, &fixture.task, [&fixture.operator]);
    wait_for(Duration::from_secs(30), "round 1", || (current_round(user, task) >= 1).then_some(()));
    // The node holds 2 SOL; from the next round the task asks for 3.
    user.json(&["task", "update", "-k", creator, task, "--min-stake", &(3 * SOL).to_string()]);
    let missed = wait_for(Duration::from_secs(40), "a missed round", || {
        let text = get(&format!("http://{metrics}/metrics"))?;
        sample(&text, "gradual_rounds_missed_total", "reason=\"stake_below_minimum\"")
            .filter(|count| *count >= 2.0)
    });
    assert!(missed >= 2.0);
    let status =
        user.run(&["node", "status", "-k", &operators[0].keypair, task, "--metrics-listen", &metrics]);
    let text = String::from_utf8_lossy(&status.stdout).to_string();
    assert!(status.status.success(), "{text}");
    assert!(text.contains("stake_below_minimum") && text.contains("below the task's minimum"), "{text}");
    stop(node);
    let log = std::fs::read_to_string(&operators[0].log).unwrap_or_default();
    assert!(
        log.lines().any(|line| line.contains("WARN") && line.contains("below the task's minimum")),
        "no warning in the log:\n{log}"
    );
}

#[test]
fn a_node_restarted_inside_a_reveal_window_reveals_and_exit_after_round_reveals_its_last() {
    // 4-second rounds with 2-second submission windows: room to restart inside one.
    let shape = TaskShape {
        name: "restart",
        bounty: 20 * SOL,
        bounty_per_round: SOL / 10,
        round_length: 40,
        windows: [20, 8, 8, 4],
        start_in: 20,
    };
    let fixture = one_node_with(&shape);
    let (user, task, operators) = (&fixture.user, &fixture.task, [&fixture.operator]);
    let committed = |round: u64| -> Option<Value> {
        let view = user.json(&["inspect", "round", task, &round.to_string()]);
        view["submissions"].as_array()?.first().cloned()
    };
    let node = running(start_node_with(user, operators[0], task, "honest", 1_000, &[]));
    // Round 1 is committed in round 2's window: stop the node then, before it reveals round 1 in round 3's.
    wait_for(Duration::from_secs(40), "round 1's commitment", || committed(1));
    stop(node);
    wait_for(Duration::from_secs(20), "round 3", || (current_round(user, task) >= 3).then_some(()));
    let node = running(start_node_with(user, operators[0], task, "honest", 3, &[]));
    let revealed = wait_for(Duration::from_secs(20), "round 1's reveal", || {
        committed(1).filter(|entry| entry["revealed"] == true)
    });
    assert_eq!(revealed["revealed"], true);
    // With --exit-after-round 3 the node stays to commit and reveal round 3 before it exits.
    let mut node = node;
    let status = wait_for(Duration::from_secs(40), "the node to exit", || node[0].try_wait().expect("wait"));
    assert!(status.success(), "{status:?}");
    let last = committed(3).unwrap_or_else(|| panic!("round 3 not committed"));
    assert_eq!(last["revealed"], true, "--exit-after-round 3 left round 3 unrevealed: {last}");
    assert!(committed(4).is_none(), "round 4 was worked after --exit-after-round 3");
}
