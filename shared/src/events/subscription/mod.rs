//! Event subscriptions: which events of an account go to which destination (a webhook, a cloud
//! queue or topic; see [`crate::events::destination`]). The port is [`SubscriptionStore`], with
//! a DynamoDB and an in-memory adapter.

pub mod cache;
pub mod memory;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::clock::rfc3339_serde;
pub use crate::common::store::StoreError;
use crate::events::destination::Destination;
pub use crate::events::destination::webhook::{
    MAX_SIGNING_SECRETS, ROTATION_OVERLAP, StoredSecret, TooManySecrets,
};
pub use crate::events::ids::{InvalidSubscriptionId, SubscriptionId};
use crate::events::webhook::{EventName, EventSelection, Tag, TagFilter};

/// An account may hold at most this many subscriptions: every event of the account is matched
/// against all of them, and the API lists them in one page.
pub const MAX_PER_ACCOUNT: usize = 100;

/// What an administrator calls a subscription: 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SubscriptionName(String);

impl SubscriptionName {
    pub const MAX_LEN: usize = 100;

    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let len = s.chars().count();
        if len == 0 || len > Self::MAX_LEN {
            return Err(format!("must be 1 to {} characters", Self::MAX_LEN));
        }
        if s.chars().any(char::is_control) {
            return Err("must not contain control characters or line breaks".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SubscriptionName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<SubscriptionName> for String {
    fn from(v: SubscriptionName) -> String {
        v.0
    }
}

/// An event subscription: which events of the account go where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: SubscriptionId,
    pub account_id: AccountId,
    pub name: SubscriptionName,
    /// Where its events go: `type` and the kind's own fields, beside the others.
    #[serde(flatten)]
    pub destination: Destination,
    pub tag_filter: TagFilter,
    pub events: EventSelection,
    pub active: bool,
    /// Why Herald deactivated it (the destination is gone), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    #[serde(with = "rfc3339_serde")]
    pub created_at: OffsetDateTime,
    #[serde(with = "rfc3339_serde")]
    pub updated_at: OffsetDateTime,
    /// Bumped by the store on every write, which expects the version read.
    pub version: u64,
}

impl Subscription {
    /// Whether an event with this name and these tags goes to this subscription.
    pub fn wants(&self, name: &EventName, tags: &[Tag]) -> bool {
        self.active && self.events.matches(name) && self.tag_filter.matches(tags)
    }

    /// A webhook's signing secrets, newest first; none for other kinds.
    pub fn secrets(&self) -> &[StoredSecret] {
        self.destination
            .webhook()
            .map_or(&[], |w| w.secrets.as_slice())
    }
}

#[async_trait]
pub trait SubscriptionStore: Send + Sync {
    /// Stores a new subscription; `PreconditionFailed` when its id exists.
    async fn create(&self, subscription: &Subscription) -> Result<(), StoreError>;
    async fn get(
        &self,
        account: &AccountId,
        id: &SubscriptionId,
    ) -> Result<Option<Subscription>, StoreError>;
    /// Every subscription of the account, oldest first (at most [`MAX_PER_ACCOUNT`]), as of
    /// the read: every write that returned before it is seen (a strongly consistent read).
    async fn list(&self, account: &AccountId) -> Result<Vec<Subscription>, StoreError>;
    /// Writes `subscription` as its next version if the stored one is still at the version read
    /// (`subscription.version`); then `subscription.version` is the version written. Otherwise
    /// `PreconditionFailed`, and nothing changes.
    async fn replace(&self, subscription: &mut Subscription) -> Result<(), StoreError>;
    /// `false` when there was nothing to delete.
    async fn delete(&self, account: &AccountId, id: &SubscriptionId) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::events::destination::WebhookDestination;

    fn subscription() -> Subscription {
        let now = datetime!(2030-01-01 00:00:00 UTC);
        Subscription {
            id: SubscriptionId::new(now),
            account_id: AccountId::parse("acme").expect("valid"),
            name: SubscriptionName::parse("Orders").expect("valid"),
            destination: Destination::Webhook(WebhookDestination {
                url: "https://hooks.acme.example/herald".into(),
                secrets: vec![],
            }),
            tag_filter: TagFilter::parse(vec!["prod".into(), "team-*".into()]).expect("valid"),
            events: serde_json::from_value(json!(["sms.sent", "sms.failed"])).expect("valid"),
            active: true,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    fn tags(t: &[&str]) -> Vec<Tag> {
        t.iter().map(|t| Tag::parse(t).expect("valid")).collect()
    }

    #[test]
    fn wants_selected_events_with_every_tag_and_only_while_active() {
        let mut s = subscription();
        let sent = EventName::parse("sms.sent").expect("valid");
        let opened = EventName::parse("email.opened").expect("valid");
        assert!(s.wants(&sent, &tags(&["prod", "team-signing", "x"])));
        assert!(!s.wants(&sent, &tags(&["prod"])));
        assert!(!s.wants(&opened, &tags(&["prod", "team-a"])));
        s.active = false;
        assert!(!s.wants(&sent, &tags(&["prod", "team-signing"])));
    }

    #[test]
    fn the_destination_is_stored_beside_the_other_fields() {
        let s = subscription();
        let stored = serde_json::to_value(&s).expect("serializes");
        assert_eq!(stored["type"], "webhook");
        assert_eq!(stored["url"], "https://hooks.acme.example/herald");
        let back: Subscription = serde_json::from_value(stored).expect("reads back");
        assert_eq!(back, s);
    }

    #[test]
    fn names_and_ids() {
        assert!(SubscriptionName::parse("  ").is_err());
        assert!(SubscriptionName::parse(&"n".repeat(101)).is_err());
        assert!(SubscriptionName::parse("a\nb").is_err());
        assert_eq!(
            SubscriptionName::parse(" Orders ").expect("valid").as_str(),
            "Orders"
        );
        assert!(SubscriptionId::parse("nope").is_err());
        let id = SubscriptionId::new(datetime!(2030-01-01 00:00:00 UTC));
        assert_eq!(SubscriptionId::parse(id.as_str()), Ok(id));
    }
}
