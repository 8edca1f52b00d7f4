//! Every event Herald emits, each with what it means and a sample `eventData`: what
//! `GET /event-types` shows, and what a test event (`POST /subscriptions/{id}/test`) carries.
//! Each sample is a value of the [`crate::events::payload`] type the event's emitter builds,
//! and names its event itself.

use serde::Serialize;
use serde_json::Value;

use crate::domains::events::DomainStatusEvent;
use crate::domains::verify::DomainEvent;
use crate::events::payload::{EventPayload, SubscriptionDisabled};
use crate::messaging::events::MessageEvent;
use crate::messaging::message::{Channel, MessageStatus};

/// One kind of event.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventType {
    pub name: String,
    pub description: &'static str,
    pub sample_data: Value,
}

impl EventType {
    /// The type `sample` is an event of: its name and `eventData` both come from the sample.
    fn of(sample: &impl EventPayload, description: &'static str) -> Self {
        Self {
            name: sample.event_name(),
            description,
            sample_data: Value::Object(sample.event_data().unwrap_or_default()),
        }
    }
}

/// The catalog, in a stable order.
pub fn catalog() -> Vec<EventType> {
    use Channel::{Email, Sms};
    use MessageStatus::{Delivered, Failed, Opened, Sent};
    vec![
        EventType::of(
            &MessageEvent::sample(Sms, Sent),
            "An SMS was accepted by a provider.",
        ),
        EventType::of(
            &MessageEvent::sample(Sms, Delivered),
            "The provider reported the SMS delivered to the handset.",
        ),
        EventType::of(
            &MessageEvent::sample(Sms, Failed),
            "The SMS could not be sent or delivered.",
        ),
        EventType::of(
            &MessageEvent::sample(Email, Sent),
            "An email was accepted by SES or the account's SMTP server.",
        ),
        EventType::of(
            &MessageEvent::sample(Email, Delivered),
            "The recipient's mail server accepted the email.",
        ),
        EventType::of(
            &MessageEvent::sample(Email, Opened),
            "The recipient opened the email.",
        ),
        EventType::of(
            &MessageEvent::sample(Email, Failed),
            "The email bounced permanently, was rejected, or drew a complaint.",
        ),
        EventType::of(
            &DomainStatusEvent::sample(DomainEvent::Verified),
            "Every required DNS record of a sending domain was found.",
        ),
        EventType::of(
            &DomainStatusEvent::sample(DomainEvent::Failed),
            "A sending domain's DNS records were not found within 72 hours.",
        ),
        EventType::of(
            &SubscriptionDisabled::sample(),
            "Herald disabled a subscription because its endpoint answered 410 Gone.",
        ),
    ]
}

/// The event type named `name`.
pub fn find(name: &str) -> Option<EventType> {
    catalog().into_iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::events::webhook::EventName;

    #[test]
    fn every_name_is_valid_and_unique() {
        let types = catalog();
        for t in &types {
            assert!(EventName::parse(&t.name).is_ok(), "{}", t.name);
            assert!(
                t.sample_data.as_object().is_some_and(|d| !d.is_empty()),
                "{}",
                t.name
            );
        }
        let mut names: Vec<_> = types.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), types.len());
        assert!(find("email.opened").is_some());
        assert!(find("nope.nope").is_none());
    }

    #[test]
    fn samples_are_as_published() {
        let message = |channel: &str, status: &str, extra: Value| {
            let mut data = json!({
                "messageId": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D4", "channel": channel, "status": status,
                "to": if channel == "sms" { "+4712345678" } else { "signer@example.com" },
                "provider": if channel == "sms" { "twilio" } else { "ses" },
                "tags": ["order-42"],
            });
            if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), extra) {
                data.extend(extra);
            }
            data
        };
        let subject = || json!({"subject": "Please sign"});
        let expected = [
            ("sms.sent", message("sms", "sent", json!({}))),
            ("sms.delivered", message("sms", "delivered", json!({}))),
            (
                "sms.failed",
                message(
                    "sms",
                    "failed",
                    json!({"reason": "Twilio error 21211: Invalid 'To' Phone Number", "code": "21211"}),
                ),
            ),
            ("email.sent", message("email", "sent", subject())),
            ("email.delivered", message("email", "delivered", subject())),
            ("email.opened", message("email", "opened", subject())),
            (
                "email.failed",
                message(
                    "email",
                    "failed",
                    json!({"subject": "Please sign", "reason": "Permanent bounce: General"}),
                ),
            ),
            (
                "domain.verified",
                json!({"domain": "mail.acme.example", "status": "verified"}),
            ),
            (
                "domain.failed",
                json!({"domain": "mail.acme.example", "status": "failed"}),
            ),
            (
                "subscription.disabled",
                json!({
                    "subscriptionId": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D5",
                    "name": "Orders",
                    "url": "https://hooks.acme.example/herald",
                    "reason": "the endpoint answered 410 Gone",
                }),
            ),
        ];
        let got: Vec<(String, Value)> = catalog()
            .into_iter()
            .map(|t| (t.name, t.sample_data))
            .collect();
        let expected: Vec<(String, Value)> = expected
            .into_iter()
            .map(|(name, data)| (name.to_owned(), data))
            .collect();
        assert_eq!(got, expected);
    }
}
