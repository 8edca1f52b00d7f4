//! What AWS wires up between SQS and Lambda, done locally: each event source mapping of the
//! template polls its queue, invokes its function (through `cargo lambda watch`'s invoke API)
//! with a real SQS event, deletes the records the function handled, and leaves its reported
//! batch item failures to come back after the visibility timeout, as SQS does.
//!
//! The pumps reach moto directly, not through the counting proxy, so they record what they do
//! for each function into the proxy's [`Usage`]: these are requests and invocations AWS bills
//! for the event source mapping.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use serde_json::{Value, json};

use crate::aws_calls::Usage;

pub struct Mapping {
    pub function: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: i32,
}

/// Appends `line` to the pumps' log, where failures are kept rather than shown.
pub fn log(file: &PathBuf, line: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
    {
        let _ = writeln!(f, "{line}");
    }
}

fn event(mapping: &Mapping, messages: &[aws_sdk_sqs::types::Message]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, Value> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": mapping.queue_arn,
                "awsRegion": crate::template::REGION,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Polls one mapping until the task is dropped, recording its work for the function in `usage`.
pub async fn run(
    mapping: Mapping,
    sqs: aws_sdk_sqs::Client,
    lambda_url: String,
    log_file: PathBuf,
    usage: Usage,
) {
    let http = reqwest::Client::new();
    let invoke = format!(
        "{lambda_url}/2015-03-31/functions/{}/invocations",
        mapping.function
    );
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&mapping.queue_url)
            .max_number_of_messages(mapping.batch_size.clamp(1, 10))
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                log(
                    &log_file,
                    &format!("{}: receive failed: {e}", mapping.function),
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Only receives that brought messages are recorded: the empty long polls go on whether
        // or not there is work (AWS's pollers make them too), a fixed cost per queue that no
        // unit of work adds to.
        if messages.is_empty() {
            continue;
        }
        usage.pump(&mapping.function, "sqs:ReceiveMessage", 1);
        // An invocation is billed whether or not the function succeeds.
        usage.pump(&mapping.function, "lambda:Invoke", 1);
        usage.pump(&mapping.function, "records", messages.len() as u64);
        let reply = http
            .post(&invoke)
            .json(&event(&mapping, &messages))
            .send()
            .await;
        let failed: Vec<String> = match reply {
            Ok(r) if r.status().is_success() => {
                let body: Value = r.json().await.unwrap_or(Value::Null);
                body["batchItemFailures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                    .collect()
            }
            // The invocation failed as a whole: every record comes back.
            other => {
                log(
                    &log_file,
                    &format!("{}: invoke failed: {other:?}", mapping.function),
                );
                messages
                    .iter()
                    .filter_map(|m| m.message_id().map(str::to_owned))
                    .collect()
            }
        };
        let done: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .filter(|m| {
                m.message_id()
                    .is_some_and(|id| !failed.iter().any(|f| f == id))
            })
            .enumerate()
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .ok()
            })
            .collect();
        log(
            &log_file,
            &format!(
                "{}: {} record(s), {} to retry",
                mapping.function,
                messages.len(),
                failed.len()
            ),
        );
        if done.is_empty() {
            continue;
        }
        usage.pump(&mapping.function, "sqs:DeleteMessageBatch", 1);
        if let Err(e) = sqs
            .delete_message_batch()
            .queue_url(&mapping.queue_url)
            .set_entries(Some(done))
            .send()
            .await
        {
            log(
                &log_file,
                &format!("{}: delete failed: {e}", mapping.function),
            );
        }
    }
}

/// What EventBridge does for a `Schedule` event: invokes the function with a scheduled event,
/// here every `period` instead of the template's rate, so that a local run sees it work.
pub async fn schedule(function: String, lambda_url: String, period: Duration, log_file: PathBuf) {
    let http = reqwest::Client::new();
    let invoke = format!("{lambda_url}/2015-03-31/functions/{function}/invocations");
    loop {
        tokio::time::sleep(period).await;
        let event = json!({
            "version": "0",
            "id": "00000000-0000-0000-0000-000000000000",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": crate::template::ACCOUNT,
            "time": "1970-01-01T00:00:00Z",
            "region": crate::template::REGION,
            "resources": [],
            "detail": {}
        });
        match http.post(&invoke).json(&event).send().await {
            Ok(r) if r.status().is_success() => {}
            other => log(
                &log_file,
                &format!("{function}: scheduled invocation failed: {other:?}"),
            ),
        }
    }
}
