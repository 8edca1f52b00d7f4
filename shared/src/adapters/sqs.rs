//! The job queue port on Amazon SQS: each job one JSON message body, sent alone with its delay
//! or in batches of at most ten messages and 256 KiB.
//!
//! A queue made [`SqsQueue::batched`] sends nothing while a Lambda works through an SQS batch
//! ([`Outbox::run`]): its messages wait in the batch's outbox, and go out together when every
//! record is done, in one `SendMessageBatch` per ten messages instead of one request each.
//! SQS bills per request, so ten records that each queue one job cost one request, not ten.
//! A message the outbox cannot send fails the record that queued it, so that the queue
//! delivers the record again and its handler queues the message again (every handler that
//! uses a batched queue is safe to run twice): nothing is lost.

use std::collections::BTreeSet;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use serde::Serialize;

use crate::common::queue::{JobQueue, QueueError, batches};

pub struct SqsQueue<J> {
    client: aws_sdk_sqs::Client,
    url: String,
    /// Whether messages queued while a batch runs wait in its outbox.
    batched: bool,
    _job: PhantomData<fn(J)>,
}

impl<J> SqsQueue<J> {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
            batched: false,
            _job: PhantomData,
        }
    }

    /// Sends through the running batch's outbox, if any: for handlers that may run twice.
    pub fn batched(mut self) -> Self {
        self.batched = true;
        self
    }

    /// Leaves the message in the running batch's outbox; hands it back when no batch runs.
    fn leave(&self, body: String, delay_secs: i32) -> Result<(), String> {
        if !self.batched {
            return Err(body);
        }
        let Ok(record) = RECORD.try_with(|r| *r) else {
            return Err(body);
        };
        if OUTBOX.try_with(|_| ()).is_err() {
            return Err(body);
        }
        OUTBOX.with(|outbox| {
            outbox
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Pending {
                    record,
                    client: self.client.clone(),
                    url: self.url.clone(),
                    body,
                    delay_secs,
                });
        });
        Ok(())
    }
}

tokio::task_local! {
    static OUTBOX: Outbox;
    static RECORD: usize;
}

/// A message waiting for the end of its batch.
struct Pending {
    /// The index of the record that queued it.
    record: usize,
    client: aws_sdk_sqs::Client,
    url: String,
    body: String,
    delay_secs: i32,
}

/// The messages an SQS batch's records queued, sent together when all are done.
#[derive(Default)]
pub struct Outbox {
    pending: Mutex<Vec<Pending>>,
}

impl Outbox {
    /// Runs a batch's `records` (its `i`th future handling record `i`), then sends what they
    /// queued. Answers their outputs and the indexes of the records a message of which could
    /// not be sent.
    pub async fn run<F: Future>(records: Vec<F>) -> (Vec<F::Output>, BTreeSet<usize>) {
        OUTBOX
            .scope(Outbox::default(), async move {
                let records = records
                    .into_iter()
                    .enumerate()
                    .map(|(i, record)| RECORD.scope(i, record));
                let outputs = futures::future::join_all(records).await;
                let pending = OUTBOX.with(|outbox| {
                    std::mem::take(
                        &mut *outbox
                            .pending
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner),
                    )
                });
                (outputs, send(pending).await)
            })
            .await
    }
}

/// Sends every message, in order, as few requests as SQS allows; answers the records whose
/// messages were refused.
async fn send(pending: Vec<Pending>) -> BTreeSet<usize> {
    let mut failed = BTreeSet::new();
    let urls: BTreeSet<&str> = pending.iter().map(|p| p.url.as_str()).collect();
    for url in urls {
        let messages: Vec<&Pending> = pending.iter().filter(|p| p.url == url).collect();
        let bodies: Vec<String> = messages.iter().map(|p| p.body.clone()).collect();
        let mut start = 0;
        for chunk in batches(&bodies) {
            let chunk_messages = &messages[start..start + chunk.len()];
            start += chunk.len();
            let client = &chunk_messages[0].client;
            let mut request = client.send_message_batch().queue_url(url);
            for (i, message) in chunk_messages.iter().enumerate() {
                match aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(message.body.as_str())
                    .set_delay_seconds(
                        (message.delay_secs > 0).then_some(message.delay_secs.min(900)),
                    )
                    .build()
                {
                    Ok(entry) => request = request.entries(entry),
                    Err(_) => {
                        failed.insert(message.record);
                    }
                }
            }
            match request.send().await {
                Ok(out) => {
                    for refused in &out.failed {
                        tracing::error!(queue = %url, code = %refused.code, message = refused.message.as_deref().unwrap_or(""), "a queued message was refused; its record will be handled again");
                        if let Some(m) = refused
                            .id
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| chunk_messages.get(i))
                        {
                            failed.insert(m.record);
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(queue = %url, error = %aws_sdk_sqs::Error::from(e), "queued messages could not be sent; their records will be handled again");
                    failed.extend(chunk_messages.iter().map(|m| m.record));
                }
            }
        }
    }
    failed
}

#[async_trait]
impl<J: Serialize + Send + Sync> JobQueue<J> for SqsQueue<J> {
    async fn enqueue_after(&self, job: &J, delay_secs: i32) -> Result<(), QueueError> {
        let body = serde_json::to_string(job).map_err(|e| QueueError(Box::new(e)))?;
        let Err(body) = self.leave(body, delay_secs) else {
            return Ok(());
        };
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
        let mut bodies = bodies.into_iter();
        let bodies: Vec<String> = match bodies.next().map(|first| self.leave(first, 0)) {
            None => return Ok(()),
            // In a batch: the rest wait with the first.
            Some(Ok(())) => {
                for body in bodies {
                    let _ = self.leave(body, 0);
                }
                return Ok(());
            }
            Some(Err(first)) => std::iter::once(first).chain(bodies).collect(),
        };
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::Router;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::post;
    use serde_json::{Value, json};

    use super::*;

    /// What the SQS stand-in was asked, and which entries it refuses.
    #[derive(Default)]
    struct Seen {
        calls: Mutex<Vec<(String, Value)>>,
        refuse_entry: Option<String>,
        refuse_all: bool,
    }

    /// SQS's JSON protocol, as much of it as these tests ask for.
    async fn sqs(
        State(seen): State<Arc<Seen>>,
        headers: HeaderMap,
        body: String,
    ) -> axum::response::Response {
        let target = headers["x-amz-target"].to_str().unwrap_or_default();
        let op = target.rsplit('.').next().unwrap_or_default().to_owned();
        let request: Value = serde_json::from_str(&body).unwrap_or_default();
        seen.calls
            .lock()
            .unwrap()
            .push((op.clone(), request.clone()));
        if seen.refuse_all {
            return (
                StatusCode::BAD_REQUEST,
                [("x-amzn-query-error", "RequestThrottled;Sender")],
                json!({"__type": "com.amazonaws.sqs#RequestThrottled", "message": "Rate exceeded"})
                    .to_string(),
            )
                .into_response();
        }
        let answer = if op == "SendMessageBatch" {
            let (mut ok, mut failed) = (vec![], vec![]);
            for entry in request["Entries"].as_array().into_iter().flatten() {
                let id = entry["Id"].as_str().unwrap_or_default();
                if seen.refuse_entry.as_deref() == Some(id) {
                    failed.push(json!({"Id": id, "SenderFault": false, "Code": "InternalError", "Message": "try again"}));
                } else {
                    ok.push(
                        json!({"Id": id, "MessageId": format!("m-{id}"), "MD5OfMessageBody": "x"}),
                    );
                }
            }
            json!({"Successful": ok, "Failed": failed})
        } else {
            json!({"MessageId": "m", "MD5OfMessageBody": "x"})
        };
        (
            [("content-type", "application/x-amz-json-1.0")],
            answer.to_string(),
        )
            .into_response()
    }

    async fn stand_in(seen: Seen) -> (aws_sdk_sqs::Client, Arc<Seen>) {
        let seen = Arc::new(seen);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().route("/", post(sqs)).with_state(seen.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version_latest()
            .endpoint_url(url)
            .region(aws_sdk_sqs::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::for_tests())
            .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
            .build();
        (aws_sdk_sqs::Client::from_conf(config), seen)
    }

    fn ops(seen: &Seen) -> Vec<String> {
        seen.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(op, _)| op.clone())
            .collect()
    }

    #[tokio::test]
    async fn a_batch_sends_what_its_records_queued_in_one_request_with_their_delays() {
        let (client, seen) = stand_in(Seen::default()).await;
        let queue = SqsQueue::<u32>::new(client, "https://sqs.local/q").batched();
        let queue = &queue;
        let records: Vec<std::pin::Pin<Box<dyn Future<Output = bool>>>> = vec![
            Box::pin(async move { queue.enqueue(&1).await.is_ok() }),
            Box::pin(async move { queue.enqueue_all(&[2, 3]).await.is_ok() }),
            Box::pin(async move { queue.enqueue_after(&4, 30).await.is_ok() }),
            Box::pin(async { true }),
        ];
        let (handled, unsent) = Outbox::run(records).await;
        assert_eq!(handled, [true; 4]);
        assert!(unsent.is_empty());
        assert_eq!(ops(&seen), ["SendMessageBatch"]);
        let calls = seen.calls.lock().unwrap();
        let entries = calls[0].1["Entries"].as_array().unwrap().clone();
        let bodies: Vec<&str> = entries
            .iter()
            .map(|e| e["MessageBody"].as_str().unwrap())
            .collect();
        assert_eq!(bodies, ["1", "2", "3", "4"]);
        assert_eq!(entries[3]["DelaySeconds"], 30);
        assert!(entries[0].get("DelaySeconds").is_none());
    }

    #[tokio::test]
    async fn a_refused_message_fails_the_record_that_queued_it_alone() {
        // Entry "1" is the second message: record 1's.
        let (client, _) = stand_in(Seen {
            refuse_entry: Some("1".into()),
            ..Seen::default()
        })
        .await;
        let queue = SqsQueue::<u32>::new(client, "https://sqs.local/q").batched();
        let queue = &queue;
        let records: Vec<std::pin::Pin<Box<dyn Future<Output = bool>>>> = vec![
            Box::pin(async move { queue.enqueue(&1).await.is_ok() }),
            Box::pin(async move { queue.enqueue(&2).await.is_ok() }),
            Box::pin(async move { queue.enqueue(&3).await.is_ok() }),
        ];
        let (_, unsent) = Outbox::run(records).await;
        assert_eq!(unsent, BTreeSet::from([1]));
    }

    #[tokio::test]
    async fn a_failed_request_fails_every_record_with_a_message_in_it() {
        let (client, _) = stand_in(Seen {
            refuse_all: true,
            ..Seen::default()
        })
        .await;
        let queue = SqsQueue::<u32>::new(client, "https://sqs.local/q").batched();
        let queue = &queue;
        let records: Vec<std::pin::Pin<Box<dyn Future<Output = bool>>>> = vec![
            Box::pin(async move { queue.enqueue(&1).await.is_ok() }),
            Box::pin(async { true }),
            Box::pin(async move { queue.enqueue(&3).await.is_ok() }),
        ];
        let (_, unsent) = Outbox::run(records).await;
        assert_eq!(unsent, BTreeSet::from([0, 2]));
    }

    #[tokio::test]
    async fn outside_a_batch_or_unbatched_a_message_is_sent_at_once() {
        let (client, seen) = stand_in(Seen::default()).await;
        let batched = SqsQueue::<u32>::new(client.clone(), "https://sqs.local/q").batched();
        batched.enqueue(&1).await.unwrap();
        assert_eq!(ops(&seen), ["SendMessage"]);
        let plain = SqsQueue::<u32>::new(client, "https://sqs.local/q");
        let plain = &plain;
        let records: Vec<std::pin::Pin<Box<dyn Future<Output = bool>>>> =
            vec![Box::pin(async move { plain.enqueue(&2).await.is_ok() })];
        Outbox::run(records).await;
        assert_eq!(ops(&seen), ["SendMessage", "SendMessage"]);
    }
}
