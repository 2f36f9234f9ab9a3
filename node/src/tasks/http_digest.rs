use base64::Engine as _;

use super::{digest_matches, Judgement, Submitted, Task, WorkContext};
use crate::package::hex;

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
    fn work(&self, context: &WorkContext) -> Result<Vec<u8>, String> {
        let round = context.round;
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

    fn audit(&self, round: u64, submitted: &Submitted, result: &[u8]) -> Judgement {
        if !digest_matches(submitted, result) {
            return Judgement::Invalid("the digest is not sha256(result)".into());
        }
        let Ok(parsed) = serde_json::from_slice::<DigestResult>(result) else {
            return Judgement::Invalid("the result is not an http-digest result".into());
        };
        let urls: Vec<&str> = parsed.sources.iter().map(|source| source.url.as_str()).collect();
        if parsed.round != round || urls != self.urls.iter().map(String::as_str).collect::<Vec<_>>() {
            return Judgement::Invalid("the result is for another round or other sources".into());
        }
        let mut bodies = Vec::with_capacity(parsed.sources.len());
        for source in &parsed.sources {
            let Ok(body) = base64::prelude::BASE64_STANDARD.decode(&source.body) else {
                return Judgement::Invalid(format!("the body of {} is not base64", source.url));
            };
            if source.body_sha256 != hex(&solana_sha256_hasher::hash(&body).to_bytes()) {
                return Judgement::Invalid(format!("the body of {} does not match its hash", source.url));
            }
            bodies.push(body);
        }
        // Refetch the one source the digest points at.
        let index = usize::from(submitted.digest[0]).checked_rem(parsed.sources.len()).unwrap_or(0);
        let source = &parsed.sources[index];
        match self.runtime.block_on(self.fetch(&source.url)) {
            Ok((status, body)) if status == source.status && body != bodies[index] => {
                Judgement::Invalid(format!("{} serves another body now", source.url))
            }
            // A source that is down or answers differently now (rate limits,
            // errors) says nothing about the submitter.
            _ => Judgement::Valid,
        }
    }
}
