//! Errors shared by every store adapter.

use crate::common::account::AccountId;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the item changed (a stale `If-Match`, a lost race).
    #[error("the item changed since it was read")]
    PreconditionFailed,
    #[error("stored {kind} of account {account} is unreadable: {reason}")]
    Corrupt {
        account: AccountId,
        kind: &'static str,
        reason: String,
    },
    /// A stored record that belongs to no account (a registered event type) cannot be read.
    #[error("stored {kind} {key} is unreadable: {reason}")]
    Unreadable {
        kind: &'static str,
        key: String,
        reason: String,
    },
    #[error("the store failed")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        Self::Unavailable(Box::new(e))
    }
}
