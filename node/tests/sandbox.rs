//! A task written by an attacker (`tests/tasks/hostile`) runs under `node
//! run` against a localnet and under `simulate --executable`. Its work tries
//! to read the operator's keypair and secrets and the node's `/proc`
//! entries, signal and trace the node, write outside its directory, connect
//! to the RPC, the node's own ports and an undeclared listener, allocate
//! 2 GiB, fork past its process cap, fill its disk quota and leave a daemon
//! behind. Every attempt must be refused, the honest nodes paid as before,
//! and the hostile node's faults counted.

#![allow(clippy::arithmetic_side_effects)]

mod common;

use std::{
    collections::BTreeMap,
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use common::{
    free_port, program, staked_operators, u64_of, wait_for_success, Localnet, TaskShape, User, SOL,
};
use serde_json::Value;

const HOSTILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tasks/hostile");

/// The attack reports a hostile task wrote to its node's stderr.
fn reports(log: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|line| line.split_once("HOSTILE ").map(|(_, json)| json))
        .map(|json| serde_json::from_str(json).expect("a HOSTILE line is JSON"))
        .collect()
}

/// Every attack in `report` was refused; returns how many there were.
fn all_refused(report: &Value) -> usize {
    let outcomes = report["outcomes"].as_object().expect("outcomes");
    for (attack, outcome) in outcomes {
        let outcome = outcome.as_str().expect("text");
        // Starting a daemon is allowed; that it dies with the call is checked apart.
        if attack == "leave a daemon" || attack == "fill the disk quota" {
            continue;
        }
        assert!(outcome.starts_with("refused"), "{attack}: {outcome}");
    }
    outcomes.len()
}

/// The daemon the hostile task left writes a heartbeat every 200 ms, unless it is dead.
fn assert_no_heartbeat(dir: &Path) {
    let size = || std::fs::metadata(dir.join("heartbeat")).map_or(0, |metadata| metadata.len());
    let before = size();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(size(), before, "a process the task started outlived its call ({})", dir.display());
}

/// A secret of the operator's: a keypair-like file only its owner can read.
fn secret_file(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, "[1,2,3,4]").expect("write secret");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    path.display().to_string()
}

/// Runs `gradual ARGS` through `sh -c 'exec ...'`, so that the task can be
/// told the pid it runs under (`$$` survives the exec).
fn gradual_with_own_pid(args: &[String], env: &[(&str, &str)]) -> Command {
    let quoted: Vec<String> = args.iter().map(|arg| format!("'{arg}'")).collect();
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("exec {} {} --task-env TARGET_PID=$$", env!("CARGO_BIN_EXE_gradual"), quoted.join(" ")))
        .envs(env.iter().copied());
    command
}

#[test]
fn a_hostile_task_is_refused_everything_under_simulate() {
    let home = tempfile::tempdir().expect("temp dir");
    let secret = secret_file(home.path(), "id.json");
    let listener = TcpListener::bind("127.0.0.1:0").expect("an undeclared listener");
    let undeclared = listener.local_addr().expect("address").port().to_string();
    let args: Vec<String> = [
        "simulate",
        "--executable",
        HOSTILE,
        "--nodes",
        "6",
        "--rounds",
        "3",
        "--program",
        &program(),
        "--output",
        "json",
        "--task-env",
        "HOSTILE=some",
        "--task-env",
        &format!("TARGET_FILES={secret}:/etc/shadow"),
        "--task-env",
        &format!("TARGET_DIRS={}", home.path().display()),
        "--task-env",
        &format!("TARGET_PORTS={undeclared}"),
    ]
    .map(String::from)
    .to_vec();
    let child = gradual_with_own_pid(&args, &[("OPERATOR_SECRET", "hunter2"), ("GRADUAL_LOG", "warn")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("simulate");
    let pid = child.id();
    let output = child.wait_with_output().expect("simulate");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    assert_eq!(report["conservation"]["holds"], true, "{}", report["conservation"]);

    let attacks = reports(&stderr);
    let attackers: BTreeMap<String, usize> = attacks
        .iter()
        .map(|attack| (attack["node"].as_str().expect("node").to_string(), all_refused(attack)))
        .collect();
    assert!(attacks.iter().all(|attack| !attack.to_string().contains("hunter2")), "a secret leaked");
    assert!(!home.path().join("hostile-was-here").exists() && !Path::new("/tmp/hostile-was-here").exists());
    assert!(attackers.values().all(|count| *count >= 15), "every attack was tried: {attackers:?}");

    let nodes = report["nodes"].as_array().expect("nodes");
    let (hostile, honest): (Vec<&Value>, Vec<&Value>) =
        nodes.iter().partition(|node| attackers.contains_key(node["node"].as_str().expect("node")));
    assert!(
        !hostile.is_empty() && !honest.is_empty(),
        "seed 1 gives attackers and honest nodes: {attackers:?}"
    );
    for node in &honest {
        assert_eq!(node["task_faults"], serde_json::json!({}), "{node}");
        assert_eq!(node["rounds_submitted"].as_array().expect("rounds").len(), 3, "{node}");
        assert!(u64_of(&node["rewards_claimed"]) > 0, "an honest node is paid: {node}");
    }
    for node in &hostile {
        // Round 0's call filled the disk quota: a violation, so no proof for round 0.
        assert_eq!(u64_of(&node["task_faults"]["work"]), 1, "{node}");
        assert_eq!(node["rounds_submitted"].as_array().expect("rounds").len(), 2, "{node}");
    }
    assert!(stderr.contains("sandbox violation"), "the violation is logged: {stderr}");
    assert_no_heartbeat(&std::env::temp_dir().join(format!("gradual-simulate-{pid}")));
}

const LAST_ROUND: u64 = 4;

#[test]
fn a_hostile_task_is_refused_everything_under_node_run() {
    let localnet = Localnet::start(&["--slot-ms", "100"]);
    let user = User::new(&localnet.url);
    let (creator, _) = user.funded_keypair("creator.json", 100 * SOL);
    let package = user.path("hostile.tar").display().to_string();
    user.json(&["task", "pack", HOSTILE, "-o", &package]);
    let shape = TaskShape::six_second_rounds("hostile", 150);
    let task = user.create_task_with(
        &creator,
        &shape,
        &["--executable-locator", &package, "--executable", &package],
    );
    let shown = user.json(&["task", "show", &task]);
    assert_eq!(
        shown["capabilities"]["network"], "none",
        "task show prints what the package declares: {shown}"
    );

    let operators = staked_operators(&user, &task, 3);
    let secret = secret_file(user.home.path(), "secret.txt");
    let undeclared = TcpListener::bind("127.0.0.1:0").expect("an undeclared listener");
    let rpc_port = localnet.url.rsplit(':').next().expect("port").trim_end_matches('/').to_string();
    let metrics = free_port();
    let mut children: Vec<Child> = operators
        .iter()
        .enumerate()
        .map(|(index, operator)| {
            let mut args: Vec<String> = ["node", "run", "-k", &operator.keypair, &task]
                .into_iter()
                .chain(["--listen", &format!("127.0.0.1:{}", operator.port), "--db", &operator.db])
                .chain(["--exit-after-round", &LAST_ROUND.to_string(), "--output", "json"])
                .map(String::from)
                .collect();
            if index == 0 {
                let ports = [
                    rpc_port.clone(),
                    operator.port.to_string(),
                    metrics.to_string(),
                    undeclared.local_addr().expect("address").port().to_string(),
                ];
                let db_dir = Path::new(&operator.db).parent().expect("db dir").display().to_string();
                args.extend(["--metrics-listen".into(), format!("127.0.0.1:{metrics}")]);
                for variable in [
                    "HOSTILE=all".to_string(),
                    format!("TARGET_FILES={}:{secret}:/etc/shadow", operator.keypair),
                    format!("TARGET_DIRS={db_dir}"),
                    format!("TARGET_PORTS={}", ports.join(":")),
                ] {
                    args.extend(["--task-env".into(), variable]);
                }
            }
            let log = std::fs::File::create(&operator.log).expect("log");
            gradual_with_own_pid(
                &args,
                &[
                    ("HOME", user.home.path().to_str().expect("home")),
                    ("GRADUAL_URL", &localnet.url),
                    ("GRADUAL_LOG", "info"),
                    ("OPERATOR_SECRET", "hunter2"),
                ],
            )
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start node")
        })
        .collect();

    let finished = format!("the nodes did not finish round {LAST_ROUND}");
    wait_for_success(&mut children, Duration::from_secs(180), &finished);
    let hostile_log = std::fs::read_to_string(&operators[0].log).expect("log");
    let attacks = reports(&hostile_log);
    assert!(attacks.len() >= 3, "the hostile node attacked every round: {hostile_log}");
    for attack in &attacks {
        assert!(all_refused(attack) >= 18, "every attack was tried: {attack}");
        assert!(!attack.to_string().contains("hunter2"), "a secret leaked: {attack}");
    }
    for operator in &operators[1..] {
        assert!(
            reports(&std::fs::read_to_string(&operator.log).expect("log")).is_empty(),
            "honest nodes attack nothing"
        );
    }
    assert!(hostile_log.contains("sandbox violation"), "the violation is logged: {hostile_log}");
    let home = user.home.path();
    assert!(!home.join("hostile-was-here").exists(), "the task wrote beside the node's database");
    assert_no_heartbeat(&Path::new(&operators[0].db).with_extension("task"));

    // Round 0: the hostile node's call broke its disk quota, so only the
    // honest nodes are paid; from round 1 all three are, equally.
    for (round, paid) in [(0, 2), (1, 3)] {
        let list = user.json(&["inspect", "distribution", &task, &round.to_string()]);
        assert_eq!(list["status"], "approved", "round {round}: {list}");
        assert_eq!(u64_of(&list["leaf_count"]), paid, "round {round}: {list}");
    }
    let list = user.json(&["inspect", "distribution", &task, "0"]);
    assert_eq!(u64_of(&list["claimed"]), u64_of(&list["total"]), "round 0 is claimed: {list}");
    assert_eq!(user.json(&["inspect", "task", &task])["conservation"]["holds"], true);
}

/// `--unsandboxed` is the operator's explicit choice: the task then runs
/// with the node's rights, and says so.
#[test]
fn unsandboxed_runs_the_task_with_the_nodes_rights_and_warns() {
    let home = tempfile::tempdir().expect("temp dir");
    let secret = secret_file(home.path(), "secret.txt");
    let output = Command::new(env!("CARGO_BIN_EXE_gradual"))
        .args(["task", "check", HOSTILE, "--unsandboxed", "--task-env", "HOSTILE=probe"])
        .args(["--task-env", &format!("TARGET_FILES={secret}")])
        .env("GRADUAL_LOG", "warn")
        .output()
        .expect("task check");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("UNSANDBOXED"), "the operator is warned: {stderr}");
    let attack = reports(&stderr).pop().expect("the task attacked");
    assert!(
        attack["outcomes"][format!("read {secret}")].as_str().expect("outcome").starts_with("ALLOWED"),
        "unsandboxed, the task reads what the node can: {attack}"
    );
}

/// Where a confinement cannot be applied the task does not run: here user
/// namespaces are exhausted (`max_user_namespaces` is 0 in a namespace of
/// the test's own, where `unshare` from util-linux runs the command).
#[test]
fn a_node_that_cannot_sandbox_refuses_to_run_the_task() {
    let hello = format!("{}/../sdk/python/examples/hello", env!("CARGO_MANIFEST_DIR"));
    let gradual = env!("CARGO_BIN_EXE_gradual");
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && '{gradual}' task check '{hello}'; echo \"exit $?\"; \
         '{gradual}' task check '{hello}' --unsandboxed >/dev/null; echo \"unsandboxed exit $?\""
    );
    let output = Command::new("unshare")
        .args(["--user", "--map-root-user", "sh", "-c", &script])
        .output()
        .expect("unshare");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stdout.contains("exit 2\n"), "refused with exit code 2: {stdout} {stderr}");
    let line = stderr.lines().find(|line| line.contains("cannot sandbox")).expect("one line says why");
    assert!(line.contains("namespaces are not available") && line.contains("refusing to run it"), "{line}");
    assert!(stdout.contains("unsandboxed exit 0"), "--unsandboxed still runs it: {stdout} {stderr}");
}

/// A manifest may ask for more than the defaults, up to the operator's ceilings.
#[test]
fn a_task_asking_past_a_ceiling_is_refused_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hello = format!("{}/../sdk/python/examples/hello", env!("CARGO_MANIFEST_DIR"));
    for file in ["task.py", "gradual_task.py"] {
        std::fs::copy(format!("{hello}/{file}"), dir.path().join(file)).expect("copy");
    }
    let manifest = "entry = \"task.py\"\nruntime = \"python3\"\n\n[capabilities.limits]\nmemory_mib = 4096\n";
    std::fs::write(dir.path().join("gradual-task.toml"), manifest).expect("manifest");
    let check = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gradual"))
            .args(["task", "check", dir.path().to_str().expect("utf-8")])
            .args(extra)
            .output()
            .expect("task check")
    };
    let refused = check(&[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("memory_mib = 4096, over this node's ceiling of 2048"), "{stderr}");
    let raised = check(&["--max-memory-mib", "4096"]);
    assert!(raised.status.success(), "{}", String::from_utf8_lossy(&raised.stderr));
}
