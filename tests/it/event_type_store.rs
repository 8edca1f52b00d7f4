//! The event type store port: one behaviour, checked on the DynamoDB adapter (against moto, on
//! the table template.yaml declares) and on the in-memory adapter. The registry is one for the
//! whole stack, so each run uses names of its own.

use std::sync::Arc;

use herald::adapters::dynamo::event_types::DynamoEventTypeStore;
use herald::common::etag::ETag;
use herald::events::catalog::memory::MemoryEventTypeStore;
use herald::events::catalog::registry::{
    EventTypeStore, Expected, RegisteredEventType, StoreError,
};
use herald::events::webhook::EventName;
use herald_tests::{aws, stack_var};
use serde_json::{Value, json};

/// A name no other run uses: `t<uuid>.<word>`.
fn unique(word: &str) -> String {
    format!("t{}.{word}", uuid::Uuid::new_v4().simple())
}

fn registration(name: &str, description: &str) -> RegisteredEventType {
    RegisteredEventType::read(
        name,
        json!({
            "sender": "store-test",
            "description": description,
            // Nested deeper than DynamoDB's maps may be: kept as text, it round-trips.
            "eventData": {"orderId": "o-1", "deep": nested(40), "big": 12345678901234567890u64},
            "schema": {"type": "object", "properties": {"orderId": {"type": "string"}}},
        }),
    )
    .unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!({"a": inner}))
}

async fn conformance(store: Arc<dyn EventTypeStore>) {
    let first = unique("created");
    let name = EventName::parse(&first).expect("a name");
    assert_eq!(store.get(&name).await.expect("read"), None);

    let v1 = registration(&first, "One.");
    store.put(&v1, &Expected::Absent).await.expect("created");
    assert_eq!(store.get(&name).await.expect("read"), Some(v1.clone()));
    // Created once: a second creation finds it there.
    let again = store.put(&v1, &Expected::Absent).await;
    assert!(
        matches!(again, Err(StoreError::PreconditionFailed)),
        "{again:?}"
    );

    // Replaced only while at the version read.
    let v2 = registration(&first, "Two.");
    let stale = store
        .put(&v2, &Expected::Current(ETag::from_stored("stale".into())))
        .await;
    assert!(
        matches!(stale, Err(StoreError::PreconditionFailed)),
        "{stale:?}"
    );
    store
        .put(&v2, &Expected::Current(v1.etag()))
        .await
        .expect("replaced");
    assert_eq!(store.get(&name).await.expect("read"), Some(v2.clone()));

    // Listed in name order, beside whatever else is registered.
    let second = unique("completed");
    let v3 = registration(&second, "Three.");
    store.put(&v3, &Expected::Absent).await.expect("created");
    let mine: Vec<RegisteredEventType> = store
        .list()
        .await
        .expect("listed")
        .into_iter()
        .filter(|t| [first.as_str(), second.as_str()].contains(&t.name().as_str()))
        .collect();
    let mut expected = vec![v2.clone(), v3.clone()];
    expected.sort_by(|a, b| a.name().cmp(b.name()));
    assert_eq!(mine, expected);

    // Removed only while at the version read, and then gone.
    let stale = store.delete(&name, &v1.etag()).await;
    assert!(
        matches!(stale, Err(StoreError::PreconditionFailed)),
        "{stale:?}"
    );
    store.delete(&name, &v2.etag()).await.expect("removed");
    assert_eq!(store.get(&name).await.expect("read"), None);
    let gone = store.delete(&name, &v2.etag()).await;
    assert!(
        matches!(gone, Err(StoreError::PreconditionFailed)),
        "{gone:?}"
    );
    store
        .delete(&EventName::parse(&second).expect("a name"), &v3.etag())
        .await
        .expect("removed");
}

#[tokio::test]
async fn dynamodb_adapter_on_moto() {
    let config = aws().await;
    let store = DynamoEventTypeStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        stack_var("HERALD_EVENT_TYPES_TABLE"),
    );
    conformance(Arc::new(store)).await;
}

#[tokio::test]
async fn memory_adapter() {
    conformance(Arc::new(MemoryEventTypeStore::new())).await;
}
