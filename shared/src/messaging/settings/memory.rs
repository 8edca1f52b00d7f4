//! Settings in memory, for unit tests and in-process runs.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::common::account::AccountId;
use crate::common::etag::{ETag, Precondition};
use crate::messaging::settings::{SettingsKind, SettingsStore, StoreError, StoredDocument};

#[derive(Default)]
pub struct MemorySettingsStore {
    documents: Mutex<HashMap<(AccountId, SettingsKind), StoredDocument>>,
}

impl MemorySettingsStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn check(
        current: Option<&StoredDocument>,
        precondition: &Precondition,
    ) -> Result<(), StoreError> {
        let tag = current.map_or_else(ETag::defaults, |d| d.etag.clone());
        if precondition.allows(&tag) {
            Ok(())
        } else {
            Err(StoreError::PreconditionFailed)
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(AccountId, SettingsKind), StoredDocument>> {
        // A panic while holding the lock cannot leave a half-written entry (inserts are
        // atomic), so a poisoned map is still consistent.
        self.documents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl SettingsStore for MemorySettingsStore {
    async fn get(
        &self,
        account: &AccountId,
        kind: SettingsKind,
    ) -> Result<Option<StoredDocument>, StoreError> {
        Ok(self.lock().get(&(account.clone(), kind)).cloned())
    }

    async fn put(
        &self,
        account: &AccountId,
        kind: SettingsKind,
        document: &StoredDocument,
        precondition: &Precondition,
    ) -> Result<(), StoreError> {
        let mut map = self.lock();
        let key = (account.clone(), kind);
        Self::check(map.get(&key), precondition)?;
        map.insert(key, document.clone());
        Ok(())
    }

    async fn delete(
        &self,
        account: &AccountId,
        kind: SettingsKind,
        precondition: &Precondition,
    ) -> Result<(), StoreError> {
        let mut map = self.lock();
        let key = (account.clone(), kind);
        Self::check(map.get(&key), precondition)?;
        map.remove(&key);
        Ok(())
    }
}
