//! Many tasks, one node: four `gradual node run --node-config` processes, each
//! running the same two tasks behind one peer service. One process also
//! lists a task it cannot run, which must not stop the others; one is
//! stopped with SIGTERM and must stop cleanly.

#![allow(clippy::arithmetic_side_effects)]

mod common;

use std::time::{Duration, Instant};

use common::{free_port, u64_of, Children, Localnet, TaskShape, User, SOL};
use serde_json::Value;

const LAST_ROUND: u64 = 5;

fn shape(name: &'static str) -> TaskShape {
    // 6-second rounds, as in node_run.rs: room for eight task threads on a busy
    // machine; 20 s to fund and stake four operators in two tasks before round 0.
    TaskShape::six_second_rounds(name, 200)
}

struct MultiOperator {
    keypair: String,
    address: String,
    port: u16,
    config: String,
    log: String,
}

fn events(log: &str) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .collect()
}

#[test]
fn one_process_runs_several_tasks_and_a_failing_one_stops_nothing() {
    let localnet = Localnet::start(&["--slot-ms", "100"]);
    let user = User::new(&localnet.url);
    let (creator, _) = user.funded_keypair("creator.json", 100 * SOL);
    let tasks = [user.create_task(&creator, &shape("first")), user.create_task(&creator, &shape("second"))];
    // A task account that does not exist: its thread fails at once.
    let (_, missing) = user.funded_keypair("missing.json", SOL);

    let operators: Vec<MultiOperator> = (0..4)
        .map(|index| {
            let (keypair, address) = user.funded_keypair(&format!("operator{index}.json"), 10 * SOL);
            let port = free_port();
            let mut config = format!("listen = \"127.0.0.1:{port}\"\n");
            for (slot, task) in tasks.iter().enumerate() {
                let url = format!("http://127.0.0.1:{port}/tasks/{task}");
                let staked = user.stake(&keypair, task, 2 * SOL, &url);
                assert!(staked.status.success(), "{}", String::from_utf8_lossy(&staked.stderr));
                config.push_str(&format!(
                    "\n[[task]]\naddress = \"{task}\"\ndb = \"node{index}-{slot}.redb\"\n"
                ));
                // Node 1 restakes what the first task pays it.
                if index == 1 && slot == 0 {
                    config.push_str("restake = true\n");
                }
            }
            if index == 0 {
                config
                    .push_str(&format!("\n[[task]]\naddress = \"{missing}\"\ndb = \"node0-missing.redb\"\n"));
                // Node 0 serves /metrics and /status, for `node status`.
                config.insert_str(0, &format!("metrics_listen = \"127.0.0.1:{}\"\n", free_port()));
            }
            let path = user.path(&format!("node{index}.toml"));
            std::fs::write(&path, config).expect("config");
            MultiOperator {
                keypair,
                address,
                port,
                config: path.display().to_string(),
                log: user.path(&format!("node{index}.log")).display().to_string(),
            }
        })
        .collect();

    let mut children = Children(
        operators
            .iter()
            .map(|operator| {
                let log = std::fs::File::create(&operator.log).expect("log");
                user.command()
                    .env("GRADUAL_LOG", "info")
                    .args(["node", "run", "-k", &operator.keypair, "--node-config", &operator.config])
                    .args(["--exit-after-round", &LAST_ROUND.to_string(), "--output", "json"])
                    .stdout(log.try_clone().expect("log"))
                    .stderr(log)
                    .spawn()
                    .expect("start node")
            })
            .collect(),
    );

    // SIGTERM node 3 once round LAST_ROUND starts: it stops cleanly, both tasks.
    let deadline = Instant::now() + Duration::from_secs(240);
    let current_round = || user.json(&["task", "show", &tasks[0]])["current_round"].as_u64();
    while current_round().is_none_or(|round| round < LAST_ROUND) {
        assert!(Instant::now() < deadline, "round {LAST_ROUND} never came");
        std::thread::sleep(Duration::from_millis(200));
    }
    // `node status` while node 0 runs: one line per task, the failed one
    // included; the task that cannot be read fails the command (exit 2).
    let status = user
        .command()
        .args(["node", "status", "-k", &operators[0].keypair, "--node-config", &operators[0].config])
        .args(["--output", "json"])
        .output()
        .expect("node status");
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert_eq!(status.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("1 of 3 tasks could not be read"), "{stderr}");
    let lines: Vec<Value> = String::from_utf8_lossy(&status.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (line, task) in lines.iter().zip(&tasks) {
        assert_eq!(line["task"], task.as_str(), "{line}");
        assert_eq!(line["running"], true, "{line}");
        assert_eq!(line["staked"], true, "{line}");
        assert_eq!(line["executable_matches"], true, "{line}");
        assert_eq!(line["sandbox"], "built in", "{line}");
        assert_eq!(u64_of(&line["stake"]), 2 * SOL, "{line}");
        assert!(line.get("last_error").is_some() && line["pending_rewards"].is_u64(), "{line}");
        assert!(line["next_reward_in_slots"].is_u64(), "{line}");
    }
    assert_eq!(lines[2]["task"], missing.as_str());
    assert!(lines[2]["error"].is_string(), "{}", lines[2]);

    let terminated = Instant::now();
    let pid = children[3].id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let status = children[3].wait().expect("wait");
    let log = std::fs::read_to_string(&operators[3].log).unwrap_or_default();
    assert!(status.success(), "SIGTERM exits 0, got {status:?}: {}", &log[log.len().saturating_sub(3000)..]);
    assert!(terminated.elapsed() < Duration::from_secs(10), "SIGTERM took {:?}", terminated.elapsed());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", operators[3].port)).is_err(),
        "nothing left listening"
    );
    let stopped: Vec<Value> =
        events(&operators[3].log).into_iter().filter(|event| event["event"] == "stopped").collect();
    assert_eq!(stopped.len(), 2, "both tasks stopped: {stopped:?}");

    for child in &mut children[..3] {
        loop {
            if child.try_wait().expect("wait").is_some_and(|status| status.success()) {
                break;
            }
            assert!(child.try_wait().expect("wait").is_none(), "a node exited with an error");
            assert!(Instant::now() < deadline, "nodes did not stop after round {LAST_ROUND}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    // The task node 0 could not run failed alone.
    let logged = events(&operators[0].log);
    let failed: Vec<&Value> = logged.iter().filter(|event| event["event"] == "task_failed").collect();
    assert_eq!(failed.len(), 1, "{logged:?}");
    assert_eq!(failed[0]["task"], missing.as_str());

    // Node 1's rewards from the first task went back into its stake there, and only there.
    let stake_in = |task: &str| {
        u64_of(&user.json(&["inspect", "node", "--task", task, "--operator", &operators[1].address])["stake"])
    };
    assert!(stake_in(&tasks[0]) > 2 * SOL, "restaked: {}", stake_in(&tasks[0]));
    assert_eq!(stake_in(&tasks[1]), 2 * SOL);
    let restaked = events(&operators[1].log)
        .into_iter()
        .any(|event| event["event"] == "restaked" && event["task"] == tasks[0].as_str());
    assert!(restaked, "node 1 logged no restake");

    // Both tasks ran in every process: all four nodes submitted, and the lists paid them.
    for task in &tasks {
        for round in 0..=2u64 {
            let view = user.json(&["inspect", "round", task, &round.to_string()]);
            let submissions = view["submissions"].as_array().expect("submissions").len();
            assert_eq!(submissions, 4, "task {task} round {round}: {view}");
        }
        let list = user.json(&["inspect", "distribution", task, "0"]);
        assert_eq!(list["status"], "approved", "{list}");
        assert_eq!(u64_of(&list["leaf_count"]), 4, "{list}");
        assert_eq!(u64_of(&list["claimed"]), u64_of(&list["total"]), "every node claimed round 0: {list}");
        assert_eq!(user.json(&["inspect", "task", task])["conservation"]["holds"], true);
    }
}
