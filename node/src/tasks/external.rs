//! A task in any language: a package or executable speaking `docs/task-protocol.md`.
//!
//! Each call starts the task afresh, writes one JSON request line and
//! reads one JSON answer line. A process per call keeps calls independent:
//! work and audits run at the same time, and a crash, a hang (killed after
//! [`CALL_TIMEOUT`]), an oversized or a malformed answer costs that call
//! only. The process starts with a clean environment (`PATH`, `HOME`, `LANG`,
//! `TMPDIR` and the variables the task declares and the operator sets) in its
//! own working directory, confined by [`crate::sandbox`] unless the operator
//! passed `--unsandboxed`.
//!
//! At start the node asks `hello`. An executable that answers
//! `"protocol": 1` names the parts it implements; any other answer means
//! version 0, the original protocol of `work` and `audit` only, whose
//! requests are sent exactly as before.

use std::{
    collections::BTreeMap,
    io::{BufRead, Read, Write},
    path::PathBuf,
    process::{Command, Stdio},
    sync::{Mutex, OnceLock},
    time::{Duration, SystemTime},
};

use base64::Engine as _;
use gradual_interface::Address;
use serde_json::{json, Value};

use super::{digest_matches, sha256, DistributionInputs, Judgement, Leaves, Submitted, Task, WorkContext};
use crate::{
    package::{hex, Installed},
    sandbox::{self, Confinement, Limits, Policy},
};

/// Longest an executable may take to answer one call.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest answer line read from an executable.
const MAX_ANSWER_BYTES: u64 = 4 << 20;

/// How a call that could not start the executable begins its error.
const CANNOT_START: &str = "cannot start";

/// The protocol version this node speaks.
pub const PROTOCOL: u64 = 1;

/// The parts an executable implements, from its `hello` answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parts {
    /// 0 for executables that do not answer `hello`.
    pub protocol: u64,
    pub submission: bool,
    pub distribution: bool,
    /// Environment variables the task asks the operator for.
    pub variables: Vec<String>,
}

/// How to run a task's package.
#[derive(Clone, Debug)]
pub struct ExternalConfig {
    /// The installed package (or single file), already checked against the task's sha256.
    pub package: Installed,
    /// The process's working directory (created if missing).
    pub work_dir: PathBuf,
    /// Variables the operator sets; only those the task declares are passed.
    pub variables: BTreeMap<String, String>,
    pub sandbox: SandboxChoice,
}

/// Whether calls are confined, and the most a manifest may ask for.
#[derive(Clone, Copy, Debug)]
pub struct SandboxChoice {
    /// The operator's explicit `--unsandboxed`.
    pub unsandboxed: bool,
    pub ceilings: Limits,
}

impl Default for SandboxChoice {
    fn default() -> Self {
        Self { unsandboxed: false, ceilings: Limits::CEILINGS }
    }
}

/// The file's size and modification time when it was last hashed.
type Stamp = Option<(u64, SystemTime)>;

pub struct External {
    config: ExternalConfig,
    parts: Parts,
    /// The interpreter and its arguments, or the entry point itself.
    command: Vec<PathBuf>,
    environment: BTreeMap<String, String>,
    confinement: Confinement,
    checked: Mutex<Stamp>,
    /// How long one call may take before the executable is killed.
    call_timeout: Duration,
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(bytes)
}

fn b64(bytes: &[u8]) -> String {
    base64::prelude::BASE64_STANDARD.encode(bytes)
}

/// Whether this machine can sandbox, found once per process.
fn sandbox_available() -> Result<(), String> {
    static PROBED: OnceLock<Result<(), String>> = OnceLock::new();
    PROBED.get_or_init(sandbox::probe).clone()
}

/// How the task's calls are confined, or why they cannot be.
fn confinement(config: &ExternalConfig, runtime: &sandbox::Runtime) -> Result<Confinement, String> {
    let capabilities = config.package.capabilities();
    if let Some((name, asked, ceiling)) = capabilities.limits.over(&config.sandbox.ceilings) {
        return Err(format!(
            "the task asks for {name} = {asked}, over this node's ceiling of {ceiling}; refusing to run it"
        ));
    }
    if config.sandbox.unsandboxed {
        tracing::warn!(package = %hex(&config.package.sha256), "running the task UNSANDBOXED, with the node's own rights (--unsandboxed)");
        return Ok(Confinement::Unsandboxed);
    }
    sandbox_available()
        .map_err(|missing| format!("cannot sandbox the task: {missing}; refusing to run it (--unsandboxed runs it with the node's rights)"))?;
    let mut readable = vec![config.package.root.clone()];
    readable.extend(runtime.readable.iter().cloned());
    Ok(Confinement::Sandboxed(Policy {
        readable,
        work_dir: config.work_dir.clone(),
        ports: capabilities.ports()?,
        limits: capabilities.limits,
    }))
}

impl External {
    /// Resolves the package's runtime and confinement, asks it `hello`, and
    /// prepares its working directory and environment.
    pub fn start(config: ExternalConfig) -> Result<Self, String> {
        let runtime = config.package.runtime()?;
        let confinement = confinement(&config, &runtime)?;
        let command: Vec<PathBuf> =
            runtime.program.iter().cloned().chain([config.package.entry.clone()]).collect();
        std::fs::create_dir_all(&config.work_dir).map_err(|error| {
            format!("cannot create the task's working directory {}: {error}", config.work_dir.display())
        })?;
        let work_dir = std::fs::canonicalize(&config.work_dir)
            .map_err(|error| format!("cannot find {}: {error}", config.work_dir.display()))?;
        let mut path: Vec<PathBuf> = runtime.path.clone();
        path.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from));
        let path =
            std::env::join_paths(path).map_err(|error| format!("cannot build the task's PATH: {error}"))?;
        let environment = BTreeMap::from([
            ("PATH".to_string(), path.to_string_lossy().into_owned()),
            ("HOME".to_string(), work_dir.display().to_string()),
            ("LANG".to_string(), "C.UTF-8".to_string()),
        ]);
        let confinement = match confinement {
            Confinement::Sandboxed(policy) => {
                Confinement::Sandboxed(Policy { work_dir: work_dir.clone(), ..policy })
            }
            unsandboxed => unsandboxed,
        };
        let mut config = config;
        config.work_dir = work_dir;
        let mut external = Self {
            environment,
            parts: Parts::default(),
            command,
            confinement,
            checked: Mutex::new(None),
            call_timeout: CALL_TIMEOUT,
            config,
        };
        external.check_hash()?;
        external.parts = match external.call(&json!({ "method": "hello", "protocol": PROTOCOL })) {
            Ok(answer) => parse_hello(&answer),
            Err(error) if error.starts_with(CANNOT_START) => return Err(error),
            // An executable that does not know `hello` speaks version 0.
            Err(_) => Parts::default(),
        };
        // A package's manifest, pinned on-chain, declares its variables; a single file's `hello` does.
        if let Some(manifest) = &external.config.package.manifest {
            external.parts.variables = manifest.capabilities.variables.clone();
        }
        for name in &external.parts.variables {
            match external.config.variables.get(name) {
                Some(value) => {
                    external.environment.insert(name.clone(), value.clone());
                }
                None => {
                    tracing::warn!(variable = %name, "the task declares a variable the operator did not set")
                }
            }
        }
        for name in external.config.variables.keys().filter(|name| !external.parts.variables.contains(name)) {
            tracing::warn!(variable = %name, "the task does not declare this variable; it is not passed");
        }
        Ok(external)
    }

    pub fn parts(&self) -> &Parts {
        &self.parts
    }

    /// Kills a call after `timeout` rather than [`CALL_TIMEOUT`].
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The directory the task's calls run in.
    pub fn work_dir(&self) -> &std::path::Path {
        &self.config.work_dir
    }

    /// Whether calls run in the sandbox.
    pub fn sandboxed(&self) -> bool {
        matches!(self.confinement, Confinement::Sandboxed(_))
    }

    /// Refuses to run a file that no longer has the recorded sha256. Only a
    /// single file run where it lies can change: it is rehashed when its
    /// size or modification time changed. A cached package is read-only.
    fn check_hash(&self) -> Result<(), String> {
        if !self.config.package.in_place {
            return Ok(());
        }
        let program = &self.config.package.entry;
        let metadata = std::fs::metadata(program)
            .map_err(|error| format!("cannot read executable {}: {error}", program.display()))?;
        let stamp = Some((metadata.len(), metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
        let mut checked = self.checked.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if *checked == stamp {
            return Ok(());
        }
        let bytes = std::fs::read(program)
            .map_err(|error| format!("cannot read executable {}: {error}", program.display()))?;
        let actual = sha256(&bytes);
        if actual != self.config.package.sha256 {
            *checked = None;
            return Err(format!(
                "executable {} has sha256 {}, but the task records {}; refusing to run it",
                program.display(),
                hex(&actual),
                hex(&self.config.package.sha256)
            ));
        }
        *checked = stamp;
        Ok(())
    }

    /// The command for one call, confined unless the operator said otherwise.
    fn command(&self) -> Result<Command, String> {
        let (program, arguments) = self.command.split_first().ok_or("no entry point")?;
        let mut command = Command::new(program);
        command
            .args(arguments)
            .env_clear()
            .envs(&self.environment)
            .current_dir(&self.config.work_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Confinement::Sandboxed(policy) = &self.confinement {
            sandbox::confine(&mut command, policy).map_err(|error| format!("{CANNOT_START}: {error}"))?;
        }
        Ok(command)
    }

    /// A call that left its working directory over quota broke a rule: the directory is emptied.
    fn check_disk(&self) -> Result<(), String> {
        let Confinement::Sandboxed(policy) = &self.confinement else { return Ok(()) };
        let quota = policy.limits.disk_mib.saturating_mul(1 << 20);
        let used = sandbox::disk_used(&self.config.work_dir, quota);
        if used > quota {
            sandbox::empty_dir(&self.config.work_dir);
            return Err(format!(
                "{}: the working directory held over {} MiB, its quota; it was emptied",
                sandbox::VIOLATION,
                policy.limits.disk_mib
            ));
        }
        Ok(())
    }

    fn call(&self, request: &Value) -> Result<Value, String> {
        self.check_hash()?;
        let answer = self.exchange(request);
        let disk = self.check_disk();
        let answer = answer?;
        disk?;
        Ok(answer)
    }

    fn exchange(&self, request: &Value) -> Result<Value, String> {
        let mut child = self
            .command()?
            .spawn()
            .map_err(|error| format!("{CANNOT_START} {}: {error}", self.config.package.entry.display()))?;
        let mut line = request.to_string();
        line.push('\n');
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        // Write and read on another thread, so a hung executable (one that
        // never reads, never answers or never exits) is killed after its call timeout.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let exchange = stdin
                .write_all(line.as_bytes())
                .map_err(|error| match error.kind() {
                    std::io::ErrorKind::BrokenPipe => {
                        "crashed: the executable exited without reading its request".to_string()
                    }
                    _ => format!("cannot write to the executable: {error}"),
                })
                .and_then(|()| {
                    drop(stdin);
                    let mut response = String::new();
                    std::io::BufReader::new(stdout.take(MAX_ANSWER_BYTES))
                        .read_line(&mut response)
                        .map(|_| response)
                        .map_err(|error| format!("cannot read from the executable: {error}"))
                });
            let _ = sender.send(exchange);
        });
        let response = match receiver.recv_timeout(self.call_timeout) {
            Ok(exchange) => exchange,
            Err(_) => {
                sandbox::kill(&mut child);
                return Err(format!(
                    "late answer: none within {:.1} s; the executable was killed",
                    self.call_timeout.as_secs_f64()
                ));
            }
        };
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                sandbox::kill(&mut child);
                return Err(error);
            }
        };
        if response.len() as u64 >= MAX_ANSWER_BYTES && !response.ends_with('\n') {
            sandbox::kill(&mut child);
            return Err(format!("oversized answer: longer than {} bytes", MAX_ANSWER_BYTES));
        }
        let status = child.wait().map_err(|error| error.to_string())?;
        if let Some(violation) = sandbox::violation(status).filter(|_| self.sandboxed()) {
            return Err(violation);
        }
        if !status.success() {
            return Err(format!("crashed: the executable exited with {status}"));
        }
        parse_answer(&response)
    }
}

/// The parts a `hello` answer names; version 0 unless it says `"protocol": 1`.
fn parse_hello(answer: &Value) -> Parts {
    if answer.get("protocol").and_then(Value::as_u64) != Some(PROTOCOL) {
        return Parts::default();
    }
    let names: Vec<&str> = answer
        .get("parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let variables = answer
        .get("variables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    Parts {
        protocol: PROTOCOL,
        submission: names.contains(&"submission"),
        distribution: names.contains(&"distribution"),
        variables,
    }
}

/// Reads an executable's answer line: a JSON value, unless it reports an error.
pub fn parse_answer(line: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(line).map_err(|_| {
        let shown: String = line.chars().take(120).collect();
        format!("malformed answer: not one JSON line ({} bytes): {shown:?}", line.len())
    })?;
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        return Err(format!("the executable reports an error: {error}"));
    }
    Ok(value)
}

/// The result bytes of a `work` answer: `"result"`, base64.
pub fn work_result(answer: &Value) -> Result<Vec<u8>, String> {
    let encoded =
        answer.get("result").and_then(Value::as_str).ok_or("malformed answer: no \"result\" string")?;
    base64::prelude::BASE64_STANDARD
        .decode(encoded)
        .map_err(|error| format!("malformed answer: \"result\" is not base64: {error}"))
}

/// The verdict of a version 0 `audit` answer: only `"valid": true` is valid.
pub fn audit_verdict(answer: &Value) -> bool {
    answer.get("valid").and_then(Value::as_bool).unwrap_or(false)
}

fn submission_answer(answer: &Value) -> Result<([u8; 32], Vec<u8>), String> {
    let digest = answer
        .get("digest")
        .and_then(Value::as_str)
        .and_then(unhex32)
        .ok_or("malformed answer: \"digest\" must be 64 hex digits")?;
    let locator =
        answer.get("locator").and_then(Value::as_str).ok_or("malformed answer: no \"locator\" string")?;
    if locator.is_empty() || locator.len() > gradual_interface::state::MAX_PROOF_LOCATOR_LEN {
        return Err(format!(
            "malformed answer: \"locator\" must be 1 to {} bytes",
            gradual_interface::state::MAX_PROOF_LOCATOR_LEN
        ));
    }
    Ok((digest, locator.as_bytes().to_vec()))
}

fn distribution_answer(answer: &Value) -> Result<Leaves, String> {
    let leaves =
        answer.get("leaves").and_then(Value::as_array).ok_or("malformed answer: no \"leaves\" array")?;
    leaves
        .iter()
        .map(|leaf| {
            let node = leaf
                .get("node")
                .and_then(Value::as_str)
                .and_then(|text| text.parse::<Address>().ok())
                .ok_or("malformed answer: a leaf's \"node\" is not an address")?;
            let amount = leaf
                .get("amount")
                .and_then(Value::as_u64)
                .ok_or("malformed answer: a leaf's \"amount\" is not a u64")?;
            Ok((node.to_bytes(), amount))
        })
        .collect()
}

impl Task for External {
    fn work(&self, context: &WorkContext) -> Result<Vec<u8>, String> {
        let request = if self.parts.protocol == 0 {
            json!({ "method": "work", "round": context.round })
        } else {
            json!({
                "method": "work",
                "protocol": PROTOCOL,
                "round": context.round,
                "task": context.task.to_string(),
                "node": context.node.to_string(),
            })
        };
        work_result(&self.call(&request)?)
    }

    fn submission(&self, round: u64, result: &[u8]) -> Result<([u8; 32], Vec<u8>), String> {
        if !self.parts.submission {
            return Ok((sha256(result), super::result_locator(round)));
        }
        let request =
            json!({ "method": "submission", "protocol": PROTOCOL, "round": round, "result": b64(result) });
        submission_answer(&self.call(&request)?)
    }

    fn audit(&self, round: u64, submitted: &Submitted, result: &[u8]) -> Judgement {
        // With the default proof, the node checks the digest itself.
        if !self.parts.submission && !digest_matches(submitted, result) {
            return Judgement::Invalid("the digest is not sha256(result)".into());
        }
        let request = if self.parts.protocol == 0 {
            json!({ "method": "audit", "round": round, "result": b64(result) })
        } else {
            json!({
                "method": "audit",
                "protocol": PROTOCOL,
                "round": round,
                "result": b64(result),
                "submission": {
                    "node": submitted.node.to_string(),
                    "digest": hex(&submitted.digest),
                    "locator": String::from_utf8_lossy(&submitted.locator),
                },
            })
        };
        let answer = match self.call(&request) {
            Ok(answer) => answer,
            Err(error) => return Judgement::CannotJudge(error),
        };
        if self.parts.protocol == 0 {
            return if audit_verdict(&answer) {
                Judgement::Valid
            } else {
                Judgement::Invalid("the task judged it invalid".into())
            };
        }
        match answer.get("valid").and_then(Value::as_bool) {
            Some(true) => Judgement::Valid,
            Some(false) => Judgement::Invalid(
                answer
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("the task judged it invalid")
                    .to_string(),
            ),
            None => Judgement::CannotJudge("malformed answer: no boolean \"valid\"".into()),
        }
    }

    fn distribution(&self, inputs: &DistributionInputs) -> Result<Leaves, String> {
        if !self.parts.distribution {
            return Ok(super::default_rule(inputs));
        }
        let eligible: Vec<Value> = inputs
            .eligible
            .iter()
            .map(|node| {
                json!({
                    "node": Address::new_from_array(node.node).to_string(),
                    "stake": node.stake,
                    "digest": hex(&node.digest),
                    "locator": String::from_utf8_lossy(&node.locator),
                })
            })
            .collect();
        let excluded: Vec<String> =
            inputs.excluded.iter().map(|node| Address::new_from_array(*node).to_string()).collect();
        let request = json!({
            "method": "distribution",
            "protocol": PROTOCOL,
            "round": inputs.round,
            "bounty": inputs.bounty,
            "eligible": eligible,
            "excluded": excluded,
        });
        distribution_answer(&self.call(&request)?)
    }
}
