//! End to end: internal services hand messages to the `api` function (under `cargo lambda
//! watch`, on moto): validated, logged as queued, queued once for dispatch, readable in the log.

use herald::common::account::AccountId;
use herald_tests::api::Api;
use herald_tests::fakes::{fresh_number, received};
use herald_tests::new_account;
use reqwest::Method;
use serde_json::{Value, json};

fn sms_path(account: &AccountId) -> String {
    format!("/accounts/{account}/messages/sms")
}

#[tokio::test]
async fn sms_is_logged_queued_and_enqueued_once_per_idempotency_key() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let configured = api
        .put(
            &format!("/accounts/{account}/sms-settings"),
            json!({"senderName": "Acme", "primaryProvider": "vonage"}),
        )
        .await;
    assert_eq!(configured.status, 200);
    let to = fresh_number();
    let body = json!({"to": to, "text": "Your code is 4711", "tags": ["otp"]});
    let headers = [("idempotency-key", "login-4711")];

    let first = api
        .send(
            Method::POST,
            &sms_path(&account),
            Some(herald_tests::api::Body::Json(body.clone())),
            &headers,
        )
        .await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    assert_eq!(first.body["status"], "queued");
    let id = first.body["id"].as_str().expect("id").to_owned();

    // The retry answers as the first did.
    let again = api
        .send(
            Method::POST,
            &sms_path(&account),
            Some(herald_tests::api::Body::Json(body.clone())),
            &headers,
        )
        .await;
    assert_eq!(again.status, 202);
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");

    // The same key for another request is refused.
    let other = api
        .send(
            Method::POST,
            &sms_path(&account),
            Some(herald_tests::api::Body::Json(
                json!({"to": "+4712345678", "text": "other"}),
            )),
            &headers,
        )
        .await;
    assert_eq!(other.status, 422);

    // Sent exactly once (the pumps hand the send queue to send-dispatch).
    let mut sent = Vec::new();
    for _ in 0..120 {
        sent = received(&to).await;
        if !sent.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(received(&to).await.len(), 1, "{sent:?}");

    // The log shows it.
    let record = api.get(&format!("/accounts/{account}/logs/sms/{id}")).await;
    assert_eq!(record.status, 200);
    assert_eq!(record.body["status"], "sent");
    assert_eq!(record.body["enqueued"], true);
    assert_eq!(record.body["tags"], json!(["otp"]));
    assert_eq!(record.body["statusHistory"][0]["status"], "queued");
    let message = api
        .get(&format!("/accounts/{account}/logs/sms/{id}/message"))
        .await;
    assert_eq!(message.body, json!({"to": to, "text": "Your code is 4711"}));
    let list = api.get(&format!("/accounts/{account}/logs/sms")).await;
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(list.body["items"][0]["id"], id.as_str());
    assert_eq!(list.body["nextCursor"], Value::Null);
}

#[tokio::test]
async fn email_is_accepted_and_readable() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let sent = api
        .post(
            &format!("/accounts/{account}/messages/email"),
            json!({
                "to": ["signer@example.com"],
                "subject": "Please sign",
                "html": "<p>Sign <a href=\"https://example.com/s/1\">here</a></p>",
                "text": "Sign at https://example.com/s/1",
                "replyTo": "help@acme.example"
            }),
        )
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    let id = sent.body["id"].as_str().expect("id");
    let message = api
        .get(&format!("/accounts/{account}/logs/email/{id}/message"))
        .await;
    assert_eq!(message.body["subject"], "Please sign");
    assert_eq!(message.body["replyTo"], "help@acme.example");
    let list = api.get(&format!("/accounts/{account}/logs/email")).await;
    assert_eq!(list.body["items"][0]["subject"], "Please sign");
    assert_eq!(list.body["items"][0]["to"], "signer@example.com");
    assert_eq!(
        api.get(&format!("/accounts/{account}/logs/sms/{id}"))
            .await
            .status,
        404,
        "an email is not in the SMS log"
    );
}

#[tokio::test]
async fn only_internal_services_send() {
    let account = new_account();
    let admin = Api::for_accounts(account.as_str());
    let reply = admin
        .post(
            &sms_path(&account),
            json!({"to": "+4712345678", "text": "hi"}),
        )
        .await;
    assert_eq!(reply.status, 403);
    // An internal service still only reaches the accounts its token grants.
    let other = Api::internal(new_account().as_str());
    let reply = other
        .post(
            &sms_path(&account),
            json!({"to": "+4712345678", "text": "hi"}),
        )
        .await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn invalid_messages_name_every_field() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let sms = api
        .post(
            &sms_path(&account),
            json!({"to": "004712345678", "text": "", "tags": ["a b"]}),
        )
        .await;
    assert_eq!(sms.status, 400);
    assert_eq!(sms.error_fields(), ["to", "text", "tags"]);
    let email = api
        .post(
            &format!("/accounts/{account}/messages/email"),
            json!({"to": "not-an-address", "subject": "Hi\r\nBcc: x@example.com"}),
        )
        .await;
    assert_eq!(email.status, 400);
    assert_eq!(email.error_fields(), ["to", "subject", "text"]);
    // Nothing was logged.
    let list = api.get(&format!("/accounts/{account}/logs/sms")).await;
    assert_eq!(list.body["items"], json!([]));
}

#[tokio::test]
async fn log_pages_in_order_with_filters_and_cursors() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = api
            .post(
                &sms_path(&account),
                json!({"to": "+4712345678", "text": format!("n{i}")}),
            )
            .await;
        ids.push(r.body["id"].as_str().expect("id").to_owned());
        // Ids order by millisecond; keep creations apart.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let mut seen = Vec::new();
    let mut path = format!("/accounts/{account}/logs/sms?limit=2&order=asc");
    loop {
        let page = api.get(&path).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        for item in page.body["items"].as_array().expect("items") {
            seen.push(item["id"].as_str().expect("id").to_owned());
        }
        match page.body["nextCursor"].as_str() {
            Some(c) => path = format!("/accounts/{account}/logs/sms?limit=2&order=asc&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    let newest = api
        .get(&format!("/accounts/{account}/logs/sms?limit=1"))
        .await;
    assert_eq!(newest.body["items"][0]["id"], ids[4].as_str());
    let cursor = newest.body["nextCursor"].as_str().expect("more").to_owned();
    // A cursor is tied to its listing.
    let misused = api
        .get(&format!(
            "/accounts/{account}/logs/sms?order=asc&cursor={cursor}"
        ))
        .await;
    assert_eq!(misused.status, 400);
    assert_eq!(misused.error_fields(), ["cursor"]);

    let bad = api
        .get(&format!(
            "/accounts/{account}/logs/sms?status=opened&order=up&limit=0&colour=red"
        ))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_fields(), ["status", "order", "limit", "colour"]);
    assert_eq!(
        api.get(&format!("/accounts/{account}/logs/fax"))
            .await
            .status,
        404
    );
    assert_eq!(
        api.get(&format!(
            "/accounts/{account}/logs/sms/01ARZ3NDEKTSV4RRFFQ69G5FAV"
        ))
        .await
        .status,
        404
    );
}
