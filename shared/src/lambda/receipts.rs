//! `delivery-status`: receipts from SES (event notifications on an SQS queue) and from SNS
//! (SMS delivery status lines, from a CloudWatch Logs subscription filter), applied to the
//! message log by [`StatusTracker`].

use std::sync::Arc;

use aws_lambda_events::event::cloudwatch_logs::{LogData, LogsEvent};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::adapters::aws::Clients;
use crate::adapters::dynamo::message_log::DynamoMessageLog;
use crate::adapters::sqs::SqsQueue;
use crate::common::clock::SystemClock;
use crate::common::config::{ConfigError, EnvReader};
use crate::common::store::StoreError;
use crate::events::publish::EventPublisher;
use crate::lambda::sqs_batch::run_raw_batch;
use crate::messaging::receipts::{Applied, StatusTracker, StatusUpdate, ses, sns};

/// `delivery-status`'s configuration: the log it updates, where its events go.
#[derive(Debug, Clone)]
pub struct StatusConfig {
    pub messages_table: String,
    pub events_queue_url: String,
}

impl StatusConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut env = EnvReader::from_process();
        let messages_table = env.required("HERALD_MESSAGES_TABLE");
        let events_queue_url = env.required("HERALD_EVENTS_QUEUE_URL");
        env.finish(Some(Self {
            messages_table,
            events_queue_url,
        }))
    }

    pub fn tracker(&self, aws: &Clients) -> StatusTracker {
        StatusTracker {
            log: Arc::new(DynamoMessageLog::new(aws.dynamo(), &self.messages_table)),
            events: EventPublisher::new(Arc::new(SqsQueue::new(aws.sqs(), &self.events_queue_url))),
            clock: Arc::new(SystemClock),
        }
    }
}

/// `delivery-status`'s SQS handler: each record an SES event notification. One that names no
/// message of Herald's, or says nothing about status, is done with; one that is not an SES
/// event notification at all is failed alone, as on every other queue: after the redrive
/// count it rests in the status dead-letter queue, where an operator can read it.
pub async fn handle_batch(event: SqsEvent, tracker: &StatusTracker) -> SqsBatchResponse {
    run_raw_batch(event, |id, body| async move {
        match ses::parse(&body) {
            Ok(Some(update)) => match tracker.apply(&update).await {
                // Dispatch has not recorded SES's id yet: the record comes back.
                Ok(Applied::NotYet) => false,
                Ok(_) => true,
                Err(e) => {
                    tracing::error!(record = %id, error = %e, "receipt not applied; will retry");
                    false
                }
            },
            Ok(None) => true,
            Err(e) => {
                tracing::error!(record = %id, error = %e, "malformed status record; left for the dead-letter queue");
                false
            }
        }
    })
    .await
}

/// `delivery-status`'s SNS SMS handler: each line of a CloudWatch Logs batch one SMS's
/// delivery status. A line that is not one, or names no message of Herald's, is logged and
/// dropped; a failed write fails the invocation, which Lambda retries (applying a receipt
/// twice changes nothing). Returns how many lines were recorded against a message.
pub async fn handle_sns_logs(data: LogData, tracker: &StatusTracker) -> Result<usize, StoreError> {
    let mut recorded = 0;
    let mut failed = None;
    for entry in data.log_events {
        let status = match sns::parse(&entry.message) {
            Ok(status) => status,
            Err(e) => {
                tracing::warn!(log_group = %data.log_group, entry = %entry.id, error = %e, "not an SNS SMS delivery status line; dropped");
                continue;
            }
        };
        let key = match tracker
            .log
            .find_by_provider_id("sns", &status.sns_message_id)
            .await
        {
            Ok(Some(key)) => key,
            Ok(None) => {
                tracing::warn!(sns_message = %status.sns_message_id, "delivery status for an SMS Herald does not know; dropped");
                continue;
            }
            Err(e) => {
                failed = Some(e);
                continue;
            }
        };
        let update = StatusUpdate {
            account_id: key.account_id,
            channel: key.channel,
            message_id: key.message_id,
            receipt: status.receipt,
            source: "sns",
            provider_message_id: Some(status.sns_message_id.clone()),
            names_message: false,
            at: status.at,
            raw: status.raw,
        };
        match tracker.apply(&update).await {
            Ok(_) => recorded += 1,
            Err(e) => failed = Some(e),
        }
    }
    match failed {
        Some(e) => {
            tracing::error!(error = %e, "delivery status not applied; the invocation is retried");
            Err(e)
        }
        None => Ok(recorded),
    }
}

/// What `delivery-status` is invoked with: SQS records (SES event notifications) or, from a
/// subscription filter, a CloudWatch Logs batch (SNS SMS delivery status).
pub async fn handle_invocation(
    payload: Value,
    tracker: &StatusTracker,
) -> Result<Value, crate::lambda::Error> {
    if payload.get("awslogs").is_some() {
        // From a reference: the log data's decoder borrows its base64 text.
        let logs = LogsEvent::deserialize(&payload)?;
        let recorded = handle_sns_logs(logs.aws_logs.data, tracker).await?;
        return Ok(json!({"recorded": recorded}));
    }
    let event = SqsEvent::deserialize(payload)?;
    Ok(serde_json::to_value(handle_batch(event, tracker).await)?)
}

/// `delivery-status`: SES event notifications from its queue, SNS SMS delivery status lines
/// from CloudWatch Logs.
pub struct DeliveryStatus {
    tracker: StatusTracker,
}

impl DeliveryStatus {
    pub async fn from_env() -> Result<Self, crate::lambda::Error> {
        let config = StatusConfig::from_env()?;
        let aws = crate::adapters::aws::clients().await;
        Ok(Self {
            tracker: config.tracker(&aws),
        })
    }

    pub async fn handle(&self, payload: Value) -> Result<Value, crate::lambda::Error> {
        handle_invocation(payload, &self.tracker).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_malformed_record_fails_alone_and_the_others_are_done() {
        let tracker = StatusTracker {
            log: Arc::new(crate::messaging::log::memory::MemoryMessageLog::new()),
            events: EventPublisher::new(Arc::new(crate::common::queue::MemoryQueue::default())),
            clock: Arc::new(crate::common::clock::SystemClock),
        };
        let event: SqsEvent = serde_json::from_value(json!({
            "Records": [
                {"messageId": "garbage", "body": "{not json", "eventSource": "aws:sqs"},
                {"messageId": "send", "eventSource": "aws:sqs", "body": json!({
                    "Type": "Notification",
                    "Message": json!({"eventType": "Send", "mail": {"messageId": "x", "tags": {}}}).to_string()
                }).to_string()},
            ]
        }))
        .expect("an SQS event");
        let response = handle_batch(event, &tracker).await;
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["garbage"]);
    }
}
