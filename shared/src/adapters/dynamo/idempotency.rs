//! Idempotency claims in DynamoDB, in the message log's table beside the claims of messages:
//! `pk` = `{accountId}#idempotency#{scope}`, `sk` = the key, with `requestHash`, `answer`,
//! `finished` and `expiresAt` (epoch seconds, the table's TTL attribute). Reads are GetItems.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::adapters::dynamo::{n, s};
use crate::common::account::AccountId;
use crate::common::idempotency::{
    Claimed, IdempotencyClaim, IdempotencyKey, IdempotencyStore, StoreError,
};

pub struct DynamoIdempotencyStore {
    client: Client,
    table: String,
}

fn pk(account: &AccountId, scope: &str) -> String {
    format!("{account}#idempotency#{scope}")
}

impl DynamoIdempotencyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn held(
        &self,
        account: &AccountId,
        scope: &str,
        key: &IdempotencyKey,
    ) -> Result<Claimed, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk(account, scope)))
            .key("sk", s(key.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::unavailable(aws_sdk_dynamodb::Error::from(e)))?;
        let item = out.item.unwrap_or_default();
        let text = |k: &str| match item.get(k) {
            Some(AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        };
        match (text("requestHash"), text("answer")) {
            (Some(request_hash), Some(answer)) => Ok(Claimed::Replay {
                request_hash,
                answer,
                finished: matches!(item.get("finished"), Some(AttributeValue::Bool(true))),
            }),
            // Claimed, then expired and swept between the write and this read: a lost race
            // the caller may retry.
            _ => Err(StoreError::PreconditionFailed),
        }
    }
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotencyStore {
    async fn claim(
        &self,
        account: &AccountId,
        scope: &str,
        claim: &IdempotencyClaim,
        answer: &str,
    ) -> Result<Claimed, StoreError> {
        // A claim holds until it expires; DynamoDB's TTL sweep may lag, so an expired claim
        // still present is overwritten.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk(account, scope)))
            .item("sk", s(claim.key.as_str()))
            .item("requestHash", s(&claim.request_hash))
            .item("answer", s(answer))
            .item("finished", AttributeValue::Bool(false))
            .item("expiresAt", n(claim.expires_at.unix_timestamp()))
            .condition_expression("attribute_not_exists(pk) OR expiresAt <= :now")
            .expression_attribute_values(":now", n(claim.now.unix_timestamp()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claimed::New),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                self.held(account, scope, &claim.key).await
            }
            Err(e) => Err(StoreError::unavailable(aws_sdk_dynamodb::Error::from(e))),
        }
    }

    async fn finish(
        &self,
        account: &AccountId,
        scope: &str,
        key: &IdempotencyKey,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(account, scope)))
            .key("sk", s(key.as_str()))
            .update_expression("SET finished = :yes")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Expired and swept: nothing left to note.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(StoreError::unavailable(aws_sdk_dynamodb::Error::from(e))),
        }
    }
}
