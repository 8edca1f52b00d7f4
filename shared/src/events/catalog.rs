//! Every event Herald emits, each with what it means and a sample `eventData`: what
//! `GET /event-types` shows, and what a test event (`POST /subscriptions/{id}/test`) carries.

use serde::Serialize;
use serde_json::{Value, json};

/// One kind of event.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventType {
    pub name: &'static str,
    pub description: &'static str,
    pub sample_data: Value,
}

fn message_data(channel: &str, status: &str, extra: Value) -> Value {
    let mut data = json!({
        "messageId": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D4",
        "channel": channel,
        "status": status,
        "to": if channel == "sms" { "+4712345678" } else { "signer@example.com" },
        "provider": if channel == "sms" { "twilio" } else { "ses" },
        "tags": ["order-42"],
    });
    if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), extra) {
        data.extend(extra);
    }
    data
}

/// The catalog, in a stable order.
pub fn catalog() -> Vec<EventType> {
    vec![
        EventType {
            name: "sms.sent",
            description: "An SMS was accepted by a provider.",
            sample_data: message_data("sms", "sent", json!({})),
        },
        EventType {
            name: "sms.delivered",
            description: "The provider reported the SMS delivered to the handset.",
            sample_data: message_data("sms", "delivered", json!({})),
        },
        EventType {
            name: "sms.failed",
            description: "The SMS could not be sent or delivered.",
            sample_data: message_data(
                "sms",
                "failed",
                json!({"reason": "Twilio error 21211: Invalid 'To' Phone Number", "code": "21211"}),
            ),
        },
        EventType {
            name: "email.sent",
            description: "An email was accepted by SES or the account's SMTP server.",
            sample_data: message_data("email", "sent", json!({"subject": "Please sign"})),
        },
        EventType {
            name: "email.delivered",
            description: "The recipient's mail server accepted the email.",
            sample_data: message_data("email", "delivered", json!({"subject": "Please sign"})),
        },
        EventType {
            name: "email.opened",
            description: "The recipient opened the email.",
            sample_data: message_data("email", "opened", json!({"subject": "Please sign"})),
        },
        EventType {
            name: "email.failed",
            description: "The email bounced permanently, was rejected, or drew a complaint.",
            sample_data: message_data(
                "email",
                "failed",
                json!({"subject": "Please sign", "reason": "Permanent bounce: General"}),
            ),
        },
        EventType {
            name: "domain.verified",
            description: "Every required DNS record of a sending domain was found.",
            sample_data: json!({"domain": "mail.acme.example", "status": "verified"}),
        },
        EventType {
            name: "domain.failed",
            description: "A sending domain's DNS records were not found within 72 hours.",
            sample_data: json!({"domain": "mail.acme.example", "status": "failed"}),
        },
        EventType {
            name: "subscription.disabled",
            description: "Herald disabled a subscription because its endpoint answered 410 Gone.",
            sample_data: json!({
                "subscriptionId": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D5",
                "name": "Orders",
                "url": "https://hooks.acme.example/herald",
                "reason": "the endpoint answered 410 Gone",
            }),
        },
    ]
}

/// The event type named `name`.
pub fn find(name: &str) -> Option<EventType> {
    catalog().into_iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::webhook::EventName;

    #[test]
    fn every_name_is_valid_and_unique() {
        let types = catalog();
        for t in &types {
            assert!(EventName::parse(t.name).is_ok(), "{}", t.name);
            assert!(t.sample_data.is_object(), "{}", t.name);
        }
        let mut names: Vec<_> = types.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), types.len());
        assert!(find("email.opened").is_some());
        assert!(find("nope.nope").is_none());
    }
}
