//! Taking a message in: logged as `queued` (claiming its idempotency key in the same write),
//! then queued for `send-dispatch`. The API's send routes and notifications both send this
//! way, so a notification is a message like any other: the account's sender and providers,
//! failover, the message log.

use std::sync::Arc;

use crate::common::idempotency::IdempotencyClaim;
use crate::common::queue::{JobQueue, QueueError};
use crate::common::store::StoreError;
use crate::messaging::dispatch::SendJob;
use crate::messaging::log::{Created, MessageLog, MessageRecord};

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The key was claimed by a different request.
    #[error("the idempotency key was used for a different request")]
    Mismatch,
    /// Logged, but not queued: a repeat with the same key queues it.
    #[error("the message was logged but could not be queued: {0}")]
    NotQueued(QueueError),
}

#[derive(Clone)]
pub struct Intake {
    pub messages: Arc<dyn MessageLog>,
    pub send_queue: Arc<dyn JobQueue<SendJob>>,
}

impl Intake {
    /// Logs and queues `record`; with `claim`, a repeat of the key answers the first record
    /// (`true`: replayed). `any_request` accepts a repeat whatever it asked for: for callers
    /// whose key names the occurrence itself, not a client's request.
    pub async fn accept(
        &self,
        record: MessageRecord,
        claim: Option<&IdempotencyClaim>,
        any_request: bool,
    ) -> Result<(MessageRecord, bool), AcceptError> {
        let (record, replayed) = match self.messages.create(&record, claim).await? {
            Created::New => (record, false),
            Created::Replay {
                id,
                request_hash: first,
            } => {
                if !any_request && claim.is_none_or(|c| c.request_hash != first) {
                    return Err(AcceptError::Mismatch);
                }
                let first = self
                    .messages
                    .get(&record.account_id, record.channel(), &id, record.created_at)
                    .await?
                    .ok_or_else(|| {
                        StoreError::Unavailable("idempotency claim names no record".into())
                    })?;
                (first, true)
            }
        };
        // Until a dispatcher takes the message (and sets `enqueued`), a replay enqueues its job
        // again: the first attempt may have logged it and failed to enqueue it. A job that did
        // arrive twice is sent once (dispatch claims the message and skips what is not queued),
        // so the first attempt need not spend a write on noting that its job was queued.
        if !record.enqueued {
            let job = SendJob {
                account_id: record.account_id.clone(),
                channel: record.channel(),
                message_id: record.id.clone(),
            };
            if let Err(e) = self.send_queue.enqueue(&job).await {
                tracing::error!(account = %record.account_id, message = %record.id, error = %e, "enqueue failed");
                return Err(AcceptError::NotQueued(e));
            }
        }
        Ok((record, replayed))
    }
}
