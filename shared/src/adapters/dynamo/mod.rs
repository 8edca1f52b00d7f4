//! What every DynamoDB adapter shares: attribute values, and reading a failed call as a
//! lost condition or an unavailable store.

pub mod deliveries;
pub mod domains;
pub mod idempotency;
pub mod message_log;
pub mod settings;
pub mod subscriptions;

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
    mut item: std::collections::HashMap<String, AttributeValue>,
    attribute: &str,
    corrupt: impl Fn(String) -> StoreError,
) -> Result<T, StoreError> {
    let value = item
        .remove(attribute)
        .ok_or_else(|| corrupt(format!("no {attribute} attribute")))?;
    serde_dynamo::from_attribute_value(value).map_err(|e| corrupt(e.to_string()))
}

/// The condition of a write that expects the stored record (map attribute `attribute`) at
/// `version - 1`: the expression and its placeholders' values.
pub fn expects_previous(
    put: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
    attribute: &str,
    version: u64,
) -> Result<aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder, StoreError> {
    let expected = version
        .checked_sub(1)
        .ok_or(StoreError::PreconditionFailed)?;
    Ok(put
        .condition_expression("#doc.version = :expected")
        .expression_attribute_names("#doc", attribute)
        .expression_attribute_values(":expected", n(i64::try_from(expected).unwrap_or(i64::MAX))))
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
