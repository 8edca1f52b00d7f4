//! End to end under the local stack: an account's own provider (`custom`), a real HTTP receiver
//! on loopback (which the local stack's address policy admits, as it does webhooks'), gets
//! each SMS and email signed in the Standard Webhooks scheme, which the `standardwebhooks`
//! library verifies; its answers decide the message (a 503 fails over to the secondary, a 4xx
//! fails it), and the account's receipts move the message on, forward only.

use std::time::Duration;

use herald::common::account::AccountId;
use herald_tests::api::{Api, attempts};
use herald_tests::fakes::{fresh_number, received};
use herald_tests::new_account;
use herald_tests::receiver::{Received, Receiver, Reply};
use herald_tests::verify::standard_webhooks_verify;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// Saves SMS settings with the receiver as the account's own provider; the signing secret
/// Herald made, shown this once.
async fn own_sms_provider(
    api: &Api,
    account: &AccountId,
    receiver: &Receiver,
    primary: &str,
    secondary: Option<&str>,
) -> String {
    let reply = api
        .put(
            &format!("/accounts/{account}/sms-settings"),
            json!({"senderName": "Acme", "primaryProvider": primary,
                   "secondaryProvider": secondary, "customProvider": {"url": receiver.url}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let secret = reply.body["customProvider"]["signingSecret"]
        .as_str()
        .expect("the secret Herald made, shown once")
        .to_owned();
    let read = api.get(&format!("/accounts/{account}/sms-settings")).await;
    assert_eq!(read.body["customProvider"]["signingSecret"], "********");
    secret
}

async fn send_sms(api: &Api, account: &AccountId, to: &str) -> String {
    api.send_message(
        account.as_str(),
        "sms",
        json!({"to": to, "text": "Your code is 4711"}),
    )
    .await
}

/// The one request the receiver got, checked with the Standard Webhooks library: signed with
/// `secret`, and `webhook-id` the message's id.
async fn verified_request(receiver: &Receiver, secret: &str, message_id: &str) -> Value {
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1, "one request: {got:?}");
    let request: &Received = &got[0];
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("webhook-id"), Some(message_id));
    let timestamp = request.header("webhook-timestamp").expect("a timestamp");
    let signature = request.header("webhook-signature").expect("a signature");
    standard_webhooks_verify(secret, message_id, timestamp, signature, &request.body)
        .expect("the standardwebhooks library verifies it");
    let mut tampered = request.body.to_vec();
    tampered[2] ^= 1;
    assert!(
        standard_webhooks_verify(secret, message_id, timestamp, signature, &tampered).is_err(),
        "a changed body does not verify"
    );
    request.json()
}

async fn report(api: &Api, account: &AccountId, id: &str, body: Value) -> (u16, Value) {
    let reply = api
        .post(&format!("/accounts/{account}/messages/{id}/receipts"), body)
        .await;
    (reply.status, reply.body)
}

#[tokio::test]
async fn custom_provider_gets_the_sms_signed_and_its_receipts_move_it_forward_only() {
    let receiver = Receiver::start([Reply::status(202).body(r#"{"id": "own-4711"}"#)]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let secret = own_sms_provider(&api, &account, &receiver, "custom", Some("vonage")).await;
    let to = fresh_number();
    let id = send_sms(&api, &account, &to).await;

    let body = verified_request(&receiver, &secret, &id).await;
    assert_eq!(
        body,
        json!({"channel": "sms", "messageId": id, "accountId": account.as_str(),
               "from": "Acme", "to": to, "text": "Your code is 4711"})
    );
    let record = api.settled(account.as_str(), "sms", &id).await;
    assert_eq!(record["status"], "sent", "{record}");
    assert_eq!(record["sentVia"], "custom");
    assert_eq!(record["attempts"][0]["providerMessageId"], "own-4711");
    assert_eq!(record["attempts"][0]["leg"], "primary");
    assert!(
        received(&to).await.is_empty(),
        "no platform provider got it"
    );

    // Delivered, then a late "sent": the message stays delivered, both are kept.
    let (status, delivered) = report(
        &api,
        &account,
        &id,
        json!({"status": "delivered", "at": "2020-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(status, 200, "{delivered}");
    assert_eq!(
        delivered,
        json!({"messageId": id, "channel": "sms", "status": "delivered", "applied": true})
    );
    let (status, late) = report(&api, &account, &id, json!({"status": "sent"})).await;
    assert_eq!(status, 200, "{late}");
    assert_eq!(late["status"], "delivered");
    assert_eq!(late["applied"], false);
    let record = api
        .get(&format!("/accounts/{account}/logs/sms/{id}"))
        .await
        .body;
    assert_eq!(record["status"], "delivered", "{record}");
    let kept: Vec<(Value, Value)> = record["receipts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["source"].clone(),
                r.get("applied").cloned().unwrap_or(json!(true)),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            (json!("custom"), json!(true)),
            (json!("custom"), json!(false))
        ]
    );

    // An SMS is never opened; a bad report names its fields.
    let (status, opened) = report(&api, &account, &id, json!({"status": "opened"})).await;
    assert_eq!(status, 400, "{opened}");
    let (status, bad) = report(&api, &account, &id, json!({"status": "failed"})).await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["errors"][0]["field"], "reason");
}

#[tokio::test]
async fn custom_provider_503_fails_over_to_the_secondary_provider() {
    let receiver = Receiver::start([Reply::status(503).body("down for maintenance")]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let secret = own_sms_provider(&api, &account, &receiver, "custom", Some("vonage")).await;
    let to = fresh_number();
    let id = send_sms(&api, &account, &to).await;

    verified_request(&receiver, &secret, &id).await;
    let record = api.settled(account.as_str(), "sms", &id).await;
    assert_eq!(record["status"], "sent", "{record}");
    assert_eq!(record["sentVia"], "vonage");
    assert_eq!(
        attempts(&record),
        [
            ("custom".into(), "temporaryFailure".into()),
            ("vonage".into(), "accepted".into())
        ]
    );
    assert_eq!(record["attempts"][0]["response"]["status"], 503);
    assert_eq!(record["attempts"][1]["leg"], "secondary");
    let providers: Vec<String> = received(&to)
        .await
        .iter()
        .filter_map(|r| r["provider"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(providers, ["vonage"]);

    // The custom provider did not take it: its receipts are refused.
    let (status, refused) = report(&api, &account, &id, json!({"status": "delivered"})).await;
    assert_eq!(status, 409, "{refused}");
    // The primary is not tried again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn custom_provider_refusing_with_a_4xx_fails_the_message() {
    let receiver =
        Receiver::start([Reply::status(422).body(r#"{"error": "no such subscriber"}"#)]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let secret = own_sms_provider(&api, &account, &receiver, "custom", Some("vonage")).await;
    let to = fresh_number();
    let id = send_sms(&api, &account, &to).await;

    verified_request(&receiver, &secret, &id).await;
    let record = api.settled(account.as_str(), "sms", &id).await;
    assert_eq!(record["status"], "failed", "{record}");
    assert_eq!(
        attempts(&record),
        [("custom".into(), "permanentFailure".into())]
    );
    let reason = record["statusHistory"]
        .as_array()
        .and_then(|h| h.last())
        .and_then(|c| c["reason"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        reason.contains("422") && reason.contains("no such subscriber"),
        "{reason}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        received(&to).await.is_empty(),
        "no failover on a permanent failure"
    );
}

#[tokio::test]
async fn custom_provider_gets_the_email_rendered_and_signed() {
    let receiver = Receiver::start([Reply::status(200)]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let saved = api
        .put(
            &format!("/accounts/{account}/email-settings"),
            json!({"fromAddressPrefix": "hello", "senderName": "Acme Support", "smtp": null,
                   "customProvider": {"url": receiver.url}}),
        )
        .await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    let secret = saved.body["customProvider"]["signingSecret"]
        .as_str()
        .expect("shown once")
        .to_owned();
    let subject = format!("Please sign {}", uuid::Uuid::new_v4().simple());
    let id = api
        .send_message(
            account.as_str(),
            "email",
            json!({"to": ["signer@example.com", "witness@example.com"], "subject": subject,
                   "text": "Sign here", "html": "<p>Sign <b>here</b></p>",
                   "replyTo": "help@acme.example"}),
        )
        .await;

    let body = verified_request(&receiver, &secret, &id).await;
    let record = api.settled(account.as_str(), "email", &id).await;
    assert_eq!(record["status"], "sent", "{record}");
    assert_eq!(record["sentVia"], "custom");
    let from = record["message"]["from"]
        .as_str()
        .expect("the sender logged");
    assert_eq!(
        body,
        json!({"channel": "email", "messageId": id, "accountId": account.as_str(),
               "from": {"name": "Acme Support", "address": from},
               "to": ["signer@example.com", "witness@example.com"],
               "replyTo": "help@acme.example", "subject": subject, "text": "Sign here",
               "html": "<p>Sign <b>here</b></p>", "headers": {}})
    );
    assert!(from.starts_with("hello@"), "{from}");

    let (status, opened) = report(&api, &account, &id, json!({"status": "opened"})).await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!(
        opened,
        json!({"messageId": id, "channel": "email", "status": "opened", "applied": true})
    );
    let (status, late) = report(&api, &account, &id, json!({"status": "delivered"})).await;
    assert_eq!(status, 200, "{late}");
    assert_eq!(
        (late["status"].clone(), late["applied"].clone()),
        (json!("opened"), json!(false))
    );
}
