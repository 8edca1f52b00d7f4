//! `GET /event-types` (every event Herald emits, with a sample of each) and
//! `POST /accounts/{accountId}/events` (internal services publish an event).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use herald::events::catalog;
use herald::webhook::{EventId, NewEvent, Sender};
use serde_json::{Value, json};

use super::Account;
use crate::AppState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::problem::ApiError;

/// Each event type with a whole sample envelope, as a subscriber would receive it.
pub async fn types(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let now = state.clock.now();
    let account =
        herald::account::AccountId::parse("acme").map_err(|e| ApiError::Internal(Box::new(e)))?;
    let mut items = Vec::new();
    for t in catalog::catalog() {
        let sample = NewEvent {
            sender: Sender::HERALD.to_owned(),
            event_name: t.name.to_owned(),
            event_data: t.sample_data.clone(),
            organization_id: None,
            expires_at: None,
            tags: vec!["order-42".to_owned()],
        }
        .validate(EventId::new(now), account.clone(), now)
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
        items.push(json!({
            "name": t.name,
            "description": t.description,
            "sample": sample,
        }));
    }
    Ok(Json(json!({ "items": items })))
}

pub async fn publish(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Account(account): Account,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    if !caller.internal {
        return Err(ApiError::Forbidden(
            "only internal services publish events (scope herald:internal)",
        ));
    }
    let now = state.clock.now();
    let event =
        NewEvent::read(body, EventId::new(now), account, now).map_err(ApiError::Validation)?;
    state.events.publish(&event).await?;
    Ok((StatusCode::ACCEPTED, Json(event)).into_response())
}
