//! SMS providers. The port is [`SmsSender`]; adapters speak Amazon SNS (Publish), Twilio (the
//! Messages API) and Vonage (the SMS API). Each sorts its failures into temporary (worth
//! retrying, or failing over to the secondary provider) and permanent (the message can never
//! go through this way: failed at once, with the provider's reason).

pub mod sns;
pub mod twilio;
pub mod vonage;

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use crate::message::{PhoneNumber, SmsText};
use crate::sms::{SenderName, SmsProvider};

/// One SMS to hand to a provider.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingSms<'a> {
    /// Herald's ids of the message, for the provider's delivery receipt to name it.
    pub account_id: &'a str,
    pub message_id: &'a str,
    pub from: &'a SenderName,
    pub to: &'a PhoneNumber,
    pub text: &'a SmsText,
}

/// A provider took the message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub provider_message_id: String,
    /// What the provider answered, for the log.
    pub response: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    /// A timeout, a connection error, throttling, a server error: may succeed later or
    /// through another provider.
    Temporary,
    /// An invalid or opted-out number, a rejected sender: will not succeed.
    Permanent,
}

/// A provider did not take the message.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{kind:?} failure: {reason}")]
pub struct Failure {
    pub kind: FailureKind,
    /// The provider's reason, in its words (with its error code where it gives one).
    pub reason: String,
    /// The provider's error code, if any.
    pub code: Option<String>,
    /// What the provider answered (status and body), when it answered at all.
    pub response: Value,
}

impl Failure {
    pub fn temporary(reason: impl Into<String>, code: Option<String>, response: Value) -> Self {
        Self {
            kind: FailureKind::Temporary,
            reason: reason.into(),
            code,
            response,
        }
    }

    pub fn permanent(reason: impl Into<String>, code: Option<String>, response: Value) -> Self {
        Self {
            kind: FailureKind::Permanent,
            reason: reason.into(),
            code,
            response,
        }
    }

    /// A transport failure (timeout, refused connection, broken body): always temporary.
    pub fn transport(e: &reqwest::Error) -> Self {
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "the request failed"
        };
        Self::temporary(format!("{what}: {e}"), None, Value::Null)
    }

    /// The usual HTTP rule: 408, 429 and 5xx are temporary; any other status is permanent.
    pub fn from_status(status: u16, reason: String, code: Option<String>, response: Value) -> Self {
        if status == 408 || status == 429 || status >= 500 {
            Self::temporary(reason, code, response)
        } else {
            Self::permanent(reason, code, response)
        }
    }
}

#[async_trait]
pub trait SmsSender: Send + Sync {
    fn provider(&self) -> SmsProvider;
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<Accepted, Failure>;
}

/// The adapters of every provider the operator offers, built once per cold start.
pub fn senders(
    offered: &[SmsProvider],
    credentials: &crate::config::ProviderCredentials,
    aws: &std::sync::Arc<crate::aws::Clients>,
    public_api_url: Option<&str>,
) -> Result<std::collections::HashMap<SmsProvider, std::sync::Arc<dyn SmsSender>>, reqwest::Error> {
    use std::sync::Arc;
    let http = aws.provider_http()?;
    let mut out: std::collections::HashMap<SmsProvider, Arc<dyn SmsSender>> =
        std::collections::HashMap::new();
    for provider in offered {
        match provider {
            SmsProvider::Sns => {
                out.insert(
                    SmsProvider::Sns,
                    Arc::new(crate::aws::first_use::OnFirstUse::new(aws.clone(), |aws| {
                        sns::Sns::new(aws.sns())
                    })),
                );
            }
            SmsProvider::Twilio => {
                if let Some(c) = &credentials.twilio {
                    out.insert(
                        SmsProvider::Twilio,
                        Arc::new(
                            twilio::Twilio::new(
                                http.clone(),
                                &c.base_url,
                                &c.account_sid,
                                c.auth_token.clone(),
                            )
                            .with_status_callbacks(public_api_url),
                        ),
                    );
                }
            }
            SmsProvider::Vonage => {
                if let Some(c) = &credentials.vonage {
                    out.insert(
                        SmsProvider::Vonage,
                        Arc::new(
                            vonage::Vonage::new(
                                http.clone(),
                                &c.base_url,
                                &c.api_key,
                                c.api_secret.clone(),
                            )
                            .with_delivery_receipts(public_api_url.filter(|_| c.signed_receipts)),
                        ),
                    );
                }
            }
        }
    }
    Ok(out)
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
    let text = resp.text().await.map_err(|e| Failure::transport(&e))?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, body))
}
