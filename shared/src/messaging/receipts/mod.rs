//! What happens to a message after a provider took it: delivery receipts (SES event
//! notifications, SMS providers' callbacks) move its log record forward, and each change
//! becomes an event accounts can subscribe to.
//!
//! Status only moves forward: `queued → sent → delivered → opened`, and `failed` (from any of
//! them) is final. A receipt that arrives late, out of order or twice is recorded in the log
//! record's `receipts` but changes nothing it should not.

pub mod custom;
pub mod ses;
pub mod sns;
pub mod twilio;
pub mod vonage;

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::clock::{Clock, rfc3339, to_millis};
use crate::common::store::StoreError;
use crate::events::publish::EventPublisher;
use crate::messaging::log::{LoggedReceipt, MessageId, MessageLog};
use crate::messaging::message::{Channel, MessageStatus, Receipt};

/// A receipt for one message, as a source (SES, Twilio, ...) reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub account_id: AccountId,
    pub channel: Channel,
    pub message_id: MessageId,
    pub receipt: Receipt,
    /// `ses`, `twilio`, `vonage`, `sns`, `custom`.
    pub source: &'static str,
    /// The id the provider gave the message, as the receipt names it: a receipt applies only
    /// to the message that provider took under that id. None: the receipt names Herald's
    /// message alone (an account reporting for its own provider), and applies if `source`
    /// took the message.
    pub provider_message_id: Option<String>,
    /// Whether the receipt itself proves it is about this message (Herald's ids in a signed
    /// callback URL or reference, SES's tags). Such a receipt settles a send whose answer
    /// never came: the provider took the message under the receipt's id.
    pub names_message: bool,
    /// When the provider says it happened.
    pub at: Option<OffsetDateTime>,
    /// What the provider sent, for the log.
    pub raw: Value,
}

fn rank(status: MessageStatus) -> u8 {
    match status {
        MessageStatus::Queued => 0,
        MessageStatus::Sent => 1,
        MessageStatus::Delivered => 2,
        MessageStatus::Opened => 3,
        MessageStatus::Failed => 4,
    }
}

/// The status a receipt moves a message in `current` to, if it moves it at all.
pub fn next_status(current: MessageStatus, receipt: &Receipt) -> Option<MessageStatus> {
    let target = match receipt {
        Receipt::Delivered => MessageStatus::Delivered,
        Receipt::Opened => MessageStatus::Opened,
        Receipt::Failed { .. } => MessageStatus::Failed,
        Receipt::Note { .. } => return None,
    };
    (current != MessageStatus::Failed && rank(target) > rank(current)).then_some(target)
}

/// What [`StatusTracker::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Applied {
    Changed(MessageStatus),
    /// Recorded, the status left where it is (a note, a duplicate, a receipt out of order).
    Recorded(MessageStatus),
    /// No such message (never sent by Herald, or past retention): logged and dropped, so
    /// that the provider stops retrying.
    Unknown,
    /// The receipt names a provider message id the message never had (a receipt replayed to
    /// another message's URL): refused, nothing recorded.
    Mismatch,
    /// The message is still being sent and its provider id not yet recorded: try again later.
    NotYet,
}

pub struct StatusTracker {
    pub log: Arc<dyn MessageLog>,
    pub events: EventPublisher,
    pub clock: Arc<dyn Clock>,
}

impl StatusTracker {
    /// Applies one receipt: records it, moves the status forward if it should, publishes the
    /// change. Retried on a concurrent write (a dispatcher or another receipt).
    pub async fn apply(&self, update: &StatusUpdate) -> Result<Applied, StoreError> {
        for _ in 0..5 {
            let now = self.clock.now();
            let Some(mut record) = self
                .log
                .get(&update.account_id, update.channel, &update.message_id, now)
                .await?
            else {
                tracing::warn!(account = %update.account_id, message = %update.message_id, source = update.source, "receipt for an unknown message; dropped");
                return Ok(Applied::Unknown);
            };
            let known = match &update.provider_message_id {
                Some(id) => record
                    .provider_message_ids(update.source)
                    .contains(&id.as_str()),
                None => record.sent_via.as_deref() == Some(update.source),
            };
            let unsettled = record.unsettled_by(update.source);
            let settles = !known
                && update.names_message
                && record.status == MessageStatus::Queued
                && unsettled;
            if settles {
                // Without the provider's own id, the message is known by Herald's.
                let taken_as = update
                    .provider_message_id
                    .clone()
                    .unwrap_or_else(|| record.id.as_str().to_owned());
                record.settle_by_receipt(update.source, &taken_as, now);
                tracing::info!(account = %record.account_id, message = %record.id, source = update.source, "unknown outcome settled by a receipt: the provider had taken it");
            } else if !known {
                if record.status == MessageStatus::Queued {
                    return Ok(Applied::NotYet);
                }
                tracing::warn!(account = %update.account_id, message = %update.message_id, source = update.source, provider_message = ?update.provider_message_id, "receipt names another provider message; refused");
                return Ok(Applied::Mismatch);
            }
            let next = next_status(record.status, &update.receipt);
            // Settling an unknown outcome moved the message to sent, whatever else it says.
            let changed = next.or(settles.then_some(MessageStatus::Sent));
            record.push_receipt(LoggedReceipt {
                source: update.source.to_owned(),
                received_at: rfc3339(now),
                receipt: update.receipt.clone(),
                at: update.at.map(rfc3339),
                applied: changed.is_some(),
                raw: update.raw.clone(),
            });
            let reason = match &update.receipt {
                Receipt::Failed { reason, .. } => Some(reason.clone()),
                _ => None,
            };
            if let Some(status) = next {
                record.set_status(status, update.at.unwrap_or(now), reason);
            } else {
                record.updated_at = to_millis(now);
            }
            match self.log.replace(&mut record).await {
                Ok(()) => {}
                Err(StoreError::PreconditionFailed) => continue,
                Err(e) => return Err(e),
            }
            let Some(status) = changed else {
                return Ok(Applied::Recorded(record.status));
            };
            tracing::info!(account = %record.account_id, message = %record.id, status = status.as_str(), source = update.source, "status changed");
            let (reason, code) = match &update.receipt {
                Receipt::Failed { reason, code } => (Some(reason.clone()), code.clone()),
                _ => (None, None),
            };
            crate::messaging::events::publish_status(&self.events, &record, reason, code, now)
                .await;
            return Ok(Applied::Changed(status));
        }
        Err(StoreError::PreconditionFailed)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::messaging::log::MessageRecord;
    use crate::messaging::message::NoteKind;

    #[test]
    fn status_only_moves_forward() {
        use MessageStatus::*;
        let failed = Receipt::Failed {
            reason: "bounce".into(),
            code: None,
        };
        assert_eq!(next_status(Sent, &Receipt::Delivered), Some(Delivered));
        assert_eq!(next_status(Sent, &Receipt::Opened), Some(Opened));
        assert_eq!(next_status(Opened, &Receipt::Delivered), None);
        assert_eq!(next_status(Delivered, &Receipt::Delivered), None);
        assert_eq!(next_status(Delivered, &failed), Some(Failed));
        assert_eq!(next_status(Failed, &Receipt::Delivered), None);
        assert_eq!(next_status(Failed, &failed), None);
        let note = Receipt::Note {
            kind: NoteKind::DeliveryDelay,
            detail: "mailbox full".into(),
        };
        assert_eq!(next_status(Sent, &note), None);
    }

    /// Receipts that name Herald's message alone (an account reporting for its own provider):
    /// they apply to what that provider took, settle a send whose answer never came, and are
    /// refused for a message another provider took.
    #[tokio::test]
    async fn receipts_naming_heralds_message_alone_apply_to_what_the_source_took() {
        use crate::common::queue::MemoryQueue;
        use crate::messaging::log::memory::MemoryMessageLog;
        use crate::messaging::log::{Attempt, AttemptOutcome, Content, Leg};
        use crate::messaging::message::{PhoneNumber, SmsMessage, SmsText};
        use time::macros::datetime;

        let now = datetime!(2030-01-01 00:00:00 UTC);
        let log = Arc::new(MemoryMessageLog::new());
        let tracker = StatusTracker {
            log: log.clone(),
            events: EventPublisher::new(Arc::new(MemoryQueue::default())),
            clock: Arc::new(crate::common::clock::ManualClock::at(now)),
        };
        let account = AccountId::parse("acme").expect("valid");
        let record = |id: &str, provider: &str, outcome: AttemptOutcome| {
            let mut r = MessageRecord::queued(
                MessageId::parse(id).expect("a ULID"),
                account.clone(),
                Content::Sms(SmsMessage {
                    to: PhoneNumber::parse("+4712345678").expect("valid"),
                    text: SmsText::parse("hello").expect("valid"),
                }),
                vec![],
                now,
                time::Duration::days(90),
            );
            let mut attempt = Attempt::started(provider, Some(Leg::Primary), now);
            attempt.outcome = outcome;
            if outcome == AttemptOutcome::Accepted {
                attempt.provider_message_id = Some("own-1".into());
                r.sent_via = Some(provider.to_owned());
                r.set_status(MessageStatus::Sent, now, None);
            }
            r.push_attempt(attempt);
            r
        };
        let taken = record(
            "01JD6ZK5Q2V7X8Y9Z0A1B2C3D4",
            "custom",
            AttemptOutcome::Accepted,
        );
        let unknown = record(
            "01JD6ZK5Q2V7X8Y9Z0A1B2C3D5",
            "custom",
            AttemptOutcome::Unknown,
        );
        let elsewhere = record(
            "01JD6ZK5Q2V7X8Y9Z0A1B2C3D6",
            "twilio",
            AttemptOutcome::Accepted,
        );
        for r in [&taken, &unknown, &elsewhere] {
            log.create(r, None).await.expect("created");
        }
        let report = |r: &MessageRecord, receipt| StatusUpdate {
            account_id: account.clone(),
            channel: Channel::Sms,
            message_id: r.id.clone(),
            receipt,
            source: "custom",
            provider_message_id: None,
            names_message: true,
            at: None,
            raw: json!({"status": "reported"}),
        };
        let sent = Receipt::Note {
            kind: NoteKind::ProviderStatus,
            detail: "sent".into(),
        };
        assert_eq!(
            tracker
                .apply(&report(&taken, Receipt::Delivered))
                .await
                .expect("applied"),
            Applied::Changed(MessageStatus::Delivered)
        );
        assert_eq!(
            tracker
                .apply(&report(&taken, sent.clone()))
                .await
                .expect("applied"),
            Applied::Recorded(MessageStatus::Delivered)
        );
        // A "sent" settles the unknown outcome, and says it did.
        assert_eq!(
            tracker
                .apply(&report(&unknown, sent))
                .await
                .expect("applied"),
            Applied::Changed(MessageStatus::Sent)
        );
        let settled = log
            .get(&account, Channel::Sms, &unknown.id, now)
            .await
            .expect("read")
            .expect("logged");
        assert_eq!(settled.sent_via.as_deref(), Some("custom"));
        assert_eq!(settled.provider_message_id(), Some(unknown.id.as_str()));
        assert!(settled.receipts[0].applied);
        assert_eq!(
            tracker
                .apply(&report(&elsewhere, Receipt::Delivered))
                .await
                .expect("applied"),
            Applied::Mismatch
        );
    }

    /// The `eventData` of every status event, field for field: what the message is, who took
    /// it, and why it failed.
    #[tokio::test]
    async fn status_events_carry_the_message_and_why_it_failed() {
        use crate::common::queue::MemoryQueue;
        use crate::events::webhook::Event;
        use crate::messaging::dispatch::SendJob;
        use crate::messaging::email::EmailAddress;
        use crate::messaging::log::memory::MemoryMessageLog;
        use crate::messaging::log::{Attempt, Content, Leg};
        use crate::messaging::message::{
            BodyPart, EmailMessage, PhoneNumber, SmsMessage, SmsText, Subject, Tag,
        };
        use time::macros::datetime;

        let now = datetime!(2030-01-01 00:00:00 UTC);
        let log = Arc::new(MemoryMessageLog::new());
        let queue = Arc::new(MemoryQueue::<Event>::default());
        let tracker = StatusTracker {
            log: log.clone(),
            events: EventPublisher::new(queue.clone()),
            clock: Arc::new(crate::common::clock::ManualClock::at(now)),
        };
        let account = AccountId::parse("acme").expect("valid");
        let sent = |id: &str, content: Content, tags: &[&str], provider: &str, taken_as: &str| {
            let mut r = MessageRecord::queued(
                MessageId::parse(id).expect("a ULID"),
                account.clone(),
                content,
                tags.iter().map(|t| Tag::parse(t).expect("a tag")).collect(),
                now,
                time::Duration::days(90),
            );
            let mut attempt = Attempt::started(provider, None, now);
            attempt.provider_message_id = Some(taken_as.to_owned());
            r.push_attempt(attempt);
            r.sent_via = Some(provider.to_owned());
            r.set_status(MessageStatus::Sent, now, None);
            r
        };
        let sms = |to: &str| {
            Content::Sms(SmsMessage {
                to: PhoneNumber::parse(to).expect("valid"),
                text: SmsText::parse("hello").expect("valid"),
            })
        };
        let delivered = sent(
            "01JD6ZK5Q2V7X8Y9Z0A1B2C3D4",
            sms("+4712345678"),
            &["order-42", "eu"],
            "twilio",
            "SM1",
        );
        let undelivered = sent(
            "01JD6ZK5Q2V7X8Y9Z0A1B2C3D5",
            sms("+4712345679"),
            &[],
            "vonage",
            "0A01",
        );
        let bounced = sent(
            "01JD6ZK5Q2V7X8Y9Z0A1B2C3D6",
            Content::Email(EmailMessage {
                to: vec![
                    EmailAddress::parse("a@example.com").expect("valid"),
                    EmailAddress::parse("b@example.com").expect("valid"),
                ],
                subject: Subject::parse("Please sign").expect("valid"),
                text: Some(BodyPart::parse("Sign here").expect("valid")),
                html: None,
                from: None,
                reply_to: None,
                list_unsubscribe: None,
            }),
            &["order-42"],
            "ses",
            "ses-1",
        );
        let mut dead = MessageRecord::queued(
            MessageId::parse("01JD6ZK5Q2V7X8Y9Z0A1B2C3D7").expect("a ULID"),
            account.clone(),
            sms("+4712345670"),
            vec![],
            now,
            time::Duration::days(90),
        );
        let mut failed = Attempt::started("twilio", Some(Leg::Primary), now);
        failed.outcome = crate::messaging::log::AttemptOutcome::TemporaryFailure;
        failed.reason = Some("Twilio answered 503".into());
        dead.push_attempt(failed);
        for r in [&delivered, &undelivered, &bounced, &dead] {
            log.create(r, None).await.expect("created");
        }
        let update = |r: &MessageRecord, source, taken_as: &str, receipt| StatusUpdate {
            account_id: account.clone(),
            channel: r.channel(),
            message_id: r.id.clone(),
            receipt,
            source,
            provider_message_id: Some(taken_as.to_owned()),
            names_message: true,
            at: None,
            raw: Value::Null,
        };
        for (update, status) in [
            (
                update(&delivered, "twilio", "SM1", Receipt::Delivered),
                MessageStatus::Delivered,
            ),
            (
                update(
                    &undelivered,
                    "vonage",
                    "0A01",
                    Receipt::Failed {
                        reason: "Vonage reports the message failed (error 6)".into(),
                        code: Some("6".into()),
                    },
                ),
                MessageStatus::Failed,
            ),
            (
                update(
                    &bounced,
                    "ses",
                    "ses-1",
                    Receipt::Failed {
                        reason: "Permanent bounce (General)".into(),
                        code: None,
                    },
                ),
                MessageStatus::Failed,
            ),
        ] {
            assert_eq!(
                tracker.apply(&update).await.expect("applied"),
                Applied::Changed(status)
            );
        }
        let job = SendJob {
            account_id: account.clone(),
            channel: Channel::Sms,
            message_id: dead.id.clone(),
        };
        crate::messaging::dispatch::give_up(log.as_ref(), &tracker.events, now, &job)
            .await
            .expect("given up");

        let published: Vec<(String, Value)> = queue
            .jobs()
            .iter()
            .map(|e| {
                (
                    e.event_name().as_str().to_owned(),
                    Value::Object(e.event_data().clone()),
                )
            })
            .collect();
        assert_eq!(
            published,
            [
                (
                    "sms.delivered".to_owned(),
                    json!({"messageId": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D4", "channel": "sms",
                           "status": "delivered", "to": "+4712345678", "provider": "twilio",
                           "tags": ["order-42", "eu"]})
                ),
                (
                    "sms.failed".to_owned(),
                    json!({"messageId": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D5", "channel": "sms",
                           "status": "failed", "to": "+4712345679", "provider": "vonage",
                           "tags": [], "reason": "Vonage reports the message failed (error 6)",
                           "code": "6"})
                ),
                (
                    "email.failed".to_owned(),
                    json!({"messageId": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D6", "channel": "email",
                           "status": "failed", "to": "a@example.com, b@example.com",
                           "provider": "ses", "tags": ["order-42"],
                           "reason": "Permanent bounce (General)"})
                ),
                (
                    "sms.failed".to_owned(),
                    json!({"messageId": "01JD6ZK5Q2V7X8Y9Z0A1B2C3D7", "channel": "sms",
                           "status": "failed", "to": "+4712345670", "tags": [],
                           "reason": "not sent: every try of this message failed; the last: Twilio answered 503"})
                ),
            ]
        );
    }
}
