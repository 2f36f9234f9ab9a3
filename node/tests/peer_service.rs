//! The peer service over real HTTP: signed answers, and a clear 4xx for
//! every malformed or oversized request.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    sync::Arc,
};

use gradual_interface::Address;
use gradual_node::{service, store::Store};
use solana_keypair::Keypair;
use solana_signer::Signer;

struct Served {
    address: SocketAddr,
    operator: Address,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn serve() -> Served {
    let dir = tempfile::tempdir().expect("temp dir");
    let operator = Keypair::new();
    let node = Address::new_unique();
    let store =
        Arc::new(Store::open(&dir.path().join("node.redb"), &Address::new_unique(), &node).expect("store"));
    store.put_result(3, b"Hello, World!").expect("put");
    store.publish(3).expect("publish");
    // Round 4's result is kept but not published: its commitments are still being taken.
    store.put_result(4, b"not yet").expect("put");
    store.put_list(3, &vec![([7; 32], 42)]).expect("put list");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let operator_address = operator.pubkey();
    let router = service::router(store, operator, node);
    let address =
        runtime.block_on(service::spawn("127.0.0.1:0".parse().expect("address"), router)).expect("serve");
    Served { address, operator: operator_address, _runtime: runtime, _dir: dir }
}

/// Sends raw bytes and returns the status code and the whole response.
fn raw(address: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.write_all(request).expect("write");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    (status, text)
}

fn get(address: SocketAddr, path: &str) -> (u16, String) {
    raw(address, format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes())
}

#[test]
fn results_and_lists_are_signed_by_the_operator() {
    let served = serve();
    let withheld = reqwest::blocking::get(format!("http://{}/v1/results/4", served.address)).expect("get");
    assert_eq!(withheld.status(), 404, "a result is withheld until its round's commitments are in");
    let response = reqwest::blocking::get(format!("http://{}/v1/results/3", served.address)).expect("get");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let body = response.bytes().expect("body");
    assert_eq!(&body[..], b"Hello, World!");
    service::verify(&headers, &served.operator, "/v1/results/3", &body).expect("valid signature");
    // The signature covers the body and the path: neither can be swapped.
    assert!(service::verify(&headers, &served.operator, "/v1/results/3", b"Hello, World?").is_err());
    assert!(service::verify(&headers, &served.operator, "/v1/results/4", &body).is_err());
    assert!(service::verify(&headers, &Address::new_unique(), "/v1/results/3", &body).is_err());

    let response = reqwest::blocking::get(format!("http://{}/v1/lists/3", served.address)).expect("get");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let body = response.bytes().expect("body");
    service::verify(&headers, &served.operator, "/v1/lists/3", &body).expect("valid signature");
    let list: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(list[0]["amount"], 42);
}

#[test]
fn bad_requests_get_a_clear_4xx() {
    let served = serve();
    let address = served.address;
    let (status, text) = get(address, "/v1/results/three");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("round must be an unsigned 64-bit integer"), "{text}");
    assert_eq!(get(address, "/v1/results/18446744073709551616").0, 400, "a round past u64::MAX");
    assert_eq!(get(address, "/v1/results/4").0, 404);
    assert_eq!(get(address, "/v1/lists/4").0, 404);
    assert_eq!(get(address, "/v1/nothing").0, 404);
    assert_eq!(get(address, &format!("/v1/results/{}", "9".repeat(400))).0, 414);
    let (status, text) = raw(
        address,
        b"POST /v1/results/3 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    assert_eq!(status, 413, "{text}");
    let (status, _) =
        raw(address, b"DELETE /v1/results/3 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 405);
    let huge_header = format!(
        "GET /v1/results/3 HTTP/1.1\r\nHost: localhost\r\nX-Junk: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(1 << 20)
    );
    let (status, _) = raw(address, huge_header.as_bytes());
    assert!((400..500).contains(&status) || status == 0, "oversized headers got {status}");
    let (status, _) = raw(address, b"NOT HTTP AT ALL\r\n\r\n");
    assert!((400..500).contains(&status), "garbage got {status}");
    // The service is still up after all that.
    assert_eq!(get(address, "/v1/results/3").0, 200);
}
