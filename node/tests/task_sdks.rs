//! Task authoring end to end: the SDK examples and templates in Python and
//! JavaScript pass `gradual task check` and run in `gradual simulate
//! --executable`, the custom distribution pays what its rule says, and a
//! broken executable is counted and survived.

#![allow(clippy::arithmetic_side_effects)]

mod common;

use std::process::Command;

use common::{program, u64_of, write_executable};
use serde_json::Value;

const BOUNTY_PER_ROUND: u64 = 1_000_000_000;

fn sdk(path: &str) -> String {
    format!("{}/../sdk/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn gradual(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gradual")).args(args).output().expect("run gradual")
}

/// `gradual simulate --executable PATH` with 4 nodes, one bad, for 2 rounds, as JSON.
fn simulate(executable: &str, extra: &[&str]) -> Value {
    simulate_shaped(executable, &["--nodes", "4", "--rounds", "2", "--bad", "1"], extra)
}

/// `gradual simulate --executable PATH` with the nodes and rounds of `shape`,
/// as JSON; the run must succeed and conservation hold.
fn simulate_shaped(executable: &str, shape: &[&str], extra: &[&str]) -> Value {
    let output = gradual(
        &[
            &["simulate", "--executable", executable][..],
            shape,
            extra,
            &["--program", &program(), "--output", "json"],
        ]
        .concat(),
    );
    assert!(output.status.success(), "simulate {executable}: {}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON report");
    assert_eq!(report["conservation"]["holds"], true, "{executable}: {}", report["conservation"]);
    report
}

fn nodes(report: &Value) -> &Vec<Value> {
    report["nodes"].as_array().expect("nodes")
}

#[test]
fn examples_and_templates_pass_task_check() {
    for script in [
        "python/examples/hello",
        "python/examples/work_units",
        "python/template",
        "js/examples/hello",
        "js/template",
    ] {
        let output = gradual(&["task", "check", &sdk(script), "--output", "json"]);
        let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert!(output.status.success(), "{script}: {report}");
        assert_eq!(report["protocol"], 1, "{script}");
        for part in report["parts"].as_array().expect("parts") {
            assert_eq!(part["ok"], true, "{script}: {part}");
        }
    }
}

#[test]
fn the_hello_examples_pay_honest_nodes_equally_and_slash_the_bad_one() {
    for script in ["python/examples/hello", "js/examples/hello"] {
        let report = simulate(&sdk(script), &[]);
        let bad = &nodes(&report)[0];
        assert!(u64_of(&bad["lamports_slashed"]) > 0, "{script}: {bad}");
        assert_eq!(u64_of(&bad["rewards_claimed"]), 0, "{script}: {bad}");
        for round in report["rounds"].as_array().expect("rounds") {
            assert_eq!(round["distribution"], "approved", "{script}: {round}");
            assert_eq!(round["roots_computed"], 1, "{script}: every node computed the same list: {round}");
            for node in &nodes(&report)[1..] {
                let paid = u64_of(&round["paid"][node["node"].as_str().expect("node")]);
                assert_eq!(paid, BOUNTY_PER_ROUND / 3, "{script}: {round}");
            }
        }
    }
}

#[test]
fn work_units_pay_in_proportion_to_the_units_each_node_proves() {
    let report = simulate(&sdk("python/examples/work_units"), &[]);
    let bad = nodes(&report)[0]["node"].as_str().expect("node").to_string();
    assert!(u64_of(&nodes(&report)[0]["lamports_slashed"]) > 0);
    for round in report["rounds"].as_array().expect("rounds") {
        assert_eq!(round["distribution"], "approved", "{round}");
        assert_eq!(round["roots_computed"], 1, "{round}");
        // The rule of the example, from the locators on chain: bounty * units / total units.
        let units: Vec<(String, u64)> = round["locators"]
            .as_object()
            .expect("locators")
            .iter()
            .filter(|(node, _)| **node != bad)
            .map(|(node, locator)| {
                let units = locator.as_str().expect("locator").split("#units=").nth(1).expect("units");
                (node.clone(), units.parse().expect("a count"))
            })
            .collect();
        assert_eq!(units.len(), 3, "{round}");
        let total: u64 = units.iter().map(|(_, units)| units).sum();
        assert!(
            units.iter().any(|(_, count)| *count != units[0].1),
            "nodes prove different amounts of work: {units:?}"
        );
        for (node, count) in &units {
            let expected = BOUNTY_PER_ROUND * count / total;
            assert_eq!(
                u64_of(&round["paid"][node.as_str()]),
                expected,
                "{node} proved {count} of {total} units: {round}"
            );
        }
        assert!(round["paid"].get(&bad).is_none(), "the bad node is never paid: {round}");
    }
}

/// A task that misbehaves as its declared MODE variable says.
const BROKEN: &str = r#"#!/bin/sh
read -r request
case "$request" in
  *'"hello"'*) echo '{"protocol":1,"parts":["work","audit","distribution"],"variables":["MODE"]}'; exit 0 ;;
  *'"audit"'*) echo '{"valid":true}'; exit 0 ;;
  *'"distribution"'*)
    node=$(echo "$request" | sed 's/.*"eligible":\[{[^]]*"node":"\([^"]*\)".*/\1/')
    echo "{\"leaves\":[{\"node\":\"$node\",\"amount\":999000000000}]}"; exit 0 ;;
esac
case "$MODE" in
  crash) exit 3 ;;
  malformed) echo 'this is not JSON' ;;
  oversized) head -c 5000000 /dev/zero | tr '\0' 'a'; echo ;;
  *) echo '{"result":"aGVsbG8="}' ;;
esac
"#;

#[test]
fn a_broken_executable_is_counted_and_never_stops_the_node() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = write_executable(dir.path(), "broken.sh", BROKEN);
    for mode in ["crash", "malformed", "oversized"] {
        let report = simulate(&script, &["--task-env", &format!("MODE={mode}")]);
        for node in nodes(&report) {
            assert_eq!(node["rounds_submitted"].as_array().expect("rounds").len(), 0, "{mode}: {node}");
            assert!(
                u64_of(&node["task_faults"]["work"]) >= 2,
                "{mode}: each round's failed work is counted: {node}"
            );
        }
    }
    // Work succeeds, but the rule pays more than the round's bounty: refused before proposing.
    let report = simulate(&script, &["--task-env", "MODE=ok"]);
    for round in report["rounds"].as_array().expect("rounds") {
        assert_eq!(round["distribution"], "none", "an over-paying list is never proposed: {round}");
    }
    assert!(nodes(&report).iter().any(|node| node["task_faults"]["distribution"].as_u64().unwrap_or(0) > 0));
}

/// Work that takes 3 seconds, where round 0's proof is due 2.4 s after the round starts.
const SLOW: &str = r#"#!/bin/sh
read -r request
case "$request" in
  *'"work"'*) sleep 3; echo '{"result":"aGVsbG8="}' ;;
  *'"audit"'*) echo '{"valid":true}' ;;
  *) echo '{"error":"unknown method"}' ;;
esac
"#;

#[test]
fn real_time_slots_show_an_author_that_slow_work_misses_its_window() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = write_executable(dir.path(), "slow.sh", SLOW);
    let run = |extra: &[&str]| simulate_shaped(&script, &["--nodes", "2", "--rounds", "1"], extra);
    // 50 ms slots: 40-slot rounds of 2 s and an 8-slot submission window, so work
    // started at round 0 must answer within 2.4 s. It takes 3 s: the round is missed.
    let paced = run(&["--slot-ms", "50"]);
    for node in nodes(&paced) {
        assert_eq!(node["rounds_submitted"].as_array().expect("rounds").len(), 0, "{node}");
        assert_eq!(u64_of(&node["task_faults"]["work"]), 1, "the late work is counted once: {node}");
    }
    // Unpaced, the clock waits for the work, so the same task submits.
    let unpaced = run(&[]);
    for node in nodes(&unpaced) {
        assert_eq!(node["rounds_submitted"].as_array().expect("rounds").len(), 1, "{node}");
    }
}
