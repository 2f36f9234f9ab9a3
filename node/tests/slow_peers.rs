//! Work and checks run beside the slot loop: a task whose work takes longer
//! than the submission window still submits every round, and peers that
//! accept connections but never answer are audited, slashed and unpaid
//! while the honest nodes are paid. Real `node run` processes on a localnet.

#![allow(clippy::arithmetic_side_effects)]

mod common;

use std::{io::Read, net::TcpListener, time::Duration};

use common::{
    staked_operators, staked_operators_serving, start_node_with, u64_of, wait_for_exit, write_executable,
    Localnet, User, SOL,
};
use serde_json::Value;

/// Runs one at a time: each test runs several nodes on real slot clocks.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A task whose work takes 5 seconds and whose audit answers at once.
const SLOW_TASK: &str = r#"#!/bin/sh
read -r request
case "$request" in
  *'"work"'*) sleep 5; echo '{"result":"aGVsbG8="}' ;;
  *'"audit"'*) echo '{"valid":true}' ;;
  *) echo '{"error":"unknown method"}' ;;
esac
"#;

fn submissions(user: &User, task: &str, round: u64) -> Vec<Value> {
    user.json(&["inspect", "round", task, &round.to_string()])["submissions"]
        .as_array()
        .expect("submissions")
        .clone()
}

#[test]
fn work_slower_than_the_submission_window_is_submitted_every_round() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // The defaults of `gradual localnet` and `task create`: 400 ms slots,
    // 40-slot rounds, an 8-slot (3.2 s) submission window.
    let localnet = Localnet::start(&[]);
    let user = User::new(&localnet.url);
    let executable = write_executable(user.home.path(), "slow-task.sh", SLOW_TASK);
    let (creator, _) = user.funded_keypair("creator.json", 100 * SOL);
    let locator =
        ["--executable-locator", "file:slow-task.sh", "--executable", &executable, "--start-in", "40"];
    let task = user.create_default_task(&creator, "slow", &locator);
    let operators = staked_operators(&user, &task, 2);
    let last_round = 3;
    let mut nodes: Vec<_> = operators
        .iter()
        .map(|operator| {
            start_node_with(&user, operator, &task, "honest", last_round, &["--executable", &executable])
        })
        .collect();
    wait_for_exit(&mut nodes, Duration::from_secs(150), "the nodes did not stop after round 3");

    for round in 0..last_round {
        let submitted = submissions(&user, &task, round);
        assert_eq!(
            submitted.len(),
            2,
            "round {round}: both nodes submit although work takes 5 s: {submitted:?}"
        );
    }
    for operator in &operators {
        let log = std::fs::read_to_string(&operator.log).expect("log");
        assert!(!log.contains("OutsideSubmissionWindow"), "a submission came too late:\n{log}");
    }
}

#[test]
fn silent_peers_are_audited_slashed_and_unpaid() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // Accepts connections and never answers: each fetch waits for its timeout.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_url = format!("http://{}", silent.local_addr().expect("address"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            let mut stream = stream;
            let mut buffer = [0; 1024];
            let _ = stream.set_read_timeout(Some(Duration::from_millis(10)));
            let _ = stream.read(&mut buffer);
            held.push(stream);
        }
    });
    // 200 ms slots, 40-slot rounds and the default windows: a 1.2 s raise window.
    let localnet = Localnet::start(&["--slot-ms", "200"]);
    let user = User::new(&localnet.url);
    let (creator, _) = user.funded_keypair("creator.json", 100 * SOL);
    let task = user.create_default_task(&creator, "silent", &["--start-in", "100"]);
    let mut operators = staked_operators(&user, &task, 2);
    operators.extend(staked_operators_serving(&user, &task, 2..5, |_| silent_url.clone()));
    let last_round = 5;
    let mut nodes: Vec<_> = operators
        .iter()
        .map(|operator| start_node_with(&user, operator, &task, "honest", last_round, &[]))
        .collect();
    wait_for_exit(&mut nodes, Duration::from_secs(120), "the nodes did not stop after round 5");

    let silent_nodes: Vec<String> = operators[2..]
        .iter()
        .map(|operator| {
            user.json(&["inspect", "node", "--task", &task, "--operator", &operator.address])["address"]
                .as_str()
                .expect("address")
                .to_string()
        })
        .collect();
    for round in 0..2u64 {
        let view = user.json(&["inspect", "round", &task, &round.to_string()]);
        let mut excluded: Vec<String> = view["excluded_nodes"]
            .as_array()
            .expect("excluded")
            .iter()
            .map(|node| node.as_str().expect("node").to_string())
            .collect();
        excluded.sort();
        let mut expected = silent_nodes.clone();
        expected.sort();
        assert_eq!(
            excluded, expected,
            "round {round}: every silent node is audited, slashed and excluded: {view}"
        );
        let list = user.json(&["inspect", "distribution", &task, &round.to_string()]);
        assert_eq!(list["status"], "approved", "round {round}: {list}");
        assert_eq!(
            u64_of(&list["leaf_count"]),
            2,
            "round {round}: the list pays the two honest nodes: {list}"
        );
        assert_eq!(list["claimed"], list["total"], "round {round}: both honest nodes claimed: {list}");
    }
    for node in &silent_nodes {
        let shown = user.json(&["inspect", "node", node]);
        assert!(u64_of(&shown["total_slashed"]) > 0, "{shown}");
    }
    let conservation = &user.json(&["inspect", "task", &task])["conservation"];
    assert_eq!(conservation["holds"], true, "{conservation}");
}
