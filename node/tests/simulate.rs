//! The `gradual simulate` acceptance run, through the binary as a user runs
//! it: 8 nodes, 6 rounds, one bad node, one offline, one bad proposer.

// Expected figures are computed with plain arithmetic on small numbers.
#![allow(clippy::arithmetic_side_effects)]

mod common;

use std::process::Command;

use common::{program, u64_of, SOL};
use serde_json::Value;

const ROUNDS: u64 = 6;
const BOUNTY_PER_ROUND: u64 = SOL;

fn rounds_of(value: &Value) -> Vec<u64> {
    value.as_array().expect("a list").iter().map(u64_of).collect()
}

#[test]
fn the_acceptance_run_pays_the_honest_and_slashes_the_bad() {
    let output = Command::new(env!("CARGO_BIN_EXE_gradual"))
        .args([
            "simulate",
            "--nodes",
            "8",
            "--rounds",
            "6",
            "--bad",
            "1",
            "--offline",
            "1",
            "--bad-proposer",
            "1",
        ])
        .args(["--output", "json", "--program", &program()])
        .output()
        .expect("run gradual");
    assert!(output.status.success(), "exit {:?}: {}", output.status, String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON report");
    let nodes = report["nodes"].as_array().expect("nodes");
    let behaviour = |node: &Value| node["behaviour"].as_str().expect("behaviour").to_string();

    // Who was eligible each round: everyone but the bad node, and the offline
    // node only on even rounds.
    let eligible = |round: u64| if round.is_multiple_of(2) { 7 } else { 6 };
    let share = |round: u64| BOUNTY_PER_ROUND / eligible(round);

    for node in nodes {
        let slashed = u64_of(&node["lamports_slashed"]);
        let claimed = u64_of(&node["rewards_claimed"]);
        let paid = rounds_of(&node["rounds_paid"]);
        match behaviour(node).as_str() {
            "bad" => {
                // Slashed 10% of what was left, once for each of its six bad proofs; paid nothing.
                let mut stake = 2 * SOL;
                for _ in 0..ROUNDS {
                    stake -= stake / 10;
                }
                assert_eq!(u64_of(&node["audits_against"]), ROUNDS);
                assert_eq!(u64_of(&node["stake_after"]), stake);
                assert_eq!(slashed, 2 * SOL - stake);
                assert_eq!(claimed, 0);
                assert!(paid.is_empty());
            }
            "offline" => {
                assert_eq!(slashed, 0, "never slashed");
                assert_eq!(paid, vec![0, 2, 4], "paid only for the rounds it worked");
                assert_eq!(claimed, [0, 2, 4].iter().map(|round| share(*round)).sum::<u64>());
            }
            "honest" | "bad-proposer" => {
                assert_eq!(slashed, 0);
                assert_eq!(paid, (0..ROUNDS).collect::<Vec<_>>(), "paid for every completed round");
                assert_eq!(claimed, (0..ROUNDS).map(share).sum::<u64>(), "an equal share of every round");
            }
            other => panic!("unexpected behaviour {other}"),
        }
    }

    // Every list the bad proposer made was rejected, and its round was still
    // paid by a later attempt.
    let rounds = report["rounds"].as_array().expect("rounds");
    let bad_proposals: Vec<(u64, u64)> = nodes
        .iter()
        .filter(|node| behaviour(node) == "bad-proposer")
        .flat_map(|node| node["proposals"].as_array().expect("proposals").clone())
        .map(|pair| (u64_of(&pair[0]), u64_of(&pair[1])))
        .collect();
    assert!(!bad_proposals.is_empty(), "the scenario includes bad lists");
    for (round, attempt) in bad_proposals {
        let outcome = &rounds[round as usize];
        assert_eq!(outcome["distribution"], "approved", "round {round}");
        assert!(u64_of(&outcome["attempt"]) > attempt, "round {round} paid by a later attempt");
    }
    for outcome in rounds {
        assert_eq!(outcome["distribution"], "approved");
        assert_eq!(outcome["claimed"], outcome["total"]);
    }
    assert_eq!(report["conservation"]["holds"], true);
}

/// Copiers do no work and copy whatever they can see: other nodes'
/// commitments as they land, and their reveals. They are never paid, and
/// the honest nodes are paid exactly as without them.
#[test]
fn copiers_are_never_paid_and_honest_nodes_are_paid_as_before() {
    let output = Command::new(env!("CARGO_BIN_EXE_gradual"))
        .args(["simulate", "--nodes", "8", "--rounds", "4", "--copier", "3"])
        .args(["--output", "json", "--program", &program()])
        .output()
        .expect("run gradual");
    assert!(output.status.success(), "exit {:?}: {}", output.status, String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("json report");
    let nodes = report["nodes"].as_array().expect("nodes");
    let copiers: Vec<&Value> = nodes.iter().filter(|node| node["behaviour"] == "copier").collect();
    assert_eq!(copiers.len(), 3);
    for copier in &copiers {
        assert_eq!(
            rounds_of(&copier["rounds_submitted"]),
            vec![0, 1, 2, 3],
            "it committed copies every round"
        );
        assert_eq!(u64_of(&copier["rewards_claimed"]), 0, "{copier}");
        assert!(rounds_of(&copier["rounds_paid"]).is_empty());
        assert_eq!(copier["stake_after"], copier["stake_before"], "no proof, so nothing to slash either");
    }
    // The five honest nodes share every round's bounty, as five nodes alone would.
    for honest in nodes.iter().filter(|node| node["behaviour"] == "honest") {
        assert_eq!(u64_of(&honest["rewards_claimed"]), 4 * (BOUNTY_PER_ROUND / 5), "{honest}");
        assert_eq!(rounds_of(&honest["rounds_paid"]), vec![0, 1, 2, 3]);
    }
    assert!(
        u64_of(&report["cost"]["refused_by_kind"]["SubmitProof (copied reveal)"]) > 0,
        "copied reveals were tried"
    );
    assert_eq!(report["conservation"]["holds"], true);
}

#[test]
fn inconsistent_counts_are_refused_with_exit_code_2() {
    for (counts, named) in [
        (["--nodes", "2", "--bad", "3"], "--bad"),
        (["--nodes", "0", "--bad", "0"], "--nodes"),
        (["--rounds", "0", "--bad", "0"], "--rounds"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_gradual"))
            .arg("simulate")
            .args(counts)
            .args(["--program", &program()])
            .output()
            .expect("run gradual");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{counts:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(named), "{stderr}");
    }
}

/// The same demo, unchanged, over JSON-RPC: a localnet process with 100 ms
/// slots stands in for a cluster.
#[test]
fn the_demo_runs_unchanged_over_rpc() {
    let localnet = common::Localnet::start(&["--slot-ms", "100"]);
    let home = tempfile::tempdir().expect("home");
    let output = Command::new(env!("CARGO_BIN_EXE_gradual"))
        .env("HOME", home.path())
        .args(["simulate", "-u", &localnet.url, "--cluster", "--nodes", "4", "--rounds", "2", "--bad", "1"])
        // 8-second rounds: windows wide enough for four runtimes sharing one process on a busy machine.
        .args(["--round-length", "80"])
        .args(["--output", "json"])
        .output()
        .expect("run gradual");
    assert!(output.status.success(), "exit {:?}: {}", output.status, String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON report");
    assert_eq!(report["conservation"]["holds"], true);
    let nodes = report["nodes"].as_array().expect("nodes");
    for node in nodes {
        if node["behaviour"] == "bad" {
            assert!(u64_of(&node["lamports_slashed"]) > 0, "{node}");
            assert_eq!(u64_of(&node["rewards_claimed"]), 0, "{node}");
        } else {
            assert_eq!(rounds_of(&node["rounds_paid"]), vec![0, 1], "{node}");
            assert_eq!(u64_of(&node["rewards_claimed"]), 2 * (BOUNTY_PER_ROUND / 3), "{node}");
        }
    }
}

/// `simulate`'s outcomes, the same as recorded before the daemon left the
/// CLI and the tallies left the runtime (`tests/recorded/simulate-seed5.json`):
/// who submitted, raised, voted, proposed and was paid or slashed, every
/// round's list, and conservation. Compute units are not compared: a
/// refactor of the program may move them by a few units.
#[test]
fn the_outcomes_match_the_recorded_report() {
    let recorded: Value =
        serde_json::from_str(include_str!("recorded/simulate-seed5.json")).expect("the recorded report");
    let output = Command::new(env!("CARGO_BIN_EXE_gradual"))
        .args(["simulate", "--nodes", "12", "--rounds", "8", "--bad", "2", "--offline", "1"])
        .args(["--bad-proposer", "1", "--copier", "1", "--seed", "5"])
        .args(["--output", "json", "--program", &program()])
        .output()
        .expect("run gradual");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON report");
    for key in ["task", "slots", "transactions", "rounds", "conservation"] {
        assert_eq!(report[key], recorded[key], "{key} differs from the recorded report");
    }
    for (field, value) in recorded["cost"].as_object().expect("cost") {
        assert_eq!(&report["cost"][field], value, "cost.{field} differs from the recorded report");
    }
    for (kind, count) in recorded["compute_unit_counts"].as_object().expect("counts") {
        assert_eq!(&report["compute_units"][kind]["count"], count, "{kind}: transactions landed differ");
    }
    let nodes = report["nodes"].as_array().expect("nodes");
    let recorded_nodes = recorded["nodes"].as_array().expect("recorded nodes");
    assert_eq!(nodes.len(), recorded_nodes.len());
    for (node, was) in nodes.iter().zip(recorded_nodes) {
        // Fields added since are not in the recording; every recorded one must match.
        for (field, value) in was.as_object().expect("node") {
            assert_eq!(&node[field], value, "node {} {field} differs from the recorded report", was["index"]);
        }
    }
}

/// `simulate --mint`: the acceptance run's outcomes in a Token-2022 mint with
/// a transfer fee, and in SPL Token, with conservation in lamports (bonds)
/// and in the mint (every token minted is held or withheld as a fee, and
/// the vault holds what the task tracks).
#[test]
fn the_run_pays_and_slashes_in_a_mint_and_every_token_is_accounted_for() {
    for (mint, fee) in [("token-2022", "50"), ("spl", "0")] {
        let output = Command::new(env!("CARGO_BIN_EXE_gradual"))
            .args(["simulate", "--nodes", "6", "--rounds", "3", "--bad", "1", "--offline", "1"])
            .args(["--bad-proposer", "1", "--mint", mint, "--transfer-fee-bps", fee])
            .args(["--output", "json", "--program", &program()])
            .output()
            .expect("run gradual");
        assert!(
            output.status.success(),
            "exit {:?}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON report");
        assert_eq!(report["conservation"]["holds"], true, "lamports: {}", report["conservation"]);
        let tokens = &report["tokens"];
        assert_eq!(tokens["holds"], true, "tokens: {tokens}");
        let withheld = u64_of(&tokens["withheld"]);
        assert_eq!(withheld > 0, fee != "0", "fees withheld only with a fee: {tokens}");
        for outcome in report["rounds"].as_array().expect("rounds") {
            assert_eq!(outcome["distribution"], "approved", "{outcome}");
            assert_eq!(outcome["claimed"], outcome["total"], "{outcome}");
        }
        let bad = report["nodes"].as_array().expect("nodes").iter().find(|node| node["behaviour"] == "bad");
        let bad = bad.expect("a bad node");
        assert!(u64_of(&bad["lamports_slashed"]) > 0 && u64_of(&bad["rewards_claimed"]) == 0, "{bad}");
    }
}
