//! Job queues. The port is [`JobQueue`]: the API enqueues send jobs, and later functions enqueue
//! failovers, deliveries and events the same way. [`SqsQueue`] sends JSON bodies to an SQS queue;
//! [`MemoryQueue`] keeps them for unit tests.

use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::common::account::AccountId;
use crate::messaging::log::MessageId;
use crate::messaging::message::Channel;

/// A message to send: what `send-dispatch` reads from the send queue. It names the log record,
/// which holds the content, so a queued job never carries recipients or bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendJob {
    pub account_id: AccountId,
    pub channel: Channel,
    pub message_id: MessageId,
}

#[derive(Debug, thiserror::Error)]
#[error("the queue refused the job")]
pub struct QueueError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

#[async_trait]
pub trait JobQueue<J: Send + Sync>: Send + Sync {
    async fn enqueue(&self, job: &J) -> Result<(), QueueError> {
        self.enqueue_after(job, 0).await
    }

    /// Enqueues `job` to become visible after `delay_secs` (SQS allows at most 900).
    async fn enqueue_after(&self, job: &J, delay_secs: i32) -> Result<(), QueueError>;

    /// Enqueues every job, as few calls as the queue allows (SQS: ten a call).
    async fn enqueue_all(&self, jobs: &[J]) -> Result<(), QueueError> {
        for job in jobs {
            self.enqueue(job).await?;
        }
        Ok(())
    }
}

/// SQS takes at most this many messages in one `SendMessageBatch`.
pub const SQS_BATCH: usize = 10;

/// ... and at most this many bytes in all (256 KiB, the limit every region has had).
pub const SQS_BATCH_BYTES: usize = 256 * 1024;

/// Cuts `bodies` into batches SQS accepts: at most [`SQS_BATCH`] messages and
/// [`SQS_BATCH_BYTES`] bytes each (a message alone is never over the limit of one message).
pub fn batches(bodies: &[String]) -> Vec<&[String]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, body) in bodies.iter().enumerate() {
        let full = i - start == SQS_BATCH || (i > start && bytes + body.len() > SQS_BATCH_BYTES);
        if full {
            out.push(&bodies[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += body.len();
    }
    if start < bodies.len() {
        out.push(&bodies[start..]);
    }
    out
}

pub struct SqsQueue<J> {
    client: aws_sdk_sqs::Client,
    url: String,
    _job: PhantomData<fn(J)>,
}

impl<J> SqsQueue<J> {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
            _job: PhantomData,
        }
    }
}

#[async_trait]
impl<J: Serialize + Send + Sync> JobQueue<J> for SqsQueue<J> {
    async fn enqueue_after(&self, job: &J, delay_secs: i32) -> Result<(), QueueError> {
        let body = serde_json::to_string(job).map_err(|e| QueueError(Box::new(e)))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .set_delay_seconds((delay_secs > 0).then_some(delay_secs.min(900)))
            .send()
            .await
            .map_err(|e| QueueError(Box::new(aws_sdk_sqs::Error::from(e))))?;
        Ok(())
    }

    async fn enqueue_all(&self, jobs: &[J]) -> Result<(), QueueError> {
        let bodies = jobs
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| QueueError(Box::new(e)))?;
        for chunk in batches(&bodies) {
            let mut request = self.client.send_message_batch().queue_url(&self.url);
            for (i, body) in chunk.iter().enumerate() {
                let entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body.as_str())
                    .build()
                    .map_err(|e| QueueError(Box::new(e)))?;
                request = request.entries(entry);
            }
            let out = request
                .send()
                .await
                .map_err(|e| QueueError(Box::new(aws_sdk_sqs::Error::from(e))))?;
            // A batch call succeeds as a whole even when some entries failed: those must be
            // reported, or their jobs would be lost silently.
            if let Some(failed) = out.failed.first() {
                return Err(QueueError(
                    format!(
                        "{} of {} messages refused; first: {} {}",
                        out.failed.len(),
                        chunk.len(),
                        failed.code,
                        failed.message.as_deref().unwrap_or("")
                    )
                    .into(),
                ));
            }
        }
        Ok(())
    }
}

/// Jobs kept in memory, in order, with the delay each was enqueued with, for tests.
pub struct MemoryQueue<J> {
    jobs: Mutex<Vec<(J, i32)>>,
}

impl<J> Default for MemoryQueue<J> {
    fn default() -> Self {
        Self {
            jobs: Mutex::new(Vec::new()),
        }
    }
}

impl<J: Clone> MemoryQueue<J> {
    pub fn jobs(&self) -> Vec<J> {
        self.delayed().into_iter().map(|(j, _)| j).collect()
    }

    /// Every job with its delay in seconds.
    pub fn delayed(&self) -> Vec<(J, i32)> {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes every job out, as a consumer would.
    pub fn drain(&self) -> Vec<(J, i32)> {
        std::mem::take(&mut *self.jobs.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait]
impl<J: Clone + Send + Sync + Serialize + DeserializeOwned> JobQueue<J> for MemoryQueue<J> {
    async fn enqueue_after(&self, job: &J, delay_secs: i32) -> Result<(), QueueError> {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((job.clone(), delay_secs));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_ten_messages_and_256_kib_at_most() {
        let small: Vec<String> = (0..25).map(|i| i.to_string()).collect();
        let sizes: Vec<usize> = batches(&small).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [10, 10, 5]);
        // 100 KiB each: two fit, a third would not.
        let large: Vec<String> = (0..5).map(|_| "x".repeat(100 * 1024)).collect();
        let sizes: Vec<usize> = batches(&large).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [2, 2, 1]);
        assert!(batches(&[]).is_empty());
    }
}
