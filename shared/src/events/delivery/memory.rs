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

    async fn replace(&self, record: &mut DeliveryRecord) -> Result<(), StoreError> {
        let key = (record.account_id.clone(), record.id.clone());
        let mut items = self.lock();
        match items.get_mut(&key) {
            Some(current) if current.version == record.version => {
                let next = record
                    .version
                    .checked_add(1)
                    .ok_or(StoreError::PreconditionFailed)?;
                *current = DeliveryRecord {
                    version: next,
                    ..record.clone()
                };
                record.version = next;
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

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::events::delivery::DeliveryStatus;
    use crate::events::subscription::SubscriptionId;
    use crate::events::webhook::EventId;

    #[tokio::test]
    async fn a_write_is_the_next_version_and_a_stale_one_changes_nothing() {
        let now = datetime!(2030-01-01 00:00:00 UTC);
        let (event, subscription) = (EventId::new(now), SubscriptionId::new(now));
        let created: DeliveryRecord = serde_json::from_value(serde_json::json!({
            "id": DeliveryId::of(&event, &subscription),
            "accountId": "acme",
            "subscriptionId": subscription,
            "eventId": event,
            "eventName": "sms.sent",
            "status": "pending",
            "body": "{}",
            "eventExpiresAt": "2030-01-02T00:00:00Z",
            "attempts": [],
            "nextAttempt": 1,
            "createdAt": "2030-01-01T00:00:00Z",
            "updatedAt": "2030-01-01T00:00:00Z",
            "expiresAt": "2030-04-01T00:00:00Z",
            "version": 1
        }))
        .expect("a record");
        let store = MemoryDeliveryStore::new();
        store.create(&created).await.expect("created");
        let read = || async {
            store
                .get(&created.account_id, &created.id, now)
                .await
                .expect("read")
                .expect("present")
        };

        let mut claimed = read().await;
        let mut retried = read().await;
        claimed.claimed_until = Some(now + time::Duration::minutes(1));
        store.replace(&mut claimed).await.expect("written");
        assert_eq!(claimed.version, 2);
        assert_eq!(read().await, claimed);

        retried.retry_now(now, time::Duration::days(90));
        assert_eq!(retried.version, 1, "the store bumps, not the record");
        assert!(matches!(
            store.replace(&mut retried).await,
            Err(StoreError::PreconditionFailed)
        ));
        assert_eq!(retried.version, 1);
        assert_eq!(read().await, claimed);

        claimed.status = DeliveryStatus::Delivered;
        store.replace(&mut claimed).await.expect("written");
        assert_eq!((claimed.version, read().await.version), (3, 3));
    }
}
