//! Subscriptions in memory, for unit tests and in-process runs.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::common::account::AccountId;
use crate::events::subscription::{StoreError, Subscription, SubscriptionId, SubscriptionStore};

#[derive(Default)]
pub struct MemorySubscriptionStore {
    items: Mutex<BTreeMap<(AccountId, SubscriptionId), Subscription>>,
}

impl MemorySubscriptionStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(AccountId, SubscriptionId), Subscription>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl SubscriptionStore for MemorySubscriptionStore {
    async fn create(&self, subscription: &Subscription) -> Result<(), StoreError> {
        let key = (subscription.account_id.clone(), subscription.id.clone());
        let mut items = self.lock();
        if items.contains_key(&key) {
            return Err(StoreError::PreconditionFailed);
        }
        items.insert(key, subscription.clone());
        Ok(())
    }

    async fn get(
        &self,
        account: &AccountId,
        id: &SubscriptionId,
    ) -> Result<Option<Subscription>, StoreError> {
        Ok(self.lock().get(&(account.clone(), id.clone())).cloned())
    }

    async fn list(&self, account: &AccountId) -> Result<Vec<Subscription>, StoreError> {
        Ok(self
            .lock()
            .iter()
            .filter(|((a, _), _)| a == account)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn replace(&self, subscription: &Subscription) -> Result<(), StoreError> {
        let key = (subscription.account_id.clone(), subscription.id.clone());
        let mut items = self.lock();
        match items.get(&key) {
            Some(current) if current.version + 1 == subscription.version => {
                items.insert(key, subscription.clone());
                Ok(())
            }
            _ => Err(StoreError::PreconditionFailed),
        }
    }

    async fn delete(&self, account: &AccountId, id: &SubscriptionId) -> Result<bool, StoreError> {
        Ok(self.lock().remove(&(account.clone(), id.clone())).is_some())
    }
}
