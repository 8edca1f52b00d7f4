//! Idempotency claims in memory, for unit tests and in-process runs.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::idempotency::{
    Claimed, IdempotencyClaim, IdempotencyKey, IdempotencyStore, StoreError,
};

struct Held {
    request_hash: String,
    answer: String,
    finished: bool,
    expires_at: OffsetDateTime,
}

#[derive(Default)]
pub struct MemoryIdempotencyStore {
    claims: Mutex<HashMap<(AccountId, String, IdempotencyKey), Held>>,
}

impl MemoryIdempotencyStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotencyStore {
    async fn claim(
        &self,
        account: &AccountId,
        scope: &str,
        claim: &IdempotencyClaim,
        answer: &str,
    ) -> Result<Claimed, StoreError> {
        let mut claims = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (account.clone(), scope.to_owned(), claim.key.clone());
        if let Some(held) = claims.get(&key)
            && held.expires_at > claim.now
        {
            return Ok(Claimed::Replay {
                request_hash: held.request_hash.clone(),
                answer: held.answer.clone(),
                finished: held.finished,
            });
        }
        claims.insert(
            key,
            Held {
                request_hash: claim.request_hash.clone(),
                answer: answer.to_owned(),
                finished: false,
                expires_at: claim.expires_at,
            },
        );
        Ok(Claimed::New)
    }

    async fn finish(
        &self,
        account: &AccountId,
        scope: &str,
        key: &IdempotencyKey,
    ) -> Result<(), StoreError> {
        let mut claims = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = claims.get_mut(&(account.clone(), scope.to_owned(), key.clone())) {
            held.finished = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[tokio::test]
    async fn a_claim_holds_for_its_window_per_account_and_scope() {
        let store = MemoryIdempotencyStore::new();
        let acme = AccountId::parse("acme").expect("valid");
        let t0 = datetime!(2030-01-01 00:00:00 UTC);
        let key = IdempotencyKey::parse("order-42").expect("valid");
        let claim = |now| IdempotencyClaim::new(key.clone(), &"request", now);
        assert_eq!(
            store
                .claim(&acme, "events", &claim(t0), "first")
                .await
                .expect("ok"),
            Claimed::New
        );
        let hash = claim(t0).request_hash;
        let replay = |finished| Claimed::Replay {
            request_hash: hash.clone(),
            answer: "first".into(),
            finished,
        };
        let later = t0 + time::Duration::hours(23);
        assert_eq!(
            store
                .claim(&acme, "events", &claim(later), "second")
                .await
                .expect("ok"),
            replay(false)
        );
        store.finish(&acme, "events", &key).await.expect("noted");
        assert_eq!(
            store
                .claim(&acme, "events", &claim(later), "second")
                .await
                .expect("ok"),
            replay(true)
        );
        // Another scope, or past the window: the key is free.
        assert_eq!(
            store
                .claim(&acme, "other", &claim(later), "x")
                .await
                .expect("ok"),
            Claimed::New
        );
        let next_day = t0 + time::Duration::hours(24);
        assert_eq!(
            store
                .claim(&acme, "events", &claim(next_day), "third")
                .await
                .expect("ok"),
            Claimed::New
        );
    }
}
