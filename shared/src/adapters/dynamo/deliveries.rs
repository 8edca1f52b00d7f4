//! Deliveries in DynamoDB. Items: partition key `accountId`, sort key `deliveryId` (time-ordered,
//! see [`DeliveryId`]); the record is the map attribute `delivery`, its status also the plain
//! attribute `status` for filtering, and `expiresAt` (epoch seconds) the table's TTL. Two
//! indexes serve the listing's filters with a Query each: `BySubscription` on
//! `subscriptionKey` = `{accountId}#{subscriptionId}` and `ByStatus` on `statusKey` =
//! `{accountId}#{status}`, both sorted by `deliveryId`. Nothing scans.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use crate::adapters::dynamo::{document, expects_version, n, next_version, s, write_error};
use crate::common::account::AccountId;
use crate::events::delivery::{
    DeliveryId, DeliveryRecord, DeliveryStore, ListQuery, Page, StoreError,
};

pub const SUBSCRIPTION_INDEX: &str = "BySubscription";
pub const STATUS_INDEX: &str = "ByStatus";

pub struct DynamoDeliveryStore {
    client: Client,
    table: String,
}

impl DynamoDeliveryStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn item(r: &DeliveryRecord) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let account = r.account_id.as_str();
        Ok(HashMap::from([
            ("accountId".to_owned(), s(account)),
            ("deliveryId".to_owned(), s(r.id.as_str())),
            (
                "subscriptionKey".to_owned(),
                s(format!("{account}#{}", r.subscription_id)),
            ),
            (
                "statusKey".to_owned(),
                s(format!("{account}#{}", r.status.as_str())),
            ),
            ("status".to_owned(), s(r.status.as_str())),
            ("expiresAt".to_owned(), n(r.expires_at.unix_timestamp())),
            (
                "delivery".to_owned(),
                serde_dynamo::to_attribute_value(r).map_err(StoreError::unavailable)?,
            ),
        ]))
    }

    fn parse(
        account: &AccountId,
        item: HashMap<String, AttributeValue>,
    ) -> Result<DeliveryRecord, StoreError> {
        document(item, "delivery", |reason| StoreError::Corrupt {
            account: account.clone(),
            kind: "delivery",
            reason,
        })
    }
}

#[async_trait]
impl DeliveryStore for DynamoDeliveryStore {
    async fn create(&self, record: &DeliveryRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(record)?))
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
        let mut item = Self::item(record)?;
        let next = next_version(&mut item, "delivery", record.version)?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        expects_version(put, "delivery", record.version)
            .send()
            .await
            .map_err(write_error)?;
        record.version = next;
        Ok(())
    }

    async fn list(
        &self,
        account: &AccountId,
        query: &ListQuery,
        now: OffsetDateTime,
    ) -> Result<Page, StoreError> {
        let (index, key_name, key_value) = match (&query.subscription, query.status) {
            (Some(sub), _) => (
                Some(SUBSCRIPTION_INDEX),
                "subscriptionKey",
                format!("{account}#{sub}"),
            ),
            (None, Some(status)) => (
                Some(STATUS_INDEX),
                "statusKey",
                format!("{account}#{}", status.as_str()),
            ),
            (None, None) => (None, "accountId", account.as_str().to_owned()),
        };
        let mut condition = format!("{key_name} = :key");
        if query.after.is_some() {
            condition.push_str(" AND deliveryId < :after");
        }
        // Retention has passed but the TTL sweep has not come yet.
        let mut filter = "expiresAt > :now".to_owned();
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
            .expression_attribute_values(":key", s(key_value))
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .scan_index_forward(false)
            .limit(i32::try_from(query.limit).unwrap_or(i32::MAX));
        if let (Some(_), Some(status)) = (&query.subscription, query.status) {
            // Both filters: the subscription's index, the status as a filter.
            filter.push_str(" AND #status = :status");
            req = req
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()));
        }
        if let Some(after) = &query.after {
            req = req.expression_attribute_values(":after", s(after.as_str()));
        }
        let out = req
            .key_condition_expression(condition)
            .filter_expression(filter)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| Self::parse(account, item))
            .collect::<Result<Vec<_>, _>>()?;
        // Continue after the last key read, which the filter may have dropped.
        let last = match out
            .last_evaluated_key
            .as_ref()
            .and_then(|k| k.get("deliveryId"))
        {
            Some(AttributeValue::S(id)) => DeliveryId::parse(id).ok(),
            _ => None,
        };
        Ok(Page { items, last })
    }
}
