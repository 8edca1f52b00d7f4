//! Records kept as one deflated JSON binary attribute. DynamoDB bills a write per started
//! kilobyte of the item, attribute names included: a delivery or message record as a native
//! map repeats every field name in every item and crosses 1 KB with its first attempt, while
//! its JSON deflates to about half. The attributes a key, an index, a condition or a filter
//! needs are kept beside it as plain attributes.

use std::io::{Read, Write};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The record as a binary attribute: raw deflate of its JSON.
pub fn pack<T: Serialize>(record: &T) -> Result<AttributeValue, String> {
    let json = serde_json::to_vec(record).map_err(|e| e.to_string())?;
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(json.len() / 2), Compression::best());
    encoder.write_all(&json).map_err(|e| e.to_string())?;
    let bytes = encoder.finish().map_err(|e| e.to_string())?;
    Ok(AttributeValue::B(Blob::new(bytes)))
}

/// The record [`pack`] made.
pub fn unpack<T: DeserializeOwned>(value: &AttributeValue) -> Result<T, String> {
    let AttributeValue::B(blob) = value else {
        return Err("the packed record is not a binary attribute".to_owned());
    };
    let mut json = Vec::with_capacity(blob.as_ref().len() * 3);
    DeflateDecoder::new(blob.as_ref())
        .read_to_end(&mut json)
        .map_err(|e| format!("the packed record does not inflate: {e}"))?;
    serde_json::from_slice(&json).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_packs_and_unpacks_to_itself() {
        let record =
            serde_json::json!({"id": "d1", "attempts": [{"number": 1, "outcome": "delivered"}]});
        let packed = pack(&record).unwrap();
        assert_eq!(unpack::<serde_json::Value>(&packed).unwrap(), record);
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        assert!(unpack::<serde_json::Value>(&AttributeValue::S("x".into())).is_err());
        let garbage = AttributeValue::B(Blob::new(vec![0xff, 0x00, 0x12]));
        assert!(unpack::<serde_json::Value>(&garbage).is_err());
    }
}
