//! SQS events as the Lambda service delivers them.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde_json::Value;

/// One SQS event with one record per body, each received for the first time.
pub fn event(bodies: impl IntoIterator<Item = Value>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let mut record = SqsMessage::default();
            record.message_id = Some(format!("record-{i}"));
            record.body = Some(body.to_string());
            record
                .attributes
                .insert("ApproximateReceiveCount".into(), "1".into());
            record
        })
        .collect();
    event
}
