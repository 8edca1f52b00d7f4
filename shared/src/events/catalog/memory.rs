//! Registered event types in memory, for unit tests and in-process runs.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::common::etag::ETag;
use crate::events::catalog::registry::{EventTypeStore, Expected, RegisteredEventType, StoreError};
use crate::events::name::EventName;

#[derive(Default)]
pub struct MemoryEventTypeStore {
    items: Mutex<BTreeMap<EventName, RegisteredEventType>>,
}

impl MemoryEventTypeStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<EventName, RegisteredEventType>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl EventTypeStore for MemoryEventTypeStore {
    async fn list(&self) -> Result<Vec<RegisteredEventType>, StoreError> {
        Ok(self.lock().values().cloned().collect())
    }

    async fn get(&self, name: &EventName) -> Result<Option<RegisteredEventType>, StoreError> {
        Ok(self.lock().get(name).cloned())
    }

    async fn put(
        &self,
        event_type: &RegisteredEventType,
        expected: &Expected,
    ) -> Result<(), StoreError> {
        let mut items = self.lock();
        let current = items.get(event_type.name()).map(RegisteredEventType::etag);
        let holds = match expected {
            Expected::Absent => current.is_none(),
            Expected::Current(tag) => current.as_ref() == Some(tag),
        };
        if !holds {
            return Err(StoreError::PreconditionFailed);
        }
        items.insert(event_type.name().clone(), event_type.clone());
        Ok(())
    }

    async fn delete(&self, name: &EventName, current: &ETag) -> Result<(), StoreError> {
        let mut items = self.lock();
        if items.get(name).map(RegisteredEventType::etag).as_ref() != Some(current) {
            return Err(StoreError::PreconditionFailed);
        }
        items.remove(name);
        Ok(())
    }
}
