//! What every DynamoDB adapter shares: attribute values, and reading a failed call as a
//! lost condition or an unavailable store.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::StoreError;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
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
