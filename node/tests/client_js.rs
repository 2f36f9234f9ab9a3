//! The TypeScript client generated from the Codama IDL (`clients/js`),
//! against `gradual localnet`: what it decodes must be what `gradual
//! inspect` and `gradual history` show, field by field.
//!
//! Needs Node.js and `clients/js/node_modules` (`bash scripts/setup-client.sh`,
//! which `make test` runs first).

#![allow(clippy::arithmetic_side_effects)]

mod common;

use std::{
    path::PathBuf,
    process::{Command, Output},
};

use base64::{prelude::BASE64_STANDARD, Engine};
use common::{u64_of, Localnet, User, SOL};
use gradual_interface::{
    event::{
        AnyEvent, AuditRaised, AuditResolved, AuditVoted, Event, ListExpired, ListProposed, ListResolved,
        ListVoted, PackageUpdated, RewardClaimed, StakeWithdrawn, Staked, TaskActiveSet, TaskClosed,
        TaskCreated, TaskFunded, TaskUpdated, UnstakeRequested,
    },
    state::{Audit, Distribution, ACCOUNT_VERSION, DISTRIBUTION_APPROVED},
    Address,
};
use gradual_node::{cli::views, history::Happened};
use serde_json::{json, Value};

fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../clients/js")
}

fn require_packages() {
    assert!(
        client_dir().join("node_modules/@solana/kit").is_dir(),
        "clients/js has no node_modules: run `bash scripts/setup-client.sh` (`make test` does)"
    );
}

fn succeeded(what: &str, output: Output) -> String {
    assert!(
        output.status.success(),
        "{what} exited {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_committed_client_is_what_the_committed_idl_renders() {
    require_packages();
    let output = Command::new("node")
        .arg(client_dir().join("render.mjs"))
        .arg("--check")
        .output()
        .expect("run node (Node.js is installed by scripts/setup-client.sh)");
    succeeded("node clients/js/render.mjs --check (run `make idl` to regenerate)", output);
}

/// Where `ours` (decoded by the client) differs from `theirs` (`gradual
/// inspect`): every field of theirs but `skipped` must be in ours and equal,
/// and ours may have no other field.
fn differences(what: &str, ours: &Value, theirs: &Value, skipped: &[&str]) -> Vec<String> {
    let (Some(ours), Some(theirs)) = (ours.as_object(), theirs.as_object()) else {
        return vec![format!("{what}: not two objects: {ours} / {theirs}")];
    };
    let mut found = Vec::new();
    for (key, value) in theirs {
        if skipped.contains(&key.as_str()) {
            continue;
        }
        match ours.get(key) {
            None => found.push(format!("{what}.{key}: missing from the client's ({value} in inspect)")),
            Some(mine) if mine != value => {
                found.push(format!("{what}.{key}: client {mine}, inspect {value}"))
            }
            Some(_) => {}
        }
    }
    for key in ours.keys() {
        if !theirs.contains_key(key) {
            found.push(format!("{what}.{key}: not in inspect's output"));
        }
    }
    found
}

/// Compares one event as the client decoded it with `gradual history`'s
/// entry for it: every field, those `history` derives from the head's flag
/// (`created`, `valid`, `attempt`, …) against the flag.
fn event_differences(ours: &Value, entry: &Value) -> Vec<String> {
    let what = format!("{} {}", entry["event"], entry["signature"]);
    let mut found = Vec::new();
    for (key, value) in entry.as_object().expect("an entry") {
        let mine = match key.as_str() {
            "event" | "signature" | "slot" => ours[key.as_str()].clone(),
            "active" | "created" | "closed" | "valid" | "upheld" => json!(ours["flag"] == json!(1)),
            "attempt" | "status" => ours["flag"].clone(),
            "reason_text" => continue,
            // A payment in the stake asset: what was sent and what arrived.
            _ if value.get("received").is_some() => {
                let mut payment = value.clone();
                payment["amount"] = ours[key.as_str()].clone();
                payment["received"] = ours[format!("{key}_received").as_str()].clone();
                payment
            }
            _ if value.get("lamports").is_some() => {
                let mut payment = value.clone();
                payment["lamports"] = ours[key.as_str()].clone();
                payment
            }
            _ => ours[key.as_str()].clone(),
        };
        if mine != *value {
            found.push(format!("{what}.{key}: client {mine}, history {value}"));
        }
    }
    found
}

/// Pseudo-random bytes (xorshift), so that every field of a layout differs.
fn scribble(bytes: &mut [u8], mut state: u64) {
    for byte in bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state.to_le_bytes()[3];
    }
}

/// An Audit and a Distribution written by the interface's own structs, for
/// the client's codecs; returns the file for `test.mjs --layouts` and what
/// `gradual inspect` would show for each.
fn layouts(dir: &std::path::Path) -> (PathBuf, Value, Value) {
    let mut audit: Audit = bytemuck::Zeroable::zeroed();
    scribble(bytemuck::bytes_of_mut(&mut audit), 0x9e37_79b9_7f4a_7c15);
    audit.discriminator = 3;
    audit.version = ACCOUNT_VERSION;
    let mut distribution: Distribution = bytemuck::Zeroable::zeroed();
    scribble(bytemuck::bytes_of_mut(&mut distribution), 0x2545_f491_4f6c_dd1d);
    distribution.discriminator = 4;
    distribution.version = ACCOUNT_VERSION;
    distribution.status = DISTRIBUTION_APPROVED;
    let url = b"https://lists.example/round/7";
    distribution.url = [0; 128];
    distribution.url[..url.len()].copy_from_slice(url);
    distribution.url_len = url.len() as u8;
    let (audit_key, distribution_key) =
        (Address::new_from_array([0xa0; 32]), Address::new_from_array([0xd1; 32]));
    let (audit_lamports, distribution_lamports) = (2_616_960 + audit.bond % SOL, 4_398_720 + SOL);
    let file = dir.join("layouts.json");
    let given = json!({
        "audit": { "address": audit_key.to_string(), "lamports": audit_lamports,
            "data": BASE64_STANDARD.encode(bytemuck::bytes_of(&audit)) },
        "distribution": { "address": distribution_key.to_string(), "lamports": distribution_lamports,
            "data": BASE64_STANDARD.encode(bytemuck::bytes_of(&distribution)) },
    });
    std::fs::write(&file, given.to_string()).expect("write layouts");
    (
        file,
        views::audit(&audit_key, &audit, audit_lamports),
        views::distribution(&distribution_key, &distribution, distribution_lamports),
    )
}

/// One event of `E`'s kind, every field scribbled, its flag 0 or 1.
fn scribbled<E: Event>(seed: u64) -> Vec<u8> {
    let mut event = E::zeroed();
    let bytes = bytemuck::bytes_of_mut(&mut event);
    scribble(bytes, seed);
    let flag = bytes[8] & 1;
    bytes[..8].copy_from_slice(bytemuck::bytes_of(&E::head_with(flag)));
    bytes.to_vec()
}

/// An event of each of the 17 kinds, for `test.mjs --events`; returns the file
/// and what `gradual history` shows for each.
fn every_event(dir: &std::path::Path) -> (PathBuf, Vec<Value>) {
    let written: Vec<Vec<u8>> = vec![
        scribbled::<TaskCreated>(1),
        scribbled::<TaskFunded>(2),
        scribbled::<TaskUpdated>(3),
        scribbled::<TaskActiveSet>(4),
        scribbled::<Staked>(5),
        scribbled::<UnstakeRequested>(6),
        scribbled::<StakeWithdrawn>(7),
        scribbled::<TaskClosed>(8),
        scribbled::<AuditRaised>(9),
        scribbled::<AuditVoted>(10),
        scribbled::<AuditResolved>(11),
        scribbled::<ListProposed>(12),
        scribbled::<ListVoted>(13),
        scribbled::<ListResolved>(14),
        scribbled::<RewardClaimed>(15),
        scribbled::<ListExpired>(16),
        scribbled::<PackageUpdated>(17),
    ];
    let shown = written
        .iter()
        .map(|bytes| {
            let happened = Happened::Event(AnyEvent::decode(bytes).expect("an event"));
            let mut entry = happened.fields();
            entry["event"] = json!(happened.name());
            entry
        })
        .collect();
    let file = dir.join("events.json");
    let encoded: Vec<String> = written.iter().map(|bytes| BASE64_STANDARD.encode(bytes)).collect();
    std::fs::write(&file, json!(encoded).to_string()).expect("write events");
    (file, shown)
}

#[test]
fn the_generated_client_decodes_what_gradual_inspect_and_history_show() {
    require_packages();
    let started = std::time::Instant::now();
    // Type-check the generated sources against @solana/kit and bundle them for node.
    let build = Command::new("npm")
        .args(["run", "--silent", "build"])
        .current_dir(client_dir())
        .output()
        .expect("run npm");
    succeeded("npm run build in clients/js", build);
    let built = started.elapsed();

    let localnet = Localnet::start(&["--slot-ms", "50"]);
    let user = User::new(&localnet.url);
    let (creator, _) = user.funded_keypair("creator.json", 100 * SOL);
    let (operator, operator_address) = user.funded_keypair("operator.json", 10 * SOL);
    let created = user.json(&[
        "task",
        "create",
        "-k",
        &creator,
        "--name",
        "client js",
        "--description",
        "read through the generated client",
        "--bounty",
        "5000000000",
        "--bounty-per-round",
        "1000000000",
    ]);
    let task = created["task"].as_str().expect("task").to_string();
    let staked = user.stake(&operator, &task, 2 * SOL, "http://127.0.0.1:9/proofs");
    let node = serde_json::from_str::<Value>(&succeeded("gradual node stake", staked))
        .expect("stake prints JSON")["node"]
        .as_str()
        .expect("node")
        .to_string();
    // A top-up, so the node has two stake checkpoints and two Staked events.
    succeeded("gradual node stake (top-up)", user.stake(&operator, &task, SOL, "http://127.0.0.1:9/proofs"));

    let (layouts_file, audit_view, distribution_view) = layouts(user.home.path());
    let (events_file, every_event_shown) = every_event(user.home.path());
    let fund = (SOL / 4).to_string();
    let output = Command::new("node")
        .arg(client_dir().join("test.mjs"))
        .args([&localnet.url, &task, &node, "--fund", &creator, &fund, "--layouts"])
        .arg(&layouts_file)
        .arg("--events")
        .arg(&events_file)
        .output()
        .expect("run node");
    let client: Value =
        serde_json::from_str(&succeeded("node clients/js/test.mjs", output)).expect("test.mjs prints JSON");

    let inspected_task = user.json(&["inspect", "task", &task]);
    let inspected_node = user.json(&["inspect", "node", "--task", &task, "--operator", &operator_address]);
    let history = user.json(&["history", &task]);

    // Accounts: every field inspect shows, except what depends on the slot it was read at.
    let slot_dependent = ["current_slot", "current_round", "params", "conservation"];
    let mut found = differences("task", &client["task"], &inspected_task, &slot_dependent);
    found.extend(differences("node", &client["node"], &inspected_node, &[]));
    found.extend(differences("audit", &client["audit"], &audit_view, &[]));
    found.extend(differences("distribution", &client["distribution"], &distribution_view, &[]));

    // Events: the same, in the same order, as `gradual history` reads them.
    let entries: Vec<&Value> = history["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|entry| entry["event"] != "Committed" && entry["event"] != "Revealed")
        .collect();
    let events = client["events"].as_array().expect("events");
    assert_eq!(events.len(), entries.len(), "events: client {events:?}\nhistory {entries:?}");
    for (ours, entry) in events.iter().zip(&entries) {
        found.extend(event_differences(ours, entry));
    }
    // Every kind of event, as `gradual history` decodes it.
    let written = client["written_events"].as_array().expect("written_events");
    assert_eq!(written.len(), every_event_shown.len(), "{written:?}");
    for (ours, entry) in written.iter().zip(&every_event_shown) {
        found.extend(event_differences(ours, entry));
    }
    let named = |name: &str| events.iter().filter(|event| event["event"] == name).count();
    assert_eq!((named("TaskCreated"), named("Staked"), named("TaskFunded")), (1, 2, 1), "{events:?}");

    // The FundTask the client built and sent landed, as its event says.
    let funded = events.iter().find(|event| event["signature"] == client["funded"]["signature"]);
    let funded = funded.expect("the client's FundTask in the task's history");
    assert_eq!(funded["event"], "TaskFunded");
    assert_eq!(funded["funder"], client["funded"]["funder"]);
    assert_eq!(u64_of(&funded["amount"]).to_string(), fund);
    assert_eq!(funded["bounty_pool"], inspected_task["bounty_pool"]);

    // Instruction data: the texts, decoded from the transactions by the client.
    let instructions = client["instructions"].as_array().expect("instructions");
    let create = instructions.iter().find(|ix| ix["instruction"] == "CreateTask").expect("CreateTask");
    for key in ["name", "description", "executable_locator"] {
        if create[key] != inspected_task[key] {
            found.push(format!("CreateTask.{key}: client {}, inspect {}", create[key], inspected_task[key]));
        }
    }
    if create["accounts"][0] != inspected_task["creator"]
        || create["accounts"][1] != inspected_task["address"]
    {
        found.push(format!("CreateTask accounts: {}", create["accounts"]));
    }
    for stake in instructions.iter().filter(|ix| ix["instruction"] == "Stake") {
        if stake["service_url"] != inspected_node["service_url"]
            || stake["accounts"][2] != inspected_node["address"]
        {
            found.push(format!("Stake: client {stake}, inspect node {inspected_node}"));
        }
    }
    assert!(found.is_empty(), "the generated client and gradual disagree:\n{}", found.join("\n"));

    // The comparison can fail: one wrong field is reported.
    let mut wrong = client["task"].clone();
    wrong["bounty_pool"] = json!(u64_of(&inspected_task["bounty_pool"]) + 1);
    assert_eq!(differences("task", &wrong, &inspected_task, &slot_dependent).len(), 1);
    let mut wrong = events[0].clone();
    wrong["flag"] = json!(7);
    wrong["slot"] = json!(u64_of(&events[0]["slot"]) + 1);
    assert!(!event_differences(&wrong, entries[0]).is_empty());
    eprintln!("client_js: build {built:?}, all {:?}", started.elapsed());
}
