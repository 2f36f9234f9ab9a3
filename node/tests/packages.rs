//! Two real tasks with third-party dependencies, as their authors would ship
//! them: a Python scraper with BeautifulSoup from PyPI vendored into its
//! package, and a JavaScript task with js-sha3 from npm. Each is packed,
//! pinned on-chain and served over HTTP on localhost; `node run` fetches,
//! checks and runs them sandboxed. The scraper reads a local page, its only
//! declared network capability; a request to an undeclared port fails.
//! While the nodes run, `task update` schedules another package for the
//! JavaScript task: the nodes fetch it and switch at its first round, and
//! rounds before it keep theirs. A package whose bytes differ from the
//! pinned sha256 is never run.

#![allow(clippy::arithmetic_side_effects)]

mod common;

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{free_port, u64_of, wait_for_success, Localnet, TaskShape, User, SOL};
use serde_json::Value;

const LAST_ROUND: u64 = 4;
const PAGE: &str =
    r#"<html><body><h2 class="title">Gradual</h2><h2 class="title">Koii &amp; Solana</h2></body></html>"#;

fn task_source(name: &str) -> String {
    format!("{}/tests/tasks/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Copies a task's directory, links followed, as an author's checkout would be.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if std::fs::metadata(entry.path()).expect("metadata").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|error| panic!("{what}: {error}"));
    assert!(output.status.success(), "{what}: {}", String::from_utf8_lossy(&output.stderr));
}

/// `python3 -m http.server` on a free port, serving `dir`, logging requests to `log`.
fn serve(dir: &Path, log: &Path) -> (Child, u16) {
    let port = free_port();
    let child = Command::new("python3")
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("http.server");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "http.server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port)
}

struct Served(Vec<Child>);

impl Drop for Served {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `task create` for a package at `locator` whose local copy is `package`.
fn create(user: &User, creator: &str, name: &'static str, locator: &str, package: &str) -> String {
    let shape = TaskShape::six_second_rounds(name, 200);
    user.create_task_with(creator, &shape, &["--executable-locator", locator, "--executable", package])
}

fn events(log: &str) -> Vec<Value> {
    log.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()).collect()
}

#[test]
fn packages_with_dependencies_are_fetched_checked_and_run_sandboxed() {
    let work = tempfile::tempdir().expect("temp dir");
    let site = work.path().join("site");
    let other = work.path().join("other");
    for dir in [&site, &other] {
        std::fs::create_dir_all(dir.join("packages")).expect("site");
        std::fs::write(dir.join("page.html"), PAGE).expect("page");
    }
    let (server, port) = serve(&site, &work.path().join("site.log"));
    let (undeclared_server, undeclared) = serve(&other, &work.path().join("other.log"));
    let _served = Served(vec![server, undeclared_server]);

    // The authors' side: vendor or install the dependencies, then pack.
    let scraper = work.path().join("scraper");
    copy_tree(Path::new(&task_source("scraper")), &scraper);
    let manifest = std::fs::read_to_string(scraper.join("gradual-task.toml")).expect("manifest");
    std::fs::write(
        scraper.join("gradual-task.toml"),
        manifest.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}")),
    )
    .expect("manifest");
    run(
        Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--no-deps", "--only-binary=:all:", "--require-hashes"])
            .args(["--target", "vendor", "-r", "requirements.txt"])
            .current_dir(&scraper),
        "pip install the scraper's dependencies",
    );
    let keccak = work.path().join("keccak-js");
    copy_tree(Path::new(&task_source("keccak-js")), &keccak);
    run(
        Command::new("npm").args(["ci", "--omit=dev", "--no-audit", "--no-fund"]).current_dir(&keccak),
        "npm ci the JavaScript task's dependencies",
    );

    let localnet = Localnet::start(&["--slot-ms", "100"]);
    let user = User::new(&localnet.url);
    let (creator, _) = user.funded_keypair("creator.json", 100 * SOL);
    let mut tasks = Vec::new();
    for (name, dir) in [("scraper", &scraper), ("keccak", &keccak)] {
        let package = site.join("packages").join(format!("{name}.tar"));
        let package_text = package.display().to_string();
        let packed = user.json(&["task", "pack", dir.to_str().expect("utf-8"), "-o", &package_text]);
        let again = user.json(&[
            "task",
            "pack",
            dir.to_str().expect("utf-8"),
            "-o",
            &format!("{package_text}.again"),
        ]);
        assert_eq!(packed["sha256"], again["sha256"], "packing is reproducible");
        let locator = format!("http://127.0.0.1:{port}/packages/{name}.tar");
        tasks.push(create(
            &user,
            &creator,
            if name == "scraper" { "scraper" } else { "keccak" },
            &locator,
            &package_text,
        ));
    }
    let scraped = user.json(&["task", "show", &tasks[0]]);
    assert_eq!(scraped["capabilities"]["network"][0], format!("127.0.0.1:{port}"), "{scraped}");

    let mut operator_addresses = Vec::new();
    let operators: Vec<(String, String, String)> = (0..2)
        .map(|index| {
            let (keypair, address) = user.funded_keypair(&format!("operator{index}.json"), 10 * SOL);
            operator_addresses.push(address);
            let listen = free_port();
            let mut config = format!("listen = \"127.0.0.1:{listen}\"\n");
            for (slot, task) in tasks.iter().enumerate() {
                let staked = user.stake(&keypair, task, 2 * SOL, &format!("http://127.0.0.1:{listen}/tasks/{task}"));
                assert!(staked.status.success(), "{}", String::from_utf8_lossy(&staked.stderr));
                config.push_str(&format!("\n[[task]]\naddress = \"{task}\"\ndb = \"node{index}-{slot}.redb\"\n"));
                if slot == 0 {
                    config.push_str(&format!(
                        "env = {{ SCRAPE_URL = \"http://127.0.0.1:{port}/page.html\", UNDECLARED_URL = \"http://127.0.0.1:{undeclared}/page.html\" }}\n"
                    ));
                }
            }
            let path = user.path(&format!("node{index}.toml"));
            std::fs::write(&path, config).expect("config");
            (keypair, path.display().to_string(), user.path(&format!("node{index}.log")).display().to_string())
        })
        .collect();
    let mut children: Vec<Child> = operators
        .iter()
        .enumerate()
        .map(|(index, (keypair, config, log))| {
            let log = std::fs::File::create(log).expect("log");
            user.command()
                // Each node its own, empty cache: it must fetch both packages itself.
                .env("GRADUAL_PACKAGE_CACHE", user.path(&format!("cache{index}")))
                .env("GRADUAL_LOG", "info")
                .args(["node", "run", "-k", keypair, "--node-config", config])
                .args(["--exit-after-round", &LAST_ROUND.to_string(), "--output", "json"])
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("node run")
        })
        .collect();
    // While the nodes run, the keccak task's creator schedules another
    // package, the SDK's Python hello, from the next round on. The nodes
    // fetch it and switch at that round; rounds before it keep keccak.
    let hello = site.join("packages").join("hello.tar").display().to_string();
    user.json(&[
        "task",
        "pack",
        &format!("{}/../sdk/python/examples/hello", env!("CARGO_MANIFEST_DIR")),
        "-o",
        &hello,
    ]);
    let deadline = Instant::now() + Duration::from_secs(120);
    while user.json(&["task", "show", &tasks[1]])["current_round"].as_u64().is_none_or(|round| round < 1) {
        assert!(Instant::now() < deadline, "round 1 never came");
        std::thread::sleep(Duration::from_millis(100));
    }
    let hello_locator = format!("http://127.0.0.1:{port}/packages/hello.tar");
    let updated = user.json(&[
        "task",
        "update",
        "-k",
        &creator,
        &tasks[1],
        "--executable",
        &hello,
        "--executable-locator",
        &hello_locator,
    ]);
    let switch_round = u64_of(&updated["from_round"]);
    assert!(switch_round < LAST_ROUND, "the switch comes while the nodes run: {updated}");
    let shown = user.json(&["task", "show", &tasks[1]]);
    assert_eq!(u64_of(&shown["next_executable"]["from_round"]), switch_round, "{shown}");

    let finished = format!("the nodes did not finish round {LAST_ROUND}");
    wait_for_success(&mut children, Duration::from_secs(240), &finished);

    for (index, (_, _, log)) in operators.iter().enumerate() {
        let log = std::fs::read_to_string(log).expect("log");
        let started: Vec<Value> =
            events(&log).into_iter().filter(|event| event["event"] == "started").collect();
        assert_eq!(started.len(), 2, "{log}");
        assert!(started.iter().all(|event| event["sandbox"] == "sandboxed"), "{started:?}");
        assert!(log.contains("UNDECLARED refused"), "the undeclared port was tried: {log}");
        assert!(!log.contains("UNDECLARED ALLOWED"), "an undeclared port was reached: {log}");
        let cache = user.path(&format!("cache{index}"));
        let unpacked = std::fs::read_dir(&cache).expect("the node's cache").count();
        assert_eq!(
            unpacked,
            3,
            "node {index} fetched and unpacked all three packages into {}",
            cache.display()
        );
    }
    // The keccak task's rounds before the switch were worked, audited and
    // listed with keccak; from the switch on, with hello.
    let hello_digest = solana_sha256_hasher::hash(b"Hello, World!").to_bytes();
    let hello_digest: String = hello_digest.iter().map(|byte| format!("{byte:02x}")).collect();
    for (index, _) in operators.iter().enumerate() {
        let address =
            user.json(&["inspect", "node", "--task", &tasks[1], "--operator", &operator_addresses[index]]);
        let unrevealed = "0".repeat(64);
        let submissions: Vec<&Value> = address["submissions"]
            .as_array()
            .expect("submissions")
            .iter()
            .filter(|submission| submission["digest"] != unrevealed.as_str())
            .collect();
        for submission in &submissions {
            let round = u64_of(&submission["round"]);
            let is_hello = submission["digest"] == hello_digest.as_str();
            assert_eq!(
                is_hello,
                round >= switch_round,
                "round {round} ran the package scheduled for it: {address}"
            );
        }
        assert!(
            submissions.iter().any(|submission| u64_of(&submission["round"]) >= switch_round),
            "{address}"
        );
        let log = std::fs::read_to_string(&operators[index].2).expect("log");
        assert!(log.contains("package_scheduled"), "node {index} switched: {log}");
    }
    for task in &tasks {
        for round in 0..2 {
            let list = user.json(&["inspect", "distribution", task, &round.to_string()]);
            assert_eq!(list["status"], "approved", "{task} round {round}: {list}");
            assert_eq!(u64_of(&list["leaf_count"]), 2, "{task} round {round}: both nodes paid: {list}");
        }
    }
    let served = std::fs::read_to_string(work.path().join("site.log")).expect("site log");
    let package_fetches = served.matches("GET /packages/scraper.tar").count();
    assert!(package_fetches >= 2, "each node fetched the scraper itself: {served}");
    assert!(served.matches("GET /page.html").count() >= 4, "the nodes scraped the page: {served}");
    let other_log = std::fs::read_to_string(work.path().join("other.log")).expect("other log");
    assert!(!other_log.contains("GET"), "nothing reached the undeclared server: {other_log}");

    // A package whose served bytes are not the ones pinned: never run.
    let tampered_locator = format!("http://127.0.0.1:{port}/packages/keccak.tar");
    let scraper_package = site.join("packages").join("scraper.tar").display().to_string();
    let tampered = create(&user, &creator, "tampered", &tampered_locator, &scraper_package);
    let (keypair, _, _) = &operators[0];
    let staked = user.stake(keypair, &tampered, 2 * SOL, "http://127.0.0.1:9/");
    assert!(staked.status.success(), "{}", String::from_utf8_lossy(&staked.stderr));
    // `node run` for one task, with a cache of its own: its exit code and stderr.
    let run_alone = |task: &str, name: &str| {
        let output = user
            .command()
            .env("GRADUAL_PACKAGE_CACHE", user.path(&format!("cache-{name}")))
            .args(["node", "run", "-k", keypair, task, "--listen", &format!("127.0.0.1:{}", free_port())])
            .args(["--db", &user.path(&format!("{name}.redb")).display().to_string()])
            .output()
            .expect("node run");
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (code, stderr) = run_alone(&tampered, "tampered");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.trim().lines().count() == 1 && stderr.contains("refusing to run it"), "{stderr}");
    // A locator nobody answers is a network failure: exit code 1, one line.
    let unreachable_locator = format!("http://127.0.0.1:{}/packages/keccak.tar", free_port());
    let unreachable = create(&user, &creator, "unreachable", &unreachable_locator, &scraper_package);
    let staked = user.stake(keypair, &unreachable, 2 * SOL, "http://127.0.0.1:9/");
    assert!(staked.status.success(), "{}", String::from_utf8_lossy(&staked.stderr));
    let (code, stderr) = run_alone(&unreachable, "unreachable");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.trim().lines().count() == 1 && stderr.contains("cannot fetch the package"), "{stderr}");
    assert!(
        !user.path("cache-tampered").exists()
            || std::fs::read_dir(user.path("cache-tampered")).expect("cache").next().is_none(),
        "nothing of a package that failed its check is unpacked"
    );
}
