//! POSTing a webhook: [`ReqwestWebhookClient`] implements the deliverer's `WebhookClient` with
//! reqwest (rustls, no redirects, a 15 s limit on the whole exchange) through the address
//! policy's resolver ([`crate::adapters::connect`]), so a public name that resolves to a
//! private or metadata address (DNS rebinding) is never connected to.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::adapters::connect;
use crate::common::destination::AddressPolicy;
use crate::events::delivery::MAX_RESPONSE_BODY;
use crate::events::delivery::client::{SendError, WebhookClient, WebhookResponse};
use crate::events::delivery::outcome::ATTEMPT_TIMEOUT;
use crate::events::webhook::RetryAfter;

pub use crate::adapters::connect::{Lookup, system_lookup};

pub struct ReqwestWebhookClient {
    client: reqwest::Client,
}

impl ReqwestWebhookClient {
    pub fn new(policy: AddressPolicy, lookup: Arc<Lookup>) -> Result<Self, reqwest::Error> {
        let client = connect::http_client(
            policy,
            lookup,
            ATTEMPT_TIMEOUT,
            concat!("Herald-Webhooks/", env!("CARGO_PKG_VERSION")),
        )?;
        Ok(Self { client })
    }
}

fn send_error(e: &reqwest::Error) -> SendError {
    if let Some(blocked) = connect::blocked_in(e) {
        return SendError::Blocked(blocked.to_string());
    }
    if e.is_timeout() {
        return SendError::TimedOut(ATTEMPT_TIMEOUT);
    }
    SendError::Network(crate::error_chain(e))
}

#[async_trait]
impl WebhookClient for ReqwestWebhookClient {
    async fn post(
        &self,
        url: &url::Url,
        headers: &[(String, String)],
        body: &str,
    ) -> Result<WebhookResponse, SendError> {
        let mut request = self
            .client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| send_error(&e))?;
        read_answer(response, MAX_RESPONSE_BODY)
            .await
            .map_err(|e| send_error(&e))
    }
}

/// What a delivery log keeps of a response header: enough to debug, bounded so that a
/// delivery's record always fits DynamoDB's item limit.
const MAX_HEADERS_KEPT: usize = 40;
const MAX_HEADER_VALUE: usize = 256;

/// An answer as the delivery log keeps it: its status, at most 40 headers of at most 256 bytes,
/// `Retry-After`, and the first `limit` bytes of its body. No more of the body is read, so a
/// receiver cannot make Herald buffer a gigabyte. Every courier speaking HTTP reads its
/// answers here.
pub async fn read_answer(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<WebhookResponse, reqwest::Error> {
    let status = response.status().as_u16();
    let headers: BTreeMap<String, String> = response
        .headers()
        .iter()
        .take(MAX_HEADERS_KEPT)
        .map(|(k, v)| {
            let mut value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            cut(&mut value, MAX_HEADER_VALUE);
            (k.as_str().to_owned(), value)
        })
        .collect();
    let retry_after = headers
        .get("retry-after")
        .and_then(|v| RetryAfter::parse(v));
    let mut bytes = Vec::new();
    let mut truncated = false;
    while let Some(chunk) = response.chunk().await? {
        let room = limit - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            truncated = true;
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(WebhookResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        truncated,
        retry_after,
    })
}

/// Cuts `s` to at most `max` bytes, on a character boundary; `true` when it did.
pub fn cut(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    true
}
