//! The message log in DynamoDB.
//!
//! Items: partition key `pk` = `{accountId}#{channel}`, sort key `sk` = the message id (a ULID,
//! so the key orders by time). The record is `doc`, its JSON deflated ([`packed`]), so that a
//! message's writes cost one write unit each in the common case; beside it `st` (the status,
//! for the status filter), `v` (the version the writes are conditional on) and `expiresAt`
//! (epoch seconds, the table's TTL). Two sparse indexes hold only what they are asked for:
//! `Failed` (`failed` = the `pk`, present only while the message has failed) for the failed
//! filter, and `ByProviderMessage` (keys only) for receipts that name the provider's id. A
//! message on its way to `sent` or `delivered` enters neither. The other status filters read
//! the channel's partition with a filter, a few reads at most per page.
//! Idempotency claims live beside them: `pk` = `{accountId}#idempotency`, `sk` = the key.
//! Every read is a GetItem or a Query on a key; nothing scans. Items written before records
//! were packed (the map attribute `record`) are still read, and rewritten by their next write.
//!
//! [`packed`]: crate::adapters::dynamo::packed

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use time::OffsetDateTime;

use crate::adapters::dynamo::packed::{pack, unpack};
use crate::adapters::dynamo::{n, s};
use crate::common::account::AccountId;
use crate::messaging::log::{
    Created, IdempotencyClaim, ListQuery, MessageId, MessageKey, MessageLog, MessageRecord, Order,
    Page, StoreError,
};
use crate::messaging::message::{Channel, MessageStatus};

/// Sparse: failed messages only.
pub const FAILED_INDEX: &str = "Failed";
/// A filtered listing reads at most this many pages of the partition to fill one page.
pub const MAX_READS_PER_PAGE: usize = 8;
/// Sparse, keys only: records of providers looked up by their own message id.
pub const PROVIDER_INDEX: &str = "ByProviderMessage";

pub struct DynamoMessageLog {
    client: Client,
    table: String,
}

fn pk(account: &AccountId, channel: Channel) -> String {
    format!("{account}#{}", channel.as_str())
}

/// The condition of a write expecting the stored record at version `read`: an item of the
/// earlier layout keeps its version inside its record.
const EXPECTS_VERSION: &str =
    "v = :expected OR (attribute_not_exists(v) AND #record.version = :expected)";

fn code<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(e: &E) -> Option<&str> {
    e.code()
}

impl DynamoMessageLog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The item of `record` written as version `version`.
    fn item(
        &self,
        record: &MessageRecord,
        version: u64,
    ) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let channel = record.channel();
        let key = pk(&record.account_id, channel);
        let mut item = HashMap::from([
            ("sk".to_owned(), s(record.id.as_str())),
            ("st".to_owned(), s(record.status.as_str())),
            (
                "expiresAt".to_owned(),
                n(record.expires_at.unix_timestamp()),
            ),
            ("v".to_owned(), AttributeValue::N(version.to_string())),
            (
                "doc".to_owned(),
                pack(record).map_err(|e| StoreError::Unavailable(e.into()))?,
            ),
        ]);
        if let Some(lookup) = record.provider_lookup_key() {
            item.insert("providerMessageKey".to_owned(), s(lookup));
        }
        if record.status == MessageStatus::Failed {
            item.insert("failed".to_owned(), s(key.clone()));
        }
        item.insert("pk".to_owned(), s(key));
        Ok(item)
    }

    fn parse(
        &self,
        account: &AccountId,
        mut item: HashMap<String, AttributeValue>,
    ) -> Result<MessageRecord, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            account: account.clone(),
            kind: "message log record",
            reason,
        };
        if let Some(doc) = item.get("doc") {
            let mut record: MessageRecord = unpack(doc).map_err(corrupt)?;
            record.version = match item.get("v") {
                Some(AttributeValue::N(v)) => {
                    v.parse().map_err(|_| corrupt("bad version".into()))?
                }
                _ => return Err(corrupt("no version".into())),
            };
            return Ok(record);
        }
        // Written before records were packed.
        let record = item
            .remove("record")
            .ok_or_else(|| corrupt("no record attribute".into()))?;
        serde_dynamo::from_attribute_value(record).map_err(|e| corrupt(e.to_string()))
    }

    async fn claimed(
        &self,
        account: &AccountId,
        claim: &IdempotencyClaim,
    ) -> Result<Created, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("{account}#idempotency")))
            .key("sk", s(claim.key.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::unavailable(aws_sdk_dynamodb::Error::from(e)))?;
        let item = out.item.unwrap_or_default();
        let text = |k: &str| match item.get(k) {
            Some(AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        };
        match (text("messageId"), text("requestHash")) {
            (Some(id), Some(request_hash)) => Ok(Created::Replay {
                id: MessageId::parse(&id).map_err(|e| StoreError::Corrupt {
                    account: account.clone(),
                    kind: "idempotency claim",
                    reason: e.to_string(),
                })?,
                request_hash,
            }),
            // Claimed, then expired and swept between the write and this read: a lost race
            // the caller may retry.
            _ => Err(StoreError::PreconditionFailed),
        }
    }
}

#[async_trait]
impl MessageLog for DynamoMessageLog {
    async fn create(
        &self,
        record: &MessageRecord,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<Created, StoreError> {
        let item = self.item(record, record.version)?;
        let Some(claim) = idempotency else {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await
                .map_err(|e| StoreError::unavailable(aws_sdk_dynamodb::Error::from(e)))?;
            return Ok(Created::New);
        };
        let account = &record.account_id;
        let put_record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(StoreError::unavailable)?;
        // A claim holds until it expires; DynamoDB's TTL sweep may lag, so an expired claim
        // still present is overwritten.
        let put_claim = Put::builder()
            .table_name(&self.table)
            .item("pk", s(format!("{account}#idempotency")))
            .item("sk", s(claim.key.as_str()))
            .item("messageId", s(record.id.as_str()))
            .item("requestHash", s(&claim.request_hash))
            .item("expiresAt", n(claim.expires_at.unix_timestamp()))
            .condition_expression("attribute_not_exists(pk) OR expiresAt <= :now")
            .expression_attribute_values(":now", n(claim.now.unix_timestamp()))
            .build()
            .map_err(StoreError::unavailable)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_record).build())
            .transact_items(TransactWriteItem::builder().put(put_claim).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(Created::New),
            Err(e) => {
                let service = e.as_service_error();
                if service.and_then(code) == Some("TransactionCanceledException") {
                    self.claimed(account, claim).await
                } else {
                    Err(StoreError::unavailable(aws_sdk_dynamodb::Error::from(e)))
                }
            }
        }
    }

    async fn get(
        &self,
        account: &AccountId,
        channel: Channel,
        id: &MessageId,
        now: OffsetDateTime,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk(account, channel)))
            .key("sk", s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::unavailable(aws_sdk_dynamodb::Error::from(e)))?;
        match out.item {
            None => Ok(None),
            Some(item) => Ok(Some(self.parse(account, item)?).filter(|r| !r.expired(now))),
        }
    }

    async fn count(
        &self,
        account: &AccountId,
        channel: Channel,
        status: MessageStatus,
        since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        // Failed messages: a COUNT on the sparse index, which holds nothing else. Any other
        // status: the channel's partition from the first id of `since`, filtered. DynamoDB
        // returns no item either way; it bills what it read.
        let failed = status == MessageStatus::Failed;
        let mut total = 0u64;
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":key", s(pk(account, channel)))
                .expression_attribute_values(":since", s(MessageId::lowest_at(since).as_str()))
                .expression_attribute_values(":now", n(now.unix_timestamp()))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start);
            req = if failed {
                req.index_name(FAILED_INDEX)
                    .key_condition_expression("failed = :key AND sk >= :since")
                    .filter_expression("expiresAt > :now")
            } else {
                req.key_condition_expression("pk = :key AND sk >= :since")
                    .filter_expression(
                        "expiresAt > :now AND (st = :status OR #record.#status = :status)",
                    )
                    .expression_attribute_names("#record", "record")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(status.as_str()))
            };
            let out = req
                .send()
                .await
                .map_err(|e| StoreError::unavailable(aws_sdk_dynamodb::Error::from(e)))?;
            total += u64::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(total),
            }
        }
    }

    async fn list(
        &self,
        account: &AccountId,
        channel: Channel,
        query: &ListQuery,
        now: OffsetDateTime,
    ) -> Result<Page, StoreError> {
        let failed = query.status == Some(MessageStatus::Failed);
        let (index, key_name) = if failed {
            (Some(FAILED_INDEX), "failed")
        } else {
            (None, "pk")
        };
        // Retention has passed but the TTL sweep has not come yet.
        let mut filter = "expiresAt > :now".to_owned();
        let status = query.status.filter(|_| !failed);
        if status.is_some() {
            // `record.status` is where items of the earlier layout keep it.
            filter.push_str(" AND (st = :status OR #record.#status = :status)");
        }
        let limit = query.limit.max(1);
        let mut items = Vec::new();
        let mut after = query.after.clone();
        for _ in 0..MAX_READS_PER_PAGE {
            let mut condition = format!("{key_name} = :key");
            if after.is_some() {
                condition.push_str(match query.order {
                    Order::Asc => " AND sk > :after",
                    Order::Desc => " AND sk < :after",
                });
            }
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(condition)
                .expression_attribute_values(":key", s(pk(account, channel)))
                .filter_expression(&filter)
                .expression_attribute_values(":now", n(now.unix_timestamp()))
                .scan_index_forward(query.order == Order::Asc)
                .limit(i32::try_from(limit).unwrap_or(i32::MAX));
            if let Some(after) = &after {
                req = req.expression_attribute_values(":after", s(after.as_str()));
            }
            if let Some(status) = status {
                req = req
                    .expression_attribute_names("#record", "record")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(status.as_str()));
            }
            let out = req
                .send()
                .await
                .map_err(|e| StoreError::unavailable(aws_sdk_dynamodb::Error::from(e)))?;
            for item in out.items.unwrap_or_default() {
                items.push(self.parse(account, item)?);
            }
            // Continue after the last key read, which the filter may have dropped.
            after = match out.last_evaluated_key.as_ref().and_then(|k| k.get("sk")) {
                Some(AttributeValue::S(id)) => MessageId::parse(id).ok(),
                _ => None,
            };
            if items.len() >= limit || after.is_none() {
                break;
            }
        }
        if items.len() > limit {
            items.truncate(limit);
            after = items.last().map(|r| r.id.clone());
        }
        Ok(Page { items, last: after })
    }

    async fn replace(&self, record: &mut MessageRecord) -> Result<(), StoreError> {
        let next = record
            .version
            .checked_add(1)
            .ok_or(StoreError::PreconditionFailed)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.item(record, next)?))
            .condition_expression(EXPECTS_VERSION)
            .expression_attribute_names("#record", "record")
            .expression_attribute_values(":expected", AttributeValue::N(record.version.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => {
                record.version = next;
                Ok(())
            }
            Err(e)
                if e.as_service_error().and_then(code)
                    == Some("ConditionalCheckFailedException") =>
            {
                Err(StoreError::PreconditionFailed)
            }
            Err(e) => Err(StoreError::unavailable(aws_sdk_dynamodb::Error::from(e))),
        }
    }

    async fn find_by_provider_id(
        &self,
        provider: &str,
        provider_message_id: &str,
    ) -> Result<Option<MessageKey>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(PROVIDER_INDEX)
            .key_condition_expression("providerMessageKey = :key")
            .expression_attribute_values(":key", s(format!("{provider}#{provider_message_id}")))
            .limit(1)
            .send()
            .await
            .map_err(|e| StoreError::unavailable(aws_sdk_dynamodb::Error::from(e)))?;
        let Some(keys) = out.items.unwrap_or_default().into_iter().next() else {
            return Ok(None);
        };
        let text = |k: &str| match keys.get(k) {
            Some(AttributeValue::S(v)) => Some(v.as_str()),
            _ => None,
        };
        // `pk` is `{account}#{channel}`, and account ids hold no `#`.
        let found = text("pk")
            .and_then(|pk| pk.split_once('#'))
            .and_then(|(account, channel)| {
                Some((AccountId::parse(account).ok()?, Channel::parse(channel)?))
            })
            .zip(text("sk").and_then(|id| MessageId::parse(id).ok()));
        Ok(found.map(|((account_id, channel), message_id)| MessageKey {
            account_id,
            channel,
            message_id,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_stored_before_attempts_and_receipts_were_typed_read_and_write_back_the_same() {
        for stored in crate::messaging::log::tests::stored_records() {
            let item: AttributeValue = serde_dynamo::to_attribute_value(&stored).expect("an item");
            let record: MessageRecord =
                serde_dynamo::from_attribute_value(item.clone()).expect("a record");
            let written: AttributeValue =
                serde_dynamo::to_attribute_value(&record).expect("an item");
            assert_eq!(written, item);
        }
    }
}
