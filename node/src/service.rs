//! The peer service: a node's results and proposed lists over HTTP, each
//! response signed with the operator's key so auditors know who vouched for
//! it. Requests carry no body; malformed or oversized ones get a 4xx.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::{OriginalUri, Path, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use gradual_interface::Address;
use serde_json::json;
use solana_keypair::Keypair;
use solana_signature::Signature;
use solana_signer::Signer;

use crate::store::Store;

pub const SIGNER_HEADER: &str = "x-gradual-signer";
pub const SIGNATURE_HEADER: &str = "x-gradual-signature";
/// Longest request path served; anything longer is refused with 414.
const MAX_PATH_LEN: usize = 256;

/// What a response's signature covers: the request path and the body, so a
/// body cannot be replayed as the answer to another round.
pub fn signed_message(path: &str, body: &[u8]) -> Vec<u8> {
    let mut message = b"gradual-peer-v1\n".to_vec();
    message.extend_from_slice(path.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(body);
    message
}

/// Checks a response's signature against the operator expected to serve it.
pub fn verify(headers: &HeaderMap, operator: &Address, path: &str, body: &[u8]) -> Result<(), String> {
    let signer = headers.get(SIGNER_HEADER).and_then(|value| value.to_str().ok()).unwrap_or_default();
    if signer != operator.to_string() {
        return Err(format!("signed by {signer:?}, expected {operator}"));
    }
    let signature: Signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse().ok())
        .ok_or("missing or malformed signature")?;
    if signature.verify(operator.as_ref(), &signed_message(path, body)) {
        Ok(())
    } else {
        Err("bad signature".into())
    }
}

struct Service {
    store: Arc<Store>,
    operator: Keypair,
    node: Address,
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

impl Service {
    fn signed(&self, path: &str, body: Vec<u8>, content_type: &'static str) -> Response {
        let signature = self.operator.sign_message(&signed_message(path, &body));
        let mut response = Response::new(Body::from(body));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        for (name, value) in [
            (SIGNER_HEADER, self.operator.pubkey().to_string()),
            (SIGNATURE_HEADER, signature.to_string()),
            ("x-gradual-node", self.node.to_string()),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        response
    }
}

fn round_of(text: &str) -> Option<u64> {
    text.parse().ok()
}

fn bad_round() -> Response {
    error(StatusCode::BAD_REQUEST, "round must be an unsigned 64-bit integer")
}

// The signature covers the path as requested, with the `/tasks/<task>`
// prefix of a node serving several tasks.
async fn result(
    State(service): State<Arc<Service>>,
    OriginalUri(uri): OriginalUri,
    Path(round): Path<String>,
) -> Response {
    let Some(round) = round_of(&round) else { return bad_round() };
    // Withheld until the round's commitments are in, so there is nothing to copy in time.
    match service.store.published_result(round) {
        Ok(Some(body)) => service.signed(uri.path(), body, "application/octet-stream"),
        Ok(None) => error(StatusCode::NOT_FOUND, "no result published for that round"),
        Err(message) => error(StatusCode::INTERNAL_SERVER_ERROR, &message),
    }
}

async fn list(
    State(service): State<Arc<Service>>,
    OriginalUri(uri): OriginalUri,
    Path(round): Path<String>,
) -> Response {
    let Some(round) = round_of(&round) else { return bad_round() };
    match service.store.list(round) {
        Ok(Some(body)) => service.signed(uri.path(), body, "application/json"),
        Ok(None) => error(StatusCode::NOT_FOUND, "no list proposed for that round"),
        Err(message) => error(StatusCode::INTERNAL_SERVER_ERROR, &message),
    }
}

/// Requests never need a body or a long path: refuse both before routing.
async fn limits(request: Request, next: Next) -> Response {
    if request.uri().path().len() > MAX_PATH_LEN {
        return error(StatusCode::URI_TOO_LONG, "path too long");
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok())
        .unwrap_or(0);
    if declared > 0 || request.headers().contains_key(header::TRANSFER_ENCODING) {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "requests carry no body");
    }
    next.run(request).await
}

/// One task a node serves: its store and its node account.
pub struct Served {
    pub task: Address,
    pub store: Arc<Store>,
    pub node: Address,
}

fn task_routes(store: Arc<Store>, operator: &Keypair, node: Address) -> Router {
    let operator = Keypair::new_from_array(*operator.secret_bytes());
    let service = Arc::new(Service { store, operator, node });
    Router::new()
        .route("/v1/results/{round}", get(result))
        .route("/v1/lists/{round}", get(list))
        .with_state(service)
}

/// The peer service of a node running one task: under `/v1`.
pub fn router(store: Arc<Store>, operator: Keypair, node: Address) -> Router {
    finish(task_routes(store, &operator, node))
}

/// The peer service of a node running several tasks: each under
/// `/tasks/<task>/v1`, the service URL its node account names. With one task
/// it is also under `/v1`, as [`router`] serves it.
pub fn router_for(served: Vec<Served>, operator: &Keypair) -> Router {
    let mut router = Router::new();
    if let [only] = served.as_slice() {
        router = router.merge(task_routes(Arc::clone(&only.store), operator, only.node));
    }
    for task in served {
        router = router.nest(&format!("/tasks/{}", task.task), task_routes(task.store, operator, task.node));
    }
    finish(router)
}

fn finish(router: Router) -> Router {
    router
        .route("/v1/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint") })
        .layer(middleware::from_fn(limits))
}

/// Binds `listen` and serves `router` (the peer service, or `node run`'s
/// `/metrics` and `/status`) until the runtime shuts down; returns the bound address.
pub async fn spawn(listen: SocketAddr, router: Router) -> Result<SocketAddr, String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|error| format!("cannot listen on {listen}: {error}"))?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, %address, "HTTP listener stopped");
        }
    });
    Ok(address)
}
