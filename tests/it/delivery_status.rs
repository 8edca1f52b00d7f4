//! End to end under the local stack: an email goes out through SES, then SES's event
//! notifications (in the shape AWS documents, wrapped by SNS as its SQS subscription delivers
//! them) arrive on the status queue, out of order and twice; the log moves forward only, keeps
//! every receipt, and the matching events reach a subscriber's webhook.

use std::time::Duration;

use herald::common::account::AccountId;
use herald_tests::api::Api;
use herald_tests::receiver::Receiver;
use herald_tests::{new_account, queue_url};
use serde_json::{Value, json};

async fn send_email(api: &Api, account: &AccountId) -> (String, Value) {
    let id = api
        .send_message(
            account.as_str(),
            "email",
            json!({"to": "signer@example.com", "subject": "Please sign", "text": "Sign here",
                   "tags": ["order-42"]}),
        )
        .await;
    let record = api.settled(account.as_str(), "email", &id).await;
    assert_eq!(record["status"], "sent", "{record}");
    (id, record)
}

/// An SES event notification as SNS delivers it to an SQS subscription.
fn notification(
    event_type: &str,
    account: &AccountId,
    id: &str,
    ses_id: &str,
    detail: Value,
) -> String {
    let mut event = json!({
        "eventType": event_type,
        "mail": {
            "timestamp": "2025-11-24T10:00:00.000Z",
            "source": "Herald <noreply@mail.example.com>",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/mail.example.com",
            "sendingAccountId": "123456789012",
            "messageId": ses_id,
            "destination": ["signer@example.com"],
            "headersTruncated": false,
            "tags": {
                "ses:configuration-set": ["herald-local-events"],
                "herald-account": [account.as_str()],
                "herald-message": [id]
            }
        }
    });
    let key = match event_type {
        "Delivery" => "delivery",
        "Open" => "open",
        "Bounce" => "bounce",
        "DeliveryDelay" => "deliveryDelay",
        other => other,
    };
    event[key] = detail;
    json!({
        "Type": "Notification",
        "MessageId": uuid::Uuid::new_v4().to_string(),
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:herald-local-SesEventsTopic",
        "Message": event.to_string(),
        "Timestamp": "2025-11-24T10:00:05.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
    })
    .to_string()
}

/// Puts SES notifications on the status queue, as SNS does.
async fn enqueue(bodies: &[String]) {
    herald_tests::enqueue(&queue_url("herald-local-StatusQueue").await, bodies).await;
}

/// The record once it has `n` receipts.
async fn with_receipts(api: &Api, account: &AccountId, id: &str, n: usize) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let record = api
            .get(&format!("/accounts/{account}/logs/email/{id}"))
            .await
            .body;
        if record["receipts"].as_array().map_or(0, Vec::len) >= n {
            return record;
        }
        assert!(tokio::time::Instant::now() < deadline, "{record}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn history(record: &Value) -> Vec<&str> {
    record["statusHistory"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["status"].as_str())
        .collect()
}

#[tokio::test]
async fn ses_events_move_the_log_forward_once_and_reach_subscribers() {
    let receiver = Receiver::start([]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    api.subscribe(
        account.as_str(),
        json!({"name": "status", "type": "webhook", "url": receiver.url,
               "events": ["email.sent", "email.delivered", "email.opened"]}),
    )
    .await;
    let (id, record) = send_email(&api, &account).await;
    let ses_id = record["attempts"][0]["providerMessageId"]
        .as_str()
        .expect("SES id");

    // The open overtakes the delivery, and SNS delivers the open twice; a delay is a note.
    let open = notification(
        "Open",
        &account,
        &id,
        ses_id,
        json!({"timestamp": "2025-11-24T10:05:00.000Z", "userAgent": "Mozilla/5.0", "ipAddress": "192.0.2.1"}),
    );
    enqueue(std::slice::from_ref(&open)).await;
    with_receipts(&api, &account, &id, 1).await;
    enqueue(&[
        notification("Delivery", &account, &id, ses_id,
            json!({"timestamp": "2025-11-24T10:00:02.000Z", "processingTimeMillis": 1200,
                   "recipients": ["signer@example.com"], "smtpResponse": "250 2.6.0 Message received",
                   "reportingMTA": "a8-70.smtp-out.amazonses.com"})),
        open,
        notification("DeliveryDelay", &account, &id, ses_id,
            json!({"timestamp": "2025-11-24T10:01:00.000Z", "delayType": "MailboxFull",
                   "expirationTime": "2025-11-25T10:00:00.000Z", "delayedRecipients": []})),
    ])
    .await;
    let record = with_receipts(&api, &account, &id, 4).await;
    assert_eq!(record["status"], "opened", "{record}");
    assert_eq!(history(&record), ["queued", "sent", "opened"]);
    let applied: Vec<bool> = record["receipts"]
        .as_array()
        .expect("receipts")
        .iter()
        .map(|r| r.get("applied").is_none())
        .collect();
    assert_eq!(applied.iter().filter(|a| **a).count(), 1, "{record}");

    // The subscriber heard of the send and the open, once each; the late delivery changed
    // nothing, so it published nothing.
    let got = receiver.wait_for(2, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut names: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| {
            r.json()["eventName"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["email.opened", "email.sent"], "{got:?}");
    let opened = receiver
        .received()
        .into_iter()
        .map(|r| r.json())
        .find(|e| e["eventName"] == "email.opened")
        .expect("email.opened");
    assert_eq!(opened["eventData"]["messageId"], id.as_str());
    assert_eq!(opened["tags"], json!(["order-42"]));
}

#[tokio::test]
async fn a_permanent_bounce_fails_the_message_for_good() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let (id, record) = send_email(&api, &account).await;
    let ses_id = record["attempts"][0]["providerMessageId"]
        .as_str()
        .expect("SES id");
    enqueue(&[notification("Bounce", &account, &id, ses_id, json!({
        "bounceType": "Permanent", "bounceSubType": "General",
        "bouncedRecipients": [{"emailAddress": "signer@example.com", "action": "failed",
                               "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
        "timestamp": "2025-11-24T10:00:03.000Z", "feedbackId": "0100-abc",
        "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com"}))])
    .await;
    with_receipts(&api, &account, &id, 1).await;
    // A delivery reported after the bounce changes nothing.
    enqueue(&[notification(
        "Delivery",
        &account,
        &id,
        ses_id,
        json!({"timestamp": "2025-11-24T10:00:04.000Z", "recipients": ["signer@example.com"]}),
    )])
    .await;
    let record = with_receipts(&api, &account, &id, 2).await;
    assert_eq!(record["status"], "failed");
    assert_eq!(history(&record), ["queued", "sent", "failed"]);
    let reason = record["statusHistory"][2]["reason"]
        .as_str()
        .expect("reason");
    assert!(reason.contains("550 5.1.1 user unknown"), "{reason}");
}
