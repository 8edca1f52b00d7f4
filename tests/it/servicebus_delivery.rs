//! Azure Service Bus subscriptions end to end under the local stack: created through the API,
//! events published through the API and delivered by the functions to the local Service Bus
//! (`xtask/servers/servicebus.py`), which checks every shared access signature as Microsoft
//! documents it. Herald's signatures are compared byte for byte with those of Microsoft's own
//! `azure-servicebus` package, and the local server's check is shown to accept that package's
//! tokens, so neither side is checked only against itself.

use std::process::Command;
use std::time::Duration;

use herald::common::account::AccountId;
use herald::common::secret::Secret;
use herald::events::destination::azure_service_bus::{KeyName, sas_token};
use herald_tests::api::Api;
use herald_tests::receiver::Receiver;
use herald_tests::{new_account, stack_var};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);
const KEY_NAME: &str = "herald-send";

/// The local Service Bus and its control API.
struct Bus {
    url: String,
    http: reqwest::Client,
}

impl Bus {
    fn new() -> Self {
        Self {
            url: stack_var("HERALD_TEST_SERVICEBUS_URL"),
            http: reqwest::Client::new(),
        }
    }

    /// A queue with one key that may send, and duplicate detection on. Its name is unique.
    async fn create_queue(&self, key: &str) -> String {
        let entity = format!("orders-{}", uuid::Uuid::new_v4().simple());
        let reply = self
            .http
            .put(format!("{}/_control/entities/{entity}", self.url))
            .json(&json!({"keys": {KEY_NAME: key}, "duplicateDetection": true}))
            .send()
            .await
            .expect("sent");
        assert_eq!(reply.status(), 201);
        entity
    }

    async fn delete(&self, entity: &str) {
        let reply = self
            .http
            .delete(format!("{}/_control/entities/{entity}", self.url))
            .send()
            .await
            .expect("sent");
        assert_eq!(reply.status(), 204);
    }

    /// The messages the queue holds, and how many duplicates it dropped.
    async fn messages(&self, entity: &str) -> (Vec<Value>, u64) {
        let got: Value = self
            .http
            .get(format!("{}/_control/entities/{entity}/messages", self.url))
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("json");
        (
            got["messages"].as_array().cloned().unwrap_or_default(),
            got["duplicates"].as_u64().expect("a count"),
        )
    }

    async fn fail_next(&self, entity: &str, count: u32, status: u16, retry_after: &str) {
        let reply = self
            .http
            .post(format!("{}/_control/entities/{entity}/fail", self.url))
            .json(&json!({"count": count, "status": status, "retryAfter": retry_after}))
            .send()
            .await
            .expect("sent");
        assert_eq!(reply.status(), 200);
    }
}

fn key() -> String {
    format!("{}=", uuid::Uuid::new_v4().simple())
}

/// A subscription as the portal's connection string gives it, sent to the local server.
fn subscription(bus: &Bus, entity: &str, key: &str) -> Value {
    json!({
        "name": "Orders on Service Bus",
        "type": "azure-service-bus",
        "connectionString": format!(
            "Endpoint=sb://acme-events.servicebus.windows.net/;SharedAccessKeyName={KEY_NAME};\
             SharedAccessKey={key};EntityPath={entity}"
        ),
        "endpoint": bus.url,
        "events": ["order.completed"],
    })
}

async fn publish(api: &Api, account: &AccountId) -> Value {
    let reply = api
        .post(
            &format!("/accounts/{account}/events"),
            json!({"sender": "signature-api", "eventName": "order.completed",
                   "eventData": {"orderId": "42", "signer": "Åse Ødegård"}}),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    reply.body
}

/// The subscription's deliveries once none is pending and each has made `attempts` attempts
/// at least.
async fn settled(api: &Api, account: &AccountId, subscription: &str, attempts: u64) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page = api
            .get(&format!(
                "/accounts/{account}/deliveries?subscriptionId={subscription}"
            ))
            .await;
        let items = page.body["items"].as_array().cloned().unwrap_or_default();
        if !items.is_empty()
            && items
                .iter()
                .all(|d| d["status"] != "pending" && d["attempts"].as_u64() >= Some(attempts))
        {
            return items;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries still pending: {items:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn create(api: &Api, account: &AccountId, body: Value) -> String {
    let created = api.subscribe(account.as_str(), body).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    created.body["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn a_published_event_becomes_one_message_with_its_properties() {
    let bus = Bus::new();
    let key = key();
    let entity = bus.create_queue(&key).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let id = create(&api, &account, subscription(&bus, &entity, &key)).await;

    // The key is write-only: neither it nor the connection string is ever shown.
    let read = api
        .get(&format!("/accounts/{account}/subscriptions/{id}"))
        .await;
    assert_eq!(read.body["type"], "azure-service-bus");
    assert_eq!(read.body["sasKey"], "********");
    assert_eq!(read.body["sasKeyName"], KEY_NAME);
    assert_eq!(read.body["entity"], entity.as_str());
    assert!(
        read.body.get("connectionString").is_none(),
        "{:?}",
        read.body
    );
    assert!(!read.body.to_string().contains(&key));

    let event = publish(&api, &account).await;
    let deliveries = settled(&api, &account, &id, 1).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["status"], "delivered", "{deliveries:?}");
    let delivery = deliveries[0]["id"].as_str().expect("id");

    let (messages, duplicates) = bus.messages(&entity).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(duplicates, 0);
    let message = &messages[0];
    assert_eq!(message["brokerProperties"]["MessageId"], delivery);
    assert_eq!(message["brokerProperties"]["Label"], "order.completed");
    assert_eq!(message["contentType"], "application/json");
    assert_eq!(
        message["customProperties"],
        json!({"eventname": "order.completed", "eventid": event["id"],
               "accountid": account.as_str(), "deliveryid": delivery})
    );
    // Strings, in quotes: a consumer never gets a number or a date it did not send.
    assert_eq!(
        message["rawCustomProperties"]["eventname"],
        "\"order.completed\""
    );

    let detail = api
        .get(&format!("/accounts/{account}/deliveries/{delivery}"))
        .await;
    assert_eq!(message["body"], detail.body["body"], "the same bytes");
    let attempts = detail.body["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["responseStatus"], 201);
    let headers = attempts[0]["requestHeaders"].as_object().expect("headers");
    assert!(headers.contains_key("BrokerProperties"), "{headers:?}");
    assert_eq!(headers["deliveryId"], format!("\"{delivery}\""));
    // The token is a credential: never in the log.
    assert!(
        !headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("authorization")),
        "{headers:?}"
    );
    assert!(!detail.body.to_string().contains("SharedAccessSignature"));
}

#[tokio::test]
async fn a_busy_service_bus_is_retried_and_a_resend_is_dropped_as_a_duplicate() {
    let bus = Bus::new();
    let key = key();
    let entity = bus.create_queue(&key).await;
    bus.fail_next(&entity, 1, 503, "1").await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let id = create(&api, &account, subscription(&bus, &entity, &key)).await;
    publish(&api, &account).await;

    let deliveries = settled(&api, &account, &id, 2).await;
    assert_eq!(deliveries[0]["status"], "delivered", "{deliveries:?}");
    assert_eq!(deliveries[0]["attempts"], 2);
    let delivery = deliveries[0]["id"].as_str().expect("id").to_owned();
    let (messages, duplicates) = bus.messages(&entity).await;
    assert_eq!((messages.len(), duplicates), (1, 0), "{messages:?}");

    // Sent again by hand: the same MessageId, which duplicate detection drops.
    let retried = api
        .post(
            &format!("/accounts/{account}/deliveries/{delivery}/retry"),
            json!({}),
        )
        .await;
    assert_eq!(retried.status, 202, "{:?}", retried.body);
    let deliveries = settled(&api, &account, &id, 3).await;
    assert_eq!(deliveries[0]["status"], "delivered", "{deliveries:?}");
    let (messages, duplicates) = bus.messages(&entity).await;
    assert_eq!((messages.len(), duplicates), (1, 1), "{messages:?}");

    let detail = api
        .get(&format!("/accounts/{account}/deliveries/{delivery}"))
        .await;
    let outcomes: Vec<&str> = detail.body["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .filter_map(|a| a["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["retry", "delivered", "delivered"]);
    assert_eq!(detail.body["attempts"][0]["responseStatus"], 503);
}

#[tokio::test]
async fn a_deleted_queue_disables_the_subscription_and_publishes_that() {
    let bus = Bus::new();
    let key = key();
    let entity = bus.create_queue(&key).await;
    let watcher = Receiver::start([]).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let id = create(&api, &account, subscription(&bus, &entity, &key)).await;
    create(
        &api,
        &account,
        json!({"name": "Watcher", "type": "webhook", "url": watcher.url,
               "events": ["subscription.disabled"]}),
    )
    .await;
    bus.delete(&entity).await;
    publish(&api, &account).await;

    let deliveries = settled(&api, &account, &id, 1).await;
    assert_eq!(deliveries[0]["status"], "failed", "{deliveries:?}");
    assert_eq!(deliveries[0]["attempts"], 1, "not retried");
    let got = watcher.wait_for(1, WAIT).await;
    let event = got[0].json();
    assert_eq!(event["eventName"], "subscription.disabled");
    assert_eq!(event["eventData"]["subscriptionId"], id.as_str());
    let read = api
        .get(&format!("/accounts/{account}/subscriptions/{id}"))
        .await;
    assert_eq!(read.body["active"], false);
    let reason = read.body["disabledReason"].as_str().expect("a reason");
    assert!(
        reason.contains(&entity) && reason.contains("no longer exists"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_wrong_key_fails_the_delivery_with_a_reason_naming_the_key() {
    let bus = Bus::new();
    let entity = bus.create_queue(&key()).await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let id = create(&api, &account, subscription(&bus, &entity, &key())).await;
    publish(&api, &account).await;

    let deliveries = settled(&api, &account, &id, 1).await;
    assert_eq!(deliveries[0]["status"], "failed", "{deliveries:?}");
    assert_eq!(deliveries[0]["attempts"], 1, "not retried");
    assert_eq!(deliveries[0]["lastResponseStatus"], 401);
    let delivery = deliveries[0]["id"].as_str().expect("id");
    let detail = api
        .get(&format!("/accounts/{account}/deliveries/{delivery}"))
        .await;
    let error = detail.body["attempts"][0]["error"]
        .as_str()
        .expect("an error");
    assert!(
        error.contains(KEY_NAME) && error.contains("InvalidSignature"),
        "{error}"
    );
    let read = api
        .get(&format!("/accounts/{account}/subscriptions/{id}"))
        .await;
    assert_eq!(read.body["active"], true, "a wrong key does not disable");
    assert_eq!(bus.messages(&entity).await.0.len(), 0);
}

/// Tokens made by Microsoft's `azure-servicebus` package (its own generator, as its clients
/// use it) for `(resource, key name, key, expiry)`, one per line of input.
fn official_tokens(inputs: &[(&str, &str, &str, i64)]) -> Vec<String> {
    const SCRIPT: &str = r#"
import json, sys
from azure.servicebus._pyamqp.utils import generate_sas_token
for resource, key_name, key, expiry in json.loads(sys.argv[1]):
    print(generate_sas_token(resource, key_name, key, expiry))
"#;
    let out = Command::new(stack_var("HERALD_TEST_PYTHON"))
        .args(["-c", SCRIPT, &json!(inputs).to_string()])
        .output()
        .expect("python ran");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn sas_tokens_are_microsofts_byte_for_byte_and_the_local_check_accepts_microsofts() {
    let inputs = [
        (
            "https://acme-events.servicebus.windows.net/orders",
            "herald-send",
            "c2VjcmV0LWtleS0xMjM0NTY3ODkw+/ab=",
            1_893_456_000,
        ),
        (
            "https://acme-events.servicebus.windows.net/team.a/orders_x~1",
            "RootManageSharedAccessKey",
            "k",
            1_700_000_000,
        ),
        (
            "http://127.0.0.1:9000/queue-1",
            "Send_Only.2",
            "a key with spaces & symbols: é",
            4_102_444_800,
        ),
    ];
    let official = official_tokens(&inputs);
    assert_eq!(official.len(), inputs.len());
    for ((resource, key_name, key, expiry), theirs) in inputs.iter().zip(&official) {
        let ours = sas_token(
            resource,
            &KeyName::parse(key_name).expect("valid"),
            &Secret::parse(key).expect("valid"),
            *expiry,
        );
        assert_eq!(ours.expose(), theirs, "{resource}");
    }

    // The local server accepts the package's token for one of its queues, and refuses it
    // tampered with, expired, or for another queue.
    let bus = Bus::new();
    let key = key();
    let entity = bus.create_queue(&key).await;
    let resource = format!("{}/{entity}", bus.url);
    let later = herald_tests::api::now() + 600;
    let tokens = official_tokens(&[
        (&resource, KEY_NAME, &key, later),
        (&resource, KEY_NAME, &key, herald_tests::api::now() - 1),
        (&format!("{}/other", bus.url), KEY_NAME, &key, later),
    ]);
    let send = |token: String| {
        let request = bus
            .http
            .post(format!("{resource}/messages"))
            .header("Authorization", token)
            .header("BrokerProperties", r#"{"MessageId":"m-1"}"#)
            .body("{}");
        async move { request.send().await.expect("sent") }
    };
    assert_eq!(send(tokens[0].clone()).await.status(), 201);
    let tampered = tokens[0].replace("&se=", "A&se=");
    let refused = send(tampered).await;
    assert_eq!(refused.status(), 401);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("<Code>401</Code>")
    );
    assert_eq!(send(tokens[1].clone()).await.status(), 401, "expired");
    assert_eq!(send(tokens[2].clone()).await.status(), 401, "another queue");
    assert_eq!(bus.messages(&entity).await.0.len(), 1);
}
