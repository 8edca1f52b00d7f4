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

    async fn replace(&self, subscription: &mut Subscription) -> Result<(), StoreError> {
        let key = (subscription.account_id.clone(), subscription.id.clone());
        let mut items = self.lock();
        match items.get_mut(&key) {
            Some(current) if current.version == subscription.version => {
                let next = subscription
                    .version
                    .checked_add(1)
                    .ok_or(StoreError::PreconditionFailed)?;
                *current = Subscription {
                    version: next,
                    ..subscription.clone()
                };
                subscription.version = next;
                Ok(())
            }
            _ => Err(StoreError::PreconditionFailed),
        }
    }

    async fn delete(&self, account: &AccountId, id: &SubscriptionId) -> Result<bool, StoreError> {
        Ok(self.lock().remove(&(account.clone(), id.clone())).is_some())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::events::subscription::SubscriptionName;
    use crate::events::webhook::TagFilter;

    #[tokio::test]
    async fn a_write_is_the_next_version_and_a_stale_one_changes_nothing() {
        let now = datetime!(2030-01-01 00:00:00 UTC);
        let store = MemorySubscriptionStore::new();
        let created = Subscription {
            id: SubscriptionId::new(now),
            account_id: AccountId::parse("acme").expect("valid"),
            name: SubscriptionName::parse("Orders").expect("valid"),
            destination: crate::events::destination::Destination::Webhook(
                crate::events::destination::WebhookDestination {
                    url: "https://hooks.acme.example/herald".into(),
                    secrets: vec![],
                },
            ),
            tag_filter: TagFilter::any(),
            events: serde_json::from_value(json!("all")).expect("valid"),
            active: true,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        store.create(&created).await.expect("created");
        let read = || async {
            store
                .get(&created.account_id, &created.id)
                .await
                .expect("read")
                .expect("present")
        };

        let mut renamed = read().await;
        let mut paused = read().await;
        renamed.name = SubscriptionName::parse("Invoices").expect("valid");
        store.replace(&mut renamed).await.expect("written");
        assert_eq!(renamed.version, 2);
        assert_eq!(read().await, renamed);

        paused.active = false;
        assert!(matches!(
            store.replace(&mut paused).await,
            Err(StoreError::PreconditionFailed)
        ));
        assert_eq!(paused.version, 1);
        assert_eq!(read().await, renamed);
    }
}
