//! Webhook deliveries: one per (event, subscription), with every attempt Herald made. The port
//! is [`DeliveryStore`], with a DynamoDB and an in-memory adapter; [`deliverer`] makes the
//! attempts and [`fanout`] creates the deliveries' first jobs.
//!
//! A delivery's id is derived from the event and the subscription, so an event that reaches
//! fan-out twice yields the same ids, and the deliverer's conditional writes turn the second
//! into nothing.

pub mod client;
pub mod deliverer;
pub mod fanout;
pub mod memory;
pub mod outcome;
pub mod retry;
pub mod retry_after;
pub mod sqs_hop;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::clock::{rfc3339_serde, to_millis};
use crate::common::queue::QueueError;
use crate::common::seal::SealError;
pub use crate::common::store::StoreError;
use crate::events::ids::SubscriptionId;
use crate::events::webhook::{EventId, EventName};

/// `{eventId}-{subscriptionId}`: both ULIDs, so an account's deliveries sort by event time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeliveryId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a delivery id")]
pub struct InvalidDeliveryId;

impl DeliveryId {
    pub fn of(event: &EventId, subscription: &SubscriptionId) -> Self {
        // Sized up front: fan-out makes one per subscription, and `format!` would grow the
        // string several times on the way.
        let (event, subscription) = (event.as_str(), subscription.as_str());
        let mut id = String::with_capacity(event.len() + 1 + subscription.len());
        id.push_str(event);
        id.push('-');
        id.push_str(subscription);
        Self(id)
    }

    pub fn parse(s: &str) -> Result<Self, InvalidDeliveryId> {
        let (event, subscription) = s.split_once('-').ok_or(InvalidDeliveryId)?;
        let event = EventId::parse(event).map_err(|_| InvalidDeliveryId)?;
        let subscription = SubscriptionId::parse(subscription).map_err(|_| InvalidDeliveryId)?;
        Ok(Self::of(&event, &subscription))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DeliveryId {
    type Error = InvalidDeliveryId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DeliveryId> for String {
    fn from(v: DeliveryId) -> String {
        v.0
    }
}

impl std::fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a job could not be handled now: Herald's own trouble, never the destination's. The job
/// comes back from the queue and nothing is recorded.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Seal(#[from] SealError),
    /// A courier was handed a destination of another kind: a wiring mistake, never data.
    #[error("a {0} destination was handed to the wrong courier")]
    Misrouted(&'static str),
    /// The courier of a kind could not be built (its HTTP client): the job comes back.
    #[error("the {0} courier is unavailable: {1}")]
    Unavailable(&'static str, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or for a retry.
    Pending,
    Delivered,
    /// Not delivered and not to be tried again (unless an administrator asks).
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Delivered, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// One attempt, as the deliveries API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    /// 1 for the first attempt.
    pub number: u32,
    #[serde(with = "rfc3339_serde")]
    pub at: OffsetDateTime,
    pub url: String,
    pub request_headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<u16>,
    #[serde(default)]
    pub response_headers: BTreeMap<String, String>,
    /// At most [`MAX_RESPONSE_BODY`] bytes of it.
    #[serde(default)]
    pub response_body: String,
    #[serde(default)]
    pub response_body_truncated: bool,
    pub duration_ms: u64,
    /// `delivered`, `retry`, `failed` or `disabled` (the endpoint answered 410 Gone).
    pub outcome: String,
    /// What went wrong, in words (a timeout, a refused address, a status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_serde::option"
    )]
    pub next_attempt_at: Option<OffsetDateTime>,
}

/// A response body is kept up to this many bytes: enough to read an error, small enough that
/// a delivery retried for five days stays far below DynamoDB's 400 KB item limit.
pub const MAX_RESPONSE_BODY: usize = 2048;

/// A delivery keeps its latest attempts, at most this many (the schedule makes 16 in five
/// days; manual retries add more).
pub const MAX_ATTEMPTS_KEPT: usize = 30;

/// One (event, subscription) delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub account_id: AccountId,
    pub subscription_id: SubscriptionId,
    pub event_id: EventId,
    pub event_name: EventName,
    /// A test event sent from the API: delivered even to an inactive subscription.
    #[serde(default)]
    pub test: bool,
    pub status: DeliveryStatus,
    /// The exact request body every attempt sends (and signs).
    pub body: String,
    #[serde(with = "rfc3339_serde")]
    pub event_expires_at: OffsetDateTime,
    pub attempts: Vec<DeliveryAttempt>,
    /// How many attempts were ever made (older ones beyond [`MAX_ATTEMPTS_KEPT`] are dropped).
    #[serde(default)]
    pub attempt_count: u32,
    /// The number the next attempt will have: one past every attempt made.
    pub next_attempt: u32,
    /// The ticket of the one queue job that may make the next attempt; a job with another
    /// is stale and does nothing. Kept apart from `next_attempt` because a manual retry
    /// supersedes a queued job without an attempt being made: it takes a new ticket, and the
    /// attempt numbers stay consecutive. 0 in records written before tickets, whose jobs
    /// carried the attempt number: then `next_attempt` is the ticket.
    #[serde(default)]
    pub job_ticket: u32,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_serde::option"
    )]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// When the current retry window opened: the first attempt, or the last manual retry.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_serde::option"
    )]
    pub window_start: Option<OffsetDateTime>,
    /// While set and in the future, a deliverer is making an attempt: no other may.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_serde::option"
    )]
    pub claimed_until: Option<OffsetDateTime>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(with = "rfc3339_serde")]
    pub created_at: OffsetDateTime,
    #[serde(with = "rfc3339_serde")]
    pub updated_at: OffsetDateTime,
    /// Removed by DynamoDB's TTL after this; reads filter out what the sweep has not reached.
    #[serde(with = "rfc3339_serde")]
    pub expires_at: OffsetDateTime,
    pub version: u64,
}

impl DeliveryRecord {
    pub fn claimed_at(&self, now: OffsetDateTime) -> bool {
        self.claimed_until.is_some_and(|t| t > now)
    }

    /// Whether the job holding `ticket` may claim it at `now`: pending under that ticket, and
    /// no claim held.
    pub fn claimable(&self, ticket: u32, now: OffsetDateTime) -> bool {
        self.status == DeliveryStatus::Pending && self.ticket() == ticket && !self.claimed_at(now)
    }

    pub fn expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at <= now
    }

    /// Appends an attempt, dropping the oldest beyond [`MAX_ATTEMPTS_KEPT`].
    pub fn push_attempt(&mut self, attempt: DeliveryAttempt) {
        self.attempt_count = self.attempt_count.max(attempt.number);
        self.attempts.push(attempt);
        if self.attempts.len() > MAX_ATTEMPTS_KEPT {
            let excess = self.attempts.len() - MAX_ATTEMPTS_KEPT;
            self.attempts.drain(..excess);
        }
    }

    /// The ticket the next queue job must carry.
    pub fn ticket(&self) -> u32 {
        if self.job_ticket == 0 {
            self.next_attempt
        } else {
            self.job_ticket
        }
    }

    /// Sets up the next attempt at `at` (an administrator's retry, or the schedule): numbered
    /// one past the attempts made, under a new ticket, so that any job queued before is stale.
    pub fn schedule(&mut self, at: OffsetDateTime) {
        self.status = DeliveryStatus::Pending;
        self.next_attempt = self.attempt_count + 1;
        self.job_ticket = self.ticket() + 1;
        self.next_attempt_at = Some(to_millis(at));
        self.reason = None;
    }

    /// An administrator's retry: the next attempt is due now, numbered after the attempts
    /// made, with a fresh retry window; a retry the schedule had queued becomes stale, so
    /// that it neither sends twice nor takes a number. Returns the job to queue once the
    /// record is saved (the store gives it its next version).
    pub fn retry_now(&mut self, now: OffsetDateTime, retention: time::Duration) -> DeliveryJob {
        self.schedule(now);
        self.window_start = Some(to_millis(now));
        // Kept as long as a new delivery would be.
        self.expires_at = to_millis(now + retention);
        self.updated_at = to_millis(now);
        DeliveryJob {
            account_id: self.account_id.clone(),
            subscription_id: self.subscription_id.clone(),
            delivery_id: self.id.clone(),
            attempt: self.ticket(),
            not_before: None,
            first: None,
        }
    }
}

/// What fan-out hands the deliverer for a delivery's first attempt: the event as it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirstAttempt {
    pub event_id: EventId,
    pub event_name: EventName,
    #[serde(with = "rfc3339_serde")]
    pub event_expires_at: OffsetDateTime,
    pub body: String,
    #[serde(default)]
    pub test: bool,
}

/// A job on the deliveries queue: make the next attempt of `delivery_id` if the record's
/// ticket is still `attempt`, not before `not_before` (waits longer than SQS's 15-minute delay
/// travel as several hops).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryJob {
    pub account_id: AccountId,
    pub subscription_id: SubscriptionId,
    pub delivery_id: DeliveryId,
    /// The record's [`DeliveryRecord::ticket`] when the job was queued (named for the attempt
    /// number it carried before tickets, so that jobs already queued still read).
    pub attempt: u32,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_serde::option"
    )]
    pub not_before: Option<OffsetDateTime>,
    /// Present on a delivery's first job only: the record does not exist yet. Shared: the
    /// jobs fan-out makes for one event all carry the same one (body included), so it is
    /// built once rather than copied for each subscription.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "shared_first"
    )]
    pub first: Option<Arc<FirstAttempt>>,
}

/// A job's [`FirstAttempt`] on the wire: the plain object, whoever else shares it.
mod shared_first {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::FirstAttempt;

    pub fn serialize<S: Serializer>(
        first: &Option<Arc<FirstAttempt>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        first.as_deref().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Arc<FirstAttempt>>, D::Error> {
        Ok(Option::<FirstAttempt>::deserialize(d)?.map(Arc::new))
    }
}

/// A page of deliveries: the listing's filters, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub subscription: Option<SubscriptionId>,
    pub status: Option<DeliveryStatus>,
    pub limit: usize,
    /// Continue after this id.
    pub after: Option<DeliveryId>,
}

impl ListQuery {
    pub const DEFAULT_LIMIT: usize = 50;
    pub const MAX_LIMIT: usize = 100;

    /// What a cursor is bound to, so that it is not used with other filters.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}:{}",
            self.subscription
                .as_ref()
                .map_or("all", SubscriptionId::as_str),
            self.status.map_or("all", DeliveryStatus::as_str)
        )
    }
}

/// What [`DeliveryStore::claim`] did.
#[derive(Debug)]
pub enum Claimed {
    /// Claimed: the record as written.
    Ours(Box<DeliveryRecord>),
    /// Not claimed: the record as stored (none when unknown or expired).
    Not(Option<Box<DeliveryRecord>>),
}

/// [`DeliveryStore::claim`] made of a read and a write on the version read: the way of a store
/// without one conditional write for it, and the way of one whose write cannot test an item.
pub async fn claim_by_rewrite<S: DeliveryStore + ?Sized>(
    store: &S,
    account: &AccountId,
    id: &DeliveryId,
    ticket: u32,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Claimed, StoreError> {
    let Some(mut record) = store.get(account, id, now).await? else {
        return Ok(Claimed::Not(None));
    };
    if !record.claimable(ticket, now) {
        return Ok(Claimed::Not(Some(Box::new(record))));
    }
    record.claimed_until = Some(until);
    match store.replace(&mut record).await {
        Ok(()) => Ok(Claimed::Ours(Box::new(record))),
        // Another deliverer wrote in between: it holds the claim now.
        Err(StoreError::PreconditionFailed) => Ok(Claimed::Not(Some(Box::new(record)))),
        Err(e) => Err(e),
    }
}

pub struct Page {
    pub items: Vec<DeliveryRecord>,
    /// The last key read, when there may be more.
    pub last: Option<DeliveryId>,
}

#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Stores a new delivery; `PreconditionFailed` when its id exists.
    async fn create(&self, record: &DeliveryRecord) -> Result<(), StoreError>;
    async fn get(
        &self,
        account: &AccountId,
        id: &DeliveryId,
        now: OffsetDateTime,
    ) -> Result<Option<DeliveryRecord>, StoreError>;
    /// Writes `record` as its next version if the stored one is still at the version read
    /// (`record.version`); then `record.version` is the version written. Otherwise
    /// `PreconditionFailed`, and nothing changes.
    async fn replace(&self, record: &mut DeliveryRecord) -> Result<(), StoreError>;
    /// Claims the delivery until `until` for the job holding `ticket`: only if it is pending
    /// under that ticket and nobody holds a claim at `now`. Otherwise it answers what is
    /// stored, for the caller to tell a stale job from a busy one. A store that can make this
    /// one conditional write overrides it; this one reads, then writes on the version read.
    async fn claim(
        &self,
        account: &AccountId,
        id: &DeliveryId,
        ticket: u32,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Claimed, StoreError> {
        claim_by_rewrite(self, account, id, ticket, now, until).await
    }
    async fn list(
        &self,
        account: &AccountId,
        query: &ListQuery,
        now: OffsetDateTime,
    ) -> Result<Page, StoreError>;
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn record_after_one_failed_attempt() -> DeliveryRecord {
        let now = datetime!(2030-01-01 00:00:00 UTC);
        let event = EventId::new(now);
        let subscription = SubscriptionId::new(now);
        serde_json::from_value(serde_json::json!({
            "id": DeliveryId::of(&event, &subscription),
            "accountId": "acme",
            "subscriptionId": subscription,
            "eventId": event,
            "eventName": "sms.sent",
            "status": "pending",
            "body": "{}",
            "eventExpiresAt": "2030-01-02T00:00:00Z",
            "attempts": [],
            "attemptCount": 1,
            // Written before tickets: the queued retry carries the attempt number, 2.
            "nextAttempt": 2,
            "nextAttemptAt": "2030-01-01T01:00:00Z",
            "createdAt": "2030-01-01T00:00:00Z",
            "updatedAt": "2030-01-01T00:00:00Z",
            "expiresAt": "2030-04-01T00:00:00Z",
            "version": 2
        }))
        .expect("a record")
    }

    #[test]
    fn a_manual_retry_takes_the_next_number_and_a_new_ticket() {
        let mut record = record_after_one_failed_attempt();
        assert_eq!(record.ticket(), 2);
        let now = datetime!(2030-01-01 00:10:00 UTC);
        let job = record.retry_now(now, time::Duration::days(90));
        // Attempt 2 is still to be made: the retry makes it, not a third.
        assert_eq!(record.next_attempt, 2);
        // The queued job (ticket 2) is superseded.
        assert_eq!((job.attempt, record.ticket()), (3, 3));
        assert_eq!(record.window_start, Some(now));
        let json = serde_json::to_value(&record).expect("serializes");
        assert_eq!(json["windowStart"], "2030-01-01T00:10:00Z");
        assert_eq!(json["expiresAt"], "2030-04-01T00:10:00Z");
        assert_eq!(record.version, 2, "versions are the store's to bump");
        // A second retry before any attempt: still number 2, another ticket.
        let job = record.retry_now(now, time::Duration::days(90));
        assert_eq!((record.next_attempt, job.attempt), (2, 4));
    }

    #[test]
    fn a_stored_record_reads_back_and_writes_its_times_unchanged() {
        let now = datetime!(2030-01-01 00:00:00 UTC);
        let event = EventId::new(now);
        let subscription = SubscriptionId::new(now);
        let stored = serde_json::json!({
            "id": DeliveryId::of(&event, &subscription),
            "accountId": "acme",
            "subscriptionId": subscription,
            "eventId": event,
            "eventName": "sms.sent",
            "test": false,
            "status": "pending",
            "body": "{}",
            "eventExpiresAt": "2030-01-06T00:00:00.73Z",
            "attempts": [{
                "number": 1,
                "at": "2030-01-01T00:00:00.001Z",
                "url": "https://hooks.acme.example/herald",
                "requestHeaders": {},
                "responseStatus": 500,
                "responseHeaders": {},
                "responseBody": "",
                "responseBodyTruncated": false,
                "durationMs": 12,
                "outcome": "retry",
                "nextAttemptAt": "2030-01-01T00:00:01.5Z"
            }],
            "attemptCount": 1,
            "nextAttempt": 2,
            "jobTicket": 2,
            "nextAttemptAt": "2030-01-01T00:00:01.5Z",
            "windowStart": "2030-01-01T00:00:00Z",
            "claimedUntil": "2030-01-01T00:01:00.012Z",
            "createdAt": "2030-01-01T00:00:00Z",
            "updatedAt": "2030-01-01T00:00:00.123Z",
            "expiresAt": "2030-04-01T00:00:00Z",
            "version": 3
        });
        let record: DeliveryRecord = serde_json::from_value(stored.clone()).expect("a record");
        assert_eq!(
            record.event_expires_at,
            datetime!(2030-01-06 00:00:00.730 UTC)
        );
        assert_eq!(
            record.attempts[0].next_attempt_at, record.next_attempt_at,
            "compared as times"
        );
        assert!(record.claimed_at(datetime!(2030-01-01 00:01:00.011 UTC)));
        assert!(!record.claimed_at(datetime!(2030-01-01 00:01:00.012 UTC)));
        assert!(!record.expired(datetime!(2030-03-31 23:59:59.999 UTC)));
        assert!(record.expired(datetime!(2030-04-01 00:00:00 UTC)));
        assert_eq!(serde_json::to_value(&record).expect("serializes"), stored);
    }

    #[test]
    fn delivery_ids_are_derived_and_parsed_back() {
        let now = datetime!(2030-01-01 00:00:00 UTC);
        let event = EventId::new(now);
        let subscription = SubscriptionId::new(now);
        let id = DeliveryId::of(&event, &subscription);
        assert_eq!(
            id.as_str(),
            format!("{}-{}", event.as_str(), subscription.as_str())
        );
        assert_eq!(DeliveryId::parse(id.as_str()), Ok(id.clone()));
        assert!(DeliveryId::parse("x-y").is_err());
        assert!(DeliveryId::parse(event.as_str()).is_err());
    }

    #[test]
    fn a_shared_first_attempt_travels_as_a_plain_object() {
        let now = datetime!(2030-01-01 00:00:00 UTC);
        let event = EventId::new(now);
        let subscription = SubscriptionId::new(now);
        let first = FirstAttempt {
            event_id: event.clone(),
            event_name: EventName::parse("sms.sent").expect("valid"),
            event_expires_at: now,
            body: r#"{"id":"x"}"#.into(),
            test: false,
        };
        let mut job = DeliveryJob {
            account_id: AccountId::parse("acme").expect("valid"),
            subscription_id: subscription.clone(),
            delivery_id: DeliveryId::of(&event, &subscription),
            attempt: 1,
            not_before: None,
            first: Some(Arc::new(first.clone())),
        };
        let json = serde_json::to_value(&job).expect("serializes");
        assert_eq!(
            json["first"],
            serde_json::to_value(&first).expect("serializes")
        );
        let back: DeliveryJob = serde_json::from_value(json).expect("reads");
        assert_eq!(back, job);

        job.first = None;
        let json = serde_json::to_value(&job).expect("serializes");
        assert!(json.get("first").is_none(), "{json}");
        assert_eq!(
            serde_json::from_value::<DeliveryJob>(json).expect("reads"),
            job
        );
    }
}
