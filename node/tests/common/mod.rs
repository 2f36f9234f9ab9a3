//! Running `gradual` as a user would: a localnet process serving the `.so`
//! over JSON-RPC, and CLI invocations with an isolated home directory.

#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
};

use serde_json::Value;

pub const SOL: u64 = 1_000_000_000;

pub fn program() -> String {
    std::env::var("GRADUAL_SO")
        .unwrap_or_else(|_| format!("{}/../target/deploy/gradual.so", env!("CARGO_MANIFEST_DIR")))
}

/// A `gradual localnet` process; killed when dropped.
pub struct Localnet {
    child: Child,
    pub url: String,
}

impl Localnet {
    pub fn start(extra: &[&str]) -> Self {
        Self::start_logging(extra, Stdio::inherit())
    }

    /// Starts a localnet whose log (at info level) goes to `log`.
    pub fn start_logging(extra: &[&str], log: impl Into<Stdio>) -> Self {
        Self::start_on("127.0.0.1:0", extra, log)
    }

    /// Starts a localnet listening on `listen` (its websocket one port up).
    pub fn start_on(listen: &str, extra: &[&str], log: impl Into<Stdio>) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gradual"))
            .args(["localnet", "--listen", listen, "--output", "json", "--program", &program()])
            .args(extra)
            .env("GRADUAL_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start localnet");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("localnet address");
        let ready: Value = serde_json::from_str(&line).expect("localnet prints its URL as JSON");
        let url = ready["url"].as_str().expect("url").to_string();
        Self { child, url }
    }
}

impl Drop for Localnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A user's environment: a home directory of their own and a localnet URL.
pub struct User {
    pub home: tempfile::TempDir,
    pub url: String,
}

impl User {
    pub fn new(url: &str) -> Self {
        Self { home: tempfile::tempdir().expect("temp dir"), url: url.to_string() }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gradual"));
        command.env("HOME", self.home.path()).env("GRADUAL_URL", &self.url);
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run gradual")
    }

    /// Runs a command that must succeed with `--output json`, returning its JSON.
    pub fn json(&self, args: &[&str]) -> Value {
        let output = self.command().args(args).args(["--output", "json"]).output().expect("run gradual");
        assert!(
            output.status.success(),
            "gradual {args:?} exited {:?}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!("gradual {args:?} printed no JSON ({error}): {}", String::from_utf8_lossy(&output.stdout))
        })
    }

    /// Creates a funded keypair file and returns its path and address.
    pub fn funded_keypair(&self, name: &str, lamports: u64) -> (String, String) {
        let path = self.path(name);
        let path_text = path.to_str().expect("utf-8 path").to_string();
        let created = self.json(&["keygen", "--outfile", &path_text]);
        let address = created["address"].as_str().expect("address").to_string();
        self.json(&["airdrop", "-k", &path_text, &lamports.to_string()]);
        (path_text, address)
    }
}

/// Exit code and the single stderr line of a failed command.
pub fn failure(output: &Output) -> (i32, String) {
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    (output.status.code().unwrap_or(-1), stderr)
}

pub fn u64_of(value: &Value) -> u64 {
    value.as_u64().unwrap_or_else(|| panic!("{value} is not a u64"))
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// A task's timing and money, as `gradual task create` flags.
pub struct TaskShape {
    pub name: &'static str,
    pub bounty: u64,
    pub bounty_per_round: u64,
    pub round_length: u64,
    /// Submission, audit, distribution and distribution-audit windows.
    pub windows: [u64; 4],
    pub start_in: u64,
}

impl TaskShape {
    /// 6-second rounds (60 slots of 100 ms) with room for many nodes on a
    /// busy machine, 20 SOL of bounty at 1 SOL a round, round 0 `start_in` slots away.
    pub fn six_second_rounds(name: &'static str, start_in: u64) -> Self {
        Self {
            name,
            bounty: 20 * SOL,
            bounty_per_round: SOL,
            round_length: 60,
            windows: [10, 30, 10, 20],
            start_in,
        }
    }
}

impl User {
    /// Creates a task with `gradual task create` and returns its address.
    pub fn create_task(&self, creator: &str, shape: &TaskShape) -> String {
        self.create_task_with(creator, shape, &[])
    }

    /// Like [`User::create_task`], with `extra` flags (a package, say).
    pub fn create_task_with(&self, creator: &str, shape: &TaskShape, extra: &[&str]) -> String {
        let numbers = [
            ("--bounty", shape.bounty),
            ("--bounty-per-round", shape.bounty_per_round),
            ("--round-length", shape.round_length),
            ("--submission-window", shape.windows[0]),
            ("--audit-window", shape.windows[1]),
            ("--distribution-window", shape.windows[2]),
            ("--distribution-audit-window", shape.windows[3]),
            ("--start-in", shape.start_in),
        ]
        .map(|(flag, value)| (flag, value.to_string()));
        let mut args = vec!["task", "create", "-k", creator, "--name", shape.name];
        for (flag, value) in &numbers {
            args.push(flag);
            args.push(value);
        }
        args.extend_from_slice(extra);
        self.json(&args)["task"].as_str().expect("task address").to_string()
    }

    /// Creates a task with `task create`'s default windows, 20 SOL of bounty
    /// and 1 SOL a round, plus `extra` flags; returns its address.
    pub fn create_default_task(&self, creator: &str, name: &str, extra: &[&str]) -> String {
        let base = ["task", "create", "-k", creator, "--name", name, "--bounty", "20000000000"];
        let created = self.json(&[&base[..], &["--bounty-per-round", "1000000000"], extra].concat());
        created["task"].as_str().expect("task address").to_string()
    }

    /// Stakes `lamports` from `keypair` with `gradual node stake --output json`; returns the output.
    pub fn stake(&self, keypair: &str, task: &str, lamports: u64, service_url: &str) -> Output {
        let lamports = lamports.to_string();
        self.run(&[
            "node",
            "stake",
            "-k",
            keypair,
            task,
            &lamports,
            "--service-url",
            service_url,
            "--output",
            "json",
        ])
    }
}

/// Writes `text` to an executable file `name` in `dir`; returns its path as text.
pub fn write_executable(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write executable");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    path.display().to_string()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

pub struct Operator {
    pub keypair: String,
    pub address: String,
    pub port: u16,
    pub db: String,
    pub log: String,
}

/// `count` funded operators, each staked 2 SOL with its own port, database and log.
pub fn staked_operators(user: &User, task: &str, count: usize) -> Vec<Operator> {
    staked_operators_serving(user, task, 0..count, |port| format!("http://127.0.0.1:{port}"))
}

/// Like [`staked_operators`], numbered `indices`, each staked with the service URL `url(port)`.
pub fn staked_operators_serving(
    user: &User,
    task: &str,
    indices: std::ops::Range<usize>,
    url: impl Fn(u16) -> String,
) -> Vec<Operator> {
    indices
        .map(|index| {
            let (keypair, address) = user.funded_keypair(&format!("operator{index}.json"), 10 * SOL);
            let port = free_port();
            let staked = user.stake(&keypair, task, 2 * SOL, &url(port));
            assert!(staked.status.success(), "{}", String::from_utf8_lossy(&staked.stderr));
            Operator {
                keypair,
                address,
                port,
                db: user.path(&format!("node{index}.redb")).display().to_string(),
                log: user.path(&format!("node{index}.log")).display().to_string(),
            }
        })
        .collect()
}

pub fn start_node_with(
    user: &User,
    operator: &Operator,
    task: &str,
    behaviour: &str,
    last_round: u64,
    extra: &[&str],
) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(&operator.log).expect("log");
    user.command()
        .env("GRADUAL_LOG", "info")
        .args(["node", "run", "-k", &operator.keypair, task])
        .args(["--listen", &format!("127.0.0.1:{}", operator.port), "--db", &operator.db])
        .args(["--exit-after-round", &last_round.to_string(), "--behaviour", behaviour, "--output", "json"])
        .args(extra)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start node")
}

/// Waits for every node process to exit, at most `limit`.
pub fn wait_for_exit(children: &mut [Child], limit: std::time::Duration, what: &str) {
    let deadline = std::time::Instant::now() + limit;
    for child in children {
        while child.try_wait().expect("wait").is_none() {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

/// Waits for every node process to exit successfully, at most `limit`.
pub fn wait_for_success(children: &mut [Child], limit: std::time::Duration, what: &str) {
    let deadline = std::time::Instant::now() + limit;
    for child in children {
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        assert!(status.success(), "a node failed: {status:?}");
    }
}

/// A localnet served from this process, its chain first `prepare`d by
/// `setup` (faster than over RPC for large states): the tokio runtime
/// serving it, its URL, what `setup` returned, and its traffic counters.
pub struct InProcess<T> {
    pub runtime: std::sync::Arc<tokio::runtime::Runtime>,
    pub url: String,
    pub prepared: T,
    pub traffic: std::sync::Arc<gradual_node::localnet::Traffic>,
}

pub fn in_process_localnet<T>(
    slot_ms: u64,
    faults: gradual_node::localnet::Faults,
    setup: impl FnOnce(&mut gradual_node::chain::EmbeddedChain) -> T,
) -> InProcess<T> {
    let runtime = std::sync::Arc::new(tokio::runtime::Runtime::new().expect("runtime"));
    let localnet = gradual_node::localnet::Localnet::new(gradual_node::localnet::LocalnetConfig {
        program: program().into(),
        listen: "127.0.0.1:0".parse().expect("address"),
        slot_duration: std::time::Duration::from_millis(slot_ms),
        blockhash_ttl: 150,
        faults,
    })
    .expect("localnet");
    let prepared = localnet.prepare(setup);
    let traffic = localnet.traffic();
    let (ready, address) = std::sync::mpsc::channel();
    runtime.spawn(localnet.serve(move |address| ready.send(address).expect("ready")));
    let url = format!("http://{}", address.recv().expect("serving"));
    InProcess { runtime, url, prepared, traffic }
}

/// Node processes, killed when dropped: a test that fails leaves none
/// running (a node whose chain is gone would run on for ever).
pub struct Children(pub Vec<std::process::Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl std::ops::Deref for Children {
    type Target = Vec<std::process::Child>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Children {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}
