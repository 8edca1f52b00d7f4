//! An account's subscriptions, read once per SQS batch of events rather than once per event.
//!
//! Why this is never stale: every event of a batch was on the queue before the batch was
//! received, so before this read starts; a subscription that the API answered 201 for before
//! an event was published was written before that, and the read is strongly consistent. So
//! the read sees every subscription created (or changed, or deleted) before any event of the
//! batch was published. A cache kept across batches would not: an event published right after
//! a 201 could be matched against a list read before it.
//!
//! The deliverer reads the subscriptions its batch of jobs names the same way, once each per
//! batch ([`BatchReads::subscription`]): every job of the batch was received before the read,
//! which is strongly consistent, so an attempt never uses a subscription as it was before its
//! batch arrived; a subscription deactivated before then gets nothing from it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

use crate::common::account::AccountId;
use crate::events::subscription::{StoreError, Subscription, SubscriptionId, SubscriptionStore};

type Read = Arc<OnceCell<Arc<Vec<Subscription>>>>;
type OneRead = Arc<OnceCell<Option<Arc<Subscription>>>>;

/// The reads of one batch: made when an account's first event asks, shared by the batch's
/// other events of that account, including those fanned out at the same moment. Dropped with
/// the batch.
pub struct BatchReads {
    store: Arc<dyn SubscriptionStore>,
    accounts: Mutex<HashMap<AccountId, Read>>,
    subscriptions: Mutex<HashMap<(AccountId, SubscriptionId), OneRead>>,
}

impl BatchReads {
    /// For one batch, taken before any of its events is fanned out.
    pub fn new(store: Arc<dyn SubscriptionStore>) -> Self {
        Self {
            store,
            accounts: Mutex::new(HashMap::new()),
            subscriptions: Mutex::new(HashMap::new()),
        }
    }

    /// One subscription (none: deleted), read at most once per batch, however many of the
    /// batch's jobs deliver to it.
    pub async fn subscription(
        &self,
        account: &AccountId,
        id: &SubscriptionId,
    ) -> Result<Option<Arc<Subscription>>, StoreError> {
        let cell = self
            .subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((account.clone(), id.clone()))
            .or_default()
            .clone();
        cell.get_or_try_init(|| async { Ok(self.store.get(account, id).await?.map(Arc::new)) })
            .await
            .cloned()
    }

    /// Every subscription of the account, read at most once per batch (a failed read is
    /// made again by the next event that asks).
    pub async fn of_account(
        &self,
        account: &AccountId,
    ) -> Result<Arc<Vec<Subscription>>, StoreError> {
        let cell = self
            .accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(account.clone())
            .or_default()
            .clone();
        cell.get_or_try_init(|| async { self.store.list(account).await.map(Arc::new) })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::events::subscription::SubscriptionId;
    use crate::events::subscription::memory::MemorySubscriptionStore;

    /// Counts the reads of account lists.
    struct Counting {
        inner: MemorySubscriptionStore,
        lists: AtomicUsize,
        gets: AtomicUsize,
    }

    #[async_trait]
    impl SubscriptionStore for Counting {
        async fn create(&self, s: &Subscription) -> Result<(), StoreError> {
            self.inner.create(s).await
        }
        async fn get(
            &self,
            account: &AccountId,
            id: &SubscriptionId,
        ) -> Result<Option<Subscription>, StoreError> {
            self.gets.fetch_add(1, Ordering::SeqCst);
            self.inner.get(account, id).await
        }
        async fn list(&self, account: &AccountId) -> Result<Vec<Subscription>, StoreError> {
            self.lists.fetch_add(1, Ordering::SeqCst);
            self.inner.list(account).await
        }
        async fn replace(&self, s: &mut Subscription) -> Result<(), StoreError> {
            self.inner.replace(s).await
        }
        async fn delete(
            &self,
            account: &AccountId,
            id: &SubscriptionId,
        ) -> Result<bool, StoreError> {
            self.inner.delete(account, id).await
        }
    }

    #[tokio::test]
    async fn one_read_per_account_and_batch_even_when_asked_at_once() {
        let store = Arc::new(Counting {
            inner: MemorySubscriptionStore::new(),
            lists: AtomicUsize::new(0),
            gets: AtomicUsize::new(0),
        });
        let acme = AccountId::parse("acme").expect("valid");
        let globex = AccountId::parse("globex").expect("valid");
        let batch = BatchReads::new(store.clone());
        let asks = (0..10).map(|i| batch.of_account(if i % 2 == 0 { &acme } else { &globex }));
        for read in futures::future::join_all(asks).await {
            read.expect("read");
        }
        assert_eq!(store.lists.load(Ordering::SeqCst), 2);
        // The next batch reads again.
        BatchReads::new(store.clone())
            .of_account(&acme)
            .await
            .expect("read");
        assert_eq!(store.lists.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn one_read_per_subscription_and_batch_even_when_asked_at_once() {
        let store = Arc::new(Counting {
            inner: MemorySubscriptionStore::new(),
            lists: AtomicUsize::new(0),
            gets: AtomicUsize::new(0),
        });
        let acme = AccountId::parse("acme").expect("valid");
        let now = time::OffsetDateTime::now_utc();
        let (one, two) = (SubscriptionId::new(now), SubscriptionId::new(now));
        let batch = BatchReads::new(store.clone());
        let asks = (0..10).map(|i| batch.subscription(&acme, if i < 7 { &one } else { &two }));
        for read in futures::future::join_all(asks).await {
            // Neither exists: a deleted subscription is an answer too, shared like any other.
            assert!(read.expect("read").is_none());
        }
        assert_eq!(store.gets.load(Ordering::SeqCst), 2);
        BatchReads::new(store.clone())
            .subscription(&acme, &one)
            .await
            .expect("read");
        assert_eq!(store.gets.load(Ordering::SeqCst), 3);
    }
}
