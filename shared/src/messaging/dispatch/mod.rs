//! Sending what the send queue holds, and recording every attempt in the message log.
//!
//! At least once without double sends: a dispatcher first *claims* the queued message (a
//! conditional write), sends, then records the outcome (another conditional write). A
//! redelivered queue record finds the message claimed or no longer queued and sends nothing.
//! The one window left is a crash after the provider took the message and before the outcome
//! is written: the claim then lapses and the message is sent again.

pub mod email;
pub mod sms;

use serde::Serialize;
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::clock::to_millis;
pub use crate::messaging::log::{Attempt, Leg};
use crate::messaging::log::{AttemptOutcome, MessageId, MessageLog, MessageRecord};
use crate::messaging::message::{Channel, MessageStatus};
use crate::messaging::senders::{Accepted, Failure, FailureKind};

/// A message to send: what `send-dispatch` reads from the send queue. It names the log record,
/// which holds the content, so a queued job never carries recipients or bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendJob {
    pub account_id: AccountId,
    pub channel: Channel,
    pub message_id: MessageId,
}

/// How long a claim holds: longer than a provider call may take, shorter than the queue's
/// visibility timeout, so a crashed dispatcher's message is retried on redelivery.
pub const CLAIM: time::Duration = time::Duration::seconds(45);

/// What became of a queue record; the Lambda reports `Retry` as a batch item failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    Failed,
    /// The primary failed temporarily; the secondary provider's turn is queued.
    FailedOver,
    /// Not done: the queue should deliver the record again later.
    Retry,
    /// Nothing to do: unknown, expired, already sent or failed, or claimed by another.
    Skipped,
}

/// How long a job whose send failed temporarily waits before it comes back: the visibility
/// timeout of the send and failover queues in `template.yaml` (a test holds the two equal).
pub const RETRY_AFTER: time::Duration = time::Duration::seconds(180);

/// When the next attempt of a job that will come back is due, as the log shows it.
pub(crate) fn next_attempt_at(
    outcome: &Outcome,
    now: time::OffsetDateTime,
) -> Option<time::OffsetDateTime> {
    (*outcome == Outcome::Retry).then(|| to_millis(now + RETRY_AFTER))
}

/// A queued message ready for a dispatcher, or what to report instead.
pub(crate) enum Loaded {
    Ready(Box<MessageRecord>),
    Done(Outcome),
}

/// Reads the job's record and says whether it still needs sending.
pub(crate) async fn load(
    log: &dyn MessageLog,
    job: &SendJob,
    now: OffsetDateTime,
) -> Result<Loaded, DispatchError> {
    let Some(record) = log
        .get(&job.account_id, job.channel, &job.message_id, now)
        .await?
    else {
        tracing::warn!(account = %job.account_id, message = %job.message_id, "no such message (expired or never logged); dropped");
        return Ok(Loaded::Done(Outcome::Skipped));
    };
    if record.status != MessageStatus::Queued {
        tracing::info!(account = %job.account_id, message = %job.message_id, status = record.status.as_str(), "already handled; nothing sent");
        return Ok(Loaded::Done(Outcome::Skipped));
    }
    if record.claimed_at(now) {
        // Another dispatcher is sending it now; look again when the queue redelivers.
        return Ok(Loaded::Done(Outcome::Retry));
    }
    Ok(Loaded::Ready(Box::new(record)))
}

/// Claims the record: until the claim lapses no other dispatcher sends it. `false` when
/// another dispatcher changed it first.
pub(crate) async fn claim(
    log: &dyn MessageLog,
    record: &mut MessageRecord,
    now: OffsetDateTime,
) -> Result<bool, DispatchError> {
    record.claimed_until = Some(to_millis(now + CLAIM));
    record.enqueued = true;
    match log.replace(record).await {
        Ok(()) => Ok(true),
        Err(crate::common::store::StoreError::PreconditionFailed) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Ends a message whose job reached its dead-letter queue: every delivery of the job ended
/// without an outcome (the dispatcher errored, crashed or ran out of time), and a message must
/// not stay `queued` for ever. It ends `failed` with the last attempt's reason, and its
/// `{channel}.failed` event is published.
///
/// A message still claimed is left for now (`Retry`): its last dispatcher may yet record an
/// outcome, and the dead-letter record comes back after the claim lapses.
pub async fn give_up(
    log: &dyn MessageLog,
    events: &crate::events::publish::EventPublisher,
    now: OffsetDateTime,
    job: &SendJob,
) -> Result<Outcome, DispatchError> {
    let mut record = match load(log, job, now).await? {
        Loaded::Ready(record) => *record,
        Loaded::Done(outcome) => return Ok(outcome),
    };
    let last = record.attempts.last().and_then(|a| a.reason.clone());
    let reason = match last {
        Some(last) => format!("not sent: every try of this message failed; the last: {last}"),
        None => "not sent: every try of this message failed before a provider was reached".into(),
    };
    record.claimed_until = None;
    record.next_attempt_at = None;
    record.set_status(MessageStatus::Failed, now, Some(reason.clone()));
    match log.replace(&mut record).await {
        Ok(()) => {}
        // Another dispatcher moved it first: look again on the next delivery.
        Err(crate::common::store::StoreError::PreconditionFailed) => return Ok(Outcome::Retry),
        Err(e) => return Err(e.into()),
    }
    tracing::error!(account = %job.account_id, message = %job.message_id, reason, "job dead-lettered; message failed");
    crate::messaging::events::publish_status(events, &record, Some(reason), None, now).await;
    Ok(Outcome::Failed)
}

/// Fills an attempt from a provider's answer.
pub(crate) fn settle(attempt: &mut Attempt, result: &Result<Accepted, Failure>) {
    match result {
        Ok(accepted) => {
            attempt.provider_message_id = Some(accepted.provider_message_id.clone());
            attempt.response = accepted.response.clone();
        }
        Err(failure) => {
            attempt.outcome = match failure.kind {
                FailureKind::Temporary => AttemptOutcome::TemporaryFailure,
                FailureKind::Permanent => AttemptOutcome::PermanentFailure,
                FailureKind::Unknown => AttemptOutcome::Unknown,
            };
            attempt.reason = Some(failure.reason.clone());
            attempt.code = failure.code.clone();
            attempt.response = failure.response.clone();
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] crate::common::store::StoreError),
    #[error(transparent)]
    Queue(#[from] crate::common::queue::QueueError),
    #[error(transparent)]
    Seal(#[from] crate::common::seal::SealError),
}
