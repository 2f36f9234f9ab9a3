//! The task implementations: hello, http-digest against a real local HTTP
//! server, and the external-executable adapter with its sha256 check.

use std::{
    os::unix::fs::PermissionsExt,
    sync::{Arc, Mutex},
};

use axum::{extract::State, routing::get, Router};
use gradual_interface::Address;
use gradual_node::{
    package,
    tasks::{
        External, ExternalConfig, Hello, HttpDigest, Judgement, SandboxChoice, Submitted, Task, WorkContext,
        HELLO,
    },
};

fn sha256(bytes: &[u8]) -> [u8; 32] {
    solana_sha256_hasher::hash(bytes).to_bytes()
}

fn context(round: u64) -> WorkContext {
    WorkContext { task: Address::new_from_array([1; 32]), node: Address::new_from_array([2; 32]), round }
}

/// A proof with `digest`, as a peer's node account records it.
fn proof(digest: [u8; 32]) -> Submitted {
    Submitted { node: Address::new_from_array([2; 32]), digest, locator: b"v1/results/0".to_vec() }
}

fn valid(judgement: Judgement) -> bool {
    judgement == Judgement::Valid
}

#[test]
fn hello_checks_exactly_hello_world() {
    let result = Hello.work(&context(0)).expect("work");
    assert_eq!(result, HELLO);
    assert!(valid(Hello.audit(0, &proof(sha256(&result)), &result)));
    assert!(!valid(Hello.audit(0, &proof(sha256(b"Hello, World?")), b"Hello, World?")));
    assert!(!valid(Hello.audit(0, &proof(sha256(b"something else")), &result)));
}

#[test]
fn http_digest_fetches_its_sources_and_auditors_recheck_them() {
    let runtime = Arc::new(tokio::runtime::Runtime::new().expect("runtime"));
    let content = Arc::new(Mutex::new(("alpha".to_string(), "beta".to_string())));
    let app = Router::new()
        .route(
            "/a",
            get(|State(content): State<Arc<Mutex<(String, String)>>>| async move {
                content.lock().expect("lock").0.clone()
            }),
        )
        .route(
            "/b",
            get(|State(content): State<Arc<Mutex<(String, String)>>>| async move {
                content.lock().expect("lock").1.clone()
            }),
        )
        .with_state(Arc::clone(&content));
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let address = listener.local_addr().expect("address");
    runtime.spawn(async move { axum::serve(listener, app).await });

    let locator = format!("builtin:http-digest http://{address}/a http://{address}/b");
    let task = HttpDigest::from_locator(&locator, Arc::clone(&runtime)).expect("task");
    let result = task.work(&context(5)).expect("work");
    let text = String::from_utf8_lossy(&result);
    let (alpha, beta) = (b64(b"alpha"), b64(b"beta"));
    assert!(text.contains(&alpha) && text.contains(&beta), "{text}");
    let digest = task.submission(5, &result).expect("proof").0;
    assert!(valid(task.audit(5, &proof(digest), &result)), "an honest result passes");
    assert!(!valid(task.audit(6, &proof(digest), &result)), "a result of another round fails");
    assert!(!valid(task.audit(5, &proof(sha256(b"not it")), &result)), "a wrong digest fails");

    // A submitter that invents a body (and a matching body hash and digest) is caught by the refetch.
    let forged = String::from_utf8_lossy(&result)
        .replace(&alpha, &b64(b"gamma"))
        .replace(&beta, &b64(b"delta"))
        .replace(&hex(&sha256(b"alpha")), &hex(&sha256(b"gamma")))
        .replace(&hex(&sha256(b"beta")), &hex(&sha256(b"delta")))
        .into_bytes();
    assert_ne!(forged, result);
    assert!(!valid(task.audit(5, &proof(sha256(&forged)), &forged)), "invented bodies fail the refetch");
    // A body that does not match its own recorded hash fails without any fetch.
    let inconsistent = String::from_utf8_lossy(&result).replace(&alpha, &b64(b"omega")).into_bytes();
    assert!(!valid(task.audit(5, &proof(sha256(&inconsistent)), &inconsistent)));

    assert!(HttpDigest::from_locator("builtin:http-digest", Arc::clone(&runtime)).is_err(), "no sources");
    assert!(HttpDigest::from_locator("builtin:http-digest not-a-url", runtime).is_err(), "bad source");
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::prelude::BASE64_STANDARD.encode(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

const ADAPTER: &str = r#"#!/bin/sh
# A task speaking the JSON-lines protocol: its work is "hello" (aGVsbG8= in base64).
read -r line
case "$line" in
  *'"method":"work"'*) echo '{"result":"aGVsbG8="}' ;;
  *'"method":"audit"'*)
    case "$line" in
      *'"result":"aGVsbG8="'*) echo '{"valid":true}' ;;
      *) echo '{"valid":false}' ;;
    esac ;;
  *) echo '{"error":"unknown method"}' ;;
esac
"#;

#[test]
fn the_external_adapter_runs_only_the_recorded_executable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = dir.path().join("task.sh");
    std::fs::write(&program, ADAPTER).expect("write");
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let cache = dir.path().join("cache");
    let error =
        package::install_local(&program, &[0; 32], &cache).expect_err("a different sha256 is refused");
    assert!(error.contains("refusing to run it"), "{error}");

    let package = package::install_local(&program, &sha256(ADAPTER.as_bytes()), &cache).expect("installed");
    let config = ExternalConfig {
        package,
        work_dir: dir.path().join("work"),
        variables: Default::default(),
        sandbox: SandboxChoice::default(),
    };
    let task = External::start(config).expect("the recorded executable runs");
    assert_eq!(task.parts().protocol, 0, "an executable that does not answer hello speaks version 0");
    let result = task.work(&context(3)).expect("work");
    assert_eq!(result, b"hello");
    assert!(valid(task.audit(3, &proof(sha256(b"hello")), &result)));
    assert!(
        !valid(task.audit(3, &proof(sha256(b"goodbye")), b"goodbye")),
        "the executable judges the result"
    );
    assert!(!valid(task.audit(3, &proof(sha256(b"goodbye")), &result)), "the digest must match");
}

/// Answers `work` with its environment and working directory.
const ENV_TASK: &str = r#"#!/bin/sh
read -r request
case "$request" in
  *'"hello"'*) echo '{"protocol":1,"parts":["work","audit"],"variables":["API_KEY","NOT_SET"]}' ;;
  *) printf '{"result":"%s"}\n' "$( (env; echo "cwd=$(pwd)") | base64 | tr -d '\n')" ;;
esac
"#;

fn external(dir: &std::path::Path, script: &str, variables: &[(&str, &str)]) -> External {
    let program = dir.join("task.sh");
    std::fs::write(&program, script).expect("write");
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let package =
        package::install_local(&program, &sha256(script.as_bytes()), &dir.join("cache")).expect("installed");
    External::start(ExternalConfig {
        package,
        work_dir: dir.join("work"),
        variables: variables.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect(),
        sandbox: SandboxChoice::default(),
    })
    .expect("start")
}

#[test]
fn an_executable_sees_only_its_declared_variables_in_its_own_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let task = external(dir.path(), ENV_TASK, &[("API_KEY", "k1"), ("UNDECLARED", "secret")]);
    assert_eq!(task.parts().variables, ["API_KEY", "NOT_SET"]);
    let seen = String::from_utf8(task.work(&context(1)).expect("work")).expect("utf-8");
    let names: Vec<&str> =
        seen.lines().filter_map(|line| line.split_once('=')).map(|(name, _)| name).collect();
    assert!(seen.contains("API_KEY=k1"), "{seen}");
    assert!(
        !seen.contains("UNDECLARED") && !seen.contains("secret"),
        "an undeclared variable leaked: {seen}"
    );
    // Only what the node sets (and what sh adds itself): none of the node's own environment.
    for name in &names {
        assert!(
            ["PATH", "HOME", "LANG", "TMPDIR", "API_KEY", "PWD", "SHLVL", "_", "OLDPWD", "cwd"]
                .contains(name),
            "{name} leaked: {seen}"
        );
    }
    let work_dir = std::fs::canonicalize(dir.path().join("work")).expect("work dir");
    assert!(seen.contains(&format!("cwd={}", work_dir.display())), "{seen}");
    assert!(seen.contains(&format!("HOME={}", dir.path().join("work").display())), "{seen}");
}

#[test]
fn an_executable_replaced_while_the_node_runs_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let task = external(dir.path(), ADAPTER, &[]);
    assert_eq!(task.work(&context(1)).expect("work"), b"hello");
    std::fs::write(dir.path().join("task.sh"), ADAPTER.replace("aGVsbG8=", "Z29vZGJ5ZQ==")).expect("replace");
    let error = task.work(&context(2)).expect_err("a changed file must not run");
    assert!(error.contains("refusing to run it"), "{error}");
}
