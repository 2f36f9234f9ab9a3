//! Fuzzing what peers control on the node: requests to the peer service and
//! answers from external task executables. Neither may crash the node or
//! earn a 5xx; good input must still work. `PROPTEST_CASES=N` runs longer
//! (docs/testing.md).

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    sync::Arc,
    time::Duration,
};

use axum::{body::Body, http::Request, Router};
use base64::Engine as _;
use gradual_interface::Address;
use gradual_node::{
    service,
    store::Store,
    tasks::{audit_verdict, parse_answer, work_result},
};
use proptest::{collection::vec, prelude::*};
use serde_json::{json, Value};
use solana_keypair::Keypair;
use tower::ServiceExt;

struct Served {
    router: Router,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn served() -> Served {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        Store::open(&dir.path().join("node.redb"), &Address::new_unique(), &Address::new_unique())
            .expect("store"),
    );
    store.put_result(3, b"Hello, World!").expect("put");
    store.put_list(3, &vec![([7; 32], 42)]).expect("put list");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    Served { router: service::router(store, Keypair::new(), Address::new_unique()), runtime, _dir: dir }
}

/// Path pieces a client might send, including the real routes' and hostile ones.
fn path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("v1".to_string()),
        Just("results".to_string()),
        Just("lists".to_string()),
        Just("health".to_string()),
        Just("3".to_string()),
        Just("..".to_string()),
        Just("%00".to_string()),
        Just("18446744073709551616".to_string()),
        Just("-1".to_string()),
        "[a-zA-Z0-9%._~-]{0,40}",
        (0u64..u64::MAX).prop_map(|n| n.to_string()),
    ];
    (vec(piece, 0..8), 0usize..400).prop_map(|(pieces, pad)| {
        let mut path = format!("/{}", pieces.join("/"));
        if pad > 300 {
            path.push_str(&"a".repeat(pad));
        }
        path
    })
}

fn header() -> impl Strategy<Value = (String, String)> {
    (
        prop_oneof![
            Just("content-length".to_string()),
            Just("transfer-encoding".to_string()),
            Just("content-type".to_string()),
            Just("range".to_string()),
            "[a-z-]{1,20}",
        ],
        "[ -~]{0,40}",
    )
}

/// One request: method, path, query, headers and body.
type Fuzzed = (&'static str, String, String, Vec<(String, String)>, Vec<u8>);

fn request() -> impl Strategy<Value = Fuzzed> {
    (
        prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("HEAD"), Just("DELETE"), Just("OPTIONS")],
        path(),
        prop_oneof![Just(String::new()), "\\?[ -~&&[^# ]]{0,40}"],
        vec(header(), 0..4),
        vec(any::<u8>(), 0..64),
    )
}

#[test]
fn any_request_gets_an_answer_and_never_a_server_error() {
    // One service for every case: opening a database per case would dominate the run.
    let served = served();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::default());
    runner
        .run(&request(), |(method, path, query, headers, body)| {
            let mut request = Request::builder().method(method).uri(format!("{path}{query}"));
            for (name, value) in &headers {
                request = request.header(name, value);
            }
            // Some generated requests are not valid HTTP at all; no client can send those.
            let Ok(request) = request.body(Body::from(body.clone())) else { return Ok(()) };
            let response =
                served.runtime.block_on(served.router.clone().oneshot(request)).expect("infallible");
            let status = response.status();
            prop_assert!(!status.is_server_error(), "{method} {path}{query}: {status}");
            let served_result = method == "GET"
                && path == "/v1/results/3"
                && query.is_empty()
                && body.is_empty()
                && !headers.iter().any(|(name, _)| name == "content-length" || name == "transfer-encoding");
            if served_result {
                prop_assert_eq!(status.as_u16(), 200);
                let bytes = served
                    .runtime
                    .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
                    .expect("body");
                prop_assert_eq!(&bytes[..], b"Hello, World!");
            } else if status.is_success() {
                // Only the real routes answer 2xx.
                prop_assert!(
                    ["/v1/health", "/v1/results/3", "/v1/lists/3"].contains(&path.as_str()),
                    "{path}"
                );
            }
            Ok(())
        })
        .expect("every request is answered without a server error");
}

/// Raw bytes over TCP, before any HTTP parsing: the server answers 4xx or
/// closes, and keeps serving afterwards.
#[test]
fn garbage_bytes_over_tcp_never_stop_the_service() {
    let served = served();
    let runtime = served.runtime;
    let address: SocketAddr = runtime
        .block_on(service::spawn("127.0.0.1:0".parse().expect("address"), served.router))
        .expect("serve");
    // The current-thread runtime serves only while something blocks on it.
    let _serving = std::thread::spawn(move || runtime.block_on(std::future::pending::<()>()));
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64u32);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(cases));
    let garbage = prop_oneof![
        vec(any::<u8>(), 0..2048),
        (vec(any::<u8>(), 0..256))
            .prop_map(|junk| [b"GET /v1/results/3 HTTP/1.1\r\n".to_vec(), junk].concat()),
        ("[ -~]{0,64}").prop_map(|line| format!("GET {line} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes()),
    ];
    runner
        .run(&garbage, |bytes| {
            let mut stream = TcpStream::connect(address).expect("connect");
            stream.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
            let _ = stream.write_all(&bytes);
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let mut response = Vec::new();
            let _ = stream.read_to_end(&mut response);
            let text = String::from_utf8_lossy(&response);
            let status: u16 = text.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
            prop_assert!(status < 500, "{bytes:?} earned {text}");
            let health =
                reqwest::blocking::get(format!("http://{address}/v1/health")).expect("still serving");
            prop_assert_eq!(health.status().as_u16(), 200);
            Ok(())
        })
        .expect("garbage never breaks the service");
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec(
                (
                    prop_oneof![
                        Just("result".to_string()),
                        Just("valid".to_string()),
                        Just("error".to_string()),
                        "[a-z]{1,8}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_answer_line_parses_or_is_refused(line in prop_oneof![".{0,200}", "[\\x00-\\xff]{0,64}"]) {
        if let Ok(answer) = parse_answer(&line) {
            let _ = work_result(&answer);
            let _ = audit_verdict(&answer);
        }
    }

    #[test]
    fn json_answers_mean_what_they_say(answer in json_value()) {
        let parsed = parse_answer(&answer.to_string());
        match answer.get("error").and_then(Value::as_str) {
            Some(error) => prop_assert!(parsed.expect_err("an error answer").contains(error)),
            None => prop_assert_eq!(parsed.expect("a JSON answer"), answer.clone()),
        }
        prop_assert_eq!(audit_verdict(&answer), answer.get("valid") == Some(&Value::Bool(true)));
    }

    #[test]
    fn work_results_come_back_byte_for_byte(result in vec(any::<u8>(), 0..4096)) {
        let encoded = base64::prelude::BASE64_STANDARD.encode(&result);
        let answer = parse_answer(&json!({ "result": encoded }).to_string()).expect("answer");
        prop_assert_eq!(work_result(&answer).expect("result"), result);
        let broken = parse_answer(&json!({ "result": format!("{encoded}!") }).to_string()).expect("answer");
        prop_assert!(work_result(&broken).is_err());
    }
}
