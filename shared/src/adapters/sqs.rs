//! The job queue port on Amazon SQS: each job one JSON message body, sent alone with its delay
//! or in batches of at most ten messages and 256 KiB.

use std::marker::PhantomData;

use async_trait::async_trait;
use serde::Serialize;

use crate::common::queue::{JobQueue, QueueError, batches};

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
