//! A send job that reached its dead-letter queue ends its message `failed`, with a reason, on
//! the local stack: the queue found as the send queue's redrive target, the job put there as
//! SQS would move it, and the outcome read through the API.

use herald::adapters::dynamo::message_log::DynamoMessageLog;
use herald::messaging::log::{Content, MessageId, MessageLog, MessageRecord};
use herald::messaging::message::{PhoneNumber, SmsMessage, SmsText};
use herald_tests::api::Api;
use herald_tests::{aws, enqueue, new_account, queue_url, stack_var};
use serde_json::json;
use time::OffsetDateTime;

/// The dead-letter queue SQS moves `queue`'s failing records to.
async fn dead_letter_queue(queue: &str) -> String {
    let attributes = aws_sdk_sqs::Client::new(&aws().await)
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .expect("queue attributes");
    let policy = attributes
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy))
        .expect("a redrive policy");
    let policy: serde_json::Value = serde_json::from_str(policy).expect("JSON");
    let arn = policy["deadLetterTargetArn"].as_str().expect("target");
    queue_url(arn.rsplit(':').next().expect("a queue name")).await
}

#[tokio::test]
async fn a_dead_lettered_job_fails_its_message_with_the_last_reason() {
    let config = aws().await;
    let log = DynamoMessageLog::new(
        aws_sdk_dynamodb::Client::new(&config),
        stack_var("HERALD_MESSAGES_TABLE"),
    );
    let account = new_account();
    let now = OffsetDateTime::now_utc();
    // A message whose dispatch kept failing: queued, with the attempts it got.
    let mut record = MessageRecord::queued(
        MessageId::new(now),
        account.clone(),
        Content::Sms(SmsMessage {
            to: PhoneNumber::parse("+4712345678").expect("valid"),
            text: SmsText::parse("hello").expect("valid"),
        }),
        vec![],
        now,
        time::Duration::days(1),
    );
    record.push_attempt(
        serde_json::from_value(
            json!({"provider": "twilio", "leg": "primary", "outcome": "temporaryFailure",
            "at": herald::common::clock::rfc3339(now), "durationMs": 10000, "response": null,
            "reason": "timed out: provider took too long"}),
        )
        .expect("an attempt"),
    );
    log.create(&record, None).await.expect("created");

    let dead_letters = dead_letter_queue(&stack_var("HERALD_SEND_QUEUE_URL")).await;
    let job =
        json!({"accountId": account.as_str(), "channel": "sms", "messageId": record.id.as_str()});
    enqueue(&dead_letters, &[job.to_string()]).await;

    let api = Api::internal(account.as_str());
    let shown = api
        .settled(account.as_str(), "sms", record.id.as_str())
        .await;
    assert_eq!(shown["status"], "failed", "{shown}");
    let reason = shown["statusHistory"]
        .as_array()
        .and_then(|h| h.last())
        .and_then(|c| c["reason"].as_str())
        .unwrap_or_default();
    assert!(reason.contains("every try"), "{reason}");
    assert!(
        reason.contains("timed out: provider took too long"),
        "{reason}"
    );
}
