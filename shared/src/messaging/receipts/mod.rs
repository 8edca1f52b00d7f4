//! What happens to a message after a provider took it: delivery receipts (SES event
//! notifications, SMS providers' callbacks) move its log record forward, and each change
//! becomes an event accounts can subscribe to.
//!
//! Status only moves forward: `queued → sent → delivered → opened`, and `failed` (from any of
//! them) is final. A receipt that arrives late, out of order or twice is recorded in the log
//! record's `receipts` but changes nothing it should not.

pub mod ses;
pub mod sns;
pub mod twilio;
pub mod vonage;

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::clock::{Clock, rfc3339, to_millis};
use crate::common::store::StoreError;
use crate::events::publish::EventPublisher;
use crate::messaging::log::{MessageId, MessageLog, MessageRecord};
use crate::messaging::message::{Channel, MessageStatus};

/// What a provider reports about a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    Delivered,
    Opened,
    Failed {
        reason: String,
        code: Option<String>,
    },
    /// Worth recording, but no change of status: a transient bounce, a delivery delay.
    Note {
        kind: String,
        detail: String,
    },
}

/// A receipt for one message, as a source (SES, Twilio, ...) reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub account_id: AccountId,
    pub channel: Channel,
    pub message_id: MessageId,
    pub receipt: Receipt,
    /// `ses`, `twilio`, `vonage`, `sns`.
    pub source: &'static str,
    /// The id the provider gave the message, as the receipt names it: a receipt applies only
    /// to the message that provider took under that id.
    pub provider_message_id: String,
    /// Whether the receipt itself proves it is about this message (Herald's ids in a signed
    /// callback URL or reference, SES's tags). Such a receipt settles a send whose answer
    /// never came: the provider took the message under the receipt's id.
    pub names_message: bool,
    /// When the provider says it happened.
    pub at: Option<OffsetDateTime>,
    /// What the provider sent, for the log.
    pub raw: Value,
}

fn rank(status: MessageStatus) -> u8 {
    match status {
        MessageStatus::Queued => 0,
        MessageStatus::Sent => 1,
        MessageStatus::Delivered => 2,
        MessageStatus::Opened => 3,
        MessageStatus::Failed => 4,
    }
}

/// The status a receipt moves a message in `current` to, if it moves it at all.
pub fn next_status(current: MessageStatus, receipt: &Receipt) -> Option<MessageStatus> {
    let target = match receipt {
        Receipt::Delivered => MessageStatus::Delivered,
        Receipt::Opened => MessageStatus::Opened,
        Receipt::Failed { .. } => MessageStatus::Failed,
        Receipt::Note { .. } => return None,
    };
    (current != MessageStatus::Failed && rank(target) > rank(current)).then_some(target)
}

/// What [`StatusTracker::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Applied {
    Changed(MessageStatus),
    /// Recorded, status unchanged (a note, a duplicate, a receipt out of order).
    Recorded,
    /// No such message (never sent by Herald, or past retention): logged and dropped, so
    /// that the provider stops retrying.
    Unknown,
    /// The receipt names a provider message id the message never had (a receipt replayed to
    /// another message's URL): refused, nothing recorded.
    Mismatch,
    /// The message is still being sent and its provider id not yet recorded: try again later.
    NotYet,
}

pub struct StatusTracker {
    pub log: Arc<dyn MessageLog>,
    pub events: EventPublisher,
    pub clock: Arc<dyn Clock>,
}

/// The event published when a message reaches a status (`sms.delivered`, `email.opened`, ...).
pub fn event_data(record: &MessageRecord, extra: Map<String, Value>) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("messageId".into(), json!(record.id.as_str()));
    data.insert("channel".into(), json!(record.channel().as_str()));
    data.insert("status".into(), json!(record.status.as_str()));
    data.insert("to".into(), json!(record.message.recipient()));
    if let Some(provider) = &record.sent_via {
        data.insert("provider".into(), json!(provider));
    }
    data.insert(
        "tags".into(),
        json!(record.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>()),
    );
    data.extend(extra);
    data
}

/// Publishes `{channel}.{status}` for the record's current status; a lost event is logged, not
/// fatal: the log record already holds the change.
pub async fn publish_status(
    events: &EventPublisher,
    record: &MessageRecord,
    extra: Map<String, Value>,
    now: OffsetDateTime,
) {
    let name = format!("{}.{}", record.channel().as_str(), record.status.as_str());
    let tags = record.tags.iter().map(|t| t.as_str().to_owned()).collect();
    if let Err(e) = events
        .herald_event(
            &record.account_id,
            &name,
            event_data(record, extra),
            tags,
            now,
        )
        .await
    {
        tracing::error!(message = %record.id, event = %name, error = %e, "status event not published");
    }
}

impl StatusTracker {
    /// Applies one receipt: records it, moves the status forward if it should, publishes the
    /// change. Retried on a concurrent write (a dispatcher or another receipt).
    pub async fn apply(&self, update: &StatusUpdate) -> Result<Applied, StoreError> {
        for _ in 0..5 {
            let now = self.clock.now();
            let Some(mut record) = self
                .log
                .get(&update.account_id, update.channel, &update.message_id, now)
                .await?
            else {
                tracing::warn!(account = %update.account_id, message = %update.message_id, source = update.source, "receipt for an unknown message; dropped");
                return Ok(Applied::Unknown);
            };
            let known = record
                .provider_message_ids(update.source)
                .contains(&update.provider_message_id.as_str());
            let unsettled = crate::messaging::dispatch::unsettled_by(&record, update.source);
            if !known && update.names_message && record.status == MessageStatus::Queued && unsettled
            {
                record.settle_by_receipt(update.source, &update.provider_message_id, now);
                tracing::info!(account = %record.account_id, message = %record.id, source = update.source, "unknown outcome settled by a receipt: the provider had taken it");
            } else if !known {
                if record.status == MessageStatus::Queued {
                    return Ok(Applied::NotYet);
                }
                tracing::warn!(account = %update.account_id, message = %update.message_id, source = update.source, provider_message = %update.provider_message_id, "receipt names another provider message; refused");
                return Ok(Applied::Mismatch);
            }
            let next = next_status(record.status, &update.receipt);
            let mut receipt = json!({
                "source": update.source,
                "receivedAt": rfc3339(now),
                "receipt": describe(&update.receipt),
                "raw": update.raw,
            });
            if let Some(at) = update.at {
                receipt["at"] = json!(rfc3339(at));
            }
            if next.is_none() {
                receipt["applied"] = json!(false);
            }
            record.push_receipt(receipt);
            let reason = match &update.receipt {
                Receipt::Failed { reason, .. } => Some(reason.clone()),
                _ => None,
            };
            if let Some(status) = next {
                record.set_status(status, update.at.unwrap_or(now), reason);
            } else {
                record.updated_at = to_millis(now);
            }
            match self.log.replace(&mut record).await {
                Ok(()) => {}
                Err(StoreError::PreconditionFailed) => continue,
                Err(e) => return Err(e),
            }
            let Some(status) = next else {
                return Ok(Applied::Recorded);
            };
            tracing::info!(account = %record.account_id, message = %record.id, status = status.as_str(), source = update.source, "status changed");
            let mut extra = Map::new();
            if let Receipt::Failed { reason, code } = &update.receipt {
                extra.insert("reason".into(), json!(reason));
                if let Some(code) = code {
                    extra.insert("code".into(), json!(code));
                }
            }
            publish_status(&self.events, &record, extra, now).await;
            return Ok(Applied::Changed(status));
        }
        Err(StoreError::PreconditionFailed)
    }
}

fn describe(receipt: &Receipt) -> Value {
    match receipt {
        Receipt::Delivered => json!({"type": "delivered"}),
        Receipt::Opened => json!({"type": "opened"}),
        Receipt::Failed { reason, code } => {
            json!({"type": "failed", "reason": reason, "code": code})
        }
        Receipt::Note { kind, detail } => json!({"type": kind, "detail": detail}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_only_moves_forward() {
        use MessageStatus::*;
        let failed = Receipt::Failed {
            reason: "bounce".into(),
            code: None,
        };
        assert_eq!(next_status(Sent, &Receipt::Delivered), Some(Delivered));
        assert_eq!(next_status(Sent, &Receipt::Opened), Some(Opened));
        assert_eq!(next_status(Opened, &Receipt::Delivered), None);
        assert_eq!(next_status(Delivered, &Receipt::Delivered), None);
        assert_eq!(next_status(Delivered, &failed), Some(Failed));
        assert_eq!(next_status(Failed, &Receipt::Delivered), None);
        assert_eq!(next_status(Failed, &failed), None);
        let note = Receipt::Note {
            kind: "delay".into(),
            detail: "mailbox full".into(),
        };
        assert_eq!(next_status(Sent, &note), None);
    }
}
