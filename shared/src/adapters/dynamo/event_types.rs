//! Registered event types in DynamoDB: every type in one partition (`pk` = `event-types`),
//! sorted by `name`, so that the listing is one Query (in name order) and each type one
//! GetItem; nothing scans. The type is the map attribute `eventType` (its example and schema
//! as JSON text, see [`crate::events::catalog::registry::StoredEventType`]); `etag` is what
//! conditional writes compare.
//!
//! One partition is enough: the registry holds at most a few hundred types
//! ([`crate::events::catalog::Catalog::MAX_REGISTERED`]), written rarely.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::adapters::dynamo::{document, s, write_error};
use crate::common::clock::rfc3339;
use crate::common::etag::ETag;
use crate::events::catalog::registry::{EventTypeStore, Expected, RegisteredEventType, StoreError};
use crate::events::name::EventName;

/// The partition every registered type is in.
const PARTITION: &str = "event-types";

pub struct DynamoEventTypeStore {
    client: Client,
    table: String,
}

impl DynamoEventTypeStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn item(t: &RegisteredEventType) -> Result<HashMap<String, AttributeValue>, StoreError> {
        Ok(HashMap::from([
            ("pk".to_owned(), s(PARTITION)),
            ("name".to_owned(), s(t.name().as_str())),
            (
                "eventType".to_owned(),
                serde_dynamo::to_attribute_value(t).map_err(StoreError::unavailable)?,
            ),
            ("etag".to_owned(), s(t.etag().as_str())),
            (
                "updatedAt".to_owned(),
                s(rfc3339(time::OffsetDateTime::now_utc())),
            ),
        ]))
    }

    fn parse(item: HashMap<String, AttributeValue>) -> Result<RegisteredEventType, StoreError> {
        let key = match item.get("name") {
            Some(AttributeValue::S(name)) => name.clone(),
            _ => "(no name)".to_owned(),
        };
        document(item, "eventType", |reason| StoreError::Unreadable {
            kind: "event type",
            key: key.clone(),
            reason,
        })
    }
}

#[async_trait]
impl EventTypeStore for DynamoEventTypeStore {
    async fn list(&self) -> Result<Vec<RegisteredEventType>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(PARTITION))
                // A type registered a moment ago is listed and checked against at once.
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::unavailable)?;
            for item in page.items.unwrap_or_default() {
                out.push(Self::parse(item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    async fn get(&self, name: &EventName) -> Result<Option<RegisteredEventType>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(PARTITION))
            .key("name", s(name.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        out.item.map(Self::parse).transpose()
    }

    async fn put(
        &self,
        event_type: &RegisteredEventType,
        expected: &Expected,
    ) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(event_type)?));
        let put = match expected {
            Expected::Absent => put.condition_expression("attribute_not_exists(pk)"),
            Expected::Current(tag) => put
                .condition_expression("etag = :etag")
                .expression_attribute_values(":etag", s(tag.as_str())),
        };
        put.send().await.map_err(write_error)?;
        Ok(())
    }

    async fn delete(&self, name: &EventName, current: &ETag) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(PARTITION))
            .key("name", s(name.as_str()))
            .condition_expression("etag = :etag")
            .expression_attribute_values(":etag", s(current.as_str()))
            .send()
            .await
            .map_err(write_error)?;
        Ok(())
    }
}
