//! What a message's log record keeps of each provider attempt and each delivery receipt, and
//! the bound on each: an entry takes at most [`MAX_ENTRY_BYTES`] of the record, however large
//! the provider's answer was.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::common::clock::rfc3339;
use crate::common::destination::excerpt::excerpt;
use crate::messaging::message::Receipt;

/// Which provider of the account's pair an attempt used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Leg {
    Primary,
    Secondary,
}

/// What became of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttemptOutcome {
    Accepted,
    TemporaryFailure,
    PermanentFailure,
    /// The request went out and no answer came in time: the provider may have the message.
    Unknown,
}

/// One try at handing the message to a provider, as the log shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// `sns`, `twilio`, `vonage`, `ses` or `smtp` (`none` when the account's provider is not
    /// configured).
    pub provider: String,
    /// Absent for email, which has one route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leg: Option<Leg>,
    pub at: String,
    pub duration_ms: u64,
    pub outcome: AttemptOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What the provider answered, as it came (null when nothing came).
    #[serde(default)]
    pub response: Value,
}

impl Attempt {
    pub fn started(provider: &str, leg: Option<Leg>, at: OffsetDateTime) -> Self {
        Self {
            provider: provider.to_owned(),
            leg,
            at: rfc3339(at),
            duration_ms: 0,
            outcome: AttemptOutcome::Accepted,
            provider_message_id: None,
            reason: None,
            code: None,
            response: Value::Null,
        }
    }

    /// Whether `provider` took the message in this attempt.
    pub fn accepted_by(&self, provider: &str) -> bool {
        self.outcome == AttemptOutcome::Accepted && self.provider == provider
    }
}

/// One delivery receipt, as the log keeps it: what it said, and what the provider sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedReceipt {
    /// `ses`, `twilio`, `vonage` or `sns`.
    pub source: String,
    pub received_at: String,
    pub receipt: Receipt,
    /// When the provider says it happened, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// `false` when the receipt changed nothing (a note, a duplicate, one out of order);
    /// shown only then.
    #[serde(default = "applied", skip_serializing_if = "is_applied")]
    pub applied: bool,
    /// What the provider sent, as it came.
    #[serde(default)]
    pub raw: Value,
}

fn applied() -> bool {
    true
}

fn is_applied(applied: &bool) -> bool {
    *applied
}

/// The most one attempt or receipt may take in the record, serialized. A DynamoDB item holds
/// at most 400 KB: 75 entries of 2 KiB leave ample room for the message itself, so recording
/// an outcome can never fail on size, however large a reply was.
pub const MAX_ENTRY_BYTES: usize = 2048;

/// An attempt or a receipt: its free text can be cut, and what the provider sent can be cut
/// or replaced by an excerpt.
pub trait LogEntry: Serialize {
    /// Cuts every text that came from outside (reasons, codes, details, provider ids) to a
    /// short excerpt.
    fn cut_text(&mut self);
    /// What the provider answered or sent.
    fn payload(&mut self) -> &mut Value;
}

fn cut(text: &mut String) {
    *text = excerpt(text);
}

impl LogEntry for Attempt {
    fn cut_text(&mut self) {
        for text in [
            &mut self.provider_message_id,
            &mut self.reason,
            &mut self.code,
        ]
        .into_iter()
        .flatten()
        {
            cut(text);
        }
    }

    fn payload(&mut self) -> &mut Value {
        &mut self.response
    }
}

impl LogEntry for LoggedReceipt {
    fn cut_text(&mut self) {
        match &mut self.receipt {
            Receipt::Delivered | Receipt::Opened => {}
            Receipt::Failed { reason, code } => {
                cut(reason);
                if let Some(code) = code {
                    cut(code);
                }
            }
            Receipt::Note { detail, .. } => cut(detail),
        }
    }

    fn payload(&mut self) -> &mut Value {
        &mut self.raw
    }
}

/// An attempt or receipt within [`MAX_ENTRY_BYTES`]: its free text and every string in what
/// the provider sent cut to a short excerpt first; if that is not enough, what the provider
/// sent replaced by an excerpt of itself, and as a last resort dropped. Status, outcome,
/// provider and times stay as they were.
pub fn bounded<T: LogEntry>(mut entry: T) -> T {
    fn size<T: Serialize>(v: &T) -> usize {
        serde_json::to_vec(v).map_or(usize::MAX, |b| b.len())
    }
    fn cut_strings(v: &mut Value) {
        match v {
            Value::String(s) => cut(s),
            Value::Array(items) => items.iter_mut().for_each(cut_strings),
            Value::Object(map) => map.values_mut().for_each(cut_strings),
            _ => {}
        }
    }
    if size(&entry) <= MAX_ENTRY_BYTES {
        return entry;
    }
    entry.cut_text();
    cut_strings(entry.payload());
    if size(&entry) <= MAX_ENTRY_BYTES {
        return entry;
    }
    let payload = entry.payload();
    *payload = serde_json::json!({"excerpt": excerpt(&payload.to_string()), "truncated": true});
    if size(&entry) <= MAX_ENTRY_BYTES {
        return entry;
    }
    *entry.payload() = serde_json::json!({"truncated": true});
    entry
}
