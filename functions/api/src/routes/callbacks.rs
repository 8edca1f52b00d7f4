//! Delivery receipts from SMS providers, at the URL Herald gave with each message,
//! `/callbacks/{provider}/{accountId}/{messageId}`:
//! - Twilio POSTs each status change (form-encoded), signed in `X-Twilio-Signature` with the
//!   operator's auth token;
//! - Vonage sends its delivery receipt (GET query, POST form or POST JSON, as the operator's
//!   dashboard says), signed in its `sig` parameter with the operator's signature secret.
//!
//! A request that does not verify is refused (403) and changes nothing; one for a message
//! Herald does not know is logged and answered 204, so that the provider stops retrying.

use std::collections::HashMap;

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use herald::common::account::AccountId;
use herald::messaging::log::MessageId;
use herald::messaging::message::Channel;
use herald::messaging::message::Receipt;
use herald::messaging::receipts::{Applied, StatusTracker, StatusUpdate, twilio, vonage};
use serde_json::{Map, Value};

use crate::AppState;
use crate::body::RawBody;
use crate::problem::ApiError;

type Params = Vec<(String, String)>;

fn form(bytes: &[u8]) -> Params {
    url::form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Records a verified receipt against the message its URL names, if it is about the provider
/// message `provider_message_id`.
async fn apply(
    state: &AppState,
    path: &HashMap<String, String>,
    source: &'static str,
    receipt: Option<Receipt>,
    provider_message_id: Option<String>,
    names_message: bool,
    params: Params,
) -> Result<StatusCode, ApiError> {
    let ids = path
        .get("account_id")
        .and_then(|a| AccountId::parse(a).ok())
        .zip(
            path.get("message_id")
                .and_then(|m| MessageId::parse(m).ok()),
        );
    let (Some((account_id, message_id)), Some(receipt), Some(provider_message_id)) =
        (ids, receipt, provider_message_id)
    else {
        tracing::warn!(
            source,
            ?path,
            "receipt naming no message or status; ignored"
        );
        return Ok(StatusCode::NO_CONTENT);
    };
    let raw: Map<String, Value> = params
        .into_iter()
        .filter(|(k, _)| k != "sig")
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let tracker = StatusTracker {
        log: state.messages.clone(),
        events: state.events.clone(),
        clock: state.clock.clone(),
    };
    let applied = tracker
        .apply(&StatusUpdate {
            account_id,
            channel: Channel::Sms,
            message_id,
            receipt,
            source,
            provider_message_id: Some(provider_message_id),
            names_message,
            at: None,
            raw: Value::Object(raw),
        })
        .await?;
    match applied {
        Applied::Mismatch => Err(ApiError::Forbidden(
            "the receipt is about another message than the one its URL names",
        )),
        Applied::NotYet => Err(ApiError::Unavailable(
            "the message is still being sent; send the receipt again later",
        )),
        Applied::Changed(_) | Applied::Recorded(_) | Applied::Unknown => Ok(StatusCode::NO_CONTENT),
    }
}

pub async fn twilio(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<StatusCode, ApiError> {
    let (Some(source), Some(base)) = (
        state.provider_secrets.as_ref(),
        state.config.public_api_url.as_deref(),
    ) else {
        // Not configured: Herald never asked Twilio for callbacks.
        return Err(ApiError::NotFound);
    };
    let secrets = source.get().await?;
    let Some(token) = secrets.twilio_auth_token.as_ref() else {
        return Err(ApiError::NotFound);
    };
    let params = form(&body);
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
    let receipt = twilio::receipt(&params);
    let sid = twilio::message_id(&params).map(str::to_owned);
    // The signature covers the URL, which names the message.
    apply(&state, &path, "twilio", receipt, sid, true, params).await
}

/// A Vonage receipt's parameters, wherever the dashboard's HTTP method put them: the query
/// string (GET), a form or a JSON object (POST).
fn vonage_params(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Params, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !json {
        let mut params = form(uri.query().unwrap_or("").as_bytes());
        params.extend(form(body));
        return Ok(params);
    }
    let object: Map<String, Value> = serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(format!("the delivery receipt is not a JSON object: {e}"))
    })?;
    Ok(object
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

pub async fn vonage(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<StatusCode, ApiError> {
    let Some(source) = state.provider_secrets.as_ref() else {
        // Not configured: Herald never asked Vonage for receipts.
        return Err(ApiError::NotFound);
    };
    let secrets = source.get().await?;
    let Some(secret) = secrets.vonage_signature_secret.as_ref() else {
        return Err(ApiError::NotFound);
    };
    let method = state.config.vonage_signature_method;
    let params = vonage_params(&uri, &headers, &body)?;
    if !vonage::verify(method, secret.expose(), &params) {
        tracing::warn!(path = uri.path(), method = ?method, "Vonage receipt with a missing or wrong signature refused");
        return Err(ApiError::Forbidden(
            "the sig parameter does not verify with the signature secret",
        ));
    }
    if let Err(why) = vonage::fresh(&params, state.clock.now()) {
        tracing::warn!(path = uri.path(), why, "stale Vonage receipt refused");
        return Err(ApiError::Forbidden(why));
    }
    let receipt = vonage::receipt(&params);
    let id = vonage::message_id(&params).map(str::to_owned);
    let names_message = path
        .get("message_id")
        .is_some_and(|m| vonage::names_message(&params, m));
    apply(&state, &path, "vonage", receipt, id, names_message, params).await
}
