//! End to end under the local stack: `google-pubsub` subscriptions made through the API,
//! events published through the API and delivered by the functions to Google's Pub/Sub
//! emulator, with access tokens from a token endpoint that verifies each assertion with
//! Google's auth library (`xtask/servers/google_token.py`). What arrives is pulled from the
//! emulator through a subscription of its own, as a consumer would.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use herald::common::account::AccountId;
use herald_tests::api::Api;
use herald_tests::receiver::Receiver;
use herald_tests::{new_account, stack_var};

const WAIT: Duration = Duration::from_secs(60);
const PROJECT: &str = "herald-local";

fn emulator() -> String {
    stack_var("HERALD_TEST_PUBSUB_EMULATOR")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// The stack's service-account key, as the console downloads it.
fn key() -> Value {
    let path = stack_var("HERALD_TEST_GOOGLE_KEY_FILE");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("a key")
}

/// A topic of its own for each test, and a pull subscription on it; the topic's id.
async fn topic() -> String {
    let id = format!("events-{}", uuid::Uuid::new_v4().simple());
    let base = format!("{}/v1/projects/{PROJECT}", emulator());
    let made = http()
        .put(format!("{base}/topics/{id}"))
        .json(&json!({}))
        .send()
        .await
        .expect("emulator");
    assert_eq!(made.status(), 200, "{:?}", made.text().await);
    let made = http()
        .put(format!("{base}/subscriptions/{id}"))
        .json(&json!({"topic": format!("projects/{PROJECT}/topics/{id}")}))
        .send()
        .await
        .expect("emulator");
    assert_eq!(made.status(), 200, "{:?}", made.text().await);
    id
}

/// `n` messages pulled (and acknowledged) from the topic's pull subscription.
async fn pull(topic: &str, n: usize) -> Vec<Value> {
    let base = format!("{}/v1/projects/{PROJECT}/subscriptions/{topic}", emulator());
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut got = Vec::new();
    while got.len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} messages arrived: {got:?}",
            got.len()
        );
        let reply: Value = http()
            .post(format!("{base}:pull"))
            .json(&json!({"maxMessages": 10, "returnImmediately": true}))
            .send()
            .await
            .expect("emulator")
            .json()
            .await
            .expect("json");
        let received = reply["receivedMessages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if received.is_empty() {
            tokio::time::sleep(Duration::from_millis(300)).await;
            continue;
        }
        let ack_ids: Vec<Value> = received.iter().map(|m| m["ackId"].clone()).collect();
        http()
            .post(format!("{base}:acknowledge"))
            .json(&json!({"ackIds": ack_ids}))
            .send()
            .await
            .expect("emulator");
        got.extend(received.into_iter().map(|m| m["message"].clone()));
    }
    got
}

fn data(message: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(message["data"].as_str().expect("data"))
        .expect("base64")
}

fn pubsub(topic: &str, key: Value, extra: Value) -> Value {
    let mut body = json!({
        "name": "Orders to Pub/Sub",
        "type": "google-pubsub",
        "project": PROJECT,
        "topic": topic,
        "serviceAccountKey": key,
        "endpoint": emulator(),
    });
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    body
}

async fn publish(api: &Api, account: &AccountId, name: &str) -> Value {
    let reply = api
        .post(
            &format!("/accounts/{account}/events"),
            json!({"sender": "signature-api", "eventName": name,
                   "eventData": {"orderId": "42", "signer": "Åse Ødegård"}}),
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

/// No part of the key, and no access token, in what the API answered.
fn assert_no_credentials(key: &Value, reply: &Value) {
    let text = reply.to_string();
    let private_key = key["private_key"].as_str().expect("private_key");
    let body_of_the_key: String = private_key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .take(2)
        .collect();
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    assert!(!text.contains(&body_of_the_key), "{text}");
    assert!(!text.contains("ya29."), "an access token: {text}");
}

#[tokio::test]
async fn an_event_reaches_the_topic_byte_for_byte_with_its_attributes() {
    let topic = topic().await;
    let key = key();
    let account = new_account();
    let api = Api::internal(account.as_str());
    let created = api
        .subscribe(
            account.as_str(),
            pubsub(&topic, key.clone(), json!({"orderingKey": "orders"})),
        )
        .await;
    assert_no_credentials(&key, &created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    let read = api
        .get(&format!("/accounts/{account}/subscriptions/{id}"))
        .await;
    assert_eq!(read.body["serviceAccountKey"], "********");
    assert_eq!(read.body["serviceAccount"], key["client_email"]);
    assert_eq!(read.body["keyId"], key["private_key_id"]);
    assert_no_credentials(&key, &read.body);

    let event = publish(&api, &account, "order.completed").await;
    let got = pull(&topic, 1).await;
    let deliveries = settled(&api, &account, &id).await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["status"], "delivered", "{deliveries:?}");
    let delivery = deliveries[0]["id"].as_str().expect("id");
    let detail = api
        .get(&format!("/accounts/{account}/deliveries/{delivery}"))
        .await;
    assert_no_credentials(&key, &detail.body);

    let message = &got[0];
    assert_eq!(
        Some(data(message).as_slice()),
        detail.body["body"].as_str().map(str::as_bytes),
        "the envelope as recorded, byte for byte"
    );
    let attributes = json!({
        "eventName": "order.completed",
        "eventId": event["id"],
        "accountId": account.as_str(),
        "deliveryId": delivery,
    });
    assert_eq!(message["attributes"], attributes);
    assert_eq!(message["orderingKey"], "orders");

    let attempts = detail.body["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0]["outcome"], "delivered");
    assert_eq!(attempts[0]["responseStatus"], 200);
    assert_eq!(
        attempts[0]["url"],
        format!(
            "{}/v1/projects/{PROJECT}/topics/{topic}:publish",
            emulator()
        )
    );
    let mut shown = attributes.clone();
    shown["orderingKey"] = json!("orders");
    assert_eq!(attempts[0]["requestHeaders"], shown);
    let answered: Value =
        serde_json::from_str(attempts[0]["responseBody"].as_str().expect("body")).expect("json");
    assert_eq!(answered["messageIds"], json!([message["messageId"]]));

    // A test event takes the same way.
    let sent = api
        .post(
            &format!("/accounts/{account}/subscriptions/{id}/test"),
            json!({"eventName": "sms.delivered"}),
        )
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    let got = pull(&topic, 1).await;
    assert_eq!(
        Some(data(&got[0]).as_slice()),
        sent.body["body"].as_str().map(str::as_bytes)
    );
    assert_eq!(got[0]["attributes"]["eventName"], "sms.delivered");

    let listed = api.get(&format!("/accounts/{account}/subscriptions")).await;
    assert_no_credentials(&key, &listed.body);
}

#[tokio::test]
async fn a_deleted_topic_disables_the_subscription_and_publishes_that() {
    let topic = topic().await;
    let watcher = Receiver::start([]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let created = api
        .subscribe(
            account.as_str(),
            pubsub(&topic, key(), json!({"events": ["order.completed"]})),
        )
        .await;
    let id = created.body["id"].as_str().expect("id").to_owned();
    api.subscribe(
        account.as_str(),
        json!({"name": "Watcher", "type": "webhook", "url": watcher.url,
               "events": ["subscription.disabled"]}),
    )
    .await;
    let deleted = http()
        .delete(format!(
            "{}/v1/projects/{PROJECT}/topics/{topic}",
            emulator()
        ))
        .send()
        .await
        .expect("emulator");
    assert_eq!(deleted.status(), 200);

    publish(&api, &account, "order.completed").await;
    let got = watcher.wait_for(1, WAIT).await;
    let event = got[0].json();
    assert_eq!(event["eventName"], "subscription.disabled");
    assert_eq!(event["eventData"]["subscriptionId"], id);
    let reason = format!("the Pub/Sub topic projects/{PROJECT}/topics/{topic} no longer exists");
    let read = api
        .get(&format!("/accounts/{account}/subscriptions/{id}"))
        .await;
    assert_eq!(read.body["active"], false);
    assert_eq!(read.body["disabledReason"], reason.as_str());
    let deliveries = settled(&api, &account, &id).await;
    assert_eq!(deliveries[0]["status"], "failed", "{deliveries:?}");
}

#[tokio::test]
async fn a_key_the_token_endpoint_refuses_fails_the_delivery_naming_the_key() {
    let topic = topic().await;
    let mut key = key();
    // Signed with the right private key, but naming a key id Google does not know.
    key["private_key_id"] = json!("0000deleted0000");
    let account = new_account();
    let api = Api::internal(account.as_str());
    let created = api
        .subscribe(account.as_str(), pubsub(&topic, key.clone(), json!({})))
        .await;
    let id = created.body["id"].as_str().expect("id").to_owned();
    publish(&api, &account, "order.completed").await;
    let deliveries = settled(&api, &account, &id).await;
    assert_eq!(deliveries[0]["status"], "failed", "{deliveries:?}");
    let delivery = deliveries[0]["id"].as_str().expect("id");
    let detail = api
        .get(&format!("/accounts/{account}/deliveries/{delivery}"))
        .await;
    let attempts = detail.body["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "not retried: {attempts:?}");
    assert_eq!(attempts[0]["outcome"], "failed");
    let error = attempts[0]["error"].as_str().expect("an error");
    assert!(
        error.contains("the service account key 0000deleted0000 of ")
            && error.contains("(invalid_grant: ")
            && error.contains("upload a valid key"),
        "{error}"
    );
    assert_no_credentials(&key, &detail.body);
    // A refused key fails deliveries; it does not disable the subscription.
    let read = api
        .get(&format!("/accounts/{account}/subscriptions/{id}"))
        .await;
    assert_eq!(read.body["active"], true);
}

#[tokio::test]
async fn a_token_endpoint_unavailable_once_is_retried_then_delivered() {
    let topic = topic().await;
    let mut key = key();
    // An account of its own, so that no token of another test's is kept for it.
    let account_email = format!(
        "retry-{}@herald-local.iam.gserviceaccount.com",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    key["client_email"] = json!(account_email);
    let token_url = stack_var("HERALD_TEST_GOOGLE_TOKEN_URL");
    let control = token_url.replace("/token", "/control/unavailable");
    let armed = http()
        .post(control)
        .json(&json!({"clientEmail": account_email, "status": 503, "times": 1}))
        .send()
        .await
        .expect("token endpoint");
    assert_eq!(armed.status(), 200);

    let account = new_account();
    let api = Api::internal(account.as_str());
    let created = api
        .subscribe(account.as_str(), pubsub(&topic, key, json!({})))
        .await;
    let id = created.body["id"].as_str().expect("id").to_owned();
    publish(&api, &account, "order.completed").await;
    let got = pull(&topic, 1).await;
    let deliveries = settled(&api, &account, &id).await;
    assert_eq!(deliveries[0]["status"], "delivered", "{deliveries:?}");
    let delivery = deliveries[0]["id"].as_str().expect("id");
    assert_eq!(got[0]["attributes"]["deliveryId"], delivery);
    let detail = api
        .get(&format!("/accounts/{account}/deliveries/{delivery}"))
        .await;
    let attempts = detail.body["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0]["outcome"], "retry");
    assert_eq!(attempts[0]["responseStatus"], 503);
    assert!(
        attempts[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains(&format!("the token endpoint {token_url} answered 503"))),
        "{attempts:?}"
    );
    assert_eq!(attempts[1]["outcome"], "delivered");
    assert_eq!(attempts[1]["responseStatus"], 200);
}
