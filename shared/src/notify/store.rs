//! Where notification types, rules, preferences, first-occurrence keys and the log are kept.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::store::StoreError;
use crate::notify::log::{LogQuery, NotificationId, NotificationRecord};
use crate::notify::preferences::Preferences;
use crate::notify::recipients::RecipientId;
use crate::notify::rules::{NotificationRule, RuleId};
use crate::notify::types::{NotificationType, TypeKey};

/// Who holds a first-occurrence key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstClaim {
    /// This occurrence is the first: it holds the key now (or held it already, when the same
    /// event is processed again).
    Mine,
    /// An earlier occurrence holds it.
    Taken { by: String },
}

#[async_trait]
pub trait NotifyStore: Send + Sync {
    /// Every type of the account, by key.
    async fn types(&self, account: &AccountId) -> Result<Vec<NotificationType>, StoreError>;

    /// Writes a type; with `new`, only if none has its key (else `PreconditionFailed`).
    async fn put_type(
        &self,
        account: &AccountId,
        t: &NotificationType,
        new: bool,
    ) -> Result<(), StoreError>;

    /// Deletes a type; false when there was none.
    async fn delete_type(&self, account: &AccountId, key: &TypeKey) -> Result<bool, StoreError>;

    /// Every rule of the account, by id.
    async fn rules(&self, account: &AccountId) -> Result<Vec<NotificationRule>, StoreError>;

    /// Writes a rule (new or replaced).
    async fn put_rule(
        &self,
        account: &AccountId,
        rule: &NotificationRule,
    ) -> Result<(), StoreError>;

    async fn delete_rule(&self, account: &AccountId, id: &RuleId) -> Result<bool, StoreError>;

    /// The recipient's choices; none chosen when nothing is stored.
    async fn preferences(
        &self,
        account: &AccountId,
        recipient: &RecipientId,
    ) -> Result<Preferences, StoreError>;

    async fn put_preferences(
        &self,
        account: &AccountId,
        preferences: &Preferences,
    ) -> Result<(), StoreError>;

    /// Claims `key` (already scoped to rule and recipient) for the occurrence `owner`, kept
    /// until `expires_at`: a conditional write, so two occurrences racing get one winner.
    async fn claim_first(
        &self,
        account: &AccountId,
        key: &str,
        owner: &str,
        expires_at: OffsetDateTime,
    ) -> Result<FirstClaim, StoreError>;

    /// Writes `record` unless an entry with its id exists; returns that entry if one did.
    async fn begin(
        &self,
        record: &NotificationRecord,
    ) -> Result<Option<NotificationRecord>, StoreError>;

    /// Writes `record` over its entry.
    async fn finish(&self, record: &NotificationRecord) -> Result<(), StoreError>;

    /// Entries newest first, at most `query.limit`, filtered.
    async fn log(
        &self,
        account: &AccountId,
        query: &LogQuery,
    ) -> Result<Vec<NotificationRecord>, StoreError>;

    async fn entry(
        &self,
        account: &AccountId,
        id: &NotificationId,
    ) -> Result<Option<NotificationRecord>, StoreError>;
}
