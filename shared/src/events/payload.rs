//! The `eventData` of every event Herald emits: one type per family of events, each beside the
//! capability that emits it (`messaging::events`, `domains::events`, and here the events'
//! own). The emitters build them, and the catalog's samples are made of them, so that a sample
//! can only hold the fields the real events hold.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::events::subscription::{Subscription, SubscriptionId, SubscriptionName};

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
    /// Why Herald disables a webhook subscription: its endpoint answered 410 Gone.
    pub const GONE: &'static str = crate::events::destination::webhook::GONE;

    /// `subscription` was disabled because its destination is gone; `url` says where that
    /// was (a webhook's URL, a topic's or queue's address).
    pub fn new(subscription: &Subscription, reason: &str) -> Self {
        Self {
            subscription_id: subscription.id.clone(),
            name: subscription.name.clone(),
            url: subscription.destination.describe(),
            reason: reason.to_owned(),
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
            destination: crate::events::destination::Destination::Webhook(
                crate::events::destination::WebhookDestination {
                    url: "https://hooks.acme.com/herald".into(),
                    secrets: vec![],
                },
            ),
            tag_filter: Default::default(),
            events: EventSelection::All,
            active: false,
            disabled_reason: Some(SubscriptionDisabled::GONE.into()),
            created_at: time::macros::datetime!(2030-01-01 00:00:00 UTC),
            updated_at: time::macros::datetime!(2030-01-01 00:00:00 UTC),
            version: 2,
        };
        let event = SubscriptionDisabled::new(&subscription, SubscriptionDisabled::GONE);
        assert_eq!(event.event_name(), "subscription.disabled");
        assert_eq!(
            Value::Object(event.event_data().expect("an object")),
            json!({"subscriptionId": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D5", "name": "Orders",
                   "url": "https://hooks.acme.com/herald",
                   "reason": "the endpoint answered 410 Gone"})
        );
    }
}
