//! Every event Herald emits itself, each with what it means and a sample `eventData`. Each
//! sample is a value of the [`crate::events::payload`] type the event's emitter builds, and
//! names its event itself, so that a sample can only hold what the real events hold.

use std::sync::LazyLock;

use crate::domains::events::DomainStatusEvent;
use crate::domains::verify::DomainEvent;
use crate::events::catalog::EventType;
use crate::events::ids::Sender;
use crate::events::name::EventName;
use crate::events::payload::{EventPayload, SubscriptionDisabled};
use crate::messaging::events::MessageEvent;
use crate::messaging::message::{Channel, MessageStatus};
use crate::notify::events::NotificationEvent;
use crate::notify::reminders::ReminderEvent;
use crate::notify::short_links::LinkClicked;

/// The type `sample` is an event of: its name and `eventData` both come from the sample.
fn of(sample: &impl EventPayload, description: &str) -> EventType {
    EventType {
        // Herald's own names: `every_name_is_valid_and_unique` checks each.
        name: EventName::parse(&sample.event_name()).expect("a built-in event's name is valid"),
        sender: Sender::herald(),
        description: description.to_owned(),
        built_in: true,
        sample_data: sample.event_data().unwrap_or_default(),
        schema: None,
    }
}

/// Built once per process: publishing asks whether a name is Herald's own on every request.
static BUILT_IN: LazyLock<Vec<EventType>> = LazyLock::new(|| {
    use Channel::{Email, Sms};
    use MessageStatus::{Delivered, Failed, Opened, Sent};
    vec![
        of(
            &MessageEvent::sample(Sms, Sent),
            "An SMS was accepted by a provider.",
        ),
        of(
            &MessageEvent::sample(Sms, Delivered),
            "The provider reported the SMS delivered to the handset.",
        ),
        of(
            &MessageEvent::sample(Sms, Failed),
            "The SMS could not be sent or delivered.",
        ),
        of(
            &MessageEvent::sample(Email, Sent),
            "An email was accepted by SES or the account's SMTP server.",
        ),
        of(
            &MessageEvent::sample(Email, Delivered),
            "The recipient's mail server accepted the email.",
        ),
        of(
            &MessageEvent::sample(Email, Opened),
            "The recipient opened the email.",
        ),
        of(
            &MessageEvent::sample(Email, Failed),
            "The email bounced permanently, was rejected, or drew a complaint.",
        ),
        of(
            &DomainStatusEvent::sample(DomainEvent::Verified),
            "Every required DNS record of a sending domain was found.",
        ),
        of(
            &DomainStatusEvent::sample(DomainEvent::Failed),
            "A sending domain's DNS records were not found within 72 hours.",
        ),
        of(
            &LinkClicked::sample(),
            "A recipient clicked a short link of a message for the first time (the message log counts every click).",
        ),
        of(
            &NotificationEvent::sample(true),
            "A notification rule sent a message to a recipient: the message id names it in the message log.",
        ),
        of(
            &NotificationEvent::sample(false),
            "A notification rule did not send to a recipient on a channel: turned off by the recipient, a repeat of a first-occurrence rule, no contact point, or a template error (outcome and detail say which).",
        ),
        of(
            &ReminderEvent::sample(),
            "A rule's reminder fell due and went to the recipients who have not acted yet (named by id); none comes once every recipient has acted or the matter closed.",
        ),
        of(
            &SubscriptionDisabled::sample(),
            "Herald disabled a subscription because its destination is gone: the endpoint answered 410 Gone, or the topic, queue or bus no longer exists.",
        ),
    ]
});

/// Herald's own event types, in a stable order.
pub fn builtin() -> &'static [EventType] {
    &BUILT_IN
}

/// Herald's own event type named `name`.
pub fn find(name: &EventName) -> Option<&'static EventType> {
    builtin().iter().find(|t| &t.name == name)
}

/// Whether `name` is one of Herald's own event types, which no service may register.
pub fn is_builtin(name: &EventName) -> bool {
    find(name).is_some()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use serde_json::Value;

    use super::*;

    fn name(s: &str) -> EventName {
        EventName::parse(s).expect("valid")
    }

    #[test]
    fn every_name_is_valid_and_unique() {
        let types = builtin();
        for t in types {
            assert!(!t.sample_data.is_empty(), "{}", t.name);
            assert!(t.built_in && t.schema.is_none(), "{}", t.name);
            assert_eq!(t.sender.as_str(), "herald");
        }
        let mut names: Vec<_> = types.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), types.len());
        assert!(is_builtin(&name("email.opened")));
        assert!(!is_builtin(&name("nope.nope")));
        assert!(!is_builtin(&name("order.completed")));
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
                "message.link_clicked",
                json!({
                    "messageId": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D4",
                    "channel": "sms",
                    "to": "+4712345678",
                    "url": "https://sign.example/r/42",
                    "clickedAt": "2026-11-02T09:41:07Z",
                    "tags": [],
                }),
            ),
            (
                "notification.sent",
                json!({
                    "notificationId": "n1793611800000997cfa50c8e57c6767a9",
                    "ruleId": "nr_01jbxk6d4y7m0v6p3q2r1s0t9w",
                    "type": "request-signed",
                    "eventId": "01JBXK6D4Y7M0V6P3Q2R1S0T9W",
                    "eventName": "request.signed",
                    "recipientId": "signer-17",
                    "channel": "email",
                    "outcome": "sent",
                    "messageId": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D4",
                }),
            ),
            (
                "notification.suppressed",
                json!({
                    "notificationId": "n1793611800000997cfa50c8e57c6767a9",
                    "ruleId": "nr_01jbxk6d4y7m0v6p3q2r1s0t9w",
                    "type": "request-signed",
                    "eventId": "01JBXK6D4Y7M0V6P3Q2R1S0T9W",
                    "eventName": "request.signed",
                    "recipientId": "signer-17",
                    "channel": "email",
                    "outcome": "suppressed_repeat",
                    "detail": "the first occurrence of req-42:signed was notified already",
                }),
            ),
            (
                "notification.reminder",
                json!({
                    "ruleId": "nr_01jd6zk5q2v7x8y9z0a1b2c3d4",
                    "subject": "req-42",
                    "number": 1,
                    "of": 3,
                    "after": "P3D",
                    "recipients": ["signer-2"],
                    "unnamedRecipients": 0,
                    "eventId": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D4",
                    "eventName": "request.sent",
                }),
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
        let got: Vec<(String, Value)> = builtin()
            .iter()
            .map(|t| (t.name.to_string(), Value::Object(t.sample_data.clone())))
            .collect();
        let expected: Vec<(String, Value)> = expected
            .into_iter()
            .map(|(name, data)| (name.to_owned(), data))
            .collect();
        assert_eq!(got, expected);
    }
}
