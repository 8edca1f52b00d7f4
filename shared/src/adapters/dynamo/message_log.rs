//! The message log in DynamoDB.
//!
//! Items: partition key `pk` = `{accountId}#{channel}`, sort key `sk` = the message id (a ULID,
//! so the key orders by time). The index `ByStatus` keys `statusKey` =
//! `{accountId}#{channel}#{status}` with the same sort key, for the status filter. The record is
//! the map attribute `record`; `expiresAt` (epoch seconds) is the table's TTL attribute.
//! Idempotency claims live beside them: `pk` = `{accountId}#idempotency`, `sk` = the key.
//! Every read is a GetItem or a Query on a key; nothing scans.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use time::OffsetDateTime;

use crate::adapters::dynamo::{n, next_version, s, version};
use crate::common::account::AccountId;
use crate::messaging::log::{
    Created, IdempotencyClaim, ListQuery, MessageId, MessageKey, MessageLog, MessageRecord, Order,
    Page, StoreError,
};
use crate::messaging::message::{Channel, MessageStatus};

pub const STATUS_INDEX: &str = "ByStatus";
/// Sparse, keys only: records of providers looked up by their own message id.
pub const PROVIDER_INDEX: &str = "ByProviderMessage";

pub struct DynamoMessageLog {
    client: Client,
    table: String,
}

fn pk(account: &AccountId, channel: Channel) -> String {
    format!("{account}#{}", channel.as_str())
}

fn status_key(account: &AccountId, channel: Channel, status: MessageStatus) -> String {
    format!("{account}#{}#{}", channel.as_str(), status.as_str())
}

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

    fn item(&self, record: &MessageRecord) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let channel = record.channel();
        let lookup = record
            .provider_lookup_key()
            .map(|key| ("providerMessageKey".to_owned(), s(key)));
        Ok(HashMap::from_iter(lookup.into_iter().chain([
            ("pk".to_owned(), s(pk(&record.account_id, channel))),
            ("sk".to_owned(), s(record.id.as_str())),
            (
                "statusKey".to_owned(),
                s(status_key(&record.account_id, channel, record.status)),
            ),
            (
                "expiresAt".to_owned(),
                n(record.expires_at.unix_timestamp()),
            ),
            (
                "record".to_owned(),
                serde_dynamo::to_attribute_value(record).map_err(StoreError::unavailable)?,
            ),
        ])))
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
        let item = self.item(record)?;
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
        // A COUNT query on the status index from the first id of `since`: DynamoDB reads the
        // keys (and the TTL filter's attribute) but returns no item.
        let mut total = 0u64;
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(STATUS_INDEX)
                .key_condition_expression("statusKey = :key AND sk >= :since")
                .filter_expression("expiresAt > :now")
                .expression_attribute_values(":key", s(status_key(account, channel, status)))
                .expression_attribute_values(":since", s(MessageId::lowest_at(since).as_str()))
                .expression_attribute_values(":now", n(now.unix_timestamp()))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
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
        let (index, key_name, key_value) = match query.status {
            Some(status) => (
                Some(STATUS_INDEX),
                "statusKey",
                status_key(account, channel, status),
            ),
            None => (None, "pk", pk(account, channel)),
        };
        let mut condition = format!("{key_name} = :key");
        if query.after.is_some() {
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
            .expression_attribute_values(":key", s(key_value))
            // Retention has passed but the TTL sweep has not come yet.
            .filter_expression("expiresAt > :now")
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .scan_index_forward(query.order == Order::Asc)
            .limit(i32::try_from(query.limit).unwrap_or(i32::MAX));
        if let Some(after) = &query.after {
            req = req.expression_attribute_values(":after", s(after.as_str()));
        }
        let out = req
            .send()
            .await
            .map_err(|e| StoreError::unavailable(aws_sdk_dynamodb::Error::from(e)))?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| self.parse(account, item))
            .collect::<Result<Vec<_>, _>>()?;
        // Continue after the last key read, which the filter may have dropped.
        let last = match out.last_evaluated_key.as_ref().and_then(|k| k.get("sk")) {
            Some(AttributeValue::S(id)) => MessageId::parse(id).ok(),
            _ => None,
        };
        Ok(Page { items, last })
    }

    async fn replace(&self, record: &mut MessageRecord) -> Result<(), StoreError> {
        let mut item = self.item(record)?;
        let next = next_version(&mut item, "record", record.version)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#record.version = :expected")
            .expression_attribute_names("#record", "record")
            .expression_attribute_values(":expected", version(record.version))
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
