//! `POST /accounts/{accountId}/messages/{messageId}/receipts`: an account reports what became
//! of a message its own provider took (`sent`, `delivered`, `opened`, `failed` with a
//! `reason`). The report moves the message log as a provider's receipt does: forward only, and
//! one that changes nothing is kept with `applied: false`. A message no custom provider took
//! is a 409.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use herald::common::clock::to_millis;
use herald::common::json_fields::{ObjectReader, parsed, string};
use herald::common::validation::FieldErrors;
use herald::messaging::custom::PROVIDER;
use herald::messaging::log::MessageId;
use herald::messaging::message::Channel;
use herald::messaging::receipts::custom::{self, Report, ReportedStatus};
use herald::messaging::receipts::{Applied, StatusTracker, StatusUpdate};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Account;
use crate::AppState;
use crate::body::JsonBody;
use crate::problem::ApiError;

/// Validates a report, naming every bad field.
fn parse(body: Value, now: OffsetDateTime) -> Result<Report, FieldErrors> {
    let mut errors = FieldErrors::new();
    let fields = ObjectReader::new(body, "", &mut errors).and_then(|mut r| {
        let status = r.required("status", |v| ReportedStatus::parse(&string(v)?));
        let reason = r.optional("reason", parsed(custom::reason));
        let code = r.optional("code", parsed(custom::code));
        let at = r.optional("at", |v| {
            OffsetDateTime::parse(&string(v)?, &Rfc3339)
                .map(to_millis)
                .map_err(|_| "must be an RFC 3339 time such as 2030-01-15T09:30:00Z".to_owned())
        });
        r.finish();
        Some((status?, reason?, code?, at?))
    });
    match fields {
        Some((status, reason, code, at)) if errors.is_empty() => {
            Report::new(status, reason, code, at, now)
        }
        _ => Err(errors),
    }
}

pub async fn report(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let message_id = path
        .get("message_id")
        .and_then(|id| MessageId::parse(id).ok())
        .ok_or(ApiError::NotFound)?;
    let now = state.clock.now();
    let report = parse(body.clone(), now).map_err(ApiError::Validation)?;
    let tracker = StatusTracker {
        log: state.messages.clone(),
        events: state.events.clone(),
        clock: state.clock.clone(),
    };
    // The id alone does not say which log holds the message: SMS first, then email.
    for channel in [Channel::Sms, Channel::Email] {
        if !report.status().fits(channel) {
            continue;
        }
        let update = StatusUpdate {
            account_id: account.clone(),
            channel,
            message_id: message_id.clone(),
            receipt: report.receipt(),
            source: PROVIDER,
            // The account speaks for its provider, by Herald's id.
            provider_message_id: None,
            names_message: true,
            at: report.at(),
            raw: body.clone(),
        };
        let (status, applied) = match tracker.apply(&update).await? {
            Applied::Unknown => continue,
            Applied::Changed(status) => (status, true),
            Applied::Recorded(status) => (status, false),
            Applied::Mismatch => {
                return Err(ApiError::Conflict(
                    "this message was not taken by your own (custom) provider: it went through \
                     another provider, or failed before one took it; only messages your \
                     provider took take receipts"
                        .into(),
                ));
            }
            Applied::NotYet => {
                return Err(ApiError::Conflict(
                    "this message is still being sent: Herald has not yet recorded that your \
                     provider took it; send the receipt again shortly"
                        .into(),
                ));
            }
        };
        tracing::info!(account = %account, message = %message_id, status = status.as_str(), applied, "receipt reported by the account");
        return Ok(Json(json!({
            "messageId": message_id,
            "channel": channel,
            "status": status,
            "applied": applied,
        })));
    }
    // Not an email: say why, if it is an SMS, rather than that it does not exist.
    if !report.status().fits(Channel::Sms)
        && state
            .messages
            .get(&account, Channel::Sms, &message_id, now)
            .await?
            .is_some()
    {
        let mut errors = FieldErrors::new();
        errors.push(
            "status",
            "an SMS is never opened: report sent, delivered or failed",
        );
        return Err(ApiError::Validation(errors));
    }
    Err(ApiError::NotFound)
}
