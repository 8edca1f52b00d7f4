//! The `eventData` of every event Herald emits: one type per family of events. The emitters
//! build them, and the catalog's samples are made of them, so that a sample can only hold the
//! fields the real events hold.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::domains::store::DomainRecord;
use crate::domains::verify::{CheckedRecord, DomainEvent, DomainStatus};
use crate::events::subscription::{Subscription, SubscriptionId, SubscriptionName};
use crate::messaging::log::{MessageId, MessageRecord};
use crate::messaging::message::{Channel, MessageStatus, Tag};

/// An event Herald emits itself, as its `eventData`.
pub trait EventPayload: Serialize {
    /// The event's name, as subscriptions select it.
    fn event_name(&self) -> String;

    /// The payload as an event's `eventData`: a JSON object.
    fn event_data(&self) -> Result<Map<String, Value>, serde_json::Error> {
        match serde_json::to_value(self)? {
            Value::Object(data) => Ok(data),
            _ => Err(serde::ser::Error::custom("eventData must be a JSON object")),
        }
    }
}

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

/// `domain.verified` and `domain.failed`: a sending domain's status changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainStatusEvent {
    #[serde(skip)]
    pub event: DomainEvent,
    pub domain: String,
    pub status: DomainStatus,
    /// Every record of the domain, as the check found it. Herald's own events always carry
    /// them; the catalog's samples leave them out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<CheckedRecord>,
}

impl DomainStatusEvent {
    /// `event` for the domain as it was just checked.
    pub fn of(event: DomainEvent, domain: &DomainRecord) -> Self {
        Self {
            event,
            domain: domain.domain.as_str().to_owned(),
            status: domain.status,
            records: domain.records.clone(),
        }
    }

    /// The catalog's sample of `event`.
    pub fn sample(event: DomainEvent) -> Self {
        Self {
            event,
            domain: "mail.acme.example".to_owned(),
            status: match event {
                DomainEvent::Verified => DomainStatus::Verified,
                DomainEvent::Failed => DomainStatus::Failed,
            },
            records: Vec::new(),
        }
    }
}

impl EventPayload for DomainStatusEvent {
    fn event_name(&self) -> String {
        self.event.name().to_owned()
    }
}

/// `subscription.disabled`: Herald disabled a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionDisabled {
    pub subscription_id: SubscriptionId,
    pub name: SubscriptionName,
    pub url: String,
    pub reason: String,
}

impl SubscriptionDisabled {
    /// Why Herald disables a subscription: its endpoint answered 410 Gone.
    pub const GONE: &'static str = "the endpoint answered 410 Gone";

    /// `subscription` was disabled because its endpoint is gone.
    pub fn gone(subscription: &Subscription) -> Self {
        Self {
            subscription_id: subscription.id.clone(),
            name: subscription.name.clone(),
            url: subscription.url.clone(),
            reason: Self::GONE.to_owned(),
        }
    }

    /// The catalog's sample.
    pub fn sample() -> Self {
        Self {
            subscription_id: SubscriptionId::parse("01JD6ZK5Q2V7X8Y9Z0A1B2C3D5")
                .expect("a subscription id"),
            name: SubscriptionName::parse("Orders").expect("a name"),
            url: "https://hooks.acme.example/herald".to_owned(),
            reason: Self::GONE.to_owned(),
        }
    }
}

impl EventPayload for SubscriptionDisabled {
    fn event_name(&self) -> String {
        "subscription.disabled".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::common::account::AccountId;
    use crate::events::name::EventSelection;

    #[test]
    fn a_disabled_subscription_is_named_with_its_endpoint_and_why() {
        let subscription = Subscription {
            id: SubscriptionId::parse("01JD6ZK5Q2V7X8Y9Z0A1B2C3D5").expect("valid"),
            account_id: AccountId::parse("acme").expect("valid"),
            name: SubscriptionName::parse("Orders").expect("valid"),
            url: "https://hooks.acme.com/herald".into(),
            secrets: vec![],
            tag_filter: Default::default(),
            events: EventSelection::All,
            active: false,
            disabled_reason: Some(SubscriptionDisabled::GONE.into()),
            created_at: time::macros::datetime!(2030-01-01 00:00:00 UTC),
            updated_at: time::macros::datetime!(2030-01-01 00:00:00 UTC),
            version: 2,
        };
        let event = SubscriptionDisabled::gone(&subscription);
        assert_eq!(event.event_name(), "subscription.disabled");
        assert_eq!(
            Value::Object(event.event_data().expect("an object")),
            json!({"subscriptionId": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D5", "name": "Orders",
                   "url": "https://hooks.acme.com/herald",
                   "reason": "the endpoint answered 410 Gone"})
        );
    }

    #[test]
    fn names_follow_the_payload() {
        use DomainEvent::{Failed, Verified};
        let sample = MessageEvent::sample(Channel::Email, MessageStatus::Opened);
        assert_eq!(sample.event_name(), "email.opened");
        assert_eq!(
            DomainStatusEvent::sample(Verified).event_name(),
            "domain.verified"
        );
        assert_eq!(
            DomainStatusEvent::sample(Failed).event_name(),
            "domain.failed"
        );
    }
}
