//! `/accounts/{accountId}/logs/{sms|email}`: the message log. Lists are a Query on the account's
//! key (or its status index), newest first unless `order=asc`, with an opaque cursor.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use herald::common::account::AccountId;
use herald::common::clock::rfc3339_serde;
use herald::common::validation::FieldErrors;
use herald::messaging::log::{
    Content, ListQuery, MessageId, MessageRecord, Order, decode_cursor, encode_cursor,
};
use herald::messaging::message::{Channel, MessageStatus};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::Account;
use crate::AppState;
use crate::problem::ApiError;

fn channel(params: &HashMap<String, String>) -> Result<Channel, ApiError> {
    params
        .get("channel")
        .and_then(|c| Channel::parse(c))
        .ok_or(ApiError::NotFound)
}

/// One row of a listing: what a log page shows, without bodies.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    id: MessageId,
    status: MessageStatus,
    #[serde(with = "rfc3339_serde")]
    created_at: OffsetDateTime,
    #[serde(with = "rfc3339_serde")]
    updated_at: OffsetDateTime,
    to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    tags: Vec<String>,
}

impl From<MessageRecord> for Summary {
    fn from(r: MessageRecord) -> Self {
        let subject = match &r.message {
            Content::Email(e) => Some(e.subject.as_str().to_owned()),
            Content::Sms(_) => None,
        };
        Self {
            to: r.message.recipient(),
            subject,
            id: r.id,
            status: r.status,
            created_at: r.created_at,
            updated_at: r.updated_at,
            tags: r.tags.into_iter().map(String::from).collect(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogPage {
    items: Vec<Summary>,
    next_cursor: Option<String>,
}

/// Validates the query string, naming every bad parameter.
fn list_query(
    channel: Channel,
    mut params: HashMap<String, String>,
) -> Result<(ListQuery, Option<String>), FieldErrors> {
    let mut errors = FieldErrors::new();
    let status = params.remove("status").and_then(|s| {
        MessageStatus::parse(&s, channel).or_else(|| {
            let allowed: Vec<&str> = MessageStatus::of(channel)
                .iter()
                .map(|s| s.as_str())
                .collect();
            errors.push("status", format!("must be one of {}", allowed.join(", ")));
            None
        })
    });
    let order = match params.remove("order").as_deref() {
        None | Some("desc") => Order::Desc,
        Some("asc") => Order::Asc,
        Some(_) => {
            errors.push("order", "must be asc or desc");
            Order::Desc
        }
    };
    let (limit, cursor) = super::paging(
        params,
        ListQuery::DEFAULT_LIMIT,
        ListQuery::MAX_LIMIT,
        &mut errors,
    );
    errors.into_result((
        ListQuery {
            status,
            order,
            limit,
            after: None,
        },
        cursor,
    ))
}

pub async fn list(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<LogPage>, ApiError> {
    let channel = channel(&path)?;
    let (mut query, cursor) = list_query(channel, params).map_err(ApiError::Validation)?;
    if let Some(cursor) = cursor {
        let after = decode_cursor(&query, &cursor).map_err(|e| {
            let mut errors = FieldErrors::new();
            errors.push("cursor", e);
            ApiError::Validation(errors)
        })?;
        query.after = Some(after);
    }
    let page = state
        .messages
        .list(&account, channel, &query, state.clock.now())
        .await?;
    Ok(Json(LogPage {
        next_cursor: page.last.map(|last| encode_cursor(&query, &last)),
        items: page.items.into_iter().map(Summary::from).collect(),
    }))
}

async fn find(
    state: &AppState,
    account: &AccountId,
    path: &HashMap<String, String>,
) -> Result<MessageRecord, ApiError> {
    let channel = channel(path)?;
    let id = path
        .get("message_id")
        .and_then(|id| MessageId::parse(id).ok())
        .ok_or(ApiError::NotFound)?;
    state
        .messages
        .get(account, channel, &id, state.clock.now())
        .await?
        .ok_or(ApiError::NotFound)
}

/// The raw record: every attempt, provider response and status change.
pub async fn record(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Json<MessageRecord>, ApiError> {
    find(&state, &account, &path).await.map(Json)
}

/// The message itself.
pub async fn message(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let record = find(&state, &account, &path).await?;
    let mut message = serde_json::to_value(&record.message).map_err(ApiError::internal)?;
    if let Some(obj) = message.as_object_mut() {
        obj.remove("channel");
        obj.retain(|_, v| !v.is_null());
    }
    Ok(Json(json!(message)))
}
