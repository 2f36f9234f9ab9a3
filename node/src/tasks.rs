//! Tasks: the four parts of a Koii task (work, proof, audit, distribution).

use base64::Engine as _;
use gradual_interface::merkle::equal_split;

pub trait Task {
    /// Does round `round`'s work; the result is what the node serves to auditors.
    fn work(&self, round: u64) -> Result<Vec<u8>, String>;

    /// The 32-byte digest submitted on-chain for a result.
    fn proof(&self, result: &[u8]) -> [u8; 32] {
        solana_sha256_hasher::hash(result).to_bytes()
    }

    /// Whether another node's `result` is valid work for `round` and matches its `digest`.
    fn audit(&self, round: u64, result: &[u8], digest: &[u8; 32]) -> bool;

    /// Round's payees: by default the bounty split equally, rounded down,
    /// among the eligible nodes (see `gradual_interface::merkle::equal_split`).
    fn distribution(&self, bounty: u64, eligible: &[[u8; 32]]) -> Vec<([u8; 32], u64)> {
        equal_split(bounty, eligible).0
    }
}

/// The node stores "Hello, World!" and auditors check exactly that.
pub struct Hello;

pub const HELLO: &[u8] = b"Hello, World!";

impl Task for Hello {
    fn work(&self, _round: u64) -> Result<Vec<u8>, String> {
        Ok(HELLO.to_vec())
    }

    fn audit(&self, _round: u64, result: &[u8], digest: &[u8; 32]) -> bool {
        result == HELLO && self.proof(result) == *digest
    }
}

/// Fetches a task-configured list of URLs every round and submits the
/// digest of the round's results. Auditors check the digest over the
/// submitter's stored results and refetch one source, chosen by the digest,
/// to check the submitter really fetched it.
pub struct HttpDigest {
    urls: Vec<String>,
    client: reqwest::Client,
    runtime: std::sync::Arc<tokio::runtime::Runtime>,
}

/// A round's result as `http-digest` stores and serves it.
#[derive(serde::Serialize, serde::Deserialize)]
struct DigestResult {
    round: u64,
    sources: Vec<Source>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Source {
    url: String,
    status: u16,
    /// sha256 of the body, hex.
    body_sha256: String,
    /// The body's bytes, base64: sources need not be UTF-8.
    body: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Longest an external executable may take to answer one call.
const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Longest answer line read from an external executable.
const MAX_ANSWER_BYTES: u64 = 4 << 20;

/// Bodies larger than this are cut; the digest covers what was kept.
const MAX_SOURCE_BYTES: usize = 256 * 1024;

impl HttpDigest {
    /// `locator` is `builtin:http-digest <url> <url>...`.
    pub fn from_locator(
        locator: &str,
        runtime: std::sync::Arc<tokio::runtime::Runtime>,
    ) -> Result<Self, String> {
        let urls: Vec<String> = locator.split_whitespace().skip(1).map(str::to_string).collect();
        if urls.is_empty() {
            return Err("http-digest needs at least one URL after `builtin:http-digest`".into());
        }
        if let Some(bad) = urls.iter().find(|url| reqwest::Url::parse(url).is_err()) {
            return Err(format!("http-digest source {bad:?} is not a URL"));
        }
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|error| error.to_string())?;
        Ok(Self { urls, client, runtime })
    }

    async fn fetch(&self, url: &str) -> Result<(u16, Vec<u8>), String> {
        let response = self.client.get(url).send().await.map_err(|error| format!("{url}: {error}"))?;
        let status = response.status().as_u16();
        let mut body = response.bytes().await.map_err(|error| format!("{url}: {error}"))?.to_vec();
        body.truncate(MAX_SOURCE_BYTES);
        Ok((status, body))
    }
}

impl Task for HttpDigest {
    fn work(&self, round: u64) -> Result<Vec<u8>, String> {
        let mut sources = Vec::with_capacity(self.urls.len());
        for url in &self.urls {
            let (status, body) = self.runtime.block_on(self.fetch(url))?;
            sources.push(Source {
                url: url.clone(),
                status,
                body_sha256: hex(&solana_sha256_hasher::hash(&body).to_bytes()),
                body: base64::prelude::BASE64_STANDARD.encode(&body),
            });
        }
        serde_json::to_vec(&DigestResult { round, sources }).map_err(|error| error.to_string())
    }

    fn audit(&self, round: u64, result: &[u8], digest: &[u8; 32]) -> bool {
        if self.proof(result) != *digest {
            return false;
        }
        let Ok(parsed) = serde_json::from_slice::<DigestResult>(result) else { return false };
        let urls: Vec<&str> = parsed.sources.iter().map(|source| source.url.as_str()).collect();
        if parsed.round != round || urls != self.urls.iter().map(String::as_str).collect::<Vec<_>>() {
            return false;
        }
        let mut bodies = Vec::with_capacity(parsed.sources.len());
        for source in &parsed.sources {
            let Ok(body) = base64::prelude::BASE64_STANDARD.decode(&source.body) else { return false };
            if source.body_sha256 != hex(&solana_sha256_hasher::hash(&body).to_bytes()) {
                return false;
            }
            bodies.push(body);
        }
        // Refetch the one source the digest points at.
        let index = usize::from(digest[0]).checked_rem(parsed.sources.len()).unwrap_or(0);
        let source = &parsed.sources[index];
        match self.runtime.block_on(self.fetch(&source.url)) {
            Ok((status, body)) if status == source.status => body == bodies[index],
            // A source that is down or answers differently now (rate limits,
            // errors) says nothing about the submitter.
            _ => true,
        }
    }
}

/// Any program speaking the JSON-lines protocol of `docs/external-tasks.md`:
/// one request line on stdin, one response line on stdout, per call.
pub struct External {
    program: std::path::PathBuf,
}

impl External {
    /// Refuses to run `program` unless its sha256 is `expected` (the one recorded on-chain).
    pub fn verified(program: &std::path::Path, expected: &[u8; 32]) -> Result<Self, String> {
        let bytes = std::fs::read(program)
            .map_err(|error| format!("cannot read executable {}: {error}", program.display()))?;
        let actual = solana_sha256_hasher::hash(&bytes).to_bytes();
        if actual != *expected {
            return Err(format!(
                "executable {} has sha256 {}, but the task records {}; refusing to run it",
                program.display(),
                hex(&actual),
                hex(expected)
            ));
        }
        Ok(Self { program: program.to_path_buf() })
    }

    fn call(&self, request: &serde_json::Value) -> Result<serde_json::Value, String> {
        use std::io::{BufRead, Read, Write};
        let mut child = std::process::Command::new(&self.program)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", self.program.display()))?;
        let mut line = request.to_string();
        line.push('\n');
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        // Write and read on another thread, so a hung executable (one that
        // never reads, never answers or never exits) is killed after CALL_TIMEOUT.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let exchange = stdin
                .write_all(line.as_bytes())
                .map_err(|error| format!("cannot write to the executable: {error}"))
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
        let response = match receiver.recv_timeout(CALL_TIMEOUT) {
            Ok(exchange) => exchange?,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("executable gave no answer within {} s", CALL_TIMEOUT.as_secs()));
            }
        };
        let status = child.wait().map_err(|error| error.to_string())?;
        if !status.success() {
            return Err(format!("executable exited with {status}"));
        }
        parse_answer(&response)
    }
}

/// Reads an executable's answer line: a JSON value, unless it reports an error.
pub fn parse_answer(line: &str) -> Result<serde_json::Value, String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|_| {
        let shown: String = line.chars().take(120).collect();
        format!("executable answered a non-JSON line ({} bytes): {shown:?}", line.len())
    })?;
    if let Some(error) = value.get("error").and_then(serde_json::Value::as_str) {
        return Err(format!("executable error: {error}"));
    }
    Ok(value)
}

/// The result bytes of a `work` answer: `"result"`, base64.
pub fn work_result(answer: &serde_json::Value) -> Result<Vec<u8>, String> {
    let encoded =
        answer.get("result").and_then(serde_json::Value::as_str).ok_or("no \"result\" in the answer")?;
    base64::prelude::BASE64_STANDARD
        .decode(encoded)
        .map_err(|error| format!("\"result\" is not base64: {error}"))
}

/// The verdict of an `audit` answer: only `"valid": true` is valid.
pub fn audit_verdict(answer: &serde_json::Value) -> bool {
    answer.get("valid").and_then(serde_json::Value::as_bool).unwrap_or(false)
}

impl Task for External {
    fn work(&self, round: u64) -> Result<Vec<u8>, String> {
        work_result(&self.call(&serde_json::json!({ "method": "work", "round": round }))?)
    }

    fn audit(&self, round: u64, result: &[u8], digest: &[u8; 32]) -> bool {
        if self.proof(result) != *digest {
            return false;
        }
        let request = serde_json::json!({
            "method": "audit",
            "round": round,
            "result": base64::prelude::BASE64_STANDARD.encode(result),
        });
        match self.call(&request) {
            Ok(response) => audit_verdict(&response),
            // An auditor whose own executable fails cannot judge: it must not accuse.
            Err(error) => {
                tracing::warn!(%error, round, "external audit failed; treating the result as valid");
                true
            }
        }
    }
}
