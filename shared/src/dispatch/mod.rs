//! Sending what the send queue holds, and recording every attempt in the delivery log.
//!
//! At least once without double sends: a dispatcher first *claims* the queued message (a
//! conditional write), sends, then records the outcome (another conditional write). A
//! redelivered queue record finds the message claimed or no longer queued and sends nothing.
//! The one window left is a crash after the provider took the message and before the outcome
//! is written: the claim then lapses and the message is sent again.

pub mod setup;
pub mod sms;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::clock::rfc3339;

/// How long a claim holds: longer than a provider call may take, shorter than the queue's
/// visibility timeout, so a crashed dispatcher's message is retried on redelivery.
pub const CLAIM: time::Duration = time::Duration::seconds(45);

/// What became of a queue record; the Lambda reports `Retry` as a batch item failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Failed,
    /// The primary failed temporarily; the secondary provider's turn is queued.
    FailedOver,
    /// Not done: the queue should deliver the record again later.
    Retry,
    /// Nothing to do: unknown, expired, already sent or failed, or claimed by another.
    Skipped,
}

/// Which provider of the account's pair an attempt used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Leg {
    Primary,
    Secondary,
}

/// One try at handing the message to a provider, as the log shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leg: Option<Leg>,
    pub at: String,
    pub duration_ms: u64,
    /// `accepted`, `temporaryFailure` or `permanentFailure`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub response: Value,
}

impl Attempt {
    pub fn started(provider: &str, leg: Option<Leg>, at: OffsetDateTime) -> Self {
        Self {
            provider: provider.to_owned(),
            leg,
            at: rfc3339(at),
            duration_ms: 0,
            outcome: "accepted",
            provider_message_id: None,
            reason: None,
            code: None,
            response: Value::Null,
        }
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
}
