//! The settings store port: one behaviour, checked on the DynamoDB adapter (against moto, on the
//! table template.yaml declares) and on the in-memory adapter.

use std::sync::Arc;

use herald::adapters::dynamo::settings::DynamoSettingsStore;
use herald::common::etag::{ETag, Precondition};
use herald::messaging::settings::memory::MemorySettingsStore;
use herald::messaging::settings::{Settings, SettingsKind, SettingsStore, StoreError};
use herald::messaging::sms::{SenderName, SmsProvider, SmsSettings};
use herald_tests::{aws, new_account, stack_var};

fn sms(name: &str, primary: SmsProvider, secondary: Option<SmsProvider>) -> SmsSettings {
    SmsSettings::new(
        SenderName::parse(name).expect("valid name"),
        primary,
        secondary,
    )
    .expect("valid settings")
}

async fn conformance(store: Arc<dyn SettingsStore>) {
    let settings = Settings::new(store);
    let account = new_account();

    // Never saved: defaults, with the defaults tag.
    let fresh = settings.sms(&account).await.expect("read");
    assert_eq!(fresh.settings, None);
    assert_eq!(fresh.etag, ETag::defaults());

    // Round trip.
    let first = sms("Acme", SmsProvider::Twilio, Some(SmsProvider::Vonage));
    let tag1 = settings
        .save_sms(
            &account,
            &first,
            &Precondition::OneOf(vec![ETag::defaults()]),
        )
        .await
        .expect("first save");
    let read = settings.sms(&account).await.expect("read");
    assert_eq!(read.settings.as_ref(), Some(&first));
    assert_eq!(read.etag, tag1);

    // Kinds are separate documents.
    assert_eq!(settings.email(&account).await.expect("read").settings, None);

    // A write holding a stale tag is refused, and changes nothing.
    let second = sms("Acme2", SmsProvider::Vonage, None);
    let stale = settings
        .save_sms(
            &account,
            &second,
            &Precondition::OneOf(vec![ETag::defaults()]),
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::PreconditionFailed)),
        "{stale:?}"
    );
    assert_eq!(
        settings.sms(&account).await.expect("read").settings,
        Some(first.clone())
    );

    // The current tag wins.
    let tag2 = settings
        .save_sms(&account, &second, &Precondition::OneOf(vec![tag1.clone()]))
        .await
        .expect("save with current tag");
    assert_ne!(tag1, tag2);

    // Reset: stale tag refused, current accepted, then defaults again.
    let stale = settings
        .reset(
            &account,
            SettingsKind::Sms,
            &Precondition::OneOf(vec![tag1.clone()]),
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::PreconditionFailed)),
        "{stale:?}"
    );
    settings
        .reset(
            &account,
            SettingsKind::Sms,
            &Precondition::OneOf(vec![tag2]),
        )
        .await
        .expect("reset");
    let after = settings.sms(&account).await.expect("read");
    assert_eq!(after.settings, None);
    assert_eq!(after.etag, ETag::defaults());

    // Unconditional writes always apply; the same content gets the same tag back.
    let again = settings
        .save_sms(&account, &first, &Precondition::Any)
        .await
        .expect("unconditional save");
    assert_eq!(again, tag1);

    // Another account sees none of it.
    assert_eq!(
        settings.sms(&new_account()).await.expect("read").settings,
        None
    );
}

#[tokio::test]
async fn dynamodb_adapter_on_moto() {
    let config = aws().await;
    let store = DynamoSettingsStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        stack_var("HERALD_SETTINGS_TABLE"),
    );
    conformance(Arc::new(store)).await;
}

#[tokio::test]
async fn memory_adapter() {
    conformance(Arc::new(MemorySettingsStore::new())).await;
}

#[tokio::test]
async fn damaged_stored_settings_are_reported_not_served() {
    let config = aws().await;
    let table = stack_var("HERALD_SETTINGS_TABLE");
    let client = aws_sdk_dynamodb::Client::new(&config);
    let account = new_account();
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let bad = std::collections::HashMap::from([
        ("senderName".to_owned(), A::S("x".into())),
        ("primaryProvider".to_owned(), A::S("sns".into())),
    ]);
    client
        .put_item()
        .table_name(&table)
        .item("accountId", A::S(account.as_str().into()))
        .item("kind", A::S("sms".into()))
        .item("settings", A::M(bad))
        .item("etag", A::S("e".into()))
        .send()
        .await
        .expect("put");
    let settings = Settings::new(Arc::new(DynamoSettingsStore::new(client, table)));
    let read = settings.sms(&account).await;
    assert!(matches!(read, Err(StoreError::Corrupt { .. })), "{read:?}");
}
