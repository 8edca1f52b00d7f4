//! Delivery receipts from SMS providers. Twilio POSTs each status change of a message to the
//! `StatusCallback` URL Herald gave it, `/callbacks/twilio/{accountId}/{messageId}`, signed
//! with the operator's auth token: a request that does not verify is refused (403) and changes
//! nothing; one for a message Herald does not know is logged and answered 204, so that Twilio
//! stops retrying.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use herald::account::AccountId;
use herald::message::Channel;
use herald::message_log::MessageId;
use herald::status::{StatusTracker, StatusUpdate, twilio};
use serde_json::{Map, Value};

use crate::AppState;
use crate::problem::ApiError;

pub async fn twilio(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let (Some(token), Some(base)) = (
        state.config.twilio_auth_token.as_ref(),
        state.config.public_api_url.as_deref(),
    ) else {
        // Not configured: Herald never asked Twilio for callbacks.
        return Err(ApiError::NotFound);
    };
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // The URL as Twilio called it: the public base and the path it was given.
    let path_and_query = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let url = format!("{base}{path_and_query}");
    let signed = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|sig| twilio::verify(token.expose(), &url, &params, sig));
    if !signed {
        tracing::warn!(%url, "Twilio callback with a missing or wrong signature refused");
        return Err(ApiError::Forbidden(
            "the X-Twilio-Signature does not verify",
        ));
    }
    let ids = path
        .get("account_id")
        .and_then(|a| AccountId::parse(a).ok())
        .zip(
            path.get("message_id")
                .and_then(|m| MessageId::parse(m).ok()),
        );
    let (Some((account_id, message_id)), Some(receipt)) = (ids, twilio::receipt(&params)) else {
        tracing::warn!(%url, "Twilio callback naming no message or status; ignored");
        return Ok(StatusCode::NO_CONTENT);
    };
    let raw: Map<String, Value> = params
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let tracker = StatusTracker {
        log: state.messages.clone(),
        events: state.events.clone(),
        clock: state.clock.clone(),
    };
    tracker
        .apply(&StatusUpdate {
            account_id,
            channel: Channel::Sms,
            message_id,
            receipt,
            source: "twilio",
            at: None,
            raw: Value::Object(raw),
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
