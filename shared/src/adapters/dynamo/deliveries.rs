//! Deliveries in DynamoDB, laid out so that a delivery costs as few write units as it can.
//!
//! Items: partition key `accountId`, sort key `deliveryId` (time-ordered, see [`DeliveryId`]).
//! The record is `doc`, its JSON deflated ([`packed`]), which keeps a delivered webhook's item
//! under the 1 KB of one write unit in the common case. Beside it, plain attributes for what
//! DynamoDB itself must read:
//! - `st` (status) and `subId` (subscription id), which the listing's filters read;
//! - `expiresAt` (epoch seconds), the table's TTL;
//! - `v` (version), `ticket` (the job that may attempt next) and `claim` (claimed until, epoch
//!   ms), which the conditional writes read: a retry is claimed by one `UpdateItem`;
//! - `failed` (the account id), only while the delivery has failed: the key of the sparse
//!   `Failed` index, which therefore holds failed deliveries and nothing else. A delivery
//!   never enters an index on its way to `delivered`, so its writes are table writes only.
//!
//! Listings are Queries: the account's partition newest first, or the `Failed` index for
//! `status=failed`; the other filters (a subscription, `pending`, `delivered`) read the
//! partition with a filter, a few reads at most per page (see [`MAX_READS_PER_PAGE`]).
//!
//! Items written before this layout (the record as the map attribute `delivery`) are still
//! read, and are rewritten in this layout by their next write.
//!
//! [`packed`]: crate::adapters::dynamo::packed

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::OffsetDateTime;

use crate::adapters::dynamo::packed::{pack, unpack};
use crate::adapters::dynamo::{document, n, s, write_error};
use crate::common::account::AccountId;
use crate::events::delivery::{
    Claimed, DeliveryId, DeliveryRecord, DeliveryStatus, DeliveryStore, ListQuery, Page,
    StoreError, claim_by_rewrite,
};

pub const FAILED_INDEX: &str = "Failed";

/// A filtered listing reads at most this many pages of the partition (each of the page's
/// size) to fill one page; a page may come back short, with its cursor.
pub const MAX_READS_PER_PAGE: usize = 8;

pub struct DynamoDeliveryStore {
    client: Client,
    table: String,
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn number<T: std::str::FromStr>(item: &HashMap<String, AttributeValue>, name: &str) -> Option<T> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

impl DynamoDeliveryStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The item of `r` written as version `version`.
    fn item(
        r: &DeliveryRecord,
        version: u64,
    ) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let account = r.account_id.as_str();
        let mut item = HashMap::from([
            ("accountId".to_owned(), s(account)),
            ("deliveryId".to_owned(), s(r.id.as_str())),
            ("subId".to_owned(), s(r.subscription_id.as_str())),
            ("st".to_owned(), s(r.status.as_str())),
            ("expiresAt".to_owned(), n(r.expires_at.unix_timestamp())),
            ("v".to_owned(), AttributeValue::N(version.to_string())),
            ("ticket".to_owned(), n(i64::from(r.ticket()))),
            (
                "doc".to_owned(),
                pack(r).map_err(|e| StoreError::Unavailable(e.into()))?,
            ),
        ]);
        if let Some(until) = r.claimed_until {
            item.insert("claim".to_owned(), n(millis(until)));
        }
        if r.status == DeliveryStatus::Failed {
            item.insert("failed".to_owned(), s(account));
        }
        Ok(item)
    }

    fn parse(
        account: &AccountId,
        item: HashMap<String, AttributeValue>,
    ) -> Result<DeliveryRecord, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            account: account.clone(),
            kind: "delivery",
            reason,
        };
        let Some(doc) = item.get("doc") else {
            // Written before records were packed.
            return document(item, "delivery", corrupt);
        };
        let mut record: DeliveryRecord = unpack(doc).map_err(corrupt)?;
        // The claim and the version are written by the claim's update alone, not into `doc`.
        record.version = number(&item, "v").ok_or_else(|| corrupt("no version".to_owned()))?;
        record.claimed_until = number::<i64>(&item, "claim").and_then(|ms| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
        });
        Ok(record)
    }
}

#[async_trait]
impl DeliveryStore for DynamoDeliveryStore {
    async fn create(&self, record: &DeliveryRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(record, record.version)?))
            .condition_expression("attribute_not_exists(deliveryId)")
            .send()
            .await
            .map_err(write_error)?;
        Ok(())
    }

    async fn get(
        &self,
        account: &AccountId,
        id: &DeliveryId,
        now: OffsetDateTime,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("accountId", s(account.as_str()))
            .key("deliveryId", s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        match out.item {
            None => Ok(None),
            Some(item) => Ok(Some(Self::parse(account, item)?).filter(|r| !r.expired(now))),
        }
    }

    async fn replace(&self, record: &mut DeliveryRecord) -> Result<(), StoreError> {
        let next = record
            .version
            .checked_add(1)
            .ok_or(StoreError::PreconditionFailed)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(record, next)?))
            // An item of the earlier layout keeps its version inside its record.
            .condition_expression(
                "v = :expected OR (attribute_not_exists(v) AND #old.version = :expected)",
            )
            .expression_attribute_names("#old", "delivery")
            .expression_attribute_values(":expected", AttributeValue::N(record.version.to_string()))
            .send()
            .await
            .map_err(write_error)?;
        record.version = next;
        Ok(())
    }

    /// One conditional `UpdateItem` (no read first): what a retry's claim costs is one write.
    async fn claim(
        &self,
        account: &AccountId,
        id: &DeliveryId,
        ticket: u32,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Claimed, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("accountId", s(account.as_str()))
            .key("deliveryId", s(id.as_str()))
            .update_expression("SET claim = :until, v = v + :one")
            .condition_expression(
                "st = :pending AND ticket = :ticket AND expiresAt > :now \
                 AND (attribute_not_exists(claim) OR claim <= :nowMs)",
            )
            .expression_attribute_values(":until", n(millis(until)))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":pending", s(DeliveryStatus::Pending.as_str()))
            .expression_attribute_values(":ticket", n(i64::from(ticket)))
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .expression_attribute_values(":nowMs", n(millis(now)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                Ok(Claimed::Ours(Box::new(Self::parse(account, item)?)))
            }
            Err(e) => match write_error(e) {
                // Not claimable, or unknown, or an item of the earlier layout (no plain status
                // or ticket to test): the record says which, and an earlier item is claimed
                // by rewriting it.
                StoreError::PreconditionFailed => {
                    claim_by_rewrite(self, account, id, ticket, now, until).await
                }
                e => Err(e),
            },
        }
    }

    async fn list(
        &self,
        account: &AccountId,
        query: &ListQuery,
        now: OffsetDateTime,
    ) -> Result<Page, StoreError> {
        let failed = query.status == Some(DeliveryStatus::Failed);
        let (index, key_name) = if failed {
            (Some(FAILED_INDEX), "failed")
        } else {
            (None, "accountId")
        };
        // Retention has passed but the TTL sweep has not come yet.
        let mut filter = vec!["expiresAt > :now"];
        if query.status.is_some() && !failed {
            // `status` is where items of the earlier layout keep it.
            filter.push("(st = :status OR #status = :status)");
        }
        if query.subscription.is_some() {
            filter.push("(subId = :sub OR subscriptionKey = :subKey)");
        }
        let filter = filter.join(" AND ");
        let limit = query.limit.max(1);
        let mut items = Vec::new();
        let mut after = query.after.clone();
        for _ in 0..MAX_READS_PER_PAGE {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .expression_attribute_values(":key", s(account.as_str()))
                .expression_attribute_values(":now", n(now.unix_timestamp()))
                .scan_index_forward(false)
                .limit(i32::try_from(limit).unwrap_or(i32::MAX))
                .filter_expression(&filter);
            let mut condition = format!("{key_name} = :key");
            if let Some(after) = &after {
                condition.push_str(" AND deliveryId < :after");
                req = req.expression_attribute_values(":after", s(after.as_str()));
            }
            if let Some(status) = query.status.filter(|_| !failed) {
                req = req
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", s(status.as_str()));
            }
            if let Some(sub) = &query.subscription {
                req = req
                    .expression_attribute_values(":sub", s(sub.as_str()))
                    .expression_attribute_values(":subKey", s(format!("{account}#{sub}")));
            }
            let out = req
                .key_condition_expression(condition)
                .send()
                .await
                .map_err(StoreError::unavailable)?;
            for item in out.items.unwrap_or_default() {
                items.push(Self::parse(account, item)?);
            }
            // Continue after the last key read, which the filter may have dropped.
            after = match out
                .last_evaluated_key
                .as_ref()
                .and_then(|k| k.get("deliveryId"))
            {
                Some(AttributeValue::S(id)) => DeliveryId::parse(id).ok(),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A webhook delivered on its first try, signed in both schemes, to a receiver that
    /// answers as a typical web server does: what most items hold.
    fn delivered_record() -> DeliveryRecord {
        let id = "01KBPZ2Q9T4V6X8Z0B2D4F6H8J-01KBPYR3N5Q7S9V1W3Y5A7C9E1";
        let event = serde_json::json!({
            "id": "01KBPZ2Q9T4V6X8Z0B2D4F6H8J", "accountId": "acct_7Qw2LmX9",
            "eventName": "order.completed", "createdAt": "2026-12-04T03:41:07.512Z",
            "data": {"orderId": "ord_48213", "total": "129.90", "currency": "EUR",
                     "customer": {"id": "cus_9921", "email": "kari.nordmann@example.com"}},
        });
        serde_json::from_value(serde_json::json!({
            "id": id, "accountId": "acct_7Qw2LmX9",
            "subscriptionId": "01KBPYR3N5Q7S9V1W3Y5A7C9E1", "eventId": "01KBPZ2Q9T4V6X8Z0B2D4F6H8J",
            "eventName": "order.completed", "status": "delivered", "body": event.to_string(),
            "eventExpiresAt": "2026-12-07T03:41:07.512Z",
            "attempts": [{
                "number": 1, "at": "2026-12-04T03:41:07.655Z",
                "url": "https://hooks.shop.example.com/herald/events",
                "requestHeaders": {
                    "content-type": "application/json", "webhook-id": id,
                    "webhook-timestamp": "1796355667",
                    "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
                    "X-Herald-Signature": "t=1796355667,v1=9f2c1e7a4b8d3f6e0a5c7b9d1e3f5a7c9b2d4f6e8a0c2e4f6a8b0d2f4e6a8c0e2"
                },
                "responseStatus": 200,
                "responseHeaders": {"content-type": "application/json", "content-length": "16",
                                    "date": "Fri, 04 Dec 2026 03:41:07 GMT", "server": "nginx"},
                "responseBody": "{\"received\":true}", "durationMs": 87, "outcome": "delivered"
            }],
            "attemptCount": 1, "nextAttempt": 2, "jobTicket": 1,
            "windowStart": "2026-12-04T03:41:07.655Z",
            "createdAt": "2026-12-04T03:41:07.655Z", "updatedAt": "2026-12-04T03:41:07.748Z",
            "expiresAt": "2027-03-04T03:41:07.655Z", "version": 2
        }))
        .expect("a delivery record")
    }

    /// What DynamoDB bills for: attribute names and values (close enough for strings and
    /// binaries; numbers are a few bytes).
    fn size(item: &HashMap<String, AttributeValue>) -> usize {
        item.iter()
            .map(|(k, v)| {
                k.len()
                    + match v {
                        AttributeValue::S(s) => s.len(),
                        AttributeValue::N(n) => n.len() / 2 + 1,
                        AttributeValue::B(b) => b.as_ref().len(),
                        _ => 8,
                    }
            })
            .sum()
    }

    #[test]
    fn a_delivered_webhook_signed_with_a_typical_answer_fits_one_write_unit() {
        let record = delivered_record();
        let item = DynamoDeliveryStore::item(&record, 3).unwrap();
        let bytes = size(&item);
        eprintln!("a delivered webhook item: {bytes} bytes");
        assert!(bytes < 1024, "{bytes} bytes");
        assert!(!item.contains_key("failed"));
        let back = DynamoDeliveryStore::parse(&record.account_id, item).unwrap();
        assert_eq!(
            back,
            DeliveryRecord {
                version: 3,
                ..record
            }
        );
    }

    #[test]
    fn only_a_failed_delivery_has_the_failed_index_key() {
        let mut record = delivered_record();
        record.status = DeliveryStatus::Failed;
        let item = DynamoDeliveryStore::item(&record, 1).unwrap();
        assert_eq!(item["failed"], s(record.account_id.as_str()));
    }
}
