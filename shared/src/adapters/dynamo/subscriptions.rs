//! Subscriptions in DynamoDB: partition key `accountId`, sort key `subscriptionId`, the
//! subscription as the map attribute `subscription`. Fan-out reads an account's subscriptions
//! with one Query on its key; nothing scans.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::adapters::dynamo::{document, expects_version, next_version, s, write_error};
use crate::common::account::AccountId;
use crate::events::subscription::{StoreError, Subscription, SubscriptionId, SubscriptionStore};

pub struct DynamoSubscriptionStore {
    client: Client,
    table: String,
}

impl DynamoSubscriptionStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn item(s_: &Subscription) -> Result<HashMap<String, AttributeValue>, StoreError> {
        Ok(HashMap::from([
            ("accountId".to_owned(), s(s_.account_id.as_str())),
            ("subscriptionId".to_owned(), s(s_.id.as_str())),
            (
                "subscription".to_owned(),
                serde_dynamo::to_attribute_value(s_).map_err(StoreError::unavailable)?,
            ),
        ]))
    }

    fn parse(
        account: &AccountId,
        mut item: HashMap<String, AttributeValue>,
    ) -> Result<Subscription, StoreError> {
        // Subscriptions saved before there were other kinds of destination are webhooks.
        if let Some(AttributeValue::M(doc)) = item.get_mut("subscription") {
            doc.entry("type".to_owned()).or_insert_with(|| s("webhook"));
        }
        document(item, "subscription", |reason| StoreError::Corrupt {
            account: account.clone(),
            kind: "subscription",
            reason,
        })
    }
}

#[async_trait]
impl SubscriptionStore for DynamoSubscriptionStore {
    async fn create(&self, subscription: &Subscription) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(subscription)?))
            .condition_expression("attribute_not_exists(subscriptionId)")
            .send()
            .await
            .map_err(write_error)?;
        Ok(())
    }

    async fn get(
        &self,
        account: &AccountId,
        id: &SubscriptionId,
    ) -> Result<Option<Subscription>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("accountId", s(account.as_str()))
            .key("subscriptionId", s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.item.map(|item| Self::parse(account, item)).transpose()
    }

    async fn list(&self, account: &AccountId) -> Result<Vec<Subscription>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("accountId = :account")
                .expression_attribute_values(":account", s(account.as_str()))
                // Fan-out relies on it: a subscription the API has answered 201 for is in
                // every list read after (see `subscription::cache`).
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::unavailable)?;
            for item in page.items.unwrap_or_default() {
                out.push(Self::parse(account, item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    async fn replace(&self, subscription: &mut Subscription) -> Result<(), StoreError> {
        let mut item = Self::item(subscription)?;
        let next = next_version(&mut item, "subscription", subscription.version)?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        expects_version(put, "subscription", subscription.version)
            .send()
            .await
            .map_err(write_error)?;
        subscription.version = next;
        Ok(())
    }

    async fn delete(&self, account: &AccountId, id: &SubscriptionId) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("accountId", s(account.as_str()))
            .key("subscriptionId", s(id.as_str()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }
}
