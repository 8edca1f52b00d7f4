//! The notification store in memory, for unit tests and the in-process API tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::store::StoreError;
use crate::notify::log::{LogQuery, NotificationId, NotificationRecord};
use crate::notify::preferences::Preferences;
use crate::notify::recipients::RecipientId;
use crate::notify::rules::{NotificationRule, RuleId};
use crate::notify::store::{FirstClaim, NotifyStore};
use crate::notify::types::{NotificationType, TypeKey};

#[derive(Default)]
struct State {
    types: BTreeMap<(AccountId, TypeKey), NotificationType>,
    rules: BTreeMap<(AccountId, RuleId), NotificationRule>,
    preferences: BTreeMap<(AccountId, RecipientId), Preferences>,
    first: BTreeMap<(AccountId, String), (String, OffsetDateTime)>,
    log: BTreeMap<(AccountId, NotificationId), NotificationRecord>,
}

#[derive(Default)]
pub struct MemoryNotifyStore {
    state: Mutex<State>,
}

impl MemoryNotifyStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("not poisoned"))
    }
}

#[async_trait]
impl NotifyStore for MemoryNotifyStore {
    async fn types(&self, account: &AccountId) -> Result<Vec<NotificationType>, StoreError> {
        Ok(self.with(|s| {
            s.types
                .iter()
                .filter(|((a, _), _)| a == account)
                .map(|(_, t)| t.clone())
                .collect()
        }))
    }

    async fn put_type(
        &self,
        account: &AccountId,
        t: &NotificationType,
        new: bool,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            let key = (account.clone(), t.key.clone());
            if new && s.types.contains_key(&key) {
                return Err(StoreError::PreconditionFailed);
            }
            s.types.insert(key, t.clone());
            Ok(())
        })
    }

    async fn delete_type(&self, account: &AccountId, key: &TypeKey) -> Result<bool, StoreError> {
        Ok(self.with(|s| s.types.remove(&(account.clone(), key.clone())).is_some()))
    }

    async fn rules(&self, account: &AccountId) -> Result<Vec<NotificationRule>, StoreError> {
        Ok(self.with(|s| {
            s.rules
                .iter()
                .filter(|((a, _), _)| a == account)
                .map(|(_, r)| r.clone())
                .collect()
        }))
    }

    async fn put_rule(
        &self,
        account: &AccountId,
        rule: &NotificationRule,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            s.rules
                .insert((account.clone(), rule.id.clone()), rule.clone())
        });
        Ok(())
    }

    async fn delete_rule(&self, account: &AccountId, id: &RuleId) -> Result<bool, StoreError> {
        Ok(self.with(|s| s.rules.remove(&(account.clone(), id.clone())).is_some()))
    }

    async fn preferences(
        &self,
        account: &AccountId,
        recipient: &RecipientId,
    ) -> Result<Preferences, StoreError> {
        Ok(self.with(|s| {
            s.preferences
                .get(&(account.clone(), recipient.clone()))
                .cloned()
                .unwrap_or_else(|| Preferences::none(recipient.clone()))
        }))
    }

    async fn put_preferences(
        &self,
        account: &AccountId,
        preferences: &Preferences,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            s.preferences.insert(
                (account.clone(), preferences.recipient_id.clone()),
                preferences.clone(),
            )
        });
        Ok(())
    }

    async fn claim_first(
        &self,
        account: &AccountId,
        key: &str,
        owner: &str,
        expires_at: OffsetDateTime,
    ) -> Result<FirstClaim, StoreError> {
        Ok(self.with(|s| {
            let held = s
                .first
                .entry((account.clone(), key.to_owned()))
                .or_insert_with(|| (owner.to_owned(), expires_at));
            if held.0 == owner {
                FirstClaim::Mine
            } else {
                FirstClaim::Taken { by: held.0.clone() }
            }
        }))
    }

    async fn begin(
        &self,
        record: &NotificationRecord,
    ) -> Result<Option<NotificationRecord>, StoreError> {
        Ok(self.with(|s| {
            let key = (record.account_id.clone(), record.id.clone());
            match s.log.get(&key) {
                Some(found) => Some(found.clone()),
                None => {
                    s.log.insert(key, record.clone());
                    None
                }
            }
        }))
    }

    async fn finish(&self, record: &NotificationRecord) -> Result<(), StoreError> {
        self.with(|s| {
            s.log.insert(
                (record.account_id.clone(), record.id.clone()),
                record.clone(),
            )
        });
        Ok(())
    }

    async fn log(
        &self,
        account: &AccountId,
        query: &LogQuery,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        Ok(self.with(|s| {
            s.log
                .iter()
                .rev()
                .filter(|((a, _), r)| a == account && query.matches(r))
                .take(query.limit)
                .map(|(_, r)| r.clone())
                .collect()
        }))
    }

    async fn entry(
        &self,
        account: &AccountId,
        id: &NotificationId,
    ) -> Result<Option<NotificationRecord>, StoreError> {
        Ok(self.with(|s| s.log.get(&(account.clone(), id.clone())).cloned()))
    }
}
