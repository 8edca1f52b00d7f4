//! `POST /accounts/{accountId}/messages/sms|email` (internal services): validate, log as
//! `queued`, enqueue for `send-dispatch`, answer 202. With `Idempotency-Key`, a repeat within
//! 24 hours answers as the first time did and sends nothing more.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use herald::common::idempotency::IdempotencyClaim;
use herald::common::json_fields::{ObjectReader, kind, parsed, string};
use herald::common::validation::FieldErrors;
use herald::messaging::accept::{AcceptError, Intake};
use herald::messaging::email::EmailAddress;
use herald::messaging::log::{Content, MessageId, MessageRecord};
use herald::messaging::message::{
    BodyPart, EmailMessage, PhoneNumber, SmsMessage, SmsText, Subject, Tag,
};
use serde::Serialize;
use serde_json::Value;

use super::{Account, idempotency_key, idempotency_mismatch, mark_replayed};
use crate::AppState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::problem::ApiError;

#[derive(Serialize)]
struct Accepted {
    id: MessageId,
    status: &'static str,
}

fn tags(value: Value) -> Result<Vec<Tag>, String> {
    let Value::Array(items) = value else {
        return Err(format!("must be an array of tags, not {}", kind(&value)));
    };
    if items.len() > Tag::MAX_PER_ITEM {
        return Err(format!("must hold at most {} tags", Tag::MAX_PER_ITEM));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            string(v)
                .and_then(|s| Tag::parse(&s))
                .map_err(|e| format!("item {i}: {e}"))
        })
        .collect()
}

fn recipients(value: Value) -> Result<Vec<EmailAddress>, String> {
    let items = match value {
        Value::String(s) => vec![Value::String(s)],
        Value::Array(items) if !items.is_empty() => items,
        Value::Array(_) => return Err("must name at least one recipient".into()),
        other => {
            return Err(format!(
                "must be an address or an array of them, not {}",
                kind(&other)
            ));
        }
    };
    if items.len() > EmailMessage::MAX_RECIPIENTS {
        return Err(format!(
            "must name at most {} recipients",
            EmailMessage::MAX_RECIPIENTS
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let s = string(v).map_err(|e| format!("item {i} {e}"))?;
            EmailAddress::parse(&s).map_err(|e| format!("item {i} {e}"))
        })
        .collect()
}

pub fn parse_sms(body: Value) -> Result<(Content, Vec<Tag>), FieldErrors> {
    let mut errors = FieldErrors::new();
    let parsed = ObjectReader::new(body, "", &mut errors).and_then(|mut r| {
        let to = r.required("to", parsed(PhoneNumber::parse));
        let text = r.required("text", parsed(SmsText::parse));
        let tags = r.optional("tags", tags);
        r.finish();
        Some((
            Content::Sms(SmsMessage {
                to: to?,
                text: text?,
            }),
            tags?.unwrap_or_default(),
        ))
    });
    match parsed {
        Some(p) if errors.is_empty() => Ok(p),
        _ => Err(errors),
    }
}

pub fn parse_email(body: Value) -> Result<(Content, Vec<Tag>), FieldErrors> {
    let mut errors = FieldErrors::new();
    let parsed = ObjectReader::new(body, "", &mut errors).and_then(|mut r| {
        let to = r.required("to", recipients);
        let subject = r.required("subject", parsed(Subject::parse));
        let text = r.optional("text", parsed(BodyPart::parse));
        let html = r.optional("html", parsed(BodyPart::parse));
        let from = r.optional("from", parsed(EmailAddress::parse));
        let reply_to = r.optional("replyTo", parsed(EmailAddress::parse));
        let tags = r.optional("tags", tags);
        if matches!((&text, &html), (Some(None), Some(None))) {
            r.errors()
                .push("text", "text or html (or both) is required");
        }
        r.finish();
        Some((
            Content::Email(EmailMessage {
                to: to?,
                subject: subject?,
                text: text?,
                html: html?,
                from: from?,
                reply_to: reply_to?,
                list_unsubscribe: None,
            }),
            tags?.unwrap_or_default(),
        ))
    });
    match parsed {
        Some(p) if errors.is_empty() => Ok(p),
        _ => Err(errors),
    }
}

async fn accept(
    state: &AppState,
    account: herald::common::account::AccountId,
    caller: &Caller,
    headers: &HeaderMap,
    (content, tags): (Content, Vec<Tag>),
) -> Result<Response, ApiError> {
    if !caller.internal {
        return Err(ApiError::Forbidden(
            "only internal services send messages (scope herald:internal)",
        ));
    }
    let key = idempotency_key(headers)?;
    let now = state.clock.now();
    let channel = content.channel();
    // The request as validated, so that formatting differences do not count as a change.
    let claim = key.map(|key| {
        IdempotencyClaim::new(
            key,
            &serde_json::json!({"message": &content, "tags": &tags}),
            now,
        )
    });
    let record = MessageRecord::queued(
        MessageId::new(now),
        account.clone(),
        content,
        tags,
        now,
        state.config.log_retention,
    );
    let intake = Intake {
        messages: state.messages.clone(),
        send_queue: state.send_queue.clone(),
    };
    let (record, replayed) = match intake.accept(record, claim.as_ref(), false).await {
        Ok(accepted) => accepted,
        Err(AcceptError::Store(e)) => return Err(e.into()),
        Err(AcceptError::Mismatch) => return Err(idempotency_mismatch()),
        Err(AcceptError::NotQueued(_)) => {
            return Err(ApiError::Unavailable(
                "the message was logged but could not be queued; retry with the same \
                 Idempotency-Key to queue it",
            ));
        }
    };
    tracing::info!(account = %account, message = %record.id, channel = channel.as_str(), replayed, "message accepted");
    let mut response = (
        StatusCode::ACCEPTED,
        Json(Accepted {
            id: record.id,
            status: "queued",
        }),
    )
        .into_response();
    if replayed {
        mark_replayed(&mut response);
    }
    Ok(response)
}

pub async fn send_sms(
    State(state): State<AppState>,
    Account(account): Account,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let parsed = parse_sms(body).map_err(ApiError::Validation)?;
    accept(&state, account, &caller, &headers, parsed).await
}

pub async fn send_email(
    State(state): State<AppState>,
    Account(account): Account,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let parsed = parse_email(body).map_err(ApiError::Validation)?;
    accept(&state, account, &caller, &headers, parsed).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(r: Result<(Content, Vec<Tag>), FieldErrors>) -> Vec<String> {
        r.expect_err("invalid")
            .iter()
            .map(|e| e.field.clone())
            .collect()
    }

    #[test]
    fn sms_requests() {
        let (content, tags) =
            parse_sms(json!({"to": "+4712345678", "text": "Hi", "tags": ["order:1"]}))
                .expect("valid");
        assert_eq!(content.recipient(), "+4712345678");
        assert_eq!(tags.len(), 1);
        assert_eq!(
            fields(parse_sms(
                json!({"to": "12345", "text": "", "tags": "x", "cc": 1})
            )),
            ["to", "text", "tags", "cc"]
        );
    }

    #[test]
    fn email_requests() {
        assert!(parse_email(json!({"to": "a@example.com", "subject": "S", "text": "T"})).is_ok());
        assert!(
            parse_email(json!({"to": ["a@example.com", "b@example.com"], "subject": "S", "html": "<p>T</p>"}))
                .is_ok()
        );
        assert_eq!(
            fields(parse_email(json!({"to": [], "subject": "a\r\nb"}))),
            ["to", "subject", "text"]
        );
        assert_eq!(
            fields(parse_email(
                json!({"to": "x", "subject": "S", "text": "T", "from": "bad", "replyTo": "bad"})
            )),
            ["to", "from", "replyTo"]
        );
    }
}
