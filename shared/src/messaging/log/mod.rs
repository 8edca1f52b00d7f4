//! The message log: one record per message with its status, attempts and status history. The
//! port is [`MessageLog`]; [`crate::adapters::dynamo::message_log::DynamoMessageLog`] and [`crate::messaging::log::memory::MemoryMessageLog`]
//! implement it.

pub mod entry;
pub mod memory;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::clock::{rfc3339_serde, to_millis};
pub use crate::common::idempotency::{IdempotencyClaim, IdempotencyKey};
pub use crate::common::store::StoreError;
use crate::messaging::message::{Channel, EmailMessage, MessageStatus, SmsMessage, Tag};

pub use entry::{Attempt, AttemptOutcome, Leg, LoggedReceipt, MAX_ENTRY_BYTES, bounded};

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

    /// The lowest id a message created at `at` can have: ids sort by time, so every message
    /// created at or after `at` sorts at or after it.
    pub fn lowest_at(at: OffsetDateTime) -> Self {
        let ms = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        Self(ulid::Ulid::from_parts(ms, 0).to_string())
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
    pub attempts: Vec<Attempt>,
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
    pub receipts: Vec<LoggedReceipt>,
    /// How the status can move after `sent`, when the route reports nothing: an account's own
    /// SMTP server sends no receipts, so there `sent` is final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<String>,
    /// Clicks on the message's short links (the `shorten` template filter's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clicks: Option<Clicks>,
    /// Bumped by the store on every write, which is conditional on the version read
    /// (optimistic concurrency), so concurrent dispatchers cannot both move a message.
    #[serde(default)]
    pub version: u64,
}

/// The clicks on a message's short links: when the first and the last came, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Clicks {
    #[serde(with = "rfc3339_serde")]
    pub first_at: OffsetDateTime,
    #[serde(with = "rfc3339_serde")]
    pub last_at: OffsetDateTime,
    pub count: u64,
}

/// A message's last attempt whose outcome is unknown.
pub struct Unsettled {
    pub provider: String,
    /// When that attempt started: the provider's record of the message is no older.
    pub at: OffsetDateTime,
}

impl MessageRecord {
    /// The last attempt, when its outcome is unknown: sent, and no answer came in time.
    pub fn unsettled(&self) -> Option<Unsettled> {
        let last = self.attempts.last()?;
        (last.outcome == AttemptOutcome::Unknown).then(|| Unsettled {
            provider: last.provider.clone(),
            at: OffsetDateTime::parse(&last.at, &time::format_description::well_known::Rfc3339)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        })
    }

    /// Whether the last attempt went to `provider` with an unknown outcome.
    pub fn unsettled_by(&self, provider: &str) -> bool {
        self.unsettled().is_some_and(|u| u.provider == provider)
    }

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
            clicks: None,
            version: 0,
        }
    }

    /// Counts a click on one of the message's short links; true for its first.
    pub fn record_click(&mut self, now: OffsetDateTime) -> bool {
        let at = to_millis(now);
        match &mut self.clicks {
            Some(c) => {
                c.count = c.count.saturating_add(1);
                c.last_at = at;
                false
            }
            None => {
                self.clicks = Some(Clicks {
                    first_at: at,
                    last_at: at,
                    count: 1,
                });
                true
            }
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
    pub fn push_attempt(&mut self, attempt: Attempt) {
        push_bounded(&mut self.attempts, attempt, MAX_ATTEMPTS_KEPT);
    }

    /// Records one delivery receipt, bounded as attempts are; the latest
    /// [`MAX_RECEIPTS_KEPT`] are kept.
    pub fn push_receipt(&mut self, receipt: LoggedReceipt) {
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
            .find(|a| a.accepted_by(provider))
            .and_then(|a| a.provider_message_id.as_deref())
    }

    /// Every id `provider` gave this message when it took it: the accepted attempts' ids, and
    /// for Vonage each part's `message-id` (a long SMS is sent, and receipted, in parts).
    pub fn provider_message_ids(&self, provider: &str) -> Vec<&str> {
        let mut ids = Vec::new();
        for a in self.attempts.iter().filter(|a| a.accepted_by(provider)) {
            ids.extend(a.provider_message_id.as_deref());
            if let Some(parts) = a.response["messages"].as_array() {
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
        let leg = self.attempts.last().and_then(|a| a.leg);
        let mut attempt = Attempt::started(provider, leg, now);
        attempt.provider_message_id = Some(provider_message_id.to_owned());
        attempt.response = serde_json::json!({"settledBy": "receipt"});
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

fn push_bounded<T: entry::LogEntry>(list: &mut Vec<T>, entry: T, keep: usize) {
    list.push(bounded(entry));
    if list.len() > keep {
        let excess = list.len() - keep;
        list.drain(..excess);
    }
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

    /// How many of the account's messages on `channel`, created at or after `since`, are now
    /// at `status` (the dashboard's overview).
    async fn count(
        &self,
        account: &AccountId,
        channel: Channel,
        status: MessageStatus,
        since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;

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
pub(crate) mod tests {
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
            let mut failed = Attempt::started("twilio", Some(Leg::Primary), now);
            failed.outcome = AttemptOutcome::TemporaryFailure;
            let mut accepted = Attempt::started(provider, Some(Leg::Secondary), now);
            accepted.provider_message_id = Some(id.to_owned());
            r.attempts = vec![failed, accepted];
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

    fn sms_record(now: OffsetDateTime) -> MessageRecord {
        use crate::messaging::message::{PhoneNumber, SmsText};
        MessageRecord::queued(
            MessageId::new(now),
            AccountId::parse("acme").expect("valid"),
            Content::Sms(SmsMessage {
                to: PhoneNumber::parse("+4712345678").expect("valid"),
                text: SmsText::parse("hello").expect("valid"),
            }),
            vec![],
            now,
            time::Duration::days(90),
        )
    }

    #[test]
    fn attempts_and_receipts_are_bounded_in_size_and_number() {
        use crate::messaging::message::Receipt;
        let now = datetime!(2030-01-01 00:00:00 UTC);
        let huge = "e".repeat(1024 * 1024);
        let mut attempt = Attempt::started("smtp", None, now);
        attempt.outcome = AttemptOutcome::TemporaryFailure;
        attempt.reason = Some(format!("token endpoint answered 400: {huge}"));
        attempt.response =
            serde_json::json!({"status": 400, "body": huge, "nested": vec![huge.clone(); 20]});
        let kept = bounded(attempt);
        let bytes = serde_json::to_vec(&kept).expect("json").len();
        assert!(bytes <= MAX_ENTRY_BYTES, "{bytes} bytes");
        assert_eq!(kept.outcome, AttemptOutcome::TemporaryFailure);
        assert_eq!(kept.provider, "smtp");
        assert!(
            kept.reason
                .as_deref()
                .expect("reason")
                .starts_with("token endpoint answered 400")
        );
        assert_eq!(kept.response["truncated"], true);

        // Only the strings are cut when that is enough: the answer keeps its shape.
        let mut long = Attempt::started("twilio", Some(Leg::Primary), now);
        long.response = serde_json::json!({"status": 400, "message": "m".repeat(4096)});
        let kept = bounded(long);
        assert_eq!(kept.response["status"], 400);
        assert!(
            kept.response["message"]
                .as_str()
                .expect("cut")
                .ends_with('…')
        );

        let mut small = Attempt::started("twilio", Some(Leg::Primary), now);
        small.provider_message_id = Some("SM123".into());
        assert_eq!(bounded(small.clone()), small);

        let receipt = LoggedReceipt {
            source: "ses".into(),
            received_at: "2030-01-01T00:00:00Z".into(),
            receipt: Receipt::Failed {
                reason: format!("Permanent bounce (General): {huge}"),
                code: Some("5.1.1".into()),
            },
            at: None,
            applied: true,
            raw: serde_json::json!({"bounce": {"diagnosticCode": huge}}),
        };
        let kept = bounded(receipt);
        let bytes = serde_json::to_vec(&kept).expect("json").len();
        assert!(bytes <= MAX_ENTRY_BYTES, "{bytes} bytes");
        let Receipt::Failed { reason, code } = &kept.receipt else {
            panic!("still a failure: {kept:?}");
        };
        assert!(reason.starts_with("Permanent bounce (General): eee"));
        assert_eq!(code.as_deref(), Some("5.1.1"));
        assert_eq!(kept.source, "ses");

        let mut r = sms_record(now);
        for i in 0..100 {
            let mut attempt = Attempt::started("twilio", Some(Leg::Primary), now);
            attempt.duration_ms = i;
            attempt.reason = Some(huge.clone());
            r.push_attempt(attempt);
            r.push_receipt(LoggedReceipt {
                source: "twilio".into(),
                received_at: "2030-01-01T00:00:00Z".into(),
                receipt: Receipt::Delivered,
                at: None,
                applied: false,
                raw: serde_json::json!({"n": i, "raw": huge}),
            });
        }
        assert_eq!(r.attempts.len(), MAX_ATTEMPTS_KEPT);
        assert_eq!(r.attempts.last().expect("latest").duration_ms, 99);
        assert_eq!(r.receipts.len(), MAX_RECEIPTS_KEPT);
        let whole = serde_json::to_vec(&r).expect("json").len();
        assert!(
            whole < 200_000,
            "a record stays far below DynamoDB's 400 KB: {whole}"
        );
    }

    /// Two records as the log has stored them (the `record` attribute of their items), with
    /// every shape of attempt and receipt dispatch and the status tracker have written.
    pub(crate) fn stored_records() -> [serde_json::Value; 2] {
        let sms = serde_json::json!({
            "id": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D4",
            "accountId": "acme",
            "status": "failed",
            "createdAt": "2030-01-01T00:00:00Z",
            "updatedAt": "2030-01-01T00:01:00Z",
            "tags": ["order-42"],
            "message": {"channel": "sms", "to": "+4712345678", "text": "Your code is 1234"},
            "attempts": [
                {"provider": "twilio", "leg": "primary", "at": "2030-01-01T00:00:01Z",
                 "durationMs": 412, "outcome": "temporaryFailure",
                 "reason": "Twilio answered 503: Service Unavailable", "code": "20503",
                 "response": {"status": 503, "body": {"code": 20503, "message": "Service Unavailable"}}},
                {"provider": "vonage", "leg": "secondary", "at": "2030-01-01T00:00:02Z",
                 "durationMs": 230, "outcome": "accepted", "providerMessageId": "0A00000012345678",
                 "response": {"message-count": "2", "messages": [
                     {"message-id": "0A00000012345678", "status": "0"},
                     {"message-id": "0A00000012345679", "status": "0"}]}},
            ],
            "statusHistory": [
                {"status": "queued", "at": "2030-01-01T00:00:00Z"},
                {"status": "sent", "at": "2030-01-01T00:00:02Z"},
                {"status": "failed", "at": "2030-01-01T00:00:40Z",
                 "reason": "Vonage reports the message failed (error 6)"},
            ],
            "expiresAt": "2030-04-01T00:00:00Z",
            "enqueued": true,
            "sentVia": "vonage",
            "failedOver": true,
            "receipts": [
                {"source": "vonage", "receivedAt": "2030-01-01T00:00:05Z",
                 "receipt": {"type": "providerStatus", "detail": "buffered"},
                 "raw": {"messageId": "0A00000012345678", "status": "buffered"},
                 "at": "2030-01-01T00:00:04Z", "applied": false},
                {"source": "vonage", "receivedAt": "2030-01-01T00:00:41Z",
                 "receipt": {"type": "failed", "reason": "Vonage reports the message failed (error 6)", "code": "6"},
                 "raw": {"messageId": "0A00000012345679", "status": "failed", "err-code": "6"},
                 "at": "2030-01-01T00:00:40Z"},
                {"source": "vonage", "receivedAt": "2030-01-01T00:01:00Z",
                 "receipt": {"type": "failed", "reason": "Vonage reports the message rejected", "code": null},
                 "raw": {"messageId": "0A00000012345678", "status": "rejected"},
                 "applied": false},
            ],
            "version": 6,
        });
        let email = serde_json::json!({
            "id": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D5",
            "accountId": "acme",
            "status": "opened",
            "createdAt": "2030-01-01T00:00:00Z",
            "updatedAt": "2030-01-01T02:00:00Z",
            "tags": [],
            "message": {"channel": "email", "to": ["signer@example.com"], "subject": "Please sign",
                        "text": "Sign here", "html": null, "from": "noreply@mail.acme.com",
                        "replyTo": null},
            "attempts": [
                {"provider": "ses", "at": "2030-01-01T00:00:01Z", "durationMs": 30000,
                 "outcome": "unknown", "reason": "SES did not answer in time",
                 "response": {"excerpt": "{\"error\":\"timeout\"}", "truncated": true}},
                {"provider": "ses", "at": "2030-01-01T00:00:45Z", "durationMs": 0,
                 "outcome": "accepted", "providerMessageId": "0100018c-ses-id",
                 "response": {"settledBy": "receipt"}},
            ],
            "statusHistory": [
                {"status": "queued", "at": "2030-01-01T00:00:00Z"},
                {"status": "sent", "at": "2030-01-01T00:00:45Z"},
                {"status": "opened", "at": "2030-01-01T01:00:00Z"},
            ],
            "expiresAt": "2030-04-01T00:00:00Z",
            "enqueued": true,
            "sentVia": "ses",
            "failedOver": false,
            "claimedUntil": "2030-01-01T00:00:46Z",
            "nextAttemptAt": "2030-01-01T00:03:01Z",
            "receipts": [
                {"source": "ses", "receivedAt": "2030-01-01T00:00:45Z",
                 "receipt": {"type": "deliveryDelay", "detail": "MailboxFull"},
                 "raw": {"eventType": "DeliveryDelay"}, "applied": false},
                {"source": "ses", "receivedAt": "2030-01-01T00:00:50Z",
                 "receipt": {"type": "transientBounce", "detail": "Transient bounce (General)"},
                 "raw": null, "applied": false},
                {"source": "ses", "receivedAt": "2030-01-01T01:00:01Z",
                 "receipt": {"type": "opened"}, "raw": {"eventType": "Open"},
                 "at": "2030-01-01T01:00:00Z"},
                {"source": "ses", "receivedAt": "2030-01-01T01:00:02Z",
                 "receipt": {"type": "delivered"}, "raw": {"eventType": "Delivery"},
                 "at": "2030-01-01T00:59:00Z", "applied": false},
            ],
            "tracking": "sent through the account's SMTP server, which reports no delivery: sent is final",
            "version": 9,
        });
        [sms, email]
    }

    #[test]
    fn records_stored_before_attempts_and_receipts_were_typed_read_and_write_back_the_same() {
        use crate::messaging::message::{NoteKind, Receipt};
        let [sms, email] = stored_records();
        let read: MessageRecord = serde_json::from_value(sms.clone()).expect("an SMS record");
        assert_eq!(serde_json::to_value(&read).expect("json"), sms);
        assert_eq!(read.attempts[0].outcome, AttemptOutcome::TemporaryFailure);
        assert_eq!(read.attempts[0].code.as_deref(), Some("20503"));
        assert_eq!(read.attempts[1].leg, Some(Leg::Secondary));
        assert_eq!(read.provider_message_id(), Some("0A00000012345678"));
        assert_eq!(
            read.provider_message_ids("vonage"),
            ["0A00000012345678", "0A00000012345678", "0A00000012345679"]
        );
        assert!(read.provider_message_ids("twilio").is_empty());
        assert_eq!(
            read.receipts[0].receipt,
            Receipt::Note {
                kind: NoteKind::ProviderStatus,
                detail: "buffered".into()
            }
        );
        assert!(!read.receipts[0].applied);
        assert!(read.receipts[1].applied);
        assert_eq!(
            read.receipts[2].receipt,
            Receipt::Failed {
                reason: "Vonage reports the message rejected".into(),
                code: None
            }
        );

        let read: MessageRecord = serde_json::from_value(email.clone()).expect("an email record");
        assert_eq!(serde_json::to_value(&read).expect("json"), email);
        assert_eq!(read.attempts[0].outcome, AttemptOutcome::Unknown);
        assert_eq!(read.attempts[0].leg, None);
        assert_eq!(read.provider_message_id(), Some("0100018c-ses-id"));
        assert_eq!(read.receipts[2].receipt, Receipt::Opened);
        assert_eq!(read.receipts[1].raw, serde_json::Value::Null);
        assert_eq!(read.receipts[2].at.as_deref(), Some("2030-01-01T01:00:00Z"));
    }

    #[test]
    fn a_receipt_settles_an_unknown_outcome_with_the_attempts_leg() {
        let now = datetime!(2030-01-01 00:00:00 UTC);
        let mut r = sms_record(now);
        let mut unknown = Attempt::started("vonage", Some(Leg::Secondary), now);
        unknown.outcome = AttemptOutcome::Unknown;
        r.push_attempt(unknown);
        r.settle_by_receipt("vonage", "0A00000012345678", now);
        assert_eq!(r.status, MessageStatus::Sent);
        assert_eq!(
            serde_json::to_value(&r.attempts[1]).expect("json"),
            serde_json::json!({
                "provider": "vonage", "leg": "secondary", "at": "2030-01-01T00:00:00Z",
                "durationMs": 0, "outcome": "accepted", "providerMessageId": "0A00000012345678",
                "response": {"settledBy": "receipt"},
            })
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
