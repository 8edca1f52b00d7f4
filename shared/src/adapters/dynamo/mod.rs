//! What every DynamoDB adapter shares: attribute values, and reading a failed call as a
//! lost condition or an unavailable store.

pub mod dashboard_sessions;
pub mod deliveries;
pub mod domains;
pub mod event_types;
pub mod idempotency;
pub mod message_log;
pub mod notifications;
pub mod packed;
pub mod settings;
pub mod subscriptions;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::common::store::StoreError;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Reads the record a table keeps as the map attribute `attribute` of `item`; `corrupt` names
/// the store's error for an item that does not hold one.
pub fn document<T: serde::de::DeserializeOwned>(
    mut item: HashMap<String, AttributeValue>,
    attribute: &str,
    corrupt: impl Fn(String) -> StoreError,
) -> Result<T, StoreError> {
    let value = item
        .remove(attribute)
        .ok_or_else(|| corrupt(format!("no {attribute} attribute")))?;
    serde_dynamo::from_attribute_value(value).map_err(|e| corrupt(e.to_string()))
}

/// A record's version as DynamoDB holds it (as serde_dynamo writes a `u64`).
pub fn version(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Makes the record `item` holds as its map attribute `attribute`, read at `read`, the next
/// version, and returns that version. The write must expect the stored record still at `read`
/// ([`expects_version`]); the store hands the next version back to its caller once written.
pub fn next_version(
    item: &mut HashMap<String, AttributeValue>,
    attribute: &str,
    read: u64,
) -> Result<u64, StoreError> {
    let next = read.checked_add(1).ok_or(StoreError::PreconditionFailed)?;
    match item.get_mut(attribute) {
        Some(AttributeValue::M(record)) => {
            record.insert("version".to_owned(), version(next));
            Ok(next)
        }
        _ => Err(StoreError::Unavailable(
            format!("the item holds no {attribute} map to version").into(),
        )),
    }
}

/// The condition of a write that expects the stored record (map attribute `attribute`) still
/// at `read`, the version its writer read.
pub fn expects_version(
    put: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
    attribute: &str,
    read: u64,
) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
    put.condition_expression("#doc.version = :expected")
        .expression_attribute_names("#doc", attribute)
        .expression_attribute_values(":expected", version(read))
}

/// A write's condition did not hold: `PreconditionFailed`; anything else: `Unavailable`.
pub fn write_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if e.as_service_error().and_then(ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
    {
        StoreError::PreconditionFailed
    } else {
        StoreError::unavailable(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Versioned {
        name: String,
        version: u64,
    }

    #[test]
    fn the_next_version_is_written_into_the_record_as_serde_dynamo_writes_it() {
        let read = Versioned {
            name: "a".into(),
            version: 7,
        };
        let mut item = HashMap::from([
            ("pk".to_owned(), s("a")),
            (
                "doc".to_owned(),
                serde_dynamo::to_attribute_value(&read).expect("item"),
            ),
        ]);
        assert_eq!(next_version(&mut item, "doc", read.version).ok(), Some(8));
        let written: Versioned =
            document(item.clone(), "doc", |r| StoreError::Unavailable(r.into())).expect("a record");
        assert_eq!(written, Versioned { version: 8, ..read });
        let next = Versioned {
            name: "a".into(),
            version: 8,
        };
        assert_eq!(
            item.get("doc"),
            Some(&serde_dynamo::to_attribute_value(&next).expect("item"))
        );
        assert!(matches!(
            next_version(&mut item, "doc", u64::MAX),
            Err(StoreError::PreconditionFailed)
        ));
        assert!(next_version(&mut item, "missing", 1).is_err());
    }
}
