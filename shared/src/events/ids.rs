//! The identifiers an event envelope carries besides the account: the event's own id, the
//! service that sent it and the organisation it concerns; and a subscription's id, which
//! with the event's makes a delivery's.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// An event's id: a ULID, so that ids sort by creation time. With the subscription's id it
/// makes the delivery id, the Standard Webhooks `webhook-id` (see `crate::events::delivery::DeliveryId`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("is not an event id")]
pub struct InvalidEventId;

impl EventId {
    /// A new id for an event created at `at`.
    pub fn new(at: OffsetDateTime) -> Self {
        Self(ulid::Ulid::from_datetime(at.into()).to_string())
    }

    pub fn parse(s: &str) -> Result<Self, InvalidEventId> {
        ulid::Ulid::from_string(s)
            .map(|u| Self(u.to_string()))
            .map_err(|_| InvalidEventId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::events::webhook::string_newtype_conversions!(EventId, InvalidEventId);

/// The service that sent an event (`signature-api`, `herald`): 1 to 64 characters of `A-Za-z0-9`,
/// `-`, `_` and `.`. Service names, not free text: they end up in keys, filters and log lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sender(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a sender is 1 to 64 characters of A-Z, a-z, 0-9, '-', '_' and '.'")]
pub struct InvalidSender;

impl Sender {
    /// The sender of the events Herald itself emits (`sms.sent`, `domain.verified`, ...).
    pub const HERALD: &'static str = "herald";

    pub fn parse(s: &str) -> Result<Self, InvalidSender> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidSender)
        }
    }

    /// Herald, as the sender of its own events.
    pub fn herald() -> Self {
        Self(Self::HERALD.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::events::webhook::string_newtype_conversions!(Sender, InvalidSender);

/// The organisation an event concerns, when there is one: 1 to 64 characters of `A-Za-z0-9`,
/// `-` and `_`, the same rule as [`crate::common::account::AccountId`] (the platform assigns both).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrganizationId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an organization id is 1 to 64 characters of A-Z, a-z, 0-9, '-' and '_'")]
pub struct InvalidOrganizationId;

impl OrganizationId {
    /// The same rule as an account id's: both come from the platform's identity service.
    pub fn parse(s: &str) -> Result<Self, InvalidOrganizationId> {
        crate::common::account::AccountId::parse(s)
            .map(|_| Self(s.to_owned()))
            .map_err(|_| InvalidOrganizationId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::events::webhook::string_newtype_conversions!(OrganizationId, InvalidOrganizationId);

/// A subscription's id: a ULID, so that an account's subscriptions list in creation order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SubscriptionId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a subscription id")]
pub struct InvalidSubscriptionId;

impl SubscriptionId {
    pub fn new(at: OffsetDateTime) -> Self {
        Self(ulid::Ulid::from_datetime(at.into()).to_string())
    }

    pub fn parse(s: &str) -> Result<Self, InvalidSubscriptionId> {
        ulid::Ulid::from_string(s)
            .map(|u| Self(u.to_string()))
            .map_err(|_| InvalidSubscriptionId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SubscriptionId {
    type Error = InvalidSubscriptionId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<SubscriptionId> for String {
    fn from(v: SubscriptionId) -> String {
        v.0
    }
}

impl std::fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn event_ids_are_ulids_in_time_order() {
        let a = EventId::new(datetime!(2024-01-01 00:00 UTC));
        let b = EventId::new(datetime!(2024-01-01 00:00:01 UTC));
        assert!(a < b);
        assert_eq!(a.as_str().len(), 26);
        assert_eq!(EventId::parse(a.as_str()), Ok(a.clone()));
        // Crockford base32 is case-insensitive; the id is kept in its canonical upper case.
        assert_eq!(
            EventId::parse(&a.as_str().to_lowercase()).map(|id| id.to_string()),
            Ok(a.to_string())
        );
        assert_eq!(
            EventId::parse("82fa52a9bc7549438b8c6aee71569fa7"),
            Err(InvalidEventId)
        );
        assert_eq!(EventId::parse(""), Err(InvalidEventId));
        assert!(serde_json::from_value::<EventId>(serde_json::json!("nope")).is_err());
    }

    #[test]
    fn senders() {
        for ok in ["signature-api", "herald", "svc_1.eu", "A"] {
            assert!(Sender::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a/b", "é", &"a".repeat(65)] {
            assert_eq!(Sender::parse(bad), Err(InvalidSender), "{bad:?}");
        }
        assert_eq!(Sender::herald().as_str(), "herald");
        assert!(Sender::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn organization_ids() {
        assert!(OrganizationId::parse("o-spge-IL9J9flqic18sh4TsUAo").is_ok());
        for bad in ["", "o.1", "o 1", &"o".repeat(65)] {
            assert_eq!(
                OrganizationId::parse(bad),
                Err(InvalidOrganizationId),
                "{bad:?}"
            );
        }
    }
}
