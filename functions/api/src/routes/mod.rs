//! The handlers, one module per resource.

pub mod callbacks;
pub mod custom_provider;
pub mod dashboard_sessions;
pub mod deliveries;
pub mod domains;
pub mod email;
pub mod event_types;
pub mod events;
pub mod logs;
pub mod messages;
pub mod notifications;
pub mod providers;
pub mod receipts;
pub mod short_links;
pub mod signing;
pub mod sms;
pub mod subscriptions;

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use herald::common::account::AccountId;
use herald::common::etag::{ETag, Precondition};
use herald::common::idempotency::IdempotencyKey;

use crate::auth::Caller;
use crate::problem::ApiError;

/// The `{account_id}` of the path, checked against what the caller may see. As an extractor
/// of the request head it runs before the body is read, so a foreign account is a 404 whatever
/// the body holds.
pub struct Account(pub AccountId);

impl<S: Send + Sync> FromRequestParts<S> for Account {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        let raw = params.get("account_id").ok_or(ApiError::NotFound)?;
        let caller = parts
            .extensions
            .get::<Caller>()
            .ok_or(ApiError::Unauthorized("no authenticated caller"))?;
        caller.account(raw).map(Account)
    }
}

/// The paging parameters of a listing, `limit` (1 to `max`) and `cursor`, taken from what is
/// left of its query; every other parameter left is refused as unknown.
pub fn paging(
    mut params: HashMap<String, String>,
    default: usize,
    max: usize,
    errors: &mut herald::common::validation::FieldErrors,
) -> (usize, Option<String>) {
    let limit = match params.remove("limit") {
        None => default,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                errors.push("limit", format!("must be a number from 1 to {max}"));
                default
            }
        },
    };
    // An empty cursor is the first page: the document types it as a string, and a form or a
    // template that fills in "no cursor yet" as `cursor=` means exactly that.
    let cursor = params.remove("cursor").filter(|c| !c.is_empty());
    for unknown in params.keys() {
        errors.push(unknown.clone(), "is not a known parameter");
    }
    (limit, cursor)
}

/// The `If-Match` precondition of a write.
pub fn precondition(headers: &HeaderMap) -> Result<Precondition, ApiError> {
    let raw = headers
        .get(header::IF_MATCH)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::BadRequest("If-Match is not valid text".into()))
        })
        .transpose()?;
    Ok(Precondition::from_if_match(raw))
}

/// The `ETag` header for a response.
pub fn etag_header(etag: &ETag) -> [(header::HeaderName, HeaderValue); 1] {
    let value = HeaderValue::from_str(&etag.header_value())
        .unwrap_or_else(|_| HeaderValue::from_static("\"invalid\""));
    [(header::ETAG, value)]
}

/// The request's `Idempotency-Key`, if it has one.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::BadRequest("Idempotency-Key is not valid text".into()))
                .and_then(|s| IdempotencyKey::parse(s).map_err(ApiError::BadRequest))
        })
        .transpose()
}

/// A key used before for a different request.
pub fn idempotency_mismatch() -> ApiError {
    ApiError::Unprocessable("this Idempotency-Key was used for a different request".into())
}

/// Marks a repeat's answer as the first request's.
pub fn mark_replayed(response: &mut axum::response::Response) {
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
}
