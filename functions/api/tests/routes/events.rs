//! `GET /event-types` and `POST /accounts/{accountId}/events`.

use herald::events::webhook::EventId;
use serde_json::{Value, json};

use crate::harness::{Answer, Caller, Herald, get, post};

const URL: &str = "/accounts/acme/events";

fn order_completed() -> Value {
    json!({
        "sender": "signature-api",
        "eventName": "order.completed",
        "eventData": {"orderId": "o-42", "total": 129.5},
        "organizationId": "org-7",
        "tags": ["order-42", "eu"],
    })
}

/// The event a 202 answered, checked for the envelope's nine fields.
#[track_caller]
fn published(answer: &Answer) -> Value {
    let event = answer.ok(202);
    let mut fields: Vec<&str> = event
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "accountId",
            "eventData",
            "eventName",
            "expiresAt",
            "id",
            "organizationId",
            "sender",
            "tags",
            "timestamp"
        ],
        "{answer:?}"
    );
    assert!(
        EventId::parse(event["id"].as_str().expect("id")).is_ok(),
        "{answer:?}"
    );
    event
}

/// The events queued for fan-out, as JSON.
fn queued(h: &Herald) -> Vec<Value> {
    h.events_queue
        .jobs()
        .iter()
        .map(|e| serde_json::to_value(e).expect("json"))
        .collect()
}

#[tokio::test]
async fn event_types_are_the_catalog_each_with_a_whole_sample() {
    let h = Herald::new().await;
    let body = h.call(get("/event-types")).await.ok(200);
    let items = body["items"].as_array().expect("items");
    let names: Vec<&str> = items.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "sms.sent",
            "sms.delivered",
            "sms.failed",
            "email.sent",
            "email.delivered",
            "email.opened",
            "email.failed",
            "domain.verified",
            "domain.failed",
            "subscription.disabled"
        ]
    );
    for item in items {
        assert!(
            item["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{item}"
        );
        let sample = &item["sample"];
        assert_eq!(sample["eventName"], item["name"]);
        assert_eq!(sample["sender"], "herald");
        assert_eq!(sample["accountId"], "acme");
        assert_eq!(sample["organizationId"], Value::Null);
        assert_eq!(sample["tags"], json!(["order-42"]));
        assert_eq!(sample["timestamp"], "2030-01-15T09:30:00Z");
        assert_eq!(sample["expiresAt"], "2030-01-20T09:30:00Z");
        assert!(sample["eventData"].is_object(), "{item}");
    }
    assert_eq!(items[2]["sample"]["eventData"]["code"], "21211");
    // Administrators read it too.
    h.call(get("/event-types").by(Caller::admin("globex")))
        .await
        .ok(200);
}

#[tokio::test]
async fn a_published_event_is_answered_and_queued_for_fan_out() {
    let h = Herald::new().await;
    let answer = h.call(post(URL).json(order_completed())).await;
    let event = published(&answer);
    assert_eq!(event["sender"], "signature-api");
    assert_eq!(event["eventName"], "order.completed");
    assert_eq!(
        event["eventData"],
        json!({"orderId": "o-42", "total": 129.5})
    );
    assert_eq!(event["accountId"], "acme");
    assert_eq!(event["organizationId"], "org-7");
    assert_eq!(event["tags"], json!(["order-42", "eu"]));
    assert_eq!(event["timestamp"], "2030-01-15T09:30:00Z");
    // Five days unless the publisher says.
    assert_eq!(event["expiresAt"], "2030-01-20T09:30:00Z");
    assert_eq!(answer.header("idempotent-replayed"), None);
    assert_eq!(queued(&h), [event]);
}

#[tokio::test]
async fn optional_fields_take_their_defaults_and_times_are_utc() {
    let h = Herald::new().await;
    let answer = h
        .call(post(URL).json(json!({
            "sender": "billing",
            "eventName": "invoice.paid",
            "expiresAt": "2030-01-16T12:00:00+02:00",
            "tags": ["a", "b", "a"],
        })))
        .await;
    let event = published(&answer);
    assert_eq!(event["eventData"], json!({}));
    assert_eq!(event["organizationId"], Value::Null);
    assert_eq!(event["expiresAt"], "2030-01-16T10:00:00Z");
    // Tags are a set.
    assert_eq!(event["tags"], json!(["a", "b"]));
}

#[tokio::test]
async fn a_repeat_with_the_same_idempotency_key_answers_with_the_first_event() {
    let h = Herald::new().await;
    let first = published(
        &h.call(
            post(URL)
                .header("idempotency-key", "evt-1")
                .json(order_completed()),
        )
        .await,
    );
    h.clock.advance(time::Duration::minutes(5));
    // The same body, its fields in another order.
    let repeat = h
        .call(post(URL).header("idempotency-key", "evt-1").raw(
            "application/json",
            r#"{"tags": ["order-42", "eu"], "organizationId": "org-7",
                "eventData": {"total": 129.5, "orderId": "o-42"},
                "eventName": "order.completed", "sender": "signature-api"}"#,
        ))
        .await;
    assert_eq!(published(&repeat), first);
    assert_eq!(repeat.header("idempotent-replayed"), Some("true"));
    assert_eq!(queued(&h), std::slice::from_ref(&first));

    let mut changed = order_completed();
    changed["eventData"]["total"] = json!(130);
    let refused = h
        .call(post(URL).header("idempotency-key", "evt-1").json(changed))
        .await;
    assert_eq!(
        refused.detail(422),
        "this Idempotency-Key was used for a different request"
    );
    assert_eq!(queued(&h).len(), 1);

    // A day later the key is free again.
    h.clock.advance(time::Duration::hours(24));
    let later = published(
        &h.call(
            post(URL)
                .header("idempotency-key", "evt-1")
                .json(order_completed()),
        )
        .await,
    );
    assert_ne!(later["id"], first["id"]);
    assert_eq!(queued(&h).len(), 2);
}

#[tokio::test]
async fn keys_of_events_are_apart_from_keys_of_messages_and_accounts() {
    let h = Herald::new().await;
    let both = Caller::internal("acme globex");
    h.call(
        post("/accounts/acme/messages/sms")
            .by(both.clone())
            .header("idempotency-key", "shared")
            .json(json!({"to": "+4712345678", "text": "Hi"})),
    )
    .await
    .ok(202);
    let event = h
        .call(
            post(URL)
                .by(both.clone())
                .header("idempotency-key", "shared")
                .json(order_completed()),
        )
        .await;
    published(&event);
    assert_eq!(event.header("idempotent-replayed"), None);
    let globex = h
        .call(
            post("/accounts/globex/events")
                .by(both)
                .header("idempotency-key", "shared")
                .json(order_completed()),
        )
        .await;
    assert_eq!(published(&globex)["accountId"], "globex");
    assert_eq!(globex.header("idempotent-replayed"), None);
    assert_eq!(queued(&h).len(), 2);
}

#[tokio::test]
async fn an_event_not_queued_is_a_503_and_its_repeat_publishes_it_once() {
    let h = Herald::new().await;
    h.events_queue.set_down(true);
    let down = h
        .call(
            post(URL)
                .header("idempotency-key", "evt-2")
                .json(order_completed()),
        )
        .await;
    let detail = down.detail(503);
    assert!(detail.contains("could not be queued"), "{detail}");
    assert_eq!(down.header("retry-after"), Some("1"));
    assert!(queued(&h).is_empty());

    h.events_queue.set_down(false);
    let repeat = h
        .call(
            post(URL)
                .header("idempotency-key", "evt-2")
                .json(order_completed()),
        )
        .await;
    let event = published(&repeat);
    assert_eq!(repeat.header("idempotent-replayed"), Some("true"));
    assert_eq!(queued(&h), std::slice::from_ref(&event));
    // Now noted as queued: a further repeat queues nothing.
    let again = h
        .call(
            post(URL)
                .header("idempotency-key", "evt-2")
                .json(order_completed()),
        )
        .await;
    assert_eq!(published(&again), event);
    assert_eq!(queued(&h).len(), 1);

    // Without a key, a queue outage is a 503 all the same.
    h.events_queue.set_down(true);
    h.call(post(URL).json(order_completed())).await.problem(503);
}

#[tokio::test]
async fn only_internal_services_publish_whatever_the_body() {
    let h = Herald::new().await;
    for body in [order_completed(), json!({})] {
        let answer = h.call(post(URL).by(Caller::admin("acme")).json(body)).await;
        assert_eq!(
            answer.detail(403),
            "only internal services publish events (scope herald:internal)"
        );
    }
    assert!(queued(&h).is_empty());
}

#[tokio::test]
async fn every_invalid_field_is_named() {
    let h = Herald::new().await;
    let missing = h.call(post(URL).json(json!({}))).await;
    assert_eq!(missing.invalid_fields(), ["sender", "eventName"]);

    let wrong = h
        .call(post(URL).json(json!({
            "sender": "signature api",
            "eventName": "Order",
            "eventData": [1, 2],
            "organizationId": "org 7",
            "expiresAt": "2030-01-15T09:29:59Z",
            "tags": ["ok", 5, "not ok"],
            "priority": "high",
        })))
        .await;
    let mut fields = wrong.invalid_fields();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "eventData",
            "eventName",
            "expiresAt",
            "organizationId",
            "priority",
            "sender",
            "tags[1]",
            "tags[2]"
        ]
    );
    assert!(
        wrong
            .message_for("expiresAt")
            .contains("after the event's timestamp"),
        "{wrong:?}"
    );

    let big = h
        .call(post(URL).json(json!({
            "sender": "s",
            "eventName": "a.b",
            "eventData": {"blob": "x".repeat(64 * 1024)},
        })))
        .await;
    assert_eq!(big.invalid_fields(), ["eventData"]);
    let not_time = h
        .call(post(URL).json(json!({"sender": "s", "eventName": "a.b", "expiresAt": "tomorrow"})))
        .await;
    assert_eq!(not_time.invalid_fields(), ["expiresAt"]);
    let bad_key = h
        .call(
            post(URL)
                .header("idempotency-key", "a key")
                .json(order_completed()),
        )
        .await;
    assert!(bad_key.detail(400).contains("Idempotency-Key"));
    assert!(queued(&h).is_empty());
}

#[tokio::test]
async fn other_accounts_are_not_found() {
    let h = Herald::new().await;
    h.call(post("/accounts/globex/events").json(order_completed()))
        .await
        .problem(404);
    h.call(
        post("/accounts/bad.id/events")
            .by(Caller::internal("*"))
            .json(order_completed()),
    )
    .await
    .problem(404);
    assert!(queued(&h).is_empty());
}
