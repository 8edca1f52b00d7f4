//! Job queues. The port is [`JobQueue`]: the API enqueues send jobs, and later functions enqueue
//! failovers, deliveries and events the same way. [`SqsQueue`] sends JSON bodies to an SQS queue;
//! [`MemoryQueue`] keeps them for unit tests.

use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::account::AccountId;
use crate::message::Channel;
use crate::message_log::MessageId;

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
    async fn enqueue(&self, job: &J) -> Result<(), QueueError>;
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
    async fn enqueue(&self, job: &J) -> Result<(), QueueError> {
        let body = serde_json::to_string(job).map_err(|e| QueueError(Box::new(e)))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| QueueError(Box::new(aws_sdk_sqs::Error::from(e))))?;
        Ok(())
    }
}

/// Jobs kept in memory, in order, for tests.
pub struct MemoryQueue<J> {
    jobs: Mutex<Vec<J>>,
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
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl<J: Clone + Send + Sync + Serialize + DeserializeOwned> JobQueue<J> for MemoryQueue<J> {
    async fn enqueue(&self, job: &J) -> Result<(), QueueError> {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(job.clone());
        Ok(())
    }
}
