//! `notification.sent` and `notification.suppressed`: what a rule did for a recipient on a
//! channel, as subscribers receive it.

use serde::Serialize;

use crate::events::ids::EventId;
use crate::events::name::EventName;
use crate::events::payload::EventPayload;
use crate::messaging::log::MessageId;
use crate::messaging::message::Channel;
use crate::notify::log::{NotificationId, NotificationRecord, Outcome};
use crate::notify::recipients::RecipientId;
use crate::notify::rules::RuleId;
use crate::notify::types::TypeKey;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationEvent {
    pub notification_id: NotificationId,
    pub rule_id: RuleId,
    #[serde(rename = "type")]
    pub type_key: TypeKey,
    pub event_id: EventId,
    pub event_name: EventName,
    pub recipient_id: Option<RecipientId>,
    pub channel: Channel,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl EventPayload for NotificationEvent {
    fn event_name(&self) -> String {
        match self.outcome {
            Outcome::Sent => "notification.sent",
            _ => "notification.suppressed",
        }
        .to_owned()
    }
}

impl NotificationEvent {
    pub fn of(r: &NotificationRecord) -> Self {
        Self {
            notification_id: r.id.clone(),
            rule_id: r.rule_id.clone(),
            type_key: r.type_key.clone(),
            event_id: r.event_id.clone(),
            event_name: r.event_name.clone(),
            recipient_id: r.recipient_id.clone(),
            channel: r.channel,
            outcome: r.outcome,
            message_id: r.message_id.clone(),
            detail: r.detail.clone(),
        }
    }

    /// The catalog's sample: sent, or suppressed as a repeat.
    pub fn sample(sent: bool) -> Self {
        let at = time::macros::datetime!(2026-11-02 09:30 UTC);
        let event_id = EventId::parse("01JBXK6D4Y7M0V6P3Q2R1S0T9W").expect("a ULID");
        let rule_id = RuleId::parse("nr_01jbxk6d4y7m0v6p3q2r1s0t9w").expect("a valid id");
        let notification_id =
            NotificationId::of(at, &event_id, &rule_id, "signer-17", Channel::Email);
        Self {
            notification_id,
            rule_id,
            type_key: TypeKey::parse("request-signed").expect("a valid key"),
            event_id,
            event_name: EventName::parse("request.signed").expect("a valid name"),
            recipient_id: RecipientId::parse("signer-17").ok(),
            channel: Channel::Email,
            outcome: if sent {
                Outcome::Sent
            } else {
                Outcome::SuppressedRepeat
            },
            message_id: sent
                .then(|| MessageId::parse("01JD6ZK5Q2V7X8Y9Z0A1B2C3D4").expect("a ULID")),
            detail: (!sent)
                .then(|| "the first occurrence of req-42:signed was notified already".to_owned()),
        }
    }
}
