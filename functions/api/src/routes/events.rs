//! `POST /accounts/{accountId}/events`: internal services publish an event. Its data must
//! satisfy the schema registered for its type, if any (and its type must be in the catalog,
//! when the operator says so). With `Idempotency-Key`, a repeat within 24 hours answers with
//! the first event (same id, so receivers see the same `webhook-id`) and publishes nothing
//! more.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use herald::common::idempotency::{Claimed, IdempotencyClaim};
use herald::events::catalog::CheckError;
use herald::events::webhook::{Event, EventId, NewEvent};

use super::{Account, idempotency_key, idempotency_mismatch, mark_replayed};
use crate::AppState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::problem::ApiError;

/// Idempotency claims of published events, apart from those of messages.
const IDEMPOTENCY_SCOPE: &str = "events";

pub async fn publish(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Account(account): Account,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    if !caller.internal {
        return Err(ApiError::Forbidden(
            "only internal services publish events (scope herald:internal)",
        ));
    }
    let key = idempotency_key(&headers)?;
    let now = state.clock.now();
    // The body as parsed JSON, so that whitespace and the order of fields do not count as a
    // change; the event's id, timestamp and default expiry are Herald's and are left out.
    let claim = key.map(|key| IdempotencyClaim::new(key, &body, now));
    let event = NewEvent::read(body, EventId::new(now), account.clone(), now)
        .map_err(ApiError::Validation)?;
    // Checked before the key is claimed, so that a refused request claims nothing; a repeat
    // is checked again, against the type as it is registered by then.
    state
        .catalog
        .check_published(&event)
        .await
        .map_err(|e| match e {
            CheckError::Invalid(errors) => ApiError::Validation(errors),
            CheckError::Store(e) => e.into(),
        })?;
    let Some(claim) = claim else {
        publish_event(&state, &event).await?;
        return Ok((StatusCode::ACCEPTED, Json(event)).into_response());
    };
    let answer = serde_json::to_string(&event).map_err(ApiError::internal)?;
    let claimed = state
        .idempotency
        .claim(&account, IDEMPOTENCY_SCOPE, &claim, &answer)
        .await?;
    let (event, replayed, finished) = match claimed {
        Claimed::New => (event, false, false),
        Claimed::Replay {
            request_hash,
            answer,
            finished,
        } => {
            if request_hash != claim.request_hash {
                return Err(idempotency_mismatch());
            }
            let first: Event = serde_json::from_str(&answer).map_err(ApiError::internal)?;
            (first, true, finished)
        }
    };
    // Until the first request noted that its event was queued, a repeat queues it (again):
    // the first may have claimed the key and failed to queue. The event keeps its id, and
    // fan-out derives delivery ids from it, so an event queued twice is delivered once.
    if !finished {
        publish_event(&state, &event).await?;
        if let Err(e) = state
            .idempotency
            .finish(&account, IDEMPOTENCY_SCOPE, &claim.key)
            .await
        {
            // Published all the same; a repeat would only queue it once more.
            tracing::warn!(account = %account, event = %event.id(), error = %e, "idempotency claim not marked finished");
        }
    }
    tracing::info!(account = %account, event = %event.id(), replayed, "event accepted");
    let mut response = (StatusCode::ACCEPTED, Json(event)).into_response();
    if replayed {
        mark_replayed(&mut response);
    }
    Ok(response)
}

async fn publish_event(state: &AppState, event: &Event) -> Result<(), ApiError> {
    state.events.publish(event).await.map_err(|e| {
        tracing::error!(account = %event.account_id(), event = %event.id(), error = %e, "event not queued");
        ApiError::Unavailable(
            "the event could not be queued; retry (with the same Idempotency-Key, to publish \
             it once)",
        )
    })
}
