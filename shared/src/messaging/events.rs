//! The events a message emits as its status changes, as their `eventData`.

use serde::Serialize;
use time::OffsetDateTime;

use crate::events::payload::EventPayload;
use crate::events::publish::EventPublisher;
use crate::messaging::log::{MessageId, MessageRecord};
use crate::messaging::message::{Channel, MessageStatus, Tag};

/// `{channel}.{status}`: a message reached a status (`sms.sent`, `sms.delivered`,
/// `sms.failed`, `email.sent`, `email.delivered`, `email.opened`, `email.failed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageEvent {
    pub message_id: MessageId,
    pub channel: Channel,
    pub status: MessageStatus,
    /// The recipient(s), as one line.
    pub to: String,
    /// The provider that took the message, once one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub tags: Vec<Tag>,
    /// The email's subject. Herald's own email events leave it out; the catalog's samples
    /// show it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Why the message failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The provider's code for the failure, when its receipt gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl MessageEvent {
    /// The message at its current status; `reason` and `code` say why it failed.
    pub fn of(record: &MessageRecord, reason: Option<String>, code: Option<String>) -> Self {
        Self {
            message_id: record.id.clone(),
            channel: record.channel(),
            status: record.status,
            to: record.message.recipient(),
            provider: record.sent_via.clone(),
            tags: record.tags.clone(),
            subject: None,
            reason,
            code,
        }
    }

    /// The catalog's sample of `{channel}.{status}`.
    pub fn sample(channel: Channel, status: MessageStatus) -> Self {
        let (to, provider, subject) = match channel {
            Channel::Sms => ("+4712345678", "twilio", None),
            Channel::Email => ("signer@example.com", "ses", Some("Please sign".to_owned())),
        };
        let (reason, code) = match (channel, status) {
            (Channel::Sms, MessageStatus::Failed) => (
                Some("Twilio error 21211: Invalid 'To' Phone Number".to_owned()),
                Some("21211".to_owned()),
            ),
            (Channel::Email, MessageStatus::Failed) => {
                (Some("Permanent bounce: General".to_owned()), None)
            }
            _ => (None, None),
        };
        Self {
            message_id: MessageId::parse("01JD6ZK5Q2V7X8Y9Z0A1B2C3D4").expect("a ULID"),
            channel,
            status,
            to: to.to_owned(),
            provider: Some(provider.to_owned()),
            tags: vec![Tag::parse("order-42").expect("a tag")],
            subject,
            reason,
            code,
        }
    }
}

impl EventPayload for MessageEvent {
    fn event_name(&self) -> String {
        format!("{}.{}", self.channel.as_str(), self.status.as_str())
    }
}

/// Publishes `{channel}.{status}` for the record's current status (`reason` and `code` say why
/// it failed); a lost event is logged, not fatal: the log record already holds the change.
pub async fn publish_status(
    events: &EventPublisher,
    record: &MessageRecord,
    reason: Option<String>,
    code: Option<String>,
    now: OffsetDateTime,
) {
    let event = MessageEvent::of(record, reason, code);
    let tags = record.tags.iter().map(|t| t.as_str().to_owned()).collect();
    if let Err(e) = events
        .herald_event(&record.account_id, &event, tags, now)
        .await
    {
        tracing::error!(message = %record.id, event = %event.event_name(), error = %e, "status event not published");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_payload() {
        let sample = MessageEvent::sample(Channel::Email, MessageStatus::Opened);
        assert_eq!(sample.event_name(), "email.opened");
    }
}
