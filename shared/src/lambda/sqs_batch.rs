//! Running an SQS batch: every record on its own (one bad record never fails its batch), all
//! at once, with the failures reported back as `batchItemFailures` so that only they are
//! delivered again (the event source mapping has `ReportBatchItemFailures`).

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use serde::de::DeserializeOwned;

use crate::adapters::sqs::Outbox;

/// A record's body parsed as `J`, with how often the queue has delivered it.
pub struct Delivery<J> {
    pub job: J,
    pub receive_count: u32,
}

/// Whether a record was handled (`true`) or must be delivered again (`false`).
pub async fn run_batch<J, F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    J: DeserializeOwned,
    F: Fn(Delivery<J>) -> Fut,
    Fut: Future<Output = bool>,
{
    let handle = &handle;
    each_record(event, |record| async move {
        match parse::<J>(&record) {
            Ok(delivery) => handle(delivery).await,
            Err(e) => {
                // Retrying cannot fix it; failing it alone sends it to the dead-letter queue
                // after the redrive count, where an operator can look at it.
                let id = record.message_id.as_deref().unwrap_or_default();
                tracing::error!(record = %id, error = %e, "malformed queue record");
                false
            }
        }
    })
    .await
}

/// Like [`run_batch`], for records whose bodies the handler reads itself: it gets each
/// record's message id and body.
pub async fn run_raw_batch<F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(String, String) -> Fut,
    Fut: Future<Output = bool>,
{
    let handle = &handle;
    each_record(event, |record| async move {
        let id = record.message_id.unwrap_or_default();
        handle(id, record.body.unwrap_or_default()).await
    })
    .await
}

/// What [`Outbox::run`] answers for a batch: each record's outcome, and those it failed.
type Ran<'a> = Pin<Box<dyn Future<Output = (Vec<bool>, BTreeSet<usize>)> + 'a>>;

/// Runs `handle` on every record at once; the ones it returns `false` for are the batch item
/// failures, and so are those a message of which the batch's outbox could not send (see
/// [`Outbox`]).
async fn each_record<F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = bool>,
{
    let ids: Vec<String> = event
        .records
        .iter()
        .map(|r| r.message_id.clone().unwrap_or_default())
        .collect();
    let handle = &handle;
    let records: Vec<_> = event.records.into_iter().map(handle).collect();
    // Boxed as a trait object: the handlers' futures, inside the outbox's scopes, nest deeper
    // than the compiler's default limit allows when it lays out the functions' futures.
    let run: Ran<'_> = Box::pin(Outbox::run(records));
    let (handled, unsent) = run.await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = ids
        .into_iter()
        .zip(handled)
        .enumerate()
        .filter(|(i, (_, ok))| !ok || unsent.contains(i))
        .map(|(_, (id, _))| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}

fn parse<J: DeserializeOwned>(record: &SqsMessage) -> Result<Delivery<J>, String> {
    let body = record.body.as_deref().ok_or("no body")?;
    let job = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let receive_count = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    Ok(Delivery { job, receive_count })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(bodies: &[&str]) -> SqsEvent {
        serde_json::from_value(json!({
            "Records": bodies.iter().enumerate().map(|(i, b)| json!({
                "messageId": format!("m{i}"),
                "receiptHandle": "r",
                "body": b,
                "attributes": {"ApproximateReceiveCount": "2"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1"
            })).collect::<Vec<_>>()
        }))
        .expect("an SQS event")
    }

    #[tokio::test]
    async fn bad_records_fail_alone() {
        let response = run_batch(
            event(&["{\"n\": 1}", "not json", "{\"n\": 2}", "{\"n\": 3}"]),
            |d: Delivery<serde_json::Value>| async move {
                assert_eq!(d.receive_count, 2);
                d.job["n"] != 2
            },
        )
        .await;
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["m1", "m2"]);
    }
}
