//! Sending domains in DynamoDB, one table:
//!
//! - a domain: `pk` = `domain#{domain}` (so a domain has one owner: adding it is a
//!   conditional put), its account in `accountId` (index `ByAccount`, sorted by `pk`), the
//!   record as the map attribute `domain`, and `pendingKey` = `pending` only while pending:
//!   the sparse index `Pending` lists exactly the domains the schedule must check;
//! - an account's domain in use: `pk` = `inuse#{accountId}` with `domainName` and `prefix`,
//!   written in one transaction with the domain, conditional on no other domain being in use.
//!
//! Every read is a GetItem or a Query; nothing scans.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use crate::adapters::dynamo::{next_version, s, version, write_error};
use crate::common::account::AccountId;
use crate::domains::store::{DomainRecord, DomainStore, InUse, StoreError};
use crate::domains::{DomainStatus, SendingDomain};
use crate::messaging::email::LocalPart;

pub const ACCOUNT_INDEX: &str = "ByAccount";
pub const PENDING_INDEX: &str = "Pending";

pub struct DynamoDomainStore {
    client: Client,
    table: String,
}

fn domain_key(domain: &SendingDomain) -> String {
    format!("domain#{domain}")
}

fn in_use_key(account: &AccountId) -> String {
    format!("inuse#{account}")
}

impl DynamoDomainStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn item(r: &DomainRecord) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let mut item = HashMap::from([
            ("pk".to_owned(), s(domain_key(&r.domain))),
            ("accountId".to_owned(), s(r.account_id.as_str())),
            (
                "domain".to_owned(),
                serde_dynamo::to_attribute_value(r).map_err(StoreError::unavailable)?,
            ),
        ]);
        if r.status == DomainStatus::Pending {
            item.insert("pendingKey".to_owned(), s("pending"));
        }
        Ok(item)
    }

    fn parse(mut item: HashMap<String, AttributeValue>) -> Result<DomainRecord, StoreError> {
        let account = match item.get("accountId") {
            Some(AttributeValue::S(a)) => AccountId::parse(a).ok(),
            _ => None,
        };
        let corrupt = |reason: String| match &account {
            Some(account) => StoreError::Corrupt {
                account: account.clone(),
                kind: "sending domain",
                reason,
            },
            None => StoreError::Unavailable(reason.into()),
        };
        let value = item
            .remove("domain")
            .ok_or_else(|| corrupt("no domain attribute".into()))?;
        serde_dynamo::from_attribute_value(value).map_err(|e| corrupt(e.to_string()))
    }

    /// The write of `record` as its next version, which it returns beside the write: held
    /// only while the stored domain is still at the version read and of the same account.
    fn versioned_put(&self, record: &DomainRecord) -> Result<(Put, u64), StoreError> {
        let mut item = Self::item(record)?;
        let next = next_version(&mut item, "domain", record.version)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#d.version = :expected AND accountId = :account")
            .expression_attribute_names("#d", "domain")
            .expression_attribute_values(":expected", version(record.version))
            .expression_attribute_values(":account", s(record.account_id.as_str()))
            .build()
            .map_err(StoreError::unavailable)?;
        Ok((put, next))
    }

    async fn query(
        &self,
        index: &str,
        key: &str,
        value: &str,
        limit: Option<usize>,
    ) -> Result<Vec<DomainRecord>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#k = :v")
                .expression_attribute_names("#k", key)
                .expression_attribute_values(":v", s(value))
                .set_limit(limit.and_then(|l| i32::try_from(l).ok()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::unavailable)?;
            for item in page.items.unwrap_or_default() {
                out.push(Self::parse(item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() || limit.is_some_and(|l| out.len() >= l) {
                return Ok(out);
            }
        }
    }
}

#[async_trait]
impl DomainStore for DynamoDomainStore {
    async fn create(&self, record: &DomainRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(record)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(write_error)?;
        Ok(())
    }

    async fn get(&self, domain: &SendingDomain) -> Result<Option<DomainRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(domain_key(domain)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.item.map(Self::parse).transpose()
    }

    async fn list(&self, account: &AccountId) -> Result<Vec<DomainRecord>, StoreError> {
        self.query(ACCOUNT_INDEX, "accountId", account.as_str(), None)
            .await
    }

    async fn replace(&self, record: &mut DomainRecord) -> Result<(), StoreError> {
        let (put, next) = self.versioned_put(record)?;
        self.client
            .put_item()
            .table_name(put.table_name())
            .set_item(Some(put.item().clone()))
            .set_condition_expression(put.condition_expression().map(str::to_owned))
            .set_expression_attribute_names(put.expression_attribute_names().cloned())
            .set_expression_attribute_values(put.expression_attribute_values().cloned())
            .send()
            .await
            .map_err(write_error)?;
        record.version = next;
        Ok(())
    }

    async fn put_in_use(&self, record: &mut DomainRecord) -> Result<(), StoreError> {
        let prefix = record
            .from_address_prefix
            .as_ref()
            .ok_or(StoreError::PreconditionFailed)?;
        let pointer = Put::builder()
            .table_name(&self.table)
            .item("pk", s(in_use_key(&record.account_id)))
            .item("domainName", s(record.domain.as_str()))
            .item("prefix", s(prefix.as_str()))
            .condition_expression("attribute_not_exists(pk) OR domainName = :domain")
            .expression_attribute_values(":domain", s(record.domain.as_str()))
            .build()
            .map_err(StoreError::unavailable)?;
        let (domain, next) = self.versioned_put(record)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(domain).build())
            .transact_items(TransactWriteItem::builder().put(pointer).build())
            .send()
            .await;
        match result {
            Ok(_) => {
                record.version = next;
                Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .and_then(aws_sdk_dynamodb::error::ProvideErrorMetadata::code)
                    == Some("TransactionCanceledException") =>
            {
                Err(StoreError::PreconditionFailed)
            }
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    async fn delete(&self, record: &DomainRecord) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(domain_key(&record.domain)))
            .condition_expression("accountId = :account")
            .expression_attribute_values(":account", s(record.account_id.as_str()))
            .send()
            .await
            .map_err(write_error)?;
        Ok(())
    }

    async fn pending(&self, limit: usize) -> Result<Vec<DomainRecord>, StoreError> {
        self.query(PENDING_INDEX, "pendingKey", "pending", Some(limit))
            .await
    }

    async fn in_use(&self, account: &AccountId) -> Result<Option<InUse>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(in_use_key(account)))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let text = |k: &str| match item.get(k) {
            Some(AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        };
        let corrupt = |reason: &str| StoreError::Corrupt {
            account: account.clone(),
            kind: "domain in use",
            reason: reason.to_owned(),
        };
        let domain = text("domainName")
            .and_then(|d| SendingDomain::parse(&d).ok())
            .ok_or_else(|| corrupt("no valid domainName"))?;
        let prefix = text("prefix")
            .and_then(|p| LocalPart::parse(&p).ok())
            .ok_or_else(|| corrupt("no valid prefix"))?;
        Ok(Some(InUse { domain, prefix }))
    }
}
