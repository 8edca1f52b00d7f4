//! Event subscriptions: which events of an account go to which webhook, signed with which
//! secrets. The port is [`SubscriptionStore`], with a DynamoDB and an in-memory adapter.
//!
//! A subscription's URL is stored as text and parsed against the operator's current
//! [`AddressPolicy`](crate::events::webhook::AddressPolicy) each time it is used, so a tightened policy applies
//! to subscriptions saved before it.

pub mod cache;
pub mod memory;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::clock::{rfc3339, rfc3339_serde, to_millis};
use crate::common::secret::SealedSecret;
pub use crate::common::store::StoreError;
use crate::events::webhook::{EventName, EventSelection, Tag, TagFilter};

/// An account may hold at most this many subscriptions: every event of the account is matched
/// against all of them, and the API lists them in one page.
pub const MAX_PER_ACCOUNT: usize = 100;

/// How long a rotated-out secret keeps signing beside its successor, so that receivers can
/// switch without dropping a request.
pub const ROTATION_OVERLAP: time::Duration = time::Duration::hours(24);

/// At most this many secrets sign at once: the current one and those it replaced within
/// [`ROTATION_OVERLAP`]. Each adds a signature to every request (`webhook-signature`), and a
/// receiver tries each; the reference sets no number. Past it, a rotation is refused until
/// the oldest retires, rather than cutting a replaced secret's day short.
pub const MAX_SIGNING_SECRETS: usize = 5;

/// A rotation refused: [`MAX_SIGNING_SECRETS`] already sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{MAX_SIGNING_SECRETS} secrets already sign this subscription's requests; the oldest \
     stops at {}, and a rotation is possible from then", rfc3339(*.oldest_retires_at)
)]
pub struct TooManySecrets {
    pub oldest_retires_at: OffsetDateTime,
}

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

/// One signing secret, sealed. `retires_at` is set when a newer secret replaced it: until then
/// it keeps signing beside the newer one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSecret {
    pub sealed: SealedSecret,
    #[serde(with = "rfc3339_serde")]
    pub created_at: OffsetDateTime,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_serde::option"
    )]
    pub retires_at: Option<OffsetDateTime>,
}

impl StoredSecret {
    fn signs_at(&self, now: OffsetDateTime) -> bool {
        self.retires_at.is_none_or(|t| t > now)
    }
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: SubscriptionId,
    pub account_id: AccountId,
    pub name: SubscriptionName,
    /// Checked against the URL policy when saved and again before every delivery.
    pub url: String,
    /// Newest first. Empty: requests are not signed.
    #[serde(default)]
    pub secrets: Vec<StoredSecret>,
    pub tag_filter: TagFilter,
    pub events: EventSelection,
    pub active: bool,
    /// Why Herald deactivated it (the endpoint answered 410 Gone), if it did.
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

    /// The secrets that sign a request made at `now`, newest first.
    pub fn signing_secrets(&self, now: OffsetDateTime) -> impl Iterator<Item = &StoredSecret> {
        self.secrets.iter().filter(move |s| s.signs_at(now))
    }

    /// Makes `sealed` the newest secret. The current one keeps signing for
    /// [`ROTATION_OVERLAP`], and so does every one it replaced for its own
    /// [`ROTATION_OVERLAP`]; secrets already retired are dropped. Returns when the previous
    /// secret stops signing, if there was one. Refused, changing nothing, while
    /// [`MAX_SIGNING_SECRETS`] still sign.
    pub fn rotate(
        &mut self,
        sealed: SealedSecret,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, TooManySecrets> {
        let signing = self.signing_secrets(now).count();
        if signing >= MAX_SIGNING_SECRETS {
            // All but the newest of them were replaced, so at least one retires.
            let oldest_retires_at = self
                .signing_secrets(now)
                .filter_map(|s| s.retires_at)
                .min()
                .unwrap_or(now);
            return Err(TooManySecrets { oldest_retires_at });
        }
        self.secrets.retain(|s| s.signs_at(now));
        let mut previous_retires = None;
        if let Some(current) = self.secrets.first_mut() {
            let retires_at = to_millis(now + ROTATION_OVERLAP);
            current.retires_at = Some(retires_at);
            previous_retires = Some(retires_at);
        }
        self.secrets.insert(
            0,
            StoredSecret {
                sealed,
                created_at: to_millis(now),
                retires_at: None,
            },
        );
        Ok(previous_retires)
    }

    /// When each replaced secret that still signs stops, the latest first.
    pub fn replaced_secrets_retire_at(&self, now: OffsetDateTime) -> Vec<OffsetDateTime> {
        self.signing_secrets(now)
            .filter_map(|s| s.retires_at)
            .collect()
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

    fn sealed(b: u8) -> SealedSecret {
        SealedSecret::from_bytes(vec![b; 4])
    }

    fn subscription() -> Subscription {
        let now = datetime!(2030-01-01 00:00:00 UTC);
        Subscription {
            id: SubscriptionId::new(now),
            account_id: AccountId::parse("acme").expect("valid"),
            name: SubscriptionName::parse("Orders").expect("valid"),
            url: "https://hooks.acme.example/herald".into(),
            secrets: vec![],
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

    fn at(s: &Subscription, t: OffsetDateTime) -> Vec<SealedSecret> {
        s.signing_secrets(t).map(|x| x.sealed.clone()).collect()
    }

    #[test]
    fn rotation_keeps_the_previous_secret_for_a_day() {
        let mut s = subscription();
        let t0 = datetime!(2030-01-01 00:00:00 UTC);
        assert_eq!(s.rotate(sealed(1), t0), Ok(None));
        let t1 = t0 + time::Duration::hours(1);
        assert_eq!(
            s.rotate(sealed(2), t1),
            Ok(Some(datetime!(2030-01-02 01:00:00 UTC)))
        );
        assert_eq!(at(&s, t1), vec![sealed(2), sealed(1)]);
        assert_eq!(at(&s, t1 + time::Duration::hours(25)), vec![sealed(2)]);
    }

    #[test]
    fn every_replaced_secret_keeps_its_own_day() {
        let mut s = subscription();
        let t0 = datetime!(2030-01-01 00:00:00 UTC);
        let hours = |h| t0 + time::Duration::hours(h);
        assert_eq!(s.rotate(sealed(1), t0), Ok(None));
        s.rotate(sealed(2), hours(1)).expect("rotated");
        // A second rotation within the overlap: secret 1 still has its day.
        s.rotate(sealed(3), hours(2)).expect("rotated");
        assert_eq!(at(&s, hours(2)), vec![sealed(3), sealed(2), sealed(1)]);
        assert_eq!(
            s.replaced_secrets_retire_at(hours(2)),
            [
                datetime!(2030-01-02 02:00:00 UTC),
                datetime!(2030-01-02 01:00:00 UTC)
            ]
        );
        // Each retires 24 hours after it was replaced, not before.
        assert_eq!(at(&s, hours(24)), vec![sealed(3), sealed(2), sealed(1)]);
        assert_eq!(at(&s, hours(25)), vec![sealed(3), sealed(2)]);
        assert_eq!(at(&s, hours(26)), vec![sealed(3)]);
        // Retired secrets are dropped at the next rotation.
        s.rotate(sealed(4), hours(27)).expect("rotated");
        assert_eq!(s.secrets.len(), 2);
    }

    #[test]
    fn at_most_five_secrets_sign_and_a_sixth_waits_for_the_oldest_to_retire() {
        let mut s = subscription();
        let t0 = datetime!(2030-01-01 00:00:00 UTC);
        let minutes = |m| t0 + time::Duration::minutes(m);
        for i in 0..5u8 {
            s.rotate(sealed(i), minutes(i64::from(i))).expect("rotated");
        }
        let before = s.clone();
        let refused = s.rotate(sealed(9), minutes(10));
        assert_eq!(
            refused,
            Err(TooManySecrets {
                oldest_retires_at: datetime!(2030-01-02 00:01:00 UTC)
            })
        );
        assert!(
            refused
                .expect_err("refused")
                .to_string()
                .contains("the oldest stops at 2030-01-02T00:01:00Z,"),
            "the message names the time as the API writes times"
        );
        assert_eq!(s, before, "a refused rotation changes nothing");
        // Once the oldest replaced secret retires, a rotation goes through.
        s.rotate(sealed(9), minutes(24 * 60 + 1)).expect("rotated");
        assert_eq!(at(&s, minutes(24 * 60 + 1)).len(), 5);
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
