//! Sending domains as Herald keeps them, and the port that stores them ([`DomainStore`]), with
//! a DynamoDB adapter ([`crate::adapters::dynamo::domains`]) and an in-memory one.
//!
//! A domain belongs to one account at a time (adding one another account holds is refused),
//! and an account sends from at most one domain ("in use").

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::clock::rfc3339_serde;
use crate::common::secret::SealedSecret;
pub use crate::common::store::StoreError;
use crate::domains::{CheckedRecord, DkimPublicKey, DkimSelector, DomainStatus, SendingDomain};
use crate::messaging::email::LocalPart;

/// A sending domain of an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainRecord {
    pub domain: SendingDomain,
    pub account_id: AccountId,
    pub selector: DkimSelector,
    pub public_key: DkimPublicKey,
    /// The DKIM private key, sealed for the account: SES holds its own copy to sign with.
    pub sealed_private_key: SealedSecret,
    pub status: DomainStatus,
    /// Every record to publish, with what the last check found.
    pub records: Vec<CheckedRecord>,
    /// The account sends from `{fromAddressPrefix}@{domain}`.
    #[serde(default)]
    pub in_use: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_address_prefix: Option<LocalPart>,
    #[serde(with = "rfc3339_serde")]
    pub added_at: OffsetDateTime,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_serde::option"
    )]
    pub checked_at: Option<OffsetDateTime>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_serde::option"
    )]
    pub verified_at: Option<OffsetDateTime>,
    #[serde(with = "rfc3339_serde")]
    pub updated_at: OffsetDateTime,
    pub version: u64,
}

/// The domain an account sends from, and the address's local part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InUse {
    pub domain: SendingDomain,
    pub prefix: LocalPart,
}

#[async_trait]
pub trait DomainStore: Send + Sync {
    /// Stores a new domain; `PreconditionFailed` when any account already holds it.
    async fn create(&self, record: &DomainRecord) -> Result<(), StoreError>;
    /// The domain, whichever account holds it.
    async fn get(&self, domain: &SendingDomain) -> Result<Option<DomainRecord>, StoreError>;
    /// Every domain of the account, by name.
    async fn list(&self, account: &AccountId) -> Result<Vec<DomainRecord>, StoreError>;
    /// Writes `record` as its next version if the stored one is still at the version read
    /// (`record.version`), and of the same account; then `record.version` is the version
    /// written. Otherwise `PreconditionFailed`, and nothing changes.
    async fn replace(&self, record: &mut DomainRecord) -> Result<(), StoreError>;
    /// Makes `record` (already marked in use) the account's domain in use, written as
    /// [`DomainStore::replace`] writes it, unless the account already uses one:
    /// `PreconditionFailed`.
    async fn put_in_use(&self, record: &mut DomainRecord) -> Result<(), StoreError>;
    /// Removes the domain (never the one in use: the caller checks).
    async fn delete(&self, record: &DomainRecord) -> Result<(), StoreError>;
    /// Domains still pending, at most `limit`, for the scheduled verification.
    async fn pending(&self, limit: usize) -> Result<Vec<DomainRecord>, StoreError>;
    /// The domain the account sends from, if any.
    async fn in_use(&self, account: &AccountId) -> Result<Option<InUse>, StoreError>;
}

#[derive(Default)]
pub struct MemoryDomainStore {
    domains: Mutex<BTreeMap<String, DomainRecord>>,
}

impl MemoryDomainStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, DomainRecord>> {
        self.domains.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn replace_in(
    domains: &mut BTreeMap<String, DomainRecord>,
    record: &mut DomainRecord,
) -> Result<(), StoreError> {
    match domains.get_mut(record.domain.as_str()) {
        Some(current)
            if current.version == record.version && current.account_id == record.account_id =>
        {
            let next = record
                .version
                .checked_add(1)
                .ok_or(StoreError::PreconditionFailed)?;
            *current = DomainRecord {
                version: next,
                ..record.clone()
            };
            record.version = next;
            Ok(())
        }
        _ => Err(StoreError::PreconditionFailed),
    }
}

#[async_trait]
impl DomainStore for MemoryDomainStore {
    async fn create(&self, record: &DomainRecord) -> Result<(), StoreError> {
        let mut domains = self.lock();
        if domains.contains_key(record.domain.as_str()) {
            return Err(StoreError::PreconditionFailed);
        }
        domains.insert(record.domain.as_str().to_owned(), record.clone());
        Ok(())
    }

    async fn get(&self, domain: &SendingDomain) -> Result<Option<DomainRecord>, StoreError> {
        Ok(self.lock().get(domain.as_str()).cloned())
    }

    async fn list(&self, account: &AccountId) -> Result<Vec<DomainRecord>, StoreError> {
        Ok(self
            .lock()
            .values()
            .filter(|d| d.account_id == *account)
            .cloned()
            .collect())
    }

    async fn replace(&self, record: &mut DomainRecord) -> Result<(), StoreError> {
        replace_in(&mut self.lock(), record)
    }

    async fn put_in_use(&self, record: &mut DomainRecord) -> Result<(), StoreError> {
        let mut domains = self.lock();
        let other_in_use = domains
            .values()
            .any(|d| d.account_id == record.account_id && d.in_use && d.domain != record.domain);
        if other_in_use {
            return Err(StoreError::PreconditionFailed);
        }
        replace_in(&mut domains, record)
    }

    async fn delete(&self, record: &DomainRecord) -> Result<(), StoreError> {
        self.lock().remove(record.domain.as_str());
        Ok(())
    }

    async fn pending(&self, limit: usize) -> Result<Vec<DomainRecord>, StoreError> {
        Ok(self
            .lock()
            .values()
            .filter(|d| d.status == DomainStatus::Pending)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn in_use(&self, account: &AccountId) -> Result<Option<InUse>, StoreError> {
        Ok(self
            .lock()
            .values()
            .find(|d| d.account_id == *account && d.in_use)
            .and_then(|d| {
                Some(InUse {
                    domain: d.domain.clone(),
                    prefix: d.from_address_prefix.clone()?,
                })
            }))
    }
}
