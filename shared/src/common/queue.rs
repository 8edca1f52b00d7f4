//! Job queues. The port is [`JobQueue`]: the API enqueues send jobs, and later functions enqueue
//! failovers, deliveries and events the same way. `adapters::sqs` sends JSON bodies to an SQS
//! queue; [`MemoryQueue`] keeps them for unit tests.

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

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
