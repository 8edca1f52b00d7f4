//! `/event-types` (the catalog and its registry) and `POST /accounts/{accountId}/events`.

use herald::events::catalog::registry::EventTypeStore;
use herald::events::webhook::EventId;
use serde_json::{Value, json};

use crate::harness::{Answer, Caller, Herald, Setup, delete, get, post, put};

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

/// Herald's own event types, by name.
const HERALD_TYPES: [&str; 14] = [
    "domain.failed",
    "domain.verified",
    "email.delivered",
    "email.failed",
    "email.opened",
    "email.sent",
    "message.link_clicked",
    "notification.reminder",
    "notification.sent",
    "notification.suppressed",
    "sms.delivered",
    "sms.failed",
    "sms.sent",
    "subscription.disabled",
];

/// The listing as (sender, [type names]).
fn shape(listing: &Value) -> Vec<(String, Vec<String>)> {
    listing["senders"]
        .as_array()
        .expect("senders")
        .iter()
        .map(|g| {
            let sender = g["sender"].as_str().expect("a sender").to_owned();
            let names = g["eventTypes"]
                .as_array()
                .expect("eventTypes")
                .iter()
                .map(|t| {
                    assert_eq!(t["sender"], g["sender"], "{t}");
                    t["name"].as_str().expect("a name").to_owned()
                })
                .collect();
            (sender, names)
        })
        .collect()
}

/// Checks a type's whole sample envelope, as the listing and `GET` show it.
#[track_caller]
fn check_sample(t: &Value) {
    let sample = &t["sample"];
    assert_eq!(sample["eventName"], t["name"], "{t}");
    assert_eq!(sample["sender"], t["sender"], "{t}");
    assert_eq!(sample["accountId"], "acme");
    assert_eq!(sample["organizationId"], Value::Null);
    assert_eq!(sample["tags"], json!(["order-42"]));
    assert_eq!(sample["timestamp"], "2030-01-15T09:30:00Z");
    assert_eq!(sample["expiresAt"], "2030-01-20T09:30:00Z");
    assert!(sample["eventData"].is_object(), "{t}");
    assert!(EventId::parse(sample["id"].as_str().expect("id")).is_ok());
}

#[tokio::test]
async fn event_types_are_herald_s_own_each_with_a_whole_sample() {
    let h = Herald::new().await;
    let body = h.call(get("/event-types")).await.ok(200);
    assert_eq!(
        shape(&body),
        [(
            "herald".to_owned(),
            HERALD_TYPES.map(str::to_owned).to_vec()
        )]
    );
    let types = body["senders"][0]["eventTypes"].as_array().expect("types");
    for t in types {
        assert!(
            t["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{t}"
        );
        assert_eq!(t["builtIn"], true);
        assert!(t.get("schema").is_none(), "{t}");
        check_sample(t);
    }
    let failed = types
        .iter()
        .find(|t| t["name"] == "sms.failed")
        .expect("sms.failed");
    assert_eq!(failed["sample"]["eventData"]["code"], "21211");
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

// The registry: PUT, GET and DELETE /event-types/{name}.

const ORDER: &str = "/event-types/order.completed";

fn order_schema() -> Value {
    json!({
        "type": "object",
        "required": ["orderId"],
        "properties": {
            "orderId": {"type": "string"},
            "total": {"type": "number", "minimum": 0},
            "signers": {"type": "array", "items": {"type": "string", "format": "email"}},
        },
    })
}

/// `order.completed` as the signature service registers it.
fn order_type() -> Value {
    json!({
        "sender": "signature-api",
        "description": "Every signer signed the order's documents.",
        "eventData": {"orderId": "o-42", "total": 129.5, "signers": ["ada@example.com"]},
        "schema": order_schema(),
    })
}

/// Registers a type, which must be created; the answer's body.
async fn register(h: &Herald, name: &str, body: Value) -> Value {
    h.call(put(format!("/event-types/{name}")).json(body))
        .await
        .ok(201)
}

#[tokio::test]
async fn an_internal_service_registers_an_event_type_and_reads_it_back() {
    let h = Herald::new().await;
    let answer = h.call(put(ORDER).json(order_type())).await;
    let created = answer.ok(201);
    let etag = answer.header("etag").expect("an ETag").to_owned();
    assert_eq!(created["name"], "order.completed");
    assert_eq!(created["sender"], "signature-api");
    assert_eq!(created["builtIn"], false);
    assert_eq!(created["schema"], order_schema());
    assert_eq!(
        created["description"],
        "Every signer signed the order's documents."
    );
    check_sample(&created);
    assert_eq!(created["sample"]["eventData"], order_type()["eventData"]);
    let fields: Vec<&str> = created
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "builtIn",
            "description",
            "name",
            "sample",
            "schema",
            "sender"
        ]
    );

    let read = h.call(get(ORDER).by(Caller::admin("globex"))).await;
    let mut body = read.ok(200);
    // Each preview is a new envelope, with its own id.
    body["sample"]["id"] = created["sample"]["id"].clone();
    assert_eq!(body, created);
    assert_eq!(read.header("etag"), Some(etag.as_str()));

    // Herald's own are read the same way.
    let sms = h.call(get("/event-types/sms.sent")).await.ok(200);
    assert_eq!(
        (&sms["builtIn"], &sms["sender"]),
        (&json!(true), &json!("herald"))
    );
    // Names that are not, or cannot be, event types.
    for missing in [
        "/event-types/order.created",
        "/event-types/Order",
        "/event-types/a",
    ] {
        h.call(get(missing)).await.problem(404);
    }
}

#[tokio::test]
async fn a_registration_is_replaced_with_if_match_honoured() {
    let h = Herald::new().await;
    let first = h.call(put(ORDER).json(order_type())).await;
    first.ok(201);
    let tag = first.header("etag").expect("an ETag").to_owned();

    // The same definition again: replaced by itself, with the same tag.
    let again = h.call(put(ORDER).json(order_type())).await;
    again.ok(200);
    assert_eq!(again.header("etag"), Some(tag.as_str()));

    let mut changed = order_type();
    changed["description"] = json!("The order was completed.");
    changed.as_object_mut().expect("object").remove("schema");
    let stale = h
        .call(
            put(ORDER)
                .header("if-match", "\"not-the-tag\"")
                .json(changed.clone()),
        )
        .await;
    stale.problem(412);
    let replaced = h
        .call(put(ORDER).header("if-match", &tag).json(changed))
        .await;
    let body = replaced.ok(200);
    assert_eq!(body["description"], "The order was completed.");
    assert!(body.get("schema").is_none(), "{body}");
    assert_ne!(replaced.header("etag"), Some(tag.as_str()));
    // The old tag is stale now.
    h.call(put(ORDER).header("if-match", &tag).json(order_type()))
        .await
        .problem(412);
    // If-Match names a version of nothing: no such type yet.
    h.call(
        put("/event-types/order.created")
            .header("if-match", &tag)
            .json(order_type()),
    )
    .await
    .problem(412);
    h.call(get("/event-types/order.created")).await.problem(404);
}

#[tokio::test]
async fn every_bad_field_of_a_registration_is_named() {
    let h = Herald::new().await;
    let missing = h.call(put(ORDER).json(json!({}))).await;
    assert_eq!(
        missing.invalid_fields(),
        ["sender", "description", "eventData"]
    );

    let wrong = h
        .call(put("/event-types/Order.Completed").json(json!({
            "sender": "signature api",
            "description": "line one\nline two",
            "eventData": [1],
            "schema": {"type": "strin"},
            "version": 2,
        })))
        .await;
    assert_eq!(
        wrong.invalid_fields(),
        [
            "name",
            "sender",
            "description",
            "eventData",
            "schema",
            "version"
        ]
    );
    assert!(
        wrong
            .message_for("schema")
            .contains("is not a valid JSON Schema"),
        "{wrong:?}"
    );
    assert!(
        wrong
            .message_for("eventData")
            .contains("an object, not an array"),
        "{wrong:?}"
    );

    // The example must satisfy the schema: one error per violation, by its pointer.
    let mut violating = order_type();
    violating["eventData"] = json!({"total": -1, "signers": ["ada@example.com", "not mail"]});
    let answer = h.call(put(ORDER).json(violating)).await;
    assert_eq!(
        answer.invalid_fields(),
        ["eventData", "eventData/signers/1", "eventData/total"]
    );
    assert_eq!(
        answer.message_for("eventData"),
        "\"orderId\" is a required property"
    );
    assert_eq!(
        answer.message_for("eventData/total"),
        "-1 is less than the minimum of 0"
    );

    // A schema that points outside itself, and sizes.
    let mut remote = order_type();
    remote["schema"] = json!({"$ref": "https://schemas.example.com/order.json"});
    let answer = h.call(put(ORDER).json(remote)).await;
    assert_eq!(answer.invalid_fields(), ["schema"]);
    assert!(
        answer.message_for("schema").contains("self-contained"),
        "{answer:?}"
    );
    let mut big = order_type();
    big["eventData"]["note"] = json!("x".repeat(8 * 1024));
    big["schema"]["description"] = json!("x".repeat(16 * 1024));
    big["description"] = json!("x".repeat(501));
    let answer = h.call(put(ORDER).json(big)).await;
    assert_eq!(
        answer.invalid_fields(),
        ["description", "eventData", "schema"]
    );
    assert!(
        answer
            .message_for("eventData")
            .contains("at most 8192 bytes"),
        "{answer:?}"
    );
    h.call(put(ORDER).json(json!([]))).await.problem(400);
    assert!(h.call(get(ORDER)).await.status == 404);
}

#[tokio::test]
async fn herald_s_own_names_and_its_sender_are_reserved() {
    let h = Herald::new().await;
    let answer = h
        .call(put("/event-types/sms.sent").json(order_type()))
        .await;
    assert_eq!(
        answer.detail(409),
        "sms.sent is one of Herald's own event types: it cannot be registered, replaced or \
         removed"
    );
    // A body that is wrong is reported as such first.
    assert_eq!(
        h.call(put("/event-types/sms.sent").json(json!({})))
            .await
            .invalid_fields(),
        ["sender", "description", "eventData"]
    );
    h.call(delete("/event-types/sms.sent")).await.problem(409);
    for herald in ["herald", "Herald"] {
        let mut body = order_type();
        body["sender"] = json!(herald);
        let answer = h.call(put(ORDER).json(body)).await;
        assert_eq!(answer.invalid_fields(), ["sender"]);
        assert!(
            answer.message_for("sender").contains("reserved for Herald"),
            "{answer:?}"
        );
    }
    let listing = h.call(get("/event-types")).await.ok(200);
    assert_eq!(shape(&listing).len(), 1);
}

#[tokio::test]
async fn only_internal_services_register_or_remove_event_types() {
    let h = Herald::new().await;
    register(&h, "order.completed", order_type()).await;
    for body in [order_type(), json!({})] {
        let answer = h
            .call(
                put("/event-types/invoice.paid")
                    .by(Caller::admin("acme"))
                    .json(body),
            )
            .await;
        assert_eq!(
            answer.detail(403),
            "only internal services register event types (scope herald:internal)"
        );
    }
    let answer = h.call(delete(ORDER).by(Caller::admin("acme"))).await;
    assert_eq!(
        answer.detail(403),
        "only internal services remove event types (scope herald:internal)"
    );
    h.call(get(ORDER).by(Caller::admin("acme"))).await.ok(200);
    h.call(get("/event-types/invoice.paid")).await.problem(404);
}

#[tokio::test]
async fn a_registered_type_is_removed() {
    let h = Herald::new().await;
    let answer = h.call(put(ORDER).json(order_type())).await;
    answer.ok(201);
    let tag = answer.header("etag").expect("an ETag").to_owned();
    h.call(delete(ORDER).header("if-match", "\"other\""))
        .await
        .problem(412);
    let removed = h.call(delete(ORDER).header("if-match", &tag)).await;
    assert_eq!(removed.status.as_u16(), 204, "{removed:?}");
    assert!(h.event_types.list().await.expect("listed").is_empty());
    h.call(get(ORDER)).await.problem(404);
    h.call(delete(ORDER)).await.problem(404);
    h.call(delete("/event-types/Not%20A%20Name"))
        .await
        .problem(404);
    // Events of that name are no longer checked against its schema.
    published(
        &h.call(post(URL).json(json!({"sender": "s", "eventName": "order.completed"})))
            .await,
    );
}

#[tokio::test]
async fn the_listing_groups_registered_types_by_sender_after_herald() {
    let h = Herald::new().await;
    let simple = |sender: &str| json!({"sender": sender, "description": "Something happened.", "eventData": {"id": "1"}});
    register(&h, "order.completed", order_type()).await;
    register(&h, "invoice.paid", simple("billing")).await;
    register(&h, "order.created", simple("signature-api")).await;
    register(&h, "user.created", simple("Accounts")).await;
    let listing = h.call(get("/event-types")).await.ok(200);
    let strings = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        shape(&listing),
        [
            ("herald".to_owned(), strings(&HERALD_TYPES)),
            ("Accounts".to_owned(), strings(&["user.created"])),
            ("billing".to_owned(), strings(&["invoice.paid"])),
            (
                "signature-api".to_owned(),
                strings(&["order.completed", "order.created"])
            ),
        ]
    );
    let signature = &listing["senders"][3]["eventTypes"];
    assert_eq!(signature[0]["schema"], order_schema());
    assert!(signature[1].get("schema").is_none());
    for group in listing["senders"].as_array().expect("senders") {
        for t in group["eventTypes"].as_array().expect("types") {
            assert_eq!(t["builtIn"], group["sender"] == "herald", "{t}");
            check_sample(t);
        }
    }
}

#[tokio::test]
async fn published_data_must_satisfy_the_registered_schema() {
    let h = Herald::new().await;
    register(&h, "order.completed", order_type()).await;
    let ok = published(
        &h.call(post(URL).json(json!({
            "sender": "signature-api",
            "eventName": "order.completed",
            "eventData": {"orderId": "o-7", "total": 10},
        })))
        .await,
    );
    assert_eq!(queued(&h), [ok]);

    let refused = h
        .call(post(URL).header("idempotency-key", "bad-1").json(json!({
            "sender": "signature-api",
            "eventName": "order.completed",
            "eventData": {"total": "ten", "signers": ["ada@example.com", 5, "nope"]},
        })))
        .await;
    assert_eq!(
        refused.invalid_fields(),
        [
            "eventData",
            "eventData/signers/1",
            "eventData/signers/2",
            "eventData/total"
        ]
    );
    assert_eq!(
        refused.message_for("eventData/total"),
        "\"ten\" is not of type \"number\""
    );
    assert_eq!(
        refused.message_for("eventData/signers/2"),
        "\"nope\" is not a \"email\""
    );
    // Envelope errors come first; the schema is checked once the envelope is valid.
    let envelope = h
        .call(post(URL).json(json!({
            "sender": "signature api", "eventName": "order.completed", "eventData": {},
        })))
        .await;
    assert_eq!(envelope.invalid_fields(), ["sender"]);
    assert_eq!(queued(&h).len(), 1);
    // The refused request claimed no key: fixed, it goes through under the same key.
    published(
        &h.call(post(URL).header("idempotency-key", "bad-1").json(json!({
            "sender": "signature-api",
            "eventName": "order.completed",
            "eventData": {"orderId": "o-8"},
        })))
        .await,
    );
    assert_eq!(queued(&h).len(), 2);
}

fn requiring_registration() -> Setup {
    Setup::with_env(&[("HERALD_REQUIRE_REGISTERED_EVENT_TYPES", "true")])
}

#[tokio::test]
async fn the_operator_may_require_registered_types_to_publish() {
    let h = Herald::start(requiring_registration()).await;
    let refused = h.call(post(URL).json(order_completed())).await;
    assert_eq!(refused.invalid_fields(), ["eventName"]);
    assert!(
        refused
            .message_for("eventName")
            .contains("not a registered event type"),
        "{refused:?}"
    );
    assert!(queued(&h).is_empty());
    // Herald's own types are always in the catalog.
    published(
        &h.call(post(URL).json(json!({"sender": "herald", "eventName": "sms.sent"})))
            .await,
    );
    let mut registration = order_type();
    registration
        .as_object_mut()
        .expect("object")
        .remove("schema");
    register(&h, "order.completed", registration).await;
    published(&h.call(post(URL).json(order_completed())).await);
    assert_eq!(queued(&h).len(), 2);
}

#[tokio::test]
async fn the_operator_may_require_registered_types_to_subscribe() {
    let h = Herald::start(requiring_registration()).await;
    let subscription = |events: Value| {
        json!({"name": "Orders", "type": "webhook", "url": "https://hooks.globex-corp.com/herald",
               "events": events})
    };
    let answer = h
        .call(
            post("/accounts/acme/subscriptions").json(subscription(json!([
                "sms.sent",
                "order.completed",
                "sms.sent",
                "invoice.paid"
            ]))),
        )
        .await;
    assert_eq!(answer.invalid_fields(), ["events[1]", "events[3]"]);
    assert!(
        answer
            .message_for("events[3]")
            .contains("invoice.paid is not a registered event type"),
        "{answer:?}"
    );
    // "all" and Herald's own need nothing registered.
    crate::subscriptions::create(&h, subscription(json!("all"))).await;
    let created = crate::subscriptions::create(&h, subscription(json!(["sms.sent"]))).await;
    let id = created["id"].as_str().expect("an id");
    let path = format!("/accounts/acme/subscriptions/{id}");
    let answer = h
        .call(put(&path).json(subscription(json!(["email.opened", "order.completed"]))))
        .await;
    assert_eq!(answer.invalid_fields(), ["events[1]"]);

    register(&h, "order.completed", order_type()).await;
    let body = h
        .call(put(&path).json(subscription(json!(["email.opened", "order.completed"]))))
        .await
        .ok(200);
    assert_eq!(body["events"], json!(["email.opened", "order.completed"]));
}

#[tokio::test]
async fn without_the_setting_any_name_is_published_and_subscribed_to() {
    let h = Herald::new().await;
    published(&h.call(post(URL).json(order_completed())).await);
    crate::subscriptions::create(
        &h,
        json!({"name": "Orders", "type": "webhook", "url": "https://hooks.globex-corp.com/herald",
               "events": ["invoice.paid"]}),
    )
    .await;
}

#[tokio::test]
async fn a_test_event_of_a_registered_type_carries_its_sender_and_example() {
    let h = Herald::new().await;
    let created = crate::subscriptions::create(
        &h,
        json!({"name": "Orders", "type": "webhook", "url": "https://hooks.globex-corp.com/herald",
               "events": ["sms.sent"]}),
    )
    .await;
    let test = format!(
        "/accounts/acme/subscriptions/{}/test",
        created["id"].as_str().expect("an id")
    );
    let unknown = h
        .call(post(&test).json(json!({"eventName": "order.completed"})))
        .await;
    assert_eq!(unknown.invalid_fields(), ["eventName"]);

    register(&h, "order.completed", order_type()).await;
    let body = h
        .call(post(&test).json(json!({"eventName": "order.completed"})))
        .await
        .ok(202);
    let sent: Value =
        serde_json::from_str(body["body"].as_str().expect("the body")).expect("the event");
    assert_eq!(sent["eventName"], "order.completed");
    assert_eq!(sent["sender"], "signature-api");
    assert_eq!(sent["eventData"], order_type()["eventData"]);
    assert_eq!(sent["tags"], json!(["mock"]));
    assert_eq!(sent["accountId"], "acme");
    let jobs = h.deliveries_queue.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].first.as_ref().map(|f| f.body.as_str()),
        body["body"].as_str()
    );
}
