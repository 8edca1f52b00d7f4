//! What a message is handed to: the SMS and email sender ports, and what they answer. Every
//! sender sorts its failures the same way: temporary (worth retrying, or failing over to the
//! secondary provider), permanent (the message can never go through this way: failed at once,
//! with the provider's reason) or unknown (the request went out and no answer came).

pub mod custom;
pub mod email;
pub mod sms;

use serde::Serialize;
use serde_json::Value;

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
    /// The request went out and no answer came in time: the provider may have taken the
    /// message. Sending it again (or through another provider) could send it twice, so the
    /// outcome is settled first (a receipt, or the provider's own record of the message).
    Unknown,
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

    pub fn unknown(reason: impl Into<String>, response: Value) -> Self {
        Self {
            kind: FailureKind::Unknown,
            reason: reason.into(),
            code: None,
            response,
        }
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

/// What a provider's own records say about a message it may have taken (after an
/// [`FailureKind::Unknown`] outcome).
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    /// It took the message, under this id.
    Taken(Accepted),
    /// It has no such message: sending it is safe.
    NotTaken,
    /// The provider offers no way to tell, or did not answer.
    CannotTell,
}
