//! The port a delivery attempt POSTs through: what the receiver answered, or why there was no
//! answer. `adapters::webhook_http` implements it with reqwest.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::events::webhook::RetryAfter;

/// What the receiver answered.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    /// The first [`MAX_RESPONSE_BODY`](crate::events::delivery::MAX_RESPONSE_BODY) bytes, as text.
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
