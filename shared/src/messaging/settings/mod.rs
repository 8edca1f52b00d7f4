//! Account settings storage. The port is [`SettingsStore`], which keeps one JSON document per
//! account and kind with its entity tag; [`crate::adapters::dynamo::settings::DynamoSettingsStore`] and
//! [`crate::messaging::settings::memory::MemorySettingsStore`] implement it. [`Settings`] is the typed face the functions use.

pub mod memory;

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::common::account::AccountId;
use crate::common::etag::{ETag, Precondition};
pub use crate::common::store::StoreError;
use crate::messaging::email::EmailSettings;
use crate::messaging::sms::SmsSettings;

/// Which settings document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingsKind {
    Sms,
    Email,
}

impl SettingsKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
        }
    }

    /// What the document is, for error messages.
    pub fn settings_name(self) -> &'static str {
        match self {
            Self::Sms => "sms settings",
            Self::Email => "email settings",
        }
    }
}

/// A stored document and its tag.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDocument {
    pub document: serde_json::Value,
    pub etag: ETag,
}

#[async_trait]
pub trait SettingsStore: Send + Sync {
    async fn get(
        &self,
        account: &AccountId,
        kind: SettingsKind,
    ) -> Result<Option<StoredDocument>, StoreError>;

    /// Replaces the document if `precondition` holds for the current one (a never-saved
    /// document has the tag [`ETag::defaults`]).
    async fn put(
        &self,
        account: &AccountId,
        kind: SettingsKind,
        document: &StoredDocument,
        precondition: &Precondition,
    ) -> Result<(), StoreError>;

    /// Removes the document (back to defaults) if `precondition` holds.
    async fn delete(
        &self,
        account: &AccountId,
        kind: SettingsKind,
        precondition: &Precondition,
    ) -> Result<(), StoreError>;
}

/// Settings as saved, with the tag that versions them; `None` settings mean the defaults apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub settings: Option<T>,
    pub etag: ETag,
}

/// Typed access to the settings store.
#[derive(Clone)]
pub struct Settings {
    store: Arc<dyn SettingsStore>,
}

impl Settings {
    pub fn new(store: Arc<dyn SettingsStore>) -> Self {
        Self { store }
    }

    pub async fn sms(&self, account: &AccountId) -> Result<Versioned<SmsSettings>, StoreError> {
        self.load(account, SettingsKind::Sms).await
    }

    pub async fn email(&self, account: &AccountId) -> Result<Versioned<EmailSettings>, StoreError> {
        self.load(account, SettingsKind::Email).await
    }

    pub async fn save_sms(
        &self,
        account: &AccountId,
        settings: &SmsSettings,
        precondition: &Precondition,
    ) -> Result<ETag, StoreError> {
        self.save(account, SettingsKind::Sms, settings, precondition)
            .await
    }

    pub async fn save_email(
        &self,
        account: &AccountId,
        settings: &EmailSettings,
        precondition: &Precondition,
    ) -> Result<ETag, StoreError> {
        self.save(account, SettingsKind::Email, settings, precondition)
            .await
    }

    pub async fn reset(
        &self,
        account: &AccountId,
        kind: SettingsKind,
        precondition: &Precondition,
    ) -> Result<ETag, StoreError> {
        self.store.delete(account, kind, precondition).await?;
        Ok(ETag::defaults())
    }

    async fn load<T: DeserializeOwned>(
        &self,
        account: &AccountId,
        kind: SettingsKind,
    ) -> Result<Versioned<T>, StoreError> {
        let Some(stored) = self.store.get(account, kind).await? else {
            return Ok(Versioned {
                settings: None,
                etag: ETag::defaults(),
            });
        };
        // Stored documents are parsed through the same validating types as input, so a
        // document damaged at rest is reported, never served.
        let settings =
            serde_json::from_value(stored.document).map_err(|e| StoreError::Corrupt {
                account: account.clone(),
                kind: kind.settings_name(),
                reason: e.to_string(),
            })?;
        Ok(Versioned {
            settings: Some(settings),
            etag: stored.etag,
        })
    }

    async fn save<T: Serialize>(
        &self,
        account: &AccountId,
        kind: SettingsKind,
        settings: &T,
        precondition: &Precondition,
    ) -> Result<ETag, StoreError> {
        let document =
            serde_json::to_value(settings).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        let etag = ETag::of(&document);
        let stored = StoredDocument { document, etag };
        self.store.put(account, kind, &stored, precondition).await?;
        Ok(stored.etag)
    }
}
