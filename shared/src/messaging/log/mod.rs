//! The message log: one record per message with its status, attempts and status history. The
//! port is [`MessageLog`]; [`crate::adapters::dynamo::message_log::DynamoMessageLog`] and [`crate::messaging::log::memory::MemoryMessageLog`]
//! implement it.

pub mod memory;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::clock::{rfc3339, rfc3339_serde, to_millis};
pub use crate::common::idempotency::{IdempotencyClaim, IdempotencyKey};
pub use crate::common::store::StoreError;
use crate::messaging::message::{Channel, EmailMessage, MessageStatus, SmsMessage, Tag};

/// A message's id: a ULID, so that ids sort by creation time and a log lists in time order by
/// its key alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("is not a message id")]
pub struct InvalidMessageId;

impl MessageId {
    pub fn new(at: OffsetDateTime) -> Self {
        Self(ulid::Ulid::from_datetime(at.into()).to_string())
    }

    pub fn parse(s: &str) -> Result<Self, InvalidMessageId> {
        ulid::Ulid::from_string(s)
            .map(|u| Self(u.to_string()))
            .map_err(|_| InvalidMessageId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MessageId {
    type Error = InvalidMessageId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<MessageId> for String {
    fn from(v: MessageId) -> String {
        v.0
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What was asked to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "lowercase")]
pub enum Content {
    Sms(SmsMessage),
    Email(EmailMessage),
}

impl Content {
    pub fn channel(&self) -> Channel {
        match self {
            Self::Sms(_) => Channel::Sms,
            Self::Email(_) => Channel::Email,
        }
    }

    /// The recipient(s), as one line for listings.
    pub fn recipient(&self) -> String {
        match self {
            Self::Sms(m) => m.to.as_str().to_owned(),
            Self::Email(m) => {
                m.to.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    pub status: MessageStatus,
    #[serde(with = "rfc3339_serde")]
    pub at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One message's log record: the raw JSON the log API shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRecord {
    pub id: MessageId,
    pub account_id: AccountId,
    pub status: MessageStatus,
    #[serde(with = "rfc3339_serde")]
    pub created_at: OffsetDateTime,
    #[serde(with = "rfc3339_serde")]
    pub updated_at: OffsetDateTime,
    pub tags: Vec<Tag>,
    pub message: Content,
    /// Each provider attempt, as dispatch records it.
    #[serde(default)]
    pub attempts: Vec<serde_json::Value>,
    pub status_history: Vec<StatusChange>,
    /// When the record is deleted (retention).
    #[serde(with = "rfc3339_serde")]
    pub expires_at: OffsetDateTime,
    /// Whether a dispatcher has taken the message (so its job surely reached the queue); a
    /// replayed request re-enqueues the job until then.
    #[serde(default)]
    pub enqueued: bool,
    /// The provider that took the message, once one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_via: Option<String>,
    /// The primary provider failed temporarily and the secondary's turn was queued: the primary
    /// is never tried again for this message.
    #[serde(default)]
    pub failed_over: bool,
    /// A dispatcher is sending until this time; another one leaves the message alone until
    /// then (a duplicate delivery of its queue record).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_serde::option"
    )]
    pub claimed_until: Option<OffsetDateTime>,
    /// When a message left `queued` by a temporary failure is tried again: its job comes back
    /// after the send queue's visibility timeout. Cleared by the next attempt's outcome.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_serde::option"
    )]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// Delivery receipts from the provider (SES events, SMS status callbacks), latest last,
    /// including those that changed nothing (duplicates, out of order, notes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receipts: Vec<serde_json::Value>,
    /// How the status can move after `sent`, when the route reports nothing: an account's own
    /// SMTP server sends no receipts, so there `sent` is final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<String>,
    /// Bumped by the store on every write, which is conditional on the version read
    /// (optimistic concurrency), so concurrent dispatchers cannot both move a message.
    #[serde(default)]
    pub version: u64,
}

impl MessageRecord {
    pub fn queued(
        id: MessageId,
        account_id: AccountId,
        message: Content,
        tags: Vec<Tag>,
        now: OffsetDateTime,
        retention: time::Duration,
    ) -> Self {
        let at = to_millis(now);
        Self {
            id,
            account_id,
            status: MessageStatus::Queued,
            created_at: at,
            updated_at: at,
            tags,
            message,
            attempts: Vec::new(),
            status_history: vec![StatusChange {
                status: MessageStatus::Queued,
                at,
                reason: None,
            }],
            expires_at: to_millis(now + retention),
            enqueued: false,
            sent_via: None,
            failed_over: false,
            claimed_until: None,
            next_attempt_at: None,
            receipts: Vec::new(),
            tracking: None,
            version: 0,
        }
    }

    /// Moves to `status` (at `now`, for `reason`), recording the change in the history.
    pub fn set_status(
        &mut self,
        status: MessageStatus,
        now: OffsetDateTime,
        reason: Option<String>,
    ) {
        let at = to_millis(now);
        self.status = status;
        self.updated_at = at;
        self.status_history
            .push(StatusChange { status, at, reason });
    }

    /// Records one provider attempt, bounded: see [`bounded`]. Only the latest
    /// [`MAX_ATTEMPTS_KEPT`] are kept, so no number of retries can outgrow the record.
    pub fn push_attempt(&mut self, attempt: serde_json::Value) {
        push_bounded(&mut self.attempts, attempt, MAX_ATTEMPTS_KEPT);
    }

    /// Records one delivery receipt, bounded as attempts are; the latest
    /// [`MAX_RECEIPTS_KEPT`] are kept.
    pub fn push_receipt(&mut self, receipt: serde_json::Value) {
        push_bounded(&mut self.receipts, receipt, MAX_RECEIPTS_KEPT);
    }

    /// Whether another dispatcher holds the message at `now`.
    pub fn claimed_at(&self, now: OffsetDateTime) -> bool {
        self.claimed_until.is_some_and(|until| until > now)
    }

    pub fn channel(&self) -> Channel {
        self.message.channel()
    }

    /// The id the provider that took the message gave it (its accepted attempt's).
    pub fn provider_message_id(&self) -> Option<&str> {
        let provider = self.sent_via.as_deref()?;
        self.attempts
            .iter()
            .rev()
            .find(|a| a["outcome"] == "accepted" && a["provider"] == provider)
            .and_then(|a| a["providerMessageId"].as_str())
    }

    /// Every id `provider` gave this message when it took it: the accepted attempts' ids, and
    /// for Vonage each part's `message-id` (a long SMS is sent, and receipted, in parts).
    pub fn provider_message_ids(&self, provider: &str) -> Vec<&str> {
        let mut ids = Vec::new();
        for a in self
            .attempts
            .iter()
            .filter(|a| a["outcome"] == "accepted" && a["provider"] == provider)
        {
            ids.extend(a["providerMessageId"].as_str());
            if let Some(parts) = a["response"]["messages"].as_array() {
                ids.extend(parts.iter().filter_map(|p| p["message-id"].as_str()));
            }
        }
        ids
    }

    /// Settles an unknown outcome by a receipt that names this message: `provider` took it
    /// under `provider_message_id`. Recorded as an accepted attempt, and the message is sent.
    pub fn settle_by_receipt(
        &mut self,
        provider: &str,
        provider_message_id: &str,
        now: OffsetDateTime,
    ) {
        let at = rfc3339(now);
        let leg = self.attempts.last().map(|a| a["leg"].clone());
        let mut attempt = serde_json::json!({
            "provider": provider, "at": at, "durationMs": 0, "outcome": "accepted",
            "providerMessageId": provider_message_id,
            "response": {"settledBy": "receipt"},
        });
        if let Some(leg) = leg.filter(|l| !l.is_null()) {
            attempt["leg"] = leg;
        }
        self.push_attempt(attempt);
        self.sent_via = Some(provider.to_owned());
        self.next_attempt_at = None;
        self.set_status(MessageStatus::Sent, now, None);
    }

    /// The key a provider-id lookup finds this record by, when its provider is looked up so.
    pub fn provider_lookup_key(&self) -> Option<String> {
        let provider = self.sent_via.as_deref()?;
        LOOKED_UP_BY_PROVIDER_ID
            .contains(&provider)
            .then(|| self.provider_message_id())
            .flatten()
            .map(|id| format!("{provider}#{id}"))
    }

    /// Whether retention has passed: such a record is never served, even before the store's
    /// TTL sweep removes it.
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at <= now
    }
}

/// Attempts kept per message: more than any send's retries and failover take
/// (`MaxSendAttempts` is at most 20 per leg).
pub const MAX_ATTEMPTS_KEPT: usize = 25;
/// Receipts kept per message: a message gets a handful; a provider resending more would only
/// grow the record.
pub const MAX_RECEIPTS_KEPT: usize = 50;
/// The most one attempt or receipt may take in the record, serialized. A DynamoDB item holds
/// at most 400 KB: 75 entries of 2 KiB leave ample room for the message itself, so recording
/// an outcome can never fail on size, however large a reply was.
pub const MAX_ENTRY_BYTES: usize = 2048;

fn push_bounded(list: &mut Vec<serde_json::Value>, entry: serde_json::Value, keep: usize) {
    list.push(bounded(entry));
    if list.len() > keep {
        let excess = list.len() - keep;
        list.drain(..excess);
    }
}

/// An attempt or receipt within [`MAX_ENTRY_BYTES`]: every string cut to a short excerpt
/// first, and if that is not enough, its `response` replaced by an excerpt of itself. Status,
/// outcome, provider ids and times stay as they were.
pub fn bounded(entry: serde_json::Value) -> serde_json::Value {
    use crate::common::destination::excerpt::excerpt;
    use serde_json::Value;
    fn size<T: serde::Serialize>(v: &T) -> usize {
        serde_json::to_vec(v).map_or(usize::MAX, |b| b.len())
    }
    fn cut_strings(v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(excerpt(&s)),
            Value::Array(items) => Value::Array(items.into_iter().map(cut_strings).collect()),
            Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, cut_strings(v))).collect())
            }
            other => other,
        }
    }
    if size(&entry) <= MAX_ENTRY_BYTES {
        return entry;
    }
    let entry = cut_strings(entry);
    if size(&entry) <= MAX_ENTRY_BYTES {
        return entry;
    }
    let Value::Object(mut map) = entry else {
        return serde_json::json!({"excerpt": excerpt(&entry.to_string()), "truncated": true});
    };
    for key in ["response", "raw", "body"] {
        if let Some(v) = map.get_mut(key) {
            *v = serde_json::json!({"excerpt": excerpt(&v.to_string()), "truncated": true});
        }
    }
    if size(&map) > MAX_ENTRY_BYTES {
        // Anything else that is large: keep only the fields a reader needs.
        map.retain(|k, _| {
            matches!(
                k.as_str(),
                "provider"
                    | "leg"
                    | "at"
                    | "durationMs"
                    | "outcome"
                    | "providerMessageId"
                    | "reason"
                    | "code"
                    | "status"
                    | "response"
            )
        });
    }
    Value::Object(map)
}

/// What creating a record did.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    New,
    /// The idempotency key was claimed already, by this message and request.
    Replay {
        id: MessageId,
        request_hash: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    Asc,
    #[default]
    Desc,
}

/// Which page of an account's log, per channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub status: Option<MessageStatus>,
    pub order: Order,
    pub limit: usize,
    /// List after this id (from the previous page's cursor).
    pub after: Option<MessageId>,
}

impl ListQuery {
    pub const MAX_LIMIT: usize = 100;
    pub const DEFAULT_LIMIT: usize = 25;
}

/// An opaque cursor: the last id of a page, bound to the query that produced it so that it
/// cannot be replayed against another filter or order.
pub fn encode_cursor(query: &ListQuery, last: &MessageId) -> String {
    crate::common::cursor::encode(&query_fingerprint(query), last.as_str())
}

pub fn decode_cursor(query: &ListQuery, cursor: &str) -> Result<MessageId, String> {
    let id = crate::common::cursor::decode(&query_fingerprint(query), cursor)?;
    MessageId::parse(&id).map_err(|_| "cursor is not one this listing returned".to_owned())
}

fn query_fingerprint(query: &ListQuery) -> String {
    format!(
        "{}:{}",
        query.status.map_or("all", MessageStatus::as_str),
        match query.order {
            Order::Asc => "asc",
            Order::Desc => "desc",
        }
    )
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<MessageRecord>,
    /// The id to continue after, when there may be more.
    pub last: Option<MessageId>,
}

#[async_trait]
pub trait MessageLog: Send + Sync {
    /// Stores a new record, claiming `idempotency` with it atomically: when the key is already
    /// claimed nothing is written and the first claim is returned.
    async fn create(
        &self,
        record: &MessageRecord,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<Created, StoreError>;

    async fn get(
        &self,
        account: &AccountId,
        channel: Channel,
        id: &MessageId,
        now: OffsetDateTime,
    ) -> Result<Option<MessageRecord>, StoreError>;

    async fn list(
        &self,
        account: &AccountId,
        channel: Channel,
        query: &ListQuery,
        now: OffsetDateTime,
    ) -> Result<Page, StoreError>;

    /// Writes `record`, as its next version, in place of the stored one if that is still at the
    /// version read (`record.version`); then `record.version` is the version written. Otherwise
    /// [`StoreError::PreconditionFailed`] and nothing changes.
    async fn replace(&self, record: &mut MessageRecord) -> Result<(), StoreError>;

    /// The message a provider knows by `provider_message_id`, for receipts that name nothing
    /// else. Only providers in [`LOOKED_UP_BY_PROVIDER_ID`] are indexed.
    async fn find_by_provider_id(
        &self,
        provider: &str,
        provider_message_id: &str,
    ) -> Result<Option<MessageKey>, StoreError>;
}

/// Providers whose receipts name a message only by their own id (Amazon SNS's delivery status
/// logs); the others' receipts come to a URL that names Herald's ids.
pub const LOOKED_UP_BY_PROVIDER_ID: [&str; 1] = ["sns"];

/// Where a message's log record is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageKey {
    pub account_id: AccountId,
    pub channel: Channel,
    pub message_id: MessageId,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[tokio::test]
    async fn sns_messages_are_found_by_snss_id_only() {
        use crate::messaging::message::{PhoneNumber, SmsMessage, SmsText};
        let now = datetime!(2030-01-01 00:00:00 UTC);
        let log = memory::MemoryMessageLog::new();
        let account = AccountId::parse("acme").expect("valid");
        let sent = |provider: &str, id: &str| {
            let mut r = MessageRecord::queued(
                MessageId::new(now),
                account.clone(),
                Content::Sms(SmsMessage {
                    to: PhoneNumber::parse("+4712345678").expect("valid"),
                    text: SmsText::parse("hello").expect("valid"),
                }),
                vec![],
                now,
                time::Duration::days(90),
            );
            r.sent_via = Some(provider.to_owned());
            r.attempts = vec![
                serde_json::json!({"provider": "twilio", "outcome": "temporaryFailure"}),
                serde_json::json!({"provider": provider, "outcome": "accepted", "providerMessageId": id}),
            ];
            r
        };
        let by_sns = sent("sns", "34d9b400");
        let by_twilio = sent("twilio", "SM123");
        assert_eq!(
            by_sns.provider_lookup_key().as_deref(),
            Some("sns#34d9b400")
        );
        assert_eq!(by_twilio.provider_message_id(), Some("SM123"));
        assert_eq!(by_twilio.provider_lookup_key(), None);
        log.create(&by_sns, None).await.expect("created");
        log.create(&by_twilio, None).await.expect("created");
        let found = log
            .find_by_provider_id("sns", "34d9b400")
            .await
            .expect("read");
        assert_eq!(
            found,
            Some(MessageKey {
                account_id: account.clone(),
                channel: Channel::Sms,
                message_id: by_sns.id.clone(),
            })
        );
        assert_eq!(
            log.find_by_provider_id("twilio", "SM123")
                .await
                .expect("read"),
            None
        );
        assert_eq!(
            log.find_by_provider_id("sns", "SM123").await.expect("read"),
            None
        );
    }

    #[test]
    fn attempts_and_receipts_are_bounded_in_size_and_number() {
        let huge = "e".repeat(1024 * 1024);
        let attempt = serde_json::json!({
            "provider": "smtp", "outcome": "temporaryFailure", "at": "2030-01-01T00:00:00Z",
            "reason": format!("token endpoint answered 400: {huge}"),
            "response": {"status": 400, "body": huge, "nested": [huge.clone(), huge.clone()]},
        });
        let kept = bounded(attempt);
        let bytes = serde_json::to_vec(&kept).expect("json").len();
        assert!(bytes <= MAX_ENTRY_BYTES, "{bytes} bytes");
        assert_eq!(kept["outcome"], "temporaryFailure");
        assert_eq!(kept["provider"], "smtp");
        assert!(
            kept["reason"]
                .as_str()
                .expect("reason")
                .starts_with("token endpoint answered 400")
        );

        let small = serde_json::json!({"provider": "twilio", "outcome": "accepted"});
        assert_eq!(bounded(small.clone()), small);

        let now = datetime!(2030-01-01 00:00:00 UTC);
        let mut r = MessageRecord::queued(
            MessageId::new(now),
            AccountId::parse("acme").expect("valid"),
            Content::Sms(crate::messaging::message::SmsMessage {
                to: crate::messaging::message::PhoneNumber::parse("+4712345678").expect("valid"),
                text: crate::messaging::message::SmsText::parse("hello").expect("valid"),
            }),
            vec![],
            now,
            time::Duration::days(90),
        );
        for i in 0..100 {
            r.push_attempt(serde_json::json!({"n": i, "reason": huge}));
            r.push_receipt(serde_json::json!({"n": i, "raw": huge}));
        }
        assert_eq!(r.attempts.len(), MAX_ATTEMPTS_KEPT);
        assert_eq!(r.attempts.last().expect("latest")["n"], 99);
        assert_eq!(r.receipts.len(), MAX_RECEIPTS_KEPT);
        let whole = serde_json::to_vec(&r).expect("json").len();
        assert!(
            whole < 200_000,
            "a record stays far below DynamoDB's 400 KB: {whole}"
        );
    }

    #[test]
    fn stored_times_read_back_and_a_nanosecond_next_attempt_is_written_to_the_millisecond() {
        let now = datetime!(2030-01-01 00:00:00 UTC);
        let mut stored = serde_json::json!({
            "id": MessageId::new(now),
            "accountId": "acme",
            "status": "queued",
            "createdAt": "2030-01-01T00:00:00Z",
            "updatedAt": "2030-01-01T00:00:00.5Z",
            "tags": [],
            "message": {"channel": "sms", "to": "+4712345678", "text": "hello"},
            "attempts": [],
            "statusHistory": [
                {"status": "queued", "at": "2030-01-01T00:00:00Z"},
                {"status": "queued", "at": "2030-01-01T00:00:00.5Z", "reason": "noted"}
            ],
            "expiresAt": "2030-04-01T00:00:00Z",
            "enqueued": true,
            "failedOver": false,
            "claimedUntil": "2030-01-01T00:00:45.25Z",
            // As the log wrote a message's next attempt before it was held as a time.
            "nextAttemptAt": "2030-01-01T00:03:00.123456789Z",
            "version": 2
        });
        let record: MessageRecord = serde_json::from_value(stored.clone()).expect("a record");
        assert_eq!(
            record.next_attempt_at,
            Some(datetime!(2030-01-01 00:03:00.123 UTC))
        );
        assert_eq!(
            record.status_history[1].at,
            datetime!(2030-01-01 00:00:00.5 UTC)
        );
        assert!(record.claimed_at(datetime!(2030-01-01 00:00:45.249 UTC)));
        assert!(!record.claimed_at(datetime!(2030-01-01 00:00:45.25 UTC)));
        assert!(!record.expired(now));
        stored["nextAttemptAt"] = serde_json::json!("2030-01-01T00:03:00.123Z");
        assert_eq!(serde_json::to_value(&record).expect("serializes"), stored);
    }

    #[test]
    fn ids_sort_by_time() {
        let a = MessageId::new(datetime!(2026-01-01 00:00:00 UTC));
        let b = MessageId::new(datetime!(2026-01-01 00:00:01 UTC));
        assert!(a < b);
        assert_eq!(MessageId::parse(a.as_str()), Ok(a.clone()));
        assert!(MessageId::parse("not-an-id").is_err());
    }

    #[test]
    fn cursors_are_bound_to_their_query() {
        let q = ListQuery {
            status: None,
            order: Order::Desc,
            limit: 10,
            after: None,
        };
        let id = MessageId::new(datetime!(2026-01-01 00:00:00 UTC));
        let cursor = encode_cursor(&q, &id);
        assert_eq!(decode_cursor(&q, &cursor), Ok(id));
        let other = ListQuery {
            order: Order::Asc,
            ..q.clone()
        };
        assert!(decode_cursor(&other, &cursor).is_err());
        assert!(decode_cursor(&q, "garbage").is_err());
    }
}
