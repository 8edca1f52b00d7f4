//! End to end under the local stack: subscriptions through the API, events published through
//! the API, fanned out and delivered by the functions as `cargo xtask dev` runs them, to real
//! receivers on loopback; signatures checked by the reference's Node.js snippet and the
//! `standardwebhooks` library.

use std::time::Duration;

use reqwest::Method;

use herald::common::account::AccountId;
use herald_tests::api::{Api, Body, Reply};
use herald_tests::new_account;
use herald_tests::receiver::{Receiver, Reply as Script};
use herald_tests::verify::{node_reference_signature, standard_webhooks_verify};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

fn webhook(url: &str, extra: Value) -> Value {
    let mut body = json!({"name": "Orders", "type": "webhook", "url": url, "secret": true});
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    body
}

async fn publish(api: &Api, account: &AccountId, name: &str, tags: &[&str]) -> Value {
    let reply = api
        .post(
            &format!("/accounts/{account}/events"),
            json!({"sender": "signature-api", "eventName": name,
                   "eventData": {"orderId": "42", "signer": "Åse Ødegård"}, "tags": tags}),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    reply.body
}

/// The subscription's deliveries once none is pending.
async fn settled(api: &Api, account: &AccountId, subscription: &str) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page = api
            .get(&format!(
                "/accounts/{account}/deliveries?subscriptionId={subscription}"
            ))
            .await;
        let items = page.body["items"].as_array().cloned().unwrap_or_default();
        if !items.is_empty() && items.iter().all(|d| d["status"] != "pending") {
            return items;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries still pending: {items:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_published_event_is_delivered_once_signed_and_logged() {
    let receiver = Receiver::start([]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let created = api
        .subscribe(
            account.as_str(),
            webhook(&receiver.url, json!({"tagFilter": ["prod", "team-*"]})),
        )
        .await;
    let secret = created.body["signingSecret"]
        .as_str()
        .expect("shown once")
        .to_owned();
    let id = created.body["id"].as_str().expect("id").to_owned();
    // Shown once: never again.
    let read = api
        .get(&format!("/accounts/{account}/subscriptions/{id}"))
        .await;
    assert_eq!(read.body["secret"], true);
    assert!(read.body.get("signingSecret").is_none());

    // Missing the team-* tag: not for this subscription.
    publish(&api, &account, "order.completed", &["prod"]).await;
    let event = publish(&api, &account, "order.completed", &["prod", "team-signing"]).await;

    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1);
    let deliveries = settled(&api, &account, &id).await;
    // Nothing more arrives: once, not twice.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let request = &got[0];
    assert_eq!(request.json(), event);
    assert_eq!(request.header("content-type"), Some("application/json"));

    // The reference's Node.js snippet reproduces X-Herald-Signature.
    assert_eq!(
        request.header("x-herald-signature"),
        Some(node_reference_signature(&secret, &request.body).as_str())
    );
    // The Standard Webhooks library verifies the other headers.
    let webhook_id = request.header("webhook-id").expect("webhook-id");
    standard_webhooks_verify(
        &secret,
        webhook_id,
        request.header("webhook-timestamp").expect("timestamp"),
        request.header("webhook-signature").expect("signature"),
        &request.body,
    )
    .expect("verified");
    // A tampered body does not verify.
    let mut tampered = request.body.to_vec();
    tampered[10] ^= 1;
    assert!(
        standard_webhooks_verify(
            &secret,
            webhook_id,
            request.header("webhook-timestamp").expect("timestamp"),
            request.header("webhook-signature").expect("signature"),
            &tampered,
        )
        .is_err()
    );

    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["status"], "delivered");
    assert_eq!(deliveries[0]["id"], webhook_id);
    assert_eq!(deliveries[0]["eventId"], event["id"]);
    let detail = api
        .get(&format!("/accounts/{account}/deliveries/{webhook_id}"))
        .await;
    let attempts = detail.body["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["responseStatus"], 200);
    assert_eq!(
        attempts[0]["requestHeaders"]["webhook-id"].as_str(),
        Some(webhook_id)
    );
    assert_eq!(
        detail.body["body"].as_str().map(str::as_bytes),
        Some(&request.body[..])
    );
}

#[tokio::test]
async fn a_publish_retried_with_its_idempotency_key_is_delivered_once() {
    let receiver = Receiver::start([]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let created = api
        .subscribe(account.as_str(), webhook(&receiver.url, json!({})))
        .await;
    let id = created.body["id"].as_str().expect("id");
    let path = format!("/accounts/{account}/events");
    let body = json!({"sender": "signature-api", "eventName": "order.completed",
                      "eventData": {"orderId": "42"}, "tags": ["prod"]});
    let send = |body: &Value, key: &'static str| {
        let (api, path, body) = (&api, &path, body.clone());
        async move {
            api.send(
                Method::POST,
                path,
                Some(Body::Json(body)),
                &[("idempotency-key", key)],
            )
            .await
        }
    };

    let first = send(&body, "order-42-completed").await;
    assert_eq!(first.status, 202, "{:?}", first.body);
    assert!(first.headers.get("idempotent-replayed").is_none());
    // The publisher timed out and retries: the same event answers, nothing new is published.
    let again = send(&body, "order-42-completed").await;
    assert_eq!(again.status, 202, "{:?}", again.body);
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    // The same fields in another order are the same request.
    let reordered: Value = serde_json::from_str(
        r#"{"tags": ["prod"], "eventData": {"orderId": "42"},
            "eventName": "order.completed", "sender": "signature-api"}"#,
    )
    .expect("JSON");
    assert_eq!(
        send(&reordered, "order-42-completed").await.body,
        first.body
    );
    // The key reused for another event is refused.
    let mut other = body.clone();
    other["eventData"]["orderId"] = json!("43");
    let refused = send(&other, "order-42-completed").await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    // Without a key, or with another, a publish is a new event.
    let second = send(&other, "order-43-completed").await;
    assert_eq!(second.status, 202);
    assert_ne!(second.body["id"], first.body["id"]);

    receiver.wait_for(2, WAIT).await;
    let deliveries = settled(&api, &account, id).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = receiver.received();
    assert_eq!(got.len(), 2, "one request per event: {got:?}");
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    let events: Vec<Value> = got.iter().map(|r| r.json()["id"].clone()).collect();
    assert!(events.contains(&first.body["id"]) && events.contains(&second.body["id"]));
}

/// Fan-out on a warm instance: the subscription made between two events gets the second,
/// published right after the API answered 201.
#[tokio::test]
async fn an_event_published_right_after_a_subscription_is_made_reaches_it() {
    let earlier = Receiver::start([]).await;
    let later = Receiver::start([]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    api.subscribe(
        account.as_str(),
        webhook(&earlier.url, json!({"secret": false})),
    )
    .await;
    // Read by fan-out a moment ago, for this account.
    publish(&api, &account, "order.completed", &[]).await;
    earlier.wait_for(1, WAIT).await;

    api.subscribe(
        account.as_str(),
        webhook(&later.url, json!({"secret": false})),
    )
    .await;
    let event = publish(&api, &account, "order.signed", &[]).await;
    let got = later.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1, "the event published after the 201 never came");
    assert_eq!(got[0].json()["id"], event["id"]);
}

#[tokio::test]
async fn during_a_rotation_both_secrets_sign() {
    let receiver = Receiver::start([]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let created = api
        .subscribe(account.as_str(), webhook(&receiver.url, json!({})))
        .await;
    let id = created.body["id"].as_str().expect("id");
    let old = created.body["signingSecret"].as_str().expect("secret");
    let rotated = api
        .post(
            &format!("/accounts/{account}/subscriptions/{id}/rotate-secret"),
            json!({}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let new = rotated.body["signingSecret"].as_str().expect("new secret");
    assert_ne!(old, new);
    assert!(rotated.body["previousSecretExpiresAt"].is_string());

    let sent = api
        .post(
            &format!("/accounts/{account}/subscriptions/{id}/test"),
            json!({"eventName": "email.opened"}),
        )
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    let got = receiver.wait_for(1, WAIT).await;
    let request = &got[0];
    let headers = |name| request.header(name).expect(name);
    for secret in [old, new] {
        standard_webhooks_verify(
            secret,
            headers("webhook-id"),
            headers("webhook-timestamp"),
            headers("webhook-signature"),
            &request.body,
        )
        .unwrap_or_else(|e| panic!("{secret}: {e}"));
    }
    // X-Herald-Signature is the newest secret's.
    assert_eq!(
        headers("x-herald-signature"),
        node_reference_signature(new, &request.body)
    );
}

async fn rotate(api: &Api, account: &AccountId, id: &str) -> Reply {
    api.post(
        &format!("/accounts/{account}/subscriptions/{id}/rotate-secret"),
        json!({}),
    )
    .await
}

#[tokio::test]
async fn rotations_in_a_row_keep_every_replaced_secret_signing_up_to_five() {
    let receiver = Receiver::start([]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let created = api
        .subscribe(account.as_str(), webhook(&receiver.url, json!({})))
        .await;
    let id = created.body["id"].as_str().expect("id");
    let mut secrets = vec![
        created.body["signingSecret"]
            .as_str()
            .expect("secret")
            .to_owned(),
    ];
    for _ in 0..2 {
        let rotated = rotate(&api, &account, id).await;
        assert_eq!(rotated.status, 200, "{:?}", rotated.body);
        secrets.push(
            rotated.body["signingSecret"]
                .as_str()
                .expect("new")
                .to_owned(),
        );
    }
    let read = api
        .get(&format!("/accounts/{account}/subscriptions/{id}"))
        .await;
    assert_eq!(
        read.body["replacedSecretsExpireAt"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{:?}",
        read.body
    );

    let sent = api
        .post(
            &format!("/accounts/{account}/subscriptions/{id}/test"),
            json!({"eventName": "email.opened"}),
        )
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    let got = receiver.wait_for(1, WAIT).await;
    let request = &got[0];
    let headers = |name| request.header(name).expect(name);
    // The original secret was replaced a moment ago: it has its 24 hours like the second.
    for secret in &secrets {
        standard_webhooks_verify(
            secret,
            headers("webhook-id"),
            headers("webhook-timestamp"),
            headers("webhook-signature"),
            &request.body,
        )
        .unwrap_or_else(|e| panic!("{secret}: {e}"));
    }

    // Five sign at most; a sixth waits for the oldest to retire and changes nothing.
    for _ in 0..2 {
        assert_eq!(rotate(&api, &account, id).await.status, 200);
    }
    let refused = rotate(&api, &account, id).await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("stops at")),
        "{:?}",
        refused.body
    );
    let read = api
        .get(&format!("/accounts/{account}/subscriptions/{id}"))
        .await;
    assert_eq!(
        read.body["replacedSecretsExpireAt"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
}

#[tokio::test]
async fn a_test_event_reaches_an_inactive_subscription_with_the_body_it_returns() {
    let receiver = Receiver::start([]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let created = api
        .subscribe(
            account.as_str(),
            webhook(&receiver.url, json!({"active": false, "secret": false})),
        )
        .await;
    let id = created.body["id"].as_str().expect("id");
    let unknown = api
        .post(
            &format!("/accounts/{account}/subscriptions/{id}/test"),
            json!({"eventName": "nope.nope"}),
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.error_fields(), ["eventName"]);

    let sent = api
        .post(
            &format!("/accounts/{account}/subscriptions/{id}/test"),
            json!({"eventName": "sms.delivered"}),
        )
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    let body = sent.body["body"].as_str().expect("the body");
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].body, body.as_bytes());
    let event = got[0].json();
    assert_eq!(event["tags"], json!(["mock"]));
    assert_eq!(event["eventName"], "sms.delivered");
    // Unsigned: no secret.
    assert!(got[0].header("x-herald-signature").is_none());
    assert!(got[0].header("webhook-id").is_some());
}

#[tokio::test]
async fn a_500_is_retried_a_400_fails_and_a_manual_retry_delivers() {
    let receiver = Receiver::start([Script::status(500), Script::status(400)]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let created = api
        .subscribe(account.as_str(), webhook(&receiver.url, json!({})))
        .await;
    let id = created.body["id"].as_str().expect("id");
    publish(&api, &account, "order.completed", &[]).await;
    let deliveries = settled(&api, &account, id).await;
    assert_eq!(deliveries[0]["status"], "failed", "{deliveries:?}");
    assert_eq!(deliveries[0]["attempts"], 2);
    assert_eq!(deliveries[0]["lastResponseStatus"], 400);
    let delivery = deliveries[0]["id"].as_str().expect("id");

    let retried = api
        .post(
            &format!("/accounts/{account}/deliveries/{delivery}/retry"),
            json!({}),
        )
        .await;
    assert_eq!(retried.status, 202, "{:?}", retried.body);
    let deliveries = settled(&api, &account, id).await;
    assert_eq!(deliveries[0]["status"], "delivered", "{deliveries:?}");
    assert_eq!(deliveries[0]["attempts"], 3);
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    // One delivery, one webhook-id on every attempt.
    assert!(got.iter().all(|r| r.header("webhook-id") == Some(delivery)));
    let detail = api
        .get(&format!("/accounts/{account}/deliveries/{delivery}"))
        .await;
    let outcomes: Vec<&str> = detail.body["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .filter_map(|a| a["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["retry", "failed", "delivered"]);
}

#[tokio::test]
async fn a_manual_retry_while_one_is_scheduled_takes_the_next_attempt_number() {
    // The first attempt's retry is scheduled an hour out; the administrator does not wait.
    let receiver = Receiver::start([Script::status(503).header("retry-after", "3600")]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let created = api
        .subscribe(account.as_str(), webhook(&receiver.url, json!({})))
        .await;
    let id = created.body["id"].as_str().expect("id");
    publish(&api, &account, "order.completed", &[]).await;
    receiver.wait_for(1, WAIT).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let delivery = loop {
        let page = api
            .get(&format!(
                "/accounts/{account}/deliveries?subscriptionId={id}"
            ))
            .await;
        let first = page.body["items"][0].clone();
        if first["attempts"] == 1 && first["nextAttemptAt"].is_string() {
            break first["id"].as_str().expect("id").to_owned();
        }
        assert!(tokio::time::Instant::now() < deadline, "{first:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };

    let retried = api
        .post(
            &format!("/accounts/{account}/deliveries/{delivery}/retry"),
            json!({}),
        )
        .await;
    assert_eq!(retried.status, 202, "{:?}", retried.body);
    assert_eq!(retried.body["nextAttempt"], 2);
    let deliveries = settled(&api, &account, id).await;
    assert_eq!(deliveries[0]["status"], "delivered", "{deliveries:?}");
    let detail = api
        .get(&format!("/accounts/{account}/deliveries/{delivery}"))
        .await;
    let numbers: Vec<&Value> = detail.body["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| &a["number"])
        .collect();
    assert_eq!(numbers, [1, 2], "{:?}", detail.body);
    assert_eq!(detail.body["attemptCount"], 2);
}

#[tokio::test]
async fn a_410_disables_the_subscription_and_publishes_that() {
    let gone = Receiver::start([Script::status(410)]).await;
    let watcher = Receiver::start([]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let created = api
        .subscribe(
            account.as_str(),
            webhook(&gone.url, json!({"events": ["order.completed"]})),
        )
        .await;
    let id = created.body["id"].as_str().expect("id");
    api.subscribe(
        account.as_str(),
        webhook(&watcher.url, json!({"events": ["subscription.disabled"]})),
    )
    .await;
    publish(&api, &account, "order.completed", &[]).await;

    let got = watcher.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1);
    let event = got[0].json();
    assert_eq!(event["eventName"], "subscription.disabled");
    assert_eq!(event["eventData"]["subscriptionId"], id);
    let read = api
        .get(&format!("/accounts/{account}/subscriptions/{id}"))
        .await;
    assert_eq!(read.body["active"], false);
    assert!(read.body["disabledReason"].is_string());
    assert_eq!(gone.received().len(), 1);
}

#[tokio::test]
async fn subscriptions_are_validated_field_by_field_and_kept_off_internal_addresses() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let reply = api
        .post(
            &format!("/accounts/{account}/subscriptions"),
            json!({"name": "", "type": "webhook", "url": "https://10.1.2.3/hook",
                   "tagFilter": ["*"], "events": [], "colour": "red"}),
        )
        .await;
    assert_eq!(reply.status, 400);
    let mut fields = reply.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        ["colour", "events", "name", "tagFilter[0]", "url"],
        "{:?}",
        reply.body
    );
    for url in [
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00::1]/hook",
        "https://metadata.google.internal/",
        "ftp://hooks.acme.example/",
    ] {
        let reply = api
            .post(
                &format!("/accounts/{account}/subscriptions"),
                json!({"name": "x", "type": "webhook", "url": url}),
            )
            .await;
        assert_eq!(reply.status, 400, "{url}");
        assert_eq!(reply.error_fields(), ["url"], "{url}");
    }
    // Publishing is for internal services.
    let outsider = Api::for_accounts(account.as_str());
    let reply = outsider
        .post(
            &format!("/accounts/{account}/events"),
            json!({"sender": "x", "eventName": "order.completed"}),
        )
        .await;
    assert_eq!(reply.status, 403);
    let reply = api
        .post(
            &format!("/accounts/{account}/events"),
            json!({"sender": "x", "eventName": "Order Completed", "tags": [1]}),
        )
        .await;
    assert_eq!(reply.status, 400);
    let mut fields = reply.error_fields();
    fields.sort();
    assert_eq!(fields, ["eventName", "tags[0]"], "{:?}", reply.body);
}

#[tokio::test]
async fn subscriptions_are_listed_replaced_and_deleted_per_account() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let created = api
        .subscribe(
            account.as_str(),
            webhook(
                "https://hooks.acme.example/herald",
                json!({"secret": false}),
            ),
        )
        .await;
    let id = created.body["id"].as_str().expect("id");
    assert_eq!(created.body["secret"], false);
    assert!(created.body.get("signingSecret").is_none());
    let path = format!("/accounts/{account}/subscriptions/{id}");

    let replaced = api
        .put(
            &path,
            json!({"name": "Signing", "type": "webhook", "url": "https://hooks.acme.example/v2",
                   "secret": true, "events": ["email.opened"], "tagFilter": ["prod"]}),
        )
        .await;
    assert_eq!(replaced.status, 200, "{:?}", replaced.body);
    assert!(replaced.body["signingSecret"].is_string());
    assert_eq!(replaced.body["events"], json!(["email.opened"]));

    let list = api.get(&format!("/accounts/{account}/subscriptions")).await;
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(list.body["items"][0]["name"], "Signing");

    // Another account's token sees nothing.
    let other = new_account();
    let stranger = Api::internal(other.as_str());
    assert_eq!(stranger.get(&path).await.status, 404);

    assert_eq!(api.delete(&path).await.status, 204);
    assert_eq!(api.get(&path).await.status, 404);
    assert_eq!(api.delete(&path).await.status, 404);
}

/// The catalog's event types as (sender, type) pairs, in the listing's order.
fn listed(listing: &Value) -> Vec<(String, Value)> {
    listing["senders"]
        .as_array()
        .expect("senders")
        .iter()
        .flat_map(|g| {
            let sender = g["sender"].as_str().expect("a sender").to_owned();
            g["eventTypes"]
                .as_array()
                .expect("eventTypes")
                .iter()
                .map(move |t| (sender.clone(), t.clone()))
        })
        .collect()
}

#[tokio::test]
async fn event_types_carry_whole_sample_envelopes() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let types = api.get("/event-types").await;
    assert_eq!(types.status, 200);
    let listed = listed(&types.body);
    // Herald's own come first; other tests and the API checks register more beside them.
    assert_eq!(types.body["senders"][0]["sender"], "herald");
    let names: Vec<&str> = listed
        .iter()
        .filter(|(sender, _)| sender == "herald")
        .filter_map(|(_, t)| t["name"].as_str())
        .collect();
    for expected in [
        "sms.sent",
        "sms.delivered",
        "sms.failed",
        "email.sent",
        "email.delivered",
        "email.opened",
        "email.failed",
        "domain.verified",
        "domain.failed",
        "message.link_clicked",
        "notification.sent",
        "notification.suppressed",
        "notification.reminder",
        "subscription.disabled",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    for (sender, t) in &listed {
        assert_eq!(t["sample"]["eventName"], t["name"]);
        assert_eq!(&t["sample"]["sender"], sender);
        assert_eq!(t["sample"].as_object().map(|o| o.len()), Some(9));
    }
}

/// The schema `order.completed` is registered with here. Other tests publish `order.completed`
/// on the same stack, with `{}`, `{"orderId": "42", ...}` or no data: it requires nothing, so
/// that registering it, whenever this test runs, refuses none of theirs.
fn order_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "orderId": {"type": "string"},
            "total": {"type": "number", "minimum": 0},
        },
    })
}

#[tokio::test]
async fn a_registered_event_type_is_listed_checked_on_publish_and_sent_as_a_test_event() {
    let receiver = Receiver::start([]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let example = json!({"orderId": "o-42", "total": 129.5, "signer": "Åse Ødegård"});
    let registered = api
        .put(
            "/event-types/order.completed",
            json!({
                "sender": "signature-api",
                "description": "Every signer signed the order's documents.",
                "eventData": example,
                "schema": order_schema(),
            }),
        )
        .await;
    // Created, or replaced when the stack has seen this test before.
    assert!(
        [200, 201].contains(&registered.status),
        "{:?}",
        registered.body
    );
    let etag = registered.etag();
    assert_eq!(registered.body["builtIn"], false);
    let read = api.get("/event-types/order.completed").await;
    assert_eq!(read.status, 200);
    assert_eq!(read.etag(), etag);

    // Listed under its sender, after Herald's own.
    let listing = api.get("/event-types").await;
    assert_eq!(listing.status, 200);
    assert_eq!(listing.body["senders"][0]["sender"], "herald");
    let (sender, order) = listed(&listing.body)
        .into_iter()
        .find(|(_, t)| t["name"] == "order.completed")
        .expect("order.completed is listed");
    assert_eq!(sender, "signature-api");
    assert_eq!(order["schema"], order_schema());
    assert_eq!(order["sample"]["eventData"], example);
    assert_eq!(order["sample"]["sender"], "signature-api");

    // Published data must satisfy the schema.
    let events = format!("/accounts/{account}/events");
    let ok = api
        .post(
            &events,
            json!({"sender": "signature-api", "eventName": "order.completed",
                   "eventData": {"orderId": "o-7", "total": 10}}),
        )
        .await;
    assert_eq!(ok.status, 202, "{:?}", ok.body);
    let refused = api
        .post(
            &events,
            json!({"sender": "signature-api", "eventName": "order.completed",
                   "eventData": {"orderId": 7, "total": -1}}),
        )
        .await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(
        refused.error_fields(),
        ["eventData/orderId", "eventData/total"]
    );

    // A test event carries the registered sender and example.
    let created = api
        .subscribe(
            account.as_str(),
            webhook(
                &receiver.url,
                json!({"secret": false, "events": ["sms.sent"]}),
            ),
        )
        .await;
    let id = created.body["id"].as_str().expect("id");
    let sent = api
        .post(
            &format!("/accounts/{account}/subscriptions/{id}/test"),
            json!({"eventName": "order.completed"}),
        )
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    let got = receiver.wait_for(1, WAIT).await;
    let event = got[0].json();
    assert_eq!(event["eventName"], "order.completed");
    assert_eq!(event["sender"], "signature-api");
    assert_eq!(event["eventData"], example);
    assert_eq!(event["tags"], json!(["mock"]));
    assert_eq!(event["accountId"], account.as_str());

    // Only internal services register.
    let admin = Api::for_accounts(account.as_str());
    let forbidden = admin
        .put(
            "/event-types/order.completed",
            json!({"sender": "x", "description": "d", "eventData": {}}),
        )
        .await;
    assert_eq!(forbidden.status, 403, "{:?}", forbidden.body);
    let reserved = api
        .put(
            "/event-types/sms.sent",
            json!({"sender": "x", "description": "d", "eventData": {}}),
        )
        .await;
    assert_eq!(reserved.status, 409, "{:?}", reserved.body);
}
