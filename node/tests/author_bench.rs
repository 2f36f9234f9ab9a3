//! `gradual simulate` and `gradual task check` as a task author's test
//! bench: every node runs every part itself, no fault is silent, bad nodes
//! behave like real attackers, hanging calls do not stall the run, and
//! working directories are each node's own and removed at exit. Each task
//! here is one of the broken tasks an author actually wrote.

#![allow(clippy::arithmetic_side_effects)]

mod common;

use std::{path::Path, process::Command, time::Instant};

use common::{program, u64_of, write_executable};
use serde_json::Value;

/// The first eligible node of a distribution request, in a shell task.
const FIRST_NODE: &str = r#"node=$(echo "$request" | sed 's/.*"eligible":\[{[^]]*"node":"\([^"]*\)".*/\1/')"#;

/// A shell task with the given parts, each `(method, shell commands)`. An
/// audit request holds a "submission" and a "result", so the methods are
/// matched in this order: audit, distribution, submission, work.
fn task(dir: &Path, name: &str, parts: &[(&str, &str)]) -> String {
    let order = ["audit", "distribution", "submission", "work"];
    let declared: Vec<String> = parts.iter().map(|(method, _)| format!("\"{method}\"")).collect();
    let mut script = format!(
        "#!/bin/sh\nread -r request\ncase \"$request\" in\n  *'\"hello\"'*) echo '{{\"protocol\":1,\"parts\":[{}]}}' ;;\n",
        declared.join(",")
    );
    for method in order {
        if let Some((_, commands)) = parts.iter().find(|(name, _)| *name == method) {
            script.push_str(&format!("  *'\"{method}\"'*) {commands} ;;\n"));
        }
    }
    script.push_str("esac\n");
    write_executable(dir, name, &script)
}

/// Work "hello", proved as its sha256.
const WORK: (&str, &str) = ("work", r#"echo '{"result":"aGVsbG8="}'"#);
const SUBMISSION: (&str, &str) = (
    "submission",
    r#"echo '{"digest":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","locator":"v1/results/0"}'"#,
);
const TRUSTING_AUDIT: (&str, &str) = ("audit", r#"echo '{"valid":true}'"#);

fn gradual(args: &[&str], tmp: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gradual")).args(args).env("TMPDIR", tmp).output().expect("run gradual")
}

/// `simulate --executable` as JSON, with its exit status.
fn simulate(executable: &str, args: &[&str], tmp: &Path) -> (bool, Value) {
    let output = gradual(
        &[&["simulate", "--executable", executable, "--program", &program(), "--output", "json"][..], args]
            .concat(),
        tmp,
    );
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("a JSON report: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.success(), report)
}

fn nodes(report: &Value) -> &Vec<Value> {
    report["nodes"].as_array().expect("nodes")
}

fn fault_count(node: &Value, kind: &str) -> u64 {
    node["task_fault_reasons"][kind].as_u64().unwrap_or(0)
}

fn check(executable: &str, tmp: &Path) -> (Option<i32>, Value) {
    let output = gradual(&["task", "check", executable, "--output", "json"], tmp);
    (output.status.code(), serde_json::from_slice(&output.stdout).expect("a JSON report"))
}

fn part<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["parts"].as_array().expect("parts").iter().find(|part| part["part"] == name).expect("the part")
}

/// A rule that returns random leaves: every node computes its own list, so
/// the honest nodes' roots differ, `--strict` fails, and `task check` says so.
#[test]
fn a_nondeterministic_rule_is_seen_by_every_node() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rule = format!(
        r#"{FIRST_NODE}; n=$(date +%N); n=${{n#"${{n%%[!0]*}}"}}; echo "{{\"leaves\":[{{\"node\":\"$node\",\"amount\":$(( ${{n:-0}} % 100000 + 1 ))}}]}}""#
    );
    let script = task(dir.path(), "random.sh", &[WORK, SUBMISSION, TRUSTING_AUDIT, ("distribution", &rule)]);
    let (ok, report) = simulate(&script, &["--nodes", "6", "--rounds", "2", "--strict"], dir.path());
    assert!(!ok, "--strict fails on honest nodes' differing lists");
    for round in report["rounds"].as_array().expect("rounds") {
        assert!(u64_of(&round["honest_roots"]) > 1, "each node's own call gives its own list: {round}");
    }
    let (code, checked) = check(&script, dir.path());
    assert_eq!(code, Some(2));
    let distribution = part(&checked, "distribution");
    assert!(distribution["error"].as_str().expect("an error").contains("deterministic"), "{distribution}");
}

/// An audit part that crashes: no node can judge, so none vouches for the
/// bad node's result either; every honest node counts and reports it.
#[test]
fn an_audit_that_crashes_is_counted_and_never_valid() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = task(dir.path(), "crash.sh", &[WORK, SUBMISSION, ("audit", "exit 3")]);
    let (ok, report) =
        simulate(&script, &["--nodes", "4", "--rounds", "2", "--bad", "1", "--strict"], dir.path());
    assert!(!ok, "--strict fails");
    for node in &nodes(&report)[1..] {
        assert!(fault_count(node, "audit: cannot judge") >= 1, "{node}");
        assert_eq!(u64_of(&node["audit_votes"]), 0, "an abstaining node casts no vote: {node}");
    }
    let (code, checked) = check(&script, dir.path());
    assert_eq!(code, Some(2));
    assert_eq!(part(&checked, "audit")["ok"], false);
    assert_eq!(part(&checked, "audit_tampered")["ok"], false);
}

/// A `submission` that parses its result: a bad node's wrong result is
/// still well-formed, so it commits, is audited and is slashed, rather than
/// becoming a silent non-submitter.
#[test]
fn a_bad_node_submits_a_well_formed_wrong_result_and_is_slashed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let round = r#"round=$(echo "$request" | sed 's/.*"round":\([0-9]*\).*/\1/')"#;
    let result = r#"result=$(echo "$request" | sed 's/.*"result":"\([^"]*\)".*/\1/' | base64 -d)"#;
    let work =
        format!(r#"{round}; printf '{{"result":"%s"}}\n' "$(printf 'round=%s' "$round" | base64 -w0)""#);
    let submission = format!(
        r#"{round}; {result}; case "$result" in round=*) echo "{{\"digest\":\"$(printf '%s' "$result" | sha256sum | cut -c1-64)\",\"locator\":\"v1/results/$round\"}}" ;; *) echo '{{"error":"not a result of this task"}}' ;; esac"#
    );
    let audit = format!(
        r#"{round}; {result}; if [ "$result" = "round=$round" ]; then echo '{{"valid":true}}'; else echo '{{"valid":false,"reason":"another round"}}'; fi"#
    );
    let rule = r#"echo '{"error":"no rule"}'"#;
    let parts =
        [("work", work.as_str()), ("submission", &submission), ("audit", &audit), ("distribution", rule)];
    let script = task(dir.path(), "parsing.sh", &parts);
    let (_, report) = simulate(&script, &["--nodes", "4", "--rounds", "2", "--bad", "1"], dir.path());
    let bad = &nodes(&report)[0];
    assert_eq!(bad["rounds_submitted"].as_array().expect("rounds").len(), 2, "{bad}");
    assert!(u64_of(&bad["lamports_slashed"]) > 0, "{bad}");
    assert_eq!(fault_count(bad, "submission: failed"), 0, "{bad}");
    // The rule fails everywhere: each round says why it has no list.
    for round in report["rounds"].as_array().expect("rounds") {
        let why = round["no_list"].as_str().expect("a reason");
        assert!(why.contains("distribution rule failed") && why.contains("no rule"), "{why}");
    }
}

/// A rule that overpays: the text report says why the rounds have no list,
/// and `--strict` fails.
#[test]
fn an_overpaying_rule_is_reported_in_the_text_and_fails_strict() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rule =
        format!(r#"{FIRST_NODE}; echo "{{\"leaves\":[{{\"node\":\"$node\",\"amount\":999000000000}}]}}""#);
    let script = task(dir.path(), "greedy.sh", &[WORK, SUBMISSION, TRUSTING_AUDIT, ("distribution", &rule)]);
    let output = gradual(
        &[
            "simulate",
            "--executable",
            &script,
            "--program",
            &program(),
            "--nodes",
            "3",
            "--rounds",
            "1",
            "--strict",
        ],
        dir.path(),
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("no list: the distribution rule failed on 3 nodes"), "{text}");
    assert!(text.contains("more than the round's bounty"), "{text}");
    assert!(text.contains("distribution: failed on 3 nodes"), "{text}");
}

/// Work that never answers costs one call timeout a round, all nodes at
/// once, and is counted as late.
#[test]
fn a_hanging_work_costs_one_timeout_not_one_per_node() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = task(dir.path(), "hang.sh", &[("work", "sleep 600"), TRUSTING_AUDIT]);
    let started = Instant::now();
    let (_, report) =
        simulate(&script, &["--nodes", "3", "--rounds", "2", "--call-timeout", "1.5"], dir.path());
    let seconds = started.elapsed().as_secs_f64();
    assert!(seconds < 20.0, "3 nodes, 2 rounds, 1.5 s timeouts took {seconds} s");
    for node in nodes(&report) {
        assert_eq!(fault_count(node, "work: late"), 2, "{node}");
    }
}

/// Each node works in a directory of its own, removed at exit unless kept.
#[test]
fn each_node_has_its_own_working_directory_removed_at_exit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    // Work records the node it ran for in $HOME, and fails if another node's is there.
    let work = r#"node=$(echo "$request" | sed 's/.*"node":"\([^"]*\)".*/\1/'); echo "$node" >> "$HOME/owners"
    if [ "$(sort -u "$HOME/owners" | wc -l)" -ne 1 ]; then echo '{"error":"another node worked here"}'; else echo '{"result":"aGVsbG8="}'; fi"#;
    let script = task(dir.path(), "owners.sh", &[("work", work), TRUSTING_AUDIT]);
    let (_, report) = simulate(&script, &["--nodes", "3", "--rounds", "2"], &tmp);
    for node in nodes(&report) {
        assert_eq!(node["task_faults"], serde_json::json!({}), "{node}");
    }
    assert_eq!(std::fs::read_dir(&tmp).expect("tmp").count(), 0, "the working directories are removed");
    simulate(&script, &["--nodes", "3", "--rounds", "1", "--keep-dirs"], &tmp);
    let kept =
        std::fs::read_dir(&tmp).expect("tmp").next().expect("one kept directory").expect("entry").path();
    for index in 0..3 {
        let owners = std::fs::read_to_string(kept.join(format!("node-{index}/owners"))).expect("owners");
        assert_eq!(owners.lines().count(), 1, "node {index} worked once, alone: {owners}");
    }
}

/// Uneven stakes, and the default rule paying by them.
#[test]
fn stakes_can_vary_and_the_default_rule_pays_by_stake() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = gradual(
        &[
            "simulate",
            "--program",
            &program(),
            "--nodes",
            "4",
            "--rounds",
            "1",
            "--stakes",
            "1..4",
            "--output",
            "json",
        ],
        dir.path(),
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let round = &report["rounds"][0];
    for (index, node) in nodes(&report).iter().enumerate() {
        let stake = (index as u64 + 1) * 1_000_000_000;
        assert_eq!(u64_of(&node["stake_before"]), stake);
        let paid = u64_of(&round["paid"][node["node"].as_str().expect("node")]);
        assert_eq!(paid, 1_000_000_000 * (index as u64 + 1) / 10, "{round}");
    }
    let help = gradual(&["simulate", "--help"], dir.path());
    let help = String::from_utf8_lossy(&help.stdout);
    for default in [
        "a bounty of 1 SOL per round",
        "every node stakes 2 SOL",
        "an audit bond of 0.1 SOL",
        "[default: 60]",
    ] {
        assert!(help.contains(default), "--help states {default:?}");
    }
}

/// `task check` audits a tampered result, and skips what a failed work
/// makes impossible, in one line.
#[test]
fn task_check_is_adversarial() {
    let dir = tempfile::tempdir().expect("temp dir");
    let trusting = task(dir.path(), "trusting.sh", &[WORK, SUBMISSION, TRUSTING_AUDIT]);
    let (code, report) = check(&trusting, dir.path());
    assert_eq!(code, Some(2));
    assert_eq!(part(&report, "audit")["ok"], true);
    let tampered = part(&report, "audit_tampered");
    assert!(tampered["error"].as_str().expect("an error").contains("judged valid"), "{tampered}");

    let failing = task(dir.path(), "failing.sh", &[("work", "exit 1"), TRUSTING_AUDIT]);
    let output = gradual(&["task", "check", &failing], dir.path());
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2));
    assert!(text.contains("SKIPPED submission, audit, audit_tampered"), "{text}");
    assert!(!text.contains("judged invalid"), "no second, misleading failure: {text}");
}
