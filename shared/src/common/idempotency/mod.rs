//! Idempotency keys: a client that retries a request with the same `Idempotency-Key` within
//! [`WINDOW`] gets the first answer, and nothing is done twice. Messages claim their key in
//! the same transaction as their log record (see [`crate::messaging::log::MessageLog::create`]);
//! requests that store no record of their own, such as published events, claim it through
//! [`IdempotencyStore`], which keeps the first answer with the claim.

pub mod memory;

use async_trait::async_trait;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::common::account::AccountId;
pub use crate::common::store::StoreError;

/// How long a key holds.
pub const WINDOW: time::Duration = time::Duration::hours(24);

/// A client-chosen key that makes a request safe to retry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(s: &str) -> Result<Self, String> {
        if (1..=255).contains(&s.len()) && s.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            Ok(Self(s.to_owned()))
        } else {
            Err("Idempotency-Key must be 1 to 255 printable ASCII characters without spaces".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An idempotency key claimed with a new request.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    pub key: IdempotencyKey,
    /// A digest of the request, so that a key reused for a different request is caught.
    pub request_hash: String,
    /// When the request came; a claim whose expiry has passed by then no longer holds.
    pub now: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl IdempotencyClaim {
    /// A claim of `key` for the request `canonical` (the request as validated, so that
    /// formatting differences do not count as a change), holding for [`WINDOW`].
    pub fn new(key: IdempotencyKey, canonical: &impl Serialize, now: OffsetDateTime) -> Self {
        Self {
            key,
            request_hash: request_hash(canonical),
            now,
            expires_at: now + WINDOW,
        }
    }
}

/// The SHA-256 of the request's JSON. Object keys serialise sorted (serde_json's map is
/// ordered), so the same request always hashes the same.
pub fn request_hash(canonical: &impl Serialize) -> String {
    let json = serde_json::to_vec(canonical).unwrap_or_default();
    format!("{:x}", Sha256::digest(&json))
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// The key is now this request's.
    New,
    /// An earlier request holds the key: its hash, its answer, and whether it finished (see
    /// [`IdempotencyStore::finish`]).
    Replay {
        request_hash: String,
        answer: String,
        finished: bool,
    },
}

/// Claims for requests that keep their first answer with the claim. `scope` names the kind of
/// request (`events`): a key is claimed per account and scope.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `claim.key` with `answer`, the response to give every repeat. When an unexpired
    /// claim holds the key, nothing is written and that claim is returned.
    async fn claim(
        &self,
        account: &AccountId,
        scope: &str,
        claim: &IdempotencyClaim,
        answer: &str,
    ) -> Result<Claimed, StoreError>;

    /// Notes that the claimed request's work is done, so that a repeat need not do it again.
    async fn finish(
        &self,
        account: &AccountId,
        scope: &str,
        key: &IdempotencyKey,
    ) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys() {
        assert!(IdempotencyKey::parse("3f9c-01").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("a b").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }

    #[test]
    fn the_hash_ignores_key_order_and_sees_every_value() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b": 1, "a": {"y": 2, "x": 3}}"#).expect("JSON");
        let b: serde_json::Value =
            serde_json::from_str(r#"{"a":{"x":3,"y":2},"b":1}"#).expect("JSON");
        assert_eq!(request_hash(&a), request_hash(&b));
        assert_ne!(
            request_hash(&a),
            request_hash(&json!({"b": 1, "a": {"y": 2, "x": 4}}))
        );
    }
}
