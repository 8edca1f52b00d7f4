//! Dashboard sign-in links and sessions in their own table: `id` = `link#{hash}` or
//! `session#{hash}` (the SHA-256 of the token, never the token), the grant or the session as a
//! map, and `expiresAt` (epoch seconds, the table's TTL attribute). TTL deletion lags by up to
//! days, so every read checks the time itself (`dashboard::Sessions`).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use time::OffsetDateTime;

use crate::adapters::dynamo::{document, n, s, write_error};
use crate::common::store::StoreError;
use crate::dashboard::{Grant, PendingLink, Session, SessionStore, TokenHash};

pub struct DynamoSessionStore {
    client: Client,
    table: String,
}

impl DynamoSessionStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn link_id(hash: &TokenHash) -> AttributeValue {
    s(format!("link#{}", hash.as_str()))
}

fn session_id(hash: &TokenHash) -> AttributeValue {
    s(format!("session#{}", hash.as_str()))
}

fn corrupt(reason: String) -> StoreError {
    StoreError::Unavailable(format!("a stored dashboard session is unreadable: {reason}").into())
}

fn to_map<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| corrupt(e.to_string()))
}

#[async_trait]
impl SessionStore for DynamoSessionStore {
    async fn put_link(&self, hash: &TokenHash, link: &PendingLink) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("id", link_id(hash))
            .item("grant", to_map(&link.grant)?)
            .item("expiresAt", n(link.expires_at.unix_timestamp()))
            .send()
            .await
            .map_err(write_error)?;
        Ok(())
    }

    async fn take_link(&self, hash: &TokenHash) -> Result<Option<PendingLink>, StoreError> {
        // One DeleteItem that answers what it deleted: two openings of one link race here, and
        // only one of them gets the old item back.
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("id", link_id(hash))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(write_error)?;
        let Some(item) = out.attributes.filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        let expires_at = match item.get("expiresAt") {
            Some(AttributeValue::N(v)) => v
                .parse::<i64>()
                .ok()
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()),
            _ => None,
        }
        .ok_or_else(|| corrupt("no expiresAt".into()))?;
        let grant: Grant = document(item, "grant", corrupt)?;
        Ok(Some(PendingLink { grant, expires_at }))
    }

    async fn put_session(&self, hash: &TokenHash, session: &Session) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("id", session_id(hash))
            .item("session", to_map(session)?)
            .item("expiresAt", n(session.ends_at().unix_timestamp()))
            .send()
            .await
            .map_err(write_error)?;
        Ok(())
    }

    async fn session(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", session_id(hash))
            .send()
            .await
            .map_err(|e| StoreError::unavailable(aws_sdk_dynamodb::Error::from(e)))?;
        match out.item {
            Some(item) if !item.is_empty() => document(item, "session", corrupt).map(Some),
            _ => Ok(None),
        }
    }

    async fn touch(&self, hash: &TokenHash, at: OffsetDateTime) -> Result<(), StoreError> {
        let at = crate::common::clock::rfc3339(at);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", session_id(hash))
            .update_expression("SET #s.lastSeenAt = :at")
            .condition_expression("attribute_exists(id)")
            .expression_attribute_names("#s", "session")
            .expression_attribute_values(":at", s(at))
            .send()
            .await;
        match result.map_err(write_error) {
            // Signed out meanwhile: nothing to note.
            Ok(_) | Err(StoreError::PreconditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn delete_session(&self, hash: &TokenHash) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("id", session_id(hash))
            .send()
            .await
            .map_err(write_error)?;
        Ok(())
    }
}
