//! The local stack's own services that `cargo xtask dev` prints: the webhook inbox, which
//! checks each request's signature with the subscription's secret, and the list of everything
//! sent, newest first.

use std::time::Duration;

use herald_tests::api::Api;
use herald_tests::{new_account, stack_var};
use serde_json::{Value, json};

async fn sent() -> Vec<Value> {
    reqwest::get(format!("{}/sent", stack_var("HERALD_TEST_FAKES_URL")))
        .await
        .expect("the sent list")
        .json()
        .await
        .expect("JSON")
}

/// Waits for an item of the sent list that `wanted` picks.
async fn find(wanted: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..120 {
        if let Some(item) = sent().await.into_iter().find(&wanted) {
            return item;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("not in the sent list after 30 s: {:?}", sent().await);
}

#[tokio::test]
async fn the_inbox_verifies_webhooks_and_the_sent_list_shows_every_channel() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let inbox = format!("{}/hooks/{account}", stack_var("HERALD_TEST_FAKES_URL"));
    api.subscribe(
        account.as_str(),
        json!({"name": "inbox", "type": "webhook", "url": inbox, "secret": true}),
    )
    .await;
    let published = api
        .post(
            &format!("/accounts/{account}/events"),
            json!({"sender": "my-service", "eventName": "order.completed",
                   "eventData": {"orderId": "42"}}),
        )
        .await;
    assert_eq!(published.status, 202, "{:?}", published.body);
    let path = format!("/hooks/{account}");
    let webhook = find(|i| i["channel"] == "webhook" && i["path"] == path.as_str()).await;
    assert_eq!(webhook["signature"], "verified", "{webhook}");
    assert_eq!(webhook["eventName"], "order.completed");

    let to = "+4798765432";
    let sms = api
        .post(
            &format!("/accounts/{account}/messages/sms"),
            json!({"to": to, "text": format!("code for {account}")}),
        )
        .await;
    assert_eq!(sms.status, 202);
    let text = format!("code for {account}");
    let sms = find(|i| i["channel"] == "sms" && i["text"] == text.as_str()).await;
    assert_eq!(sms["to"], to);

    let subject = format!("Hello {account}");
    let email = api
        .post(
            &format!("/accounts/{account}/messages/email"),
            json!({"to": "jane@example.com", "subject": subject, "text": "Hi"}),
        )
        .await;
    assert_eq!(email.status, 202);
    let email = find(|i| i["channel"] == "email" && i["subject"] == subject.as_str()).await;
    assert_eq!(email["via"], "ses");

    // Newest first.
    let all = sent().await;
    let at = |i: &Value| i["at"].as_str().unwrap_or_default().to_owned();
    let position = |wanted: &str| all.iter().position(|i| at(i) == wanted);
    assert!(position(&at(&email)) <= position(&at(&webhook)), "{all:?}");
}
