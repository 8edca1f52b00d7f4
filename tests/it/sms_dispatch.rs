//! End to end under the local stack: an SMS posted to the API goes through the send queue to
//! `send-dispatch` and, when its primary provider fails temporarily, through the failover queue
//! to `sms-failover`; the delivery log shows every attempt.

use std::time::Duration;

use herald::common::account::AccountId;
use herald_tests::api::{Api, attempts};
use herald_tests::fakes::{fresh_number, received, script};
use herald_tests::{enqueue, new_account, stack_var};
use serde_json::{Value, json};

async fn send(api: &Api, account: &AccountId, to: &str) -> String {
    api.send_message(
        account.as_str(),
        "sms",
        json!({"to": to, "text": "Your code is 4711"}),
    )
    .await
}

async fn settled(api: &Api, account: &AccountId, id: &str) -> Value {
    api.settled(account.as_str(), "sms", id).await
}

#[tokio::test]
async fn primary_unavailable_is_delivered_by_the_secondary() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    api.save_sms_settings(account.as_str(), "twilio", Some("vonage"))
        .await;
    let to = fresh_number();
    script("twilio", &to, &["unavailable"]).await;
    let id = send(&api, &account, &to).await;

    let record = settled(&api, &account, &id).await;
    assert_eq!(record["status"], "sent", "{record}");
    assert_eq!(record["sentVia"], "vonage");
    assert_eq!(
        attempts(&record),
        [
            ("twilio".into(), "temporaryFailure".into()),
            ("vonage".into(), "accepted".into())
        ]
    );
    assert_eq!(record["attempts"][0]["code"], "20503");
    assert_eq!(record["attempts"][0]["response"]["status"], 503);
    assert_eq!(record["attempts"][1]["leg"], "secondary");

    let got = received(&to).await;
    let providers: Vec<&str> = got.iter().filter_map(|r| r["provider"].as_str()).collect();
    assert_eq!(providers, ["twilio", "vonage"]);
    assert!(
        got.iter()
            .all(|r| r["from"] == "Acme" && r["text"] == "Your code is 4711")
    );
}

#[tokio::test]
async fn an_invalid_number_fails_without_failover() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    api.save_sms_settings(account.as_str(), "twilio", Some("vonage"))
        .await;
    let to = fresh_number();
    script("twilio", &to, &["invalid-number"]).await;
    let id = send(&api, &account, &to).await;

    let record = settled(&api, &account, &id).await;
    assert_eq!(record["status"], "failed", "{record}");
    assert_eq!(
        attempts(&record),
        [("twilio".into(), "permanentFailure".into())]
    );
    let reason = record["statusHistory"][1]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("21211"), "{reason}");
    assert_eq!(received(&to).await.len(), 1, "the secondary is not tried");
    let failed = api
        .get(&format!("/accounts/{account}/logs/sms?status=failed"))
        .await;
    assert_eq!(failed.body["items"][0]["id"], id.as_str());
}

#[tokio::test]
async fn vonage_errors_inside_a_200_are_failures() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    api.save_sms_settings(account.as_str(), "vonage", None)
        .await;
    let to = fresh_number();
    script("vonage", &to, &["opted-out"]).await;
    let id = send(&api, &account, &to).await;
    let record = settled(&api, &account, &id).await;
    assert_eq!(record["status"], "failed");
    assert_eq!(record["attempts"][0]["code"], "7");
}

#[tokio::test]
async fn defaults_send_through_amazon_sns() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let id = send(&api, &account, &fresh_number()).await;
    let record = settled(&api, &account, &id).await;
    assert_eq!(record["status"], "sent", "{record}");
    assert_eq!(record["sentVia"], "sns");
    assert!(
        record["attempts"][0]["providerMessageId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
}

#[tokio::test]
async fn a_duplicate_queue_record_sends_once_and_a_malformed_one_harms_nothing() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    api.save_sms_settings(account.as_str(), "vonage", None)
        .await;
    let to = fresh_number();
    let id = send(&api, &account, &to).await;

    // The same job again, as SQS's at-least-once delivery may hand it over, and garbage.
    let job = json!({"accountId": account.as_str(), "channel": "sms", "messageId": id}).to_string();
    enqueue(
        &stack_var("HERALD_SEND_QUEUE_URL"),
        &[job.as_str(), "{not json", job.as_str()],
    )
    .await;
    let record = settled(&api, &account, &id).await;
    assert_eq!(record["status"], "sent");
    // Give the duplicates time to be handled.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(received(&to).await.len(), 1);
    assert_eq!(
        api.get(&format!("/accounts/{account}/logs/sms/{id}"))
            .await
            .body["attempts"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn a_provider_answering_too_late_gets_the_sms_once_and_its_receipt_settles_it() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    api.save_sms_settings(account.as_str(), "twilio", Some("vonage"))
        .await;
    let to = fresh_number();
    // Twilio takes the message and answers after Herald's 10 s.
    script("twilio", &to, &["stall"]).await;
    let id = send(&api, &account, &to).await;

    let path = format!("/accounts/{account}/logs/sms/{id}");
    let mut record = Value::Null;
    for _ in 0..120 {
        record = api.get(&path).await.body;
        if !record["attempts"].as_array().is_none_or(Vec::is_empty) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        attempts(&record),
        [("twilio".into(), "unknown".into())],
        "{record}"
    );
    assert_eq!(record["status"], "queued", "{record}");
    assert_eq!(record["failedOver"], false, "{record}");

    // Twilio's status callback names the message in its signed URL: it settles the send.
    let url = format!(
        "{}/callbacks/twilio/{account}/{id}",
        stack_var("HERALD_TEST_API_URL")
    );
    let params = [
        ("MessageSid", "SM00000000000000000000000000000042"),
        ("MessageStatus", "delivered"),
    ];
    let signature = herald_tests::verify::twilio_signature(
        herald_tests::provider_secrets()
            .await
            .twilio_auth_token
            .expect("the local stack sets Twilio's auth token")
            .expose(),
        &url,
        &params,
    );
    let status = reqwest::Client::new()
        .post(&url)
        .header("x-twilio-signature", signature)
        .form(&params)
        .send()
        .await
        .expect("sent")
        .status();
    assert_eq!(status, 204);
    let record = api.get(&path).await.body;
    assert_eq!(record["status"], "delivered", "{record}");
    assert_eq!(record["sentVia"], "twilio");
    assert_eq!(
        attempts(&record),
        [
            ("twilio".into(), "unknown".into()),
            ("twilio".into(), "accepted".into())
        ]
    );
    // Sent once, by the primary only.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let providers: Vec<String> = received(&to)
        .await
        .iter()
        .filter_map(|r| r["provider"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(providers, ["twilio"]);
}
