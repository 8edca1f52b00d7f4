//! Settings in DynamoDB: one item per (account, kind), keyed `accountId` (partition) and `kind`
//! (sort), so an account's settings are one Query and each document one GetItem. The document is
//! a native map attribute (readable in the console); `etag` is what conditional writes compare.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::common::account::AccountId;
use crate::common::etag::{ETag, Precondition};
use crate::messaging::settings::{SettingsKind, SettingsStore, StoreError, StoredDocument};

pub struct DynamoSettingsStore {
    client: Client,
    table: String,
}

impl DynamoSettingsStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

fn key(account: &AccountId, kind: SettingsKind) -> [(&'static str, AttributeValue); 2] {
    [
        ("accountId", AttributeValue::S(account.as_str().to_owned())),
        ("kind", AttributeValue::S(kind.as_str().to_owned())),
    ]
}

/// The condition expression and values that make a write honour `precondition`.
struct Condition {
    expression: Option<String>,
    values: Vec<(String, AttributeValue)>,
}

fn condition(precondition: &Precondition) -> Condition {
    let Precondition::OneOf(tags) = precondition else {
        return Condition {
            expression: None,
            values: Vec::new(),
        };
    };
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    for (i, tag) in tags.iter().enumerate() {
        if tag.is_defaults() {
            // Never saved (or reset): there is no item.
            clauses.push("attribute_not_exists(accountId)".to_owned());
        } else {
            clauses.push(format!("etag = :etag{i}"));
            values.push((
                format!(":etag{i}"),
                AttributeValue::S(tag.as_str().to_owned()),
            ));
        }
    }
    if clauses.is_empty() {
        // Only weak tags were given: nothing can match.
        clauses.push("attribute_not_exists(accountId) AND attribute_exists(accountId)".to_owned());
    }
    Condition {
        expression: Some(clauses.join(" OR ")),
        values,
    }
}

fn is_condition_failure<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

#[async_trait]
impl SettingsStore for DynamoSettingsStore {
    async fn get(
        &self,
        account: &AccountId,
        kind: SettingsKind,
    ) -> Result<Option<StoredDocument>, StoreError> {
        let [pk, sk] = key(account, kind);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(pk.0, pk.1)
            .key(sk.0, sk.1)
            // Read-your-writes: an administrator saving then reading must see the save.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable(aws_sdk_dynamodb::Error::from(e)))?;
        let Some(mut item) = out.item else {
            return Ok(None);
        };
        let corrupt = |reason: String| StoreError::Corrupt {
            account: account.clone(),
            kind: kind.settings_name(),
            reason,
        };
        let document = item
            .remove("settings")
            .ok_or_else(|| corrupt("no settings attribute".into()))?;
        let document: serde_json::Value =
            serde_dynamo::from_attribute_value(document).map_err(|e| corrupt(e.to_string()))?;
        let etag = match item.remove("etag") {
            Some(AttributeValue::S(s)) => ETag::from_stored(s),
            _ => return Err(corrupt("no etag attribute".into())),
        };
        Ok(Some(StoredDocument { document, etag }))
    }

    async fn put(
        &self,
        account: &AccountId,
        kind: SettingsKind,
        document: &StoredDocument,
        precondition: &Precondition,
    ) -> Result<(), StoreError> {
        let settings: AttributeValue =
            serde_dynamo::to_attribute_value(&document.document).map_err(unavailable)?;
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(unavailable)?;
        let [pk, sk] = key(account, kind);
        let cond = condition(precondition);
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(pk.0, pk.1)
            .item(sk.0, sk.1)
            .item("settings", settings)
            .item("etag", AttributeValue::S(document.etag.as_str().to_owned()))
            .item("updatedAt", AttributeValue::S(now))
            .set_condition_expression(cond.expression);
        for (name, value) in cond.values {
            req = req.expression_attribute_values(name, value);
        }
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::PreconditionFailed),
            Err(e) => Err(unavailable(aws_sdk_dynamodb::Error::from(e))),
        }
    }

    async fn delete(
        &self,
        account: &AccountId,
        kind: SettingsKind,
        precondition: &Precondition,
    ) -> Result<(), StoreError> {
        let [pk, sk] = key(account, kind);
        let cond = condition(precondition);
        let mut req = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(pk.0, pk.1)
            .key(sk.0, sk.1)
            .set_condition_expression(cond.expression);
        for (name, value) in cond.values {
            req = req.expression_attribute_values(name, value);
        }
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::PreconditionFailed),
            Err(e) => Err(unavailable(aws_sdk_dynamodb::Error::from(e))),
        }
    }
}
