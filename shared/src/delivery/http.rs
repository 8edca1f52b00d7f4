//! POSTing a webhook. The port is [`WebhookClient`]; [`ReqwestWebhookClient`] sends with
//! reqwest (rustls, no redirects, a 15 s limit on the whole exchange) through a resolver that
//! drops every address the URL policy refuses, so a public name that resolves to a private or
//! metadata address (DNS rebinding) is never connected to: the name is resolved once, checked,
//! and the connection made to the checked address.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::MAX_RESPONSE_BODY;
use crate::webhook::outcome::ATTEMPT_TIMEOUT;
use crate::webhook::{RetryAfter, UrlPolicy, check_addr};

/// What the receiver answered.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    /// The first [`MAX_RESPONSE_BODY`] bytes, as text.
    pub body: String,
    pub truncated: bool,
    pub retry_after: Option<RetryAfter>,
}

/// Why there was no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("timed out after {0:?}")]
    TimedOut(std::time::Duration),
    #[error("{0}")]
    Network(String),
    /// Every address of the host is refused by the URL policy.
    #[error("{0}")]
    Blocked(String),
}

#[async_trait]
pub trait WebhookClient: Send + Sync {
    async fn post(
        &self,
        url: &url::Url,
        headers: &[(String, String)],
        body: &str,
    ) -> Result<WebhookResponse, SendError>;
}

/// Resolves a host name to addresses (the system resolver by default; tests substitute one).
pub type Lookup = dyn Fn(String) -> BoxFuture<'static, std::io::Result<Vec<IpAddr>>> + Send + Sync;

/// The system resolver, through tokio.
pub fn system_lookup() -> Arc<Lookup> {
    Arc::new(|host: String| {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    })
}

/// Every address of a name refused by the policy.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to addresses webhooks may not reach ({detail})")]
struct BlockedAddress {
    host: String,
    detail: String,
}

struct PolicyResolver {
    policy: UrlPolicy,
    lookup: Arc<Lookup>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let policy = self.policy.clone();
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let found = lookup(host.clone()).await?;
            // The operator vouched for an allow-listed name and what it resolves to.
            let trusted = policy.allows_host(&host);
            let mut refused = Vec::new();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|ip| match check_addr(*ip, &policy) {
                    _ if trusted => true,
                    Ok(()) => true,
                    Err(e) => {
                        refused.push(e.to_string());
                        false
                    }
                })
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if allowed.is_empty() {
                let detail = if refused.is_empty() {
                    "no address".to_owned()
                } else {
                    refused.join("; ")
                };
                return Err(Box::new(BlockedAddress { host, detail }) as _);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

pub struct ReqwestWebhookClient {
    client: reqwest::Client,
}

impl ReqwestWebhookClient {
    pub fn new(policy: UrlPolicy, lookup: Arc<Lookup>) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .connect_timeout(std::time::Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the name itself, past the policy's resolver.
            .no_proxy()
            .user_agent(concat!("Herald-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(PolicyResolver { policy, lookup }))
            .build()?;
        Ok(Self { client })
    }
}

fn send_error(e: &reqwest::Error) -> SendError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(blocked) = s.downcast_ref::<BlockedAddress>() {
            return SendError::Blocked(blocked.to_string());
        }
        source = s.source();
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
        let mut response = request.send().await.map_err(|e| send_error(&e))?;
        let status = response.status().as_u16();
        let headers: BTreeMap<String, String> = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| RetryAfter::parse(v));
        // Read no more of the body than is kept: a receiver cannot make Herald buffer a
        // gigabyte.
        let mut bytes = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response.chunk().await.map_err(|e| send_error(&e))? {
            let room = MAX_RESPONSE_BODY - bytes.len();
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
}
