//! Deliveries in memory, for unit tests and in-process runs.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::events::delivery::{
    DeliveryId, DeliveryRecord, DeliveryStore, ListQuery, Page, StoreError,
};

#[derive(Default)]
pub struct MemoryDeliveryStore {
    items: Mutex<BTreeMap<(AccountId, DeliveryId), DeliveryRecord>>,
}

impl MemoryDeliveryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(AccountId, DeliveryId), DeliveryRecord>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl DeliveryStore for MemoryDeliveryStore {
    async fn create(&self, record: &DeliveryRecord) -> Result<(), StoreError> {
        let key = (record.account_id.clone(), record.id.clone());
        let mut items = self.lock();
        if items.contains_key(&key) {
            return Err(StoreError::PreconditionFailed);
        }
        items.insert(key, record.clone());
        Ok(())
    }

    async fn get(
        &self,
        account: &AccountId,
        id: &DeliveryId,
        now: OffsetDateTime,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        Ok(self
            .lock()
            .get(&(account.clone(), id.clone()))
            .filter(|r| !r.expired(now))
            .cloned())
    }

    async fn replace(&self, record: &DeliveryRecord) -> Result<(), StoreError> {
        let key = (record.account_id.clone(), record.id.clone());
        let mut items = self.lock();
        match items.get(&key) {
            Some(current) if current.version + 1 == record.version => {
                items.insert(key, record.clone());
                Ok(())
            }
            _ => Err(StoreError::PreconditionFailed),
        }
    }

    async fn list(
        &self,
        account: &AccountId,
        query: &ListQuery,
        now: OffsetDateTime,
    ) -> Result<Page, StoreError> {
        let items: Vec<DeliveryRecord> = self
            .lock()
            .iter()
            .rev()
            .filter(|((a, id), r)| {
                a == account
                    && query.after.as_ref().is_none_or(|after| id < after)
                    && query
                        .subscription
                        .as_ref()
                        .is_none_or(|s| *s == r.subscription_id)
                    && query.status.is_none_or(|s| s == r.status)
                    && !r.expired(now)
            })
            .take(query.limit + 1)
            .map(|(_, r)| r.clone())
            .collect();
        let more = items.len() > query.limit;
        let items: Vec<_> = items.into_iter().take(query.limit).collect();
        let last = more.then(|| items.last().map(|r| r.id.clone())).flatten();
        Ok(Page { items, last })
    }
}
