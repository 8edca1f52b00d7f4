//! `/accounts/{accountId}/deliveries`: one row per (event, subscription), each with every
//! attempt; `POST /{id}/retry` delivers again now.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use herald::common::clock::{rfc3339, rfc3339_serde};
use herald::common::cursor;
use herald::common::validation::FieldErrors;
use herald::events::delivery::{DeliveryId, DeliveryRecord, DeliveryStatus, ListQuery};
use herald::events::subscription::SubscriptionId;
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use super::Account;
use crate::AppState;
use crate::problem::ApiError;

/// One row of a listing: the delivery without its body and attempts.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    id: DeliveryId,
    subscription_id: SubscriptionId,
    event_id: String,
    event_name: String,
    status: DeliveryStatus,
    attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_response_status: Option<u16>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_serde::option"
    )]
    next_attempt_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(with = "rfc3339_serde")]
    created_at: OffsetDateTime,
    #[serde(with = "rfc3339_serde")]
    updated_at: OffsetDateTime,
}

impl From<DeliveryRecord> for Summary {
    fn from(r: DeliveryRecord) -> Self {
        Self {
            last_response_status: r.attempts.last().and_then(|a| a.response_status),
            attempts: r.attempt_count,
            next_attempt_at: r
                .next_attempt_at
                .filter(|_| r.status == DeliveryStatus::Pending),
            id: r.id,
            subscription_id: r.subscription_id,
            event_id: r.event_id.as_str().to_owned(),
            event_name: r.event_name.as_str().to_owned(),
            status: r.status,
            reason: r.reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

fn query(mut params: HashMap<String, String>) -> Result<(ListQuery, Option<String>), FieldErrors> {
    let mut errors = FieldErrors::new();
    let subscription =
        params
            .remove("subscriptionId")
            .and_then(|s| match SubscriptionId::parse(&s) {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.push("subscriptionId", "is not a subscription id");
                    None
                }
            });
    let status = params.remove("status").and_then(|s| {
        DeliveryStatus::parse(&s).or_else(|| {
            errors.push("status", "must be one of pending, delivered, failed");
            None
        })
    });
    let (limit, cursor) = super::paging(
        params,
        ListQuery::DEFAULT_LIMIT,
        ListQuery::MAX_LIMIT,
        &mut errors,
    );
    errors.into_result((
        ListQuery {
            subscription,
            status,
            limit,
            after: None,
        },
        cursor,
    ))
}

pub async fn list(
    State(state): State<AppState>,
    Account(account): Account,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (mut query, cursor) = query(params).map_err(ApiError::Validation)?;
    if let Some(c) = cursor {
        let last = cursor::decode(&query.fingerprint(), &c)
            .and_then(|id| DeliveryId::parse(&id).map_err(|e| e.to_string()))
            .map_err(|e| {
                let mut errors = FieldErrors::new();
                errors.push("cursor", e);
                ApiError::Validation(errors)
            })?;
        query.after = Some(last);
    }
    let page = state
        .deliveries
        .list(&account, &query, state.clock.now())
        .await?;
    let next = page
        .last
        .map(|last| cursor::encode(&query.fingerprint(), last.as_str()));
    let items: Vec<Summary> = page.items.into_iter().map(Summary::from).collect();
    Ok(Json(json!({"items": items, "nextCursor": next})))
}

async fn find(
    state: &AppState,
    account: &herald::common::account::AccountId,
    path: &HashMap<String, String>,
) -> Result<DeliveryRecord, ApiError> {
    let id = path
        .get("delivery_id")
        .and_then(|id| DeliveryId::parse(id).ok())
        .ok_or(ApiError::NotFound)?;
    state
        .deliveries
        .get(account, &id, state.clock.now())
        .await?
        .ok_or(ApiError::NotFound)
}

/// The whole delivery: the body it sends and every attempt.
pub async fn get(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Json<DeliveryRecord>, ApiError> {
    let mut record = find(&state, &account, &path).await?;
    // Internal bookkeeping, not part of the contract.
    record.claimed_until = None;
    Ok(Json(record))
}

/// Delivers again now, as a new attempt with a fresh retry window; the same `webhook-id`, so a
/// receiver that already has it can tell.
pub async fn retry(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let mut record = find(&state, &account, &path).await?;
    let now = state.clock.now();
    if record.claimed_at(now) {
        return Err(ApiError::Conflict(
            "an attempt is being made right now; look again in a few seconds".into(),
        ));
    }
    let subscription = state
        .subscriptions
        .get(&account, &record.subscription_id)
        .await?
        .ok_or_else(|| ApiError::Conflict("the subscription was deleted".into()))?;
    if !subscription.active && !record.test {
        return Err(ApiError::Conflict(
            "the subscription is inactive; activate it first".into(),
        ));
    }
    if record.event_expires_at <= now {
        return Err(ApiError::Conflict(format!(
            "the event expired at {}: it is never delivered after its expiresAt",
            rfc3339(record.event_expires_at)
        )));
    }
    let job = record.retry_now(now, state.config.webhooks.retention);
    let number = record.next_attempt;
    state
        .deliveries
        .replace(&mut record)
        .await
        .map_err(ApiError::conflict_if_changed(
            "the delivery changed meanwhile; try again",
        ))?;
    state.deliveries_queue.enqueue(&job).await?;
    tracing::info!(account = %account, delivery = %record.id, attempt = number, "manual retry queued");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"id": record.id, "status": record.status, "nextAttempt": number})),
    )
        .into_response())
}
