//! HTTP to SMS providers and OAuth token endpoints: the client the provider adapters share, how
//! an answer is read, and what a transport failure means.

use std::time::Duration;

use serde_json::Value;

use crate::messaging::senders::Failure;

/// A transport failure. A timeout once connected is an unknown outcome: the request may
/// have been read and acted on. Anything else (no connection, a connect timeout, a broken
/// body) is temporary.
pub fn transport_failure(e: &reqwest::Error) -> Failure {
    if e.is_timeout() && !e.is_connect() {
        return Failure::unknown(
            format!("no answer in time; the provider may have taken it: {e}"),
            Value::Null,
        );
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    Failure::temporary(format!("{what}: {e}"), None, Value::Null)
}

/// How long a provider call may take before it counts as a temporary failure.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client provider adapters share: rustls, bounded time, no redirects.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(PROVIDER_TIMEOUT)
        .connect_timeout(Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Reads a provider's answer as JSON, keeping the raw text when it is not JSON.
pub async fn response_json(resp: reqwest::Response) -> Result<(u16, Value), Failure> {
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| transport_failure(&e))?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, body))
}
