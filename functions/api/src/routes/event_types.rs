//! `/event-types`: the catalog of every event type, grouped by sender, each with a whole sample
//! envelope (the preview). Every caller reads it; internal services register their own types
//! (`PUT /event-types/{name}`: sender, description, an example `eventData`, optionally a JSON
//! Schema that published data must satisfy) and remove them (`DELETE`). Herald's own types
//! are built in: they can be read, never registered, replaced or removed.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use herald::common::account::AccountId;
use herald::events::catalog::registry::{Refused, RegisteredEventType};
use herald::events::catalog::{EventType, RegistryError};
use herald::events::webhook::{Event, EventId, EventName};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{etag_header, precondition};
use crate::AppState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::problem::ApiError;

/// The account and tags the previews are shown with: an example, as the samples' data is.
const SAMPLE_ACCOUNT: &str = "acme";
const SAMPLE_TAGS: &[&str] = &["order-42"];

/// An event type as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct View {
    name: String,
    sender: String,
    description: String,
    built_in: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<Map<String, Value>>,
    /// A whole envelope of this type, as a subscriber would receive it.
    sample: Event,
}

fn view(state: &AppState, t: &EventType) -> Result<View, ApiError> {
    let now = state.clock.now();
    let account = AccountId::parse(SAMPLE_ACCOUNT).map_err(ApiError::internal)?;
    let sample = t
        .sample(EventId::new(now), account, now, SAMPLE_TAGS)
        .map_err(ApiError::internal)?;
    Ok(View {
        name: t.name.to_string(),
        sender: t.sender.to_string(),
        description: t.description.clone(),
        built_in: t.built_in,
        schema: t.schema.as_ref().map(|s| s.as_json().clone()),
        sample,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Group {
    sender: String,
    event_types: Vec<View>,
}

#[derive(Serialize)]
struct Listing {
    senders: Vec<Group>,
}

/// Every event type, grouped by sender: Herald's first, then the others by name.
pub async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut senders = Vec::new();
    for group in state.catalog.grouped().await? {
        let event_types = group
            .types
            .iter()
            .map(|t| view(&state, t))
            .collect::<Result<_, _>>()?;
        senders.push(Group {
            sender: group.sender.to_string(),
            event_types,
        });
    }
    Ok(Json(Listing { senders }).into_response())
}

/// The `{name}` of a path that only reads or removes: a name that cannot be an event type's
/// names none (404).
fn existing_name(path: &HashMap<String, String>) -> Result<EventName, ApiError> {
    path.get("name")
        .and_then(|n| EventName::parse(n).ok())
        .ok_or(ApiError::NotFound)
}

/// One event type, with its `ETag` (which a `PUT` or `DELETE` may name in `If-Match`).
pub async fn get(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let name = existing_name(&path)?;
    let t = state.catalog.find(&name).await?.ok_or(ApiError::NotFound)?;
    Ok((etag_header(&t.etag()), Json(view(&state, &t)?)).into_response())
}

const INTERNAL_ONLY: &str = "only internal services register event types (scope herald:internal)";

/// Registers an event type (201) or replaces its definition (200).
pub async fn put(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    if !caller.internal {
        return Err(ApiError::Forbidden(INTERNAL_ONLY));
    }
    let precondition = precondition(&headers)?;
    let name = path.get("name").map(String::as_str).unwrap_or_default();
    let event_type = RegisteredEventType::read(name, body).map_err(|refused| match refused {
        Refused::Invalid(errors) => ApiError::Validation(errors),
        Refused::BuiltIn(name) => built_in(&name),
    })?;
    let registered = state
        .catalog
        .register(event_type, &precondition)
        .await
        .map_err(registry_error)?;
    let status = if registered.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let t = registered.event_type;
    Ok((status, etag_header(&t.etag()), Json(view(&state, &t)?)).into_response())
}

/// Removes a registered event type. Subscriptions that select it keep their selection; events
/// of that name are no longer checked against its schema.
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    if !caller.internal {
        return Err(ApiError::Forbidden(
            "only internal services remove event types (scope herald:internal)",
        ));
    }
    let name = existing_name(&path)?;
    let precondition = precondition(&headers)?;
    state
        .catalog
        .unregister(&name, &precondition)
        .await
        .map_err(registry_error)?;
    Ok(StatusCode::NO_CONTENT)
}

fn built_in(name: &EventName) -> ApiError {
    ApiError::Conflict(format!(
        "{name} is one of Herald's own event types: it cannot be registered, replaced or removed"
    ))
}

fn registry_error(e: RegistryError) -> ApiError {
    match e {
        RegistryError::BuiltIn(name) => built_in(&name),
        RegistryError::NotFound(_) => ApiError::NotFound,
        RegistryError::Full => ApiError::Conflict(format!(
            "at most {} event types may be registered; remove one first",
            herald::events::catalog::Catalog::MAX_REGISTERED
        )),
        RegistryError::Stale => ApiError::PreconditionFailed,
        RegistryError::Changed => {
            ApiError::Conflict("the event type changed meanwhile; read it and try again".to_owned())
        }
        RegistryError::Store(e) => e.into(),
    }
}
