//! Links and sessions in memory, for tests.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{PendingLink, Session, SessionStore, TokenHash};
use crate::common::store::StoreError;

#[derive(Default)]
pub struct MemorySessionStore {
    links: Mutex<HashMap<TokenHash, PendingLink>>,
    sessions: Mutex<HashMap<TokenHash, Session>>,
}

impl MemorySessionStore {
    /// How many sessions are open, for tests that check nothing was opened.
    pub fn open_sessions(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn put_link(&self, hash: &TokenHash, link: &PendingLink) -> Result<(), StoreError> {
        self.links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(hash.clone(), link.clone());
        Ok(())
    }

    async fn take_link(&self, hash: &TokenHash) -> Result<Option<PendingLink>, StoreError> {
        Ok(self
            .links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(hash))
    }

    async fn put_session(&self, hash: &TokenHash, session: &Session) -> Result<(), StoreError> {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(hash.clone(), session.clone());
        Ok(())
    }

    async fn session(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        Ok(self
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(hash)
            .cloned())
    }

    async fn touch(&self, hash: &TokenHash, at: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(s) = self
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(hash)
        {
            s.last_seen_at = at;
        }
        Ok(())
    }

    async fn delete_session(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(hash);
        Ok(())
    }
}
