//! Notifications: types (`/notification-types`), rules (`/notification-rules`, with preview and
//! a test send), a recipient's preferences, and the notification log (`/notifications`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use herald::common::account::AccountId;
use herald::common::cursor;
use herald::common::validation::FieldErrors;
use herald::events::ids::EventId;
use herald::events::name::EventName;
use herald::events::webhook::{Event, NewEvent};
use herald::messaging::accept::{AcceptError, Intake};
use herald::messaging::email::EmailAddress;
use herald::messaging::log::{Content, MessageId, MessageRecord};
use herald::messaging::message::{Channel, EmailMessage, PhoneNumber, SmsMessage, Tag};
use herald::notify::log::{LogQuery, NotificationId, Outcome};
use herald::notify::notifier::{
    Rendered, check_rule, check_rule_syntax, recipient_context, render,
};
use herald::notify::preferences::{Preferences, decide, read_choices};
use herald::notify::recipients::{Recipient, RecipientId};
use herald::notify::rules::{NotificationRule, RuleId, RuleInput, read_rule};
use herald::notify::short_links::{LinkCollector, ShortLinkSettings};
use herald::notify::template::EventContext;
use herald::notify::types::{NotificationType, RecipientRole, TypeKey, read_type};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Account;
use crate::AppState;
use crate::body::JsonBody;
use crate::problem::ApiError;

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    let mut errors = FieldErrors::new();
    errors.push(field, message);
    ApiError::Validation(errors)
}

// ---- types ----

fn type_key(path: &HashMap<String, String>) -> Result<TypeKey, ApiError> {
    path.get("key")
        .and_then(|k| TypeKey::parse(k).ok())
        .ok_or(ApiError::NotFound)
}

pub async fn list_types(
    State(state): State<AppState>,
    Account(account): Account,
) -> Result<Json<Value>, ApiError> {
    let items = state.notifications.types(&account).await?;
    Ok(Json(json!({"items": items, "nextCursor": null})))
}

pub async fn get_type(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Json<NotificationType>, ApiError> {
    let key = type_key(&path)?;
    state
        .notifications
        .types(&account)
        .await?
        .into_iter()
        .find(|t| t.key == key)
        .map(Json)
        .ok_or(ApiError::NotFound)
}

/// Creates the type (201) or replaces it (200).
pub async fn put_type(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let key = path
        .get("key")
        .ok_or(ApiError::NotFound)
        .and_then(|k| TypeKey::parse(k).map_err(|e| invalid("key", e)))?;
    let input = read_type(body).map_err(ApiError::Validation)?;
    let now = state.clock.now();
    let types = state.notifications.types(&account).await?;
    let (t, status) = match types.iter().find(|t| t.key == key) {
        Some(old) => (old.replaced(input, now), StatusCode::OK),
        None => {
            if types.len() >= NotificationType::MAX_PER_ACCOUNT {
                return Err(ApiError::Conflict(format!(
                    "an account defines at most {} notification types; delete one first",
                    NotificationType::MAX_PER_ACCOUNT
                )));
            }
            (NotificationType::new(key, input, now), StatusCode::CREATED)
        }
    };
    // Rules of this type must keep to its channels.
    if status == StatusCode::OK {
        for rule in state.notifications.rules(&account).await? {
            if rule.type_key == t.key
                && let Some(c) = rule
                    .templates
                    .channels()
                    .into_iter()
                    .find(|c| t.channels.get(*c).is_none())
            {
                return Err(invalid(
                    &format!("channels.{}", c.as_str()),
                    format!(
                        "the rule {} ({}) has {} templates: remove them before the channel",
                        rule.name,
                        rule.id,
                        c.as_str()
                    ),
                ));
            }
        }
    }
    state
        .notifications
        .put_type(&account, &t, status == StatusCode::CREATED)
        .await
        .map_err(ApiError::conflict_if_changed(
            "the type was created meanwhile; try again",
        ))?;
    tracing::info!(account = %account, r#type = %t.key, "notification type saved");
    Ok((status, Json(t)).into_response())
}

pub async fn delete_type(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    let key = type_key(&path)?;
    let users: Vec<String> = state
        .notifications
        .rules(&account)
        .await?
        .into_iter()
        .filter(|r| r.type_key == key)
        .map(|r| format!("{} ({})", r.name, r.id))
        .collect();
    if !users.is_empty() {
        return Err(ApiError::Conflict(format!(
            "rules use this type: {}; delete them or move them to another type first",
            users.join(", ")
        )));
    }
    if state.notifications.delete_type(&account, &key).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

// ---- rules ----

fn rule_id(path: &HashMap<String, String>) -> Result<RuleId, ApiError> {
    path.get("rule_id")
        .and_then(|id| RuleId::parse(id).ok())
        .ok_or(ApiError::NotFound)
}

async fn find_rule(
    state: &AppState,
    account: &AccountId,
    path: &HashMap<String, String>,
) -> Result<NotificationRule, ApiError> {
    let id = rule_id(path)?;
    state
        .notifications
        .rules(account)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(ApiError::NotFound)
}

/// The event a rule's templates are checked and previewed with: the catalog's sample of its
/// event type, for this account.
async fn sample(
    state: &AppState,
    account: &AccountId,
    name: &EventName,
) -> Result<Option<Event>, ApiError> {
    let Some(t) = state.catalog.find(name).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    Ok(t.sample(EventId::new(now), account.clone(), now, &[]).ok())
}

/// Reads and checks a rule: its type exists and uses its channels, and every template renders
/// for the event type's sample.
async fn checked_rule(
    state: &AppState,
    account: &AccountId,
    body: Value,
) -> Result<(RuleInput, NotificationType), ApiError> {
    let input = read_rule(body).map_err(ApiError::Validation)?;
    let t = state
        .notifications
        .types(account)
        .await?
        .into_iter()
        .find(|t| t.key == input.type_key)
        .ok_or_else(|| {
            invalid(
                "type",
                format!(
                    "{} is not a notification type of this account; create it first",
                    input.type_key
                ),
            )
        })?;
    let sample = match sample(state, account, &input.event_name).await? {
        Some(e) => serde_json::to_value(&e).map_err(|e| ApiError::Internal(e.into()))?,
        None if state.catalog.requires_registration() => {
            return Err(invalid(
                "eventName",
                format!("{} is not in the event catalog", input.event_name),
            ));
        }
        // No sample to render against: the templates' syntax is still checked.
        None => {
            check_rule_syntax(&input).map_err(ApiError::Validation)?;
            return Ok((input, t));
        }
    };
    check_rule(&input, &t, &sample).map_err(ApiError::Validation)?;
    Ok((input, t))
}

pub async fn list_rules(
    State(state): State<AppState>,
    Account(account): Account,
) -> Result<Json<Value>, ApiError> {
    let items = state.notifications.rules(&account).await?;
    Ok(Json(json!({"items": items, "nextCursor": null})))
}

pub async fn create_rule(
    State(state): State<AppState>,
    Account(account): Account,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (input, _) = checked_rule(&state, &account, body).await?;
    if state.notifications.rules(&account).await?.len() >= NotificationRule::MAX_PER_ACCOUNT {
        return Err(ApiError::Conflict(format!(
            "an account defines at most {} notification rules; delete one first",
            NotificationRule::MAX_PER_ACCOUNT
        )));
    }
    let now = state.clock.now();
    let rule = NotificationRule::new(RuleId::new(now), input, now);
    state.notifications.put_rule(&account, &rule).await?;
    tracing::info!(account = %account, rule = %rule.id, event = %rule.event_name, "notification rule created");
    Ok((StatusCode::CREATED, Json(rule)).into_response())
}

pub async fn get_rule(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Json<NotificationRule>, ApiError> {
    find_rule(&state, &account, &path).await.map(Json)
}

pub async fn put_rule(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
    JsonBody(body): JsonBody,
) -> Result<Json<NotificationRule>, ApiError> {
    let old = find_rule(&state, &account, &path).await?;
    let (input, _) = checked_rule(&state, &account, body).await?;
    let rule = old.replaced(input, state.clock.now());
    state.notifications.put_rule(&account, &rule).await?;
    tracing::info!(account = %account, rule = %rule.id, "notification rule replaced");
    Ok(Json(rule))
}

pub async fn delete_rule(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    let id = rule_id(&path)?;
    if state.notifications.delete_rule(&account, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// The event a preview or test send renders: the body's `event` (`eventData`, optionally
/// `tags`), else the catalog's sample.
async fn event_for(
    state: &AppState,
    account: &AccountId,
    rule: &NotificationRule,
    body: &mut serde_json::Map<String, Value>,
) -> Result<Event, ApiError> {
    let now = state.clock.now();
    match body.remove("event") {
        Some(Value::Object(mut e)) => {
            let data = e.remove("eventData").unwrap_or(Value::Null);
            let tags = match e.remove("tags") {
                None => Vec::new(),
                Some(Value::Array(t)) if t.iter().all(Value::is_string) => t
                    .into_iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                Some(_) => return Err(invalid("event.tags", "must be an array of tags")),
            };
            if let Some(extra) = e.keys().next() {
                return Err(invalid(&format!("event.{extra}"), "is not a known field"));
            }
            NewEvent {
                sender: "preview".into(),
                event_name: rule.event_name.to_string(),
                event_data: data,
                organization_id: None,
                expires_at: None,
                tags,
            }
            .validate(EventId::new(now), account.clone(), now)
            .map_err(|errors| {
                let mut out = FieldErrors::new();
                for e in errors.iter() {
                    out.push(format!("event.{}", e.field), e.message.clone());
                }
                ApiError::Validation(out)
            })
        }
        Some(_) => Err(invalid("event", "must be an object with eventData")),
        None => sample(state, account, &rule.event_name)
            .await?
            .ok_or_else(|| {
                invalid(
                    "event",
                    format!(
                        "{} has no sample in the catalog: give the event to render",
                        rule.event_name
                    ),
                )
            }),
    }
}

fn body_object(body: Value) -> Result<serde_json::Map<String, Value>, ApiError> {
    match body {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(serde_json::Map::new()),
        _ => Err(invalid("(body)", "must be an object")),
    }
}

async fn rule_type(
    state: &AppState,
    account: &AccountId,
    rule: &NotificationRule,
) -> Result<NotificationType, ApiError> {
    state
        .notifications
        .types(account)
        .await?
        .into_iter()
        .find(|t| t.key == rule.type_key)
        .ok_or_else(|| {
            ApiError::Conflict(format!(
                "the rule's type {} no longer exists",
                rule.type_key
            ))
        })
}

fn rendered_view(r: Result<Rendered, herald::notify::template::TemplateError>) -> Value {
    match r {
        Ok(Rendered::Email(e)) => json!({"email": e}),
        Ok(Rendered::Sms(s)) => json!({"sms": s}),
        Err(e) => json!({"error": e}),
    }
}

/// Renders the rule for each recipient of an event, sending nothing.
pub async fn preview(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let rule = find_rule(&state, &account, &path).await?;
    let mut body = body_object(body)?;
    let event = event_for(&state, &account, &rule, &mut body).await?;
    if let Some(extra) = body.keys().next() {
        return Err(invalid(extra, "is not a known field"));
    }
    let t = rule_type(&state, &account, &rule).await?;
    let json = serde_json::to_value(&event).map_err(|e| ApiError::Internal(e.into()))?;
    let compiled = rule
        .templates
        .compile(rule.frequency.key())
        .map_err(|found| {
            let mut errors = FieldErrors::new();
            herald::notify::template::push_errors(&mut errors, found);
            ApiError::Validation(errors)
        })?;
    let url = format!(
        "{}/dashboard/preferences/(signed-link)",
        state.config.public_api_url.as_deref().unwrap_or("")
    );
    let shared = EventContext::of(&json);
    let recipients: Vec<Value> = rule
        .recipients
        .recipients(&json)
        .iter()
        .take(20)
        .map(|r| {
            // Shortened for show: a preview's links are not kept, and lead nowhere.
            let short = LinkCollector::new(&format!(
                "{}/l",
                state.config.public_api_url.as_deref().unwrap_or("")
            ));
            let ctx = recipient_context(&shared, r, &t, &url, Some(&short));
            let channels: Vec<Value> = rule
                .templates
                .channels()
                .into_iter()
                .map(|c| {
                    let mut v = rendered_view(render(&compiled, c, r, &ctx));
                    v["channel"] = json!(c.as_str());
                    v["requested"] = json!(r.requested(c));
                    v
                })
                .collect();
            let first_key = rule
                .frequency
                .key()
                .map(|_| compiled.first_key(&ctx).map_err(|e| e.to_string()));
            json!({
                "recipientId": r.id,
                "email": r.email,
                "phone": r.phone,
                "locale": r.locale,
                "role": r.role,
                "firstKey": first_key.map(|k| match k { Ok(k) => json!(k), Err(e) => json!({"error": e}) }),
                "channels": channels,
            })
        })
        .collect();
    Ok(Json(json!({"event": event, "recipients": recipients})))
}

/// Sends the rule's first recipient's messages, rendered for an event (as in the preview), to
/// the address and number given instead of the recipient's: a check of the real thing, not
/// logged as a notification.
pub async fn test_send(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let rule = find_rule(&state, &account, &path).await?;
    let mut body = body_object(body)?;
    let mut errors = FieldErrors::new();
    let email = body.remove("email").map(|v| {
        v.as_str()
            .and_then(|s| EmailAddress::parse(s).ok())
            .ok_or(())
    });
    let phone = body.remove("phone").map(|v| {
        v.as_str()
            .and_then(|s| PhoneNumber::parse(s).ok())
            .ok_or(())
    });
    if matches!(email, Some(Err(()))) {
        errors.push("email", "is not an email address");
    }
    if matches!(phone, Some(Err(()))) {
        errors.push(
            "phone",
            "is not a phone number in E.164 form, such as +4712345678",
        );
    }
    if email.is_none() && phone.is_none() {
        errors.push("email", "give an email address, a phone number, or both");
    }
    let event = event_for(&state, &account, &rule, &mut body).await?;
    for extra in body.keys() {
        errors.push(extra.clone(), "is not a known field");
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let t = rule_type(&state, &account, &rule).await?;
    let json = serde_json::to_value(&event).map_err(|e| ApiError::Internal(e.into()))?;
    let compiled = rule
        .templates
        .compile(rule.frequency.key())
        .map_err(|e| ApiError::Conflict(format!("the templates do not compile: {}", e[0])))?;
    let recipient: Recipient = rule
        .recipients
        .recipients(&json)
        .into_iter()
        .next()
        .ok_or_else(|| invalid("event", "names no recipient at the rule's path"))?;
    // A test send's links are kept with its messages, so that they can be tried.
    let short = LinkCollector::new(&format!(
        "{}/l",
        state.config.public_api_url.as_deref().unwrap_or("")
    ));
    let ctx = recipient_context(&EventContext::of(&json), &recipient, &t, "", Some(&short));
    let intake = Intake {
        messages: state.messages.clone(),
        send_queue: state.send_queue.clone(),
    };
    let now = state.clock.now();
    let tag = Tag::parse("notification-test").map_err(|e| ApiError::Internal(e.into()))?;
    let mut sent = Vec::new();
    for channel in rule.templates.channels() {
        let content = match (channel, &email, &phone) {
            (Channel::Email, Some(Ok(to)), _) => match render(&compiled, channel, &recipient, &ctx)
            {
                Ok(Rendered::Email(e)) => Content::Email(EmailMessage {
                    to: vec![to.clone()],
                    subject: e.subject,
                    text: e.text,
                    html: e.html,
                    from: None,
                    reply_to: None,
                    list_unsubscribe: None,
                }),
                Ok(_) => continue,
                Err(e) => return Err(invalid(&e.field, e.message)),
            },
            (Channel::Sms, _, Some(Ok(to))) => match render(&compiled, channel, &recipient, &ctx) {
                Ok(Rendered::Sms(s)) => Content::Sms(SmsMessage {
                    to: to.clone(),
                    text: s.text,
                }),
                Ok(_) => continue,
                Err(e) => return Err(invalid(&e.field, e.message)),
            },
            _ => continue,
        };
        let message_id = MessageId::new(now);
        let links = short.take(
            &account,
            channel,
            &message_id,
            now,
            ShortLinkSettings::DEFAULT_LIFETIME,
        );
        if !links.is_empty() {
            state.short_links.put_all(&links).await?;
        }
        let record = MessageRecord::queued(
            message_id,
            account.clone(),
            content,
            vec![tag.clone()],
            now,
            state.config.log_retention,
        );
        let (record, _) = intake
            .accept(record, None, false)
            .await
            .map_err(|e| match e {
                AcceptError::Store(e) => e.into(),
                _ => ApiError::Unavailable("the test message was logged but could not be queued"),
            })?;
        sent.push(json!({"channel": channel.as_str(), "messageId": record.id}));
    }
    if sent.is_empty() {
        return Err(invalid(
            "email",
            "the rule has no template for the channels given",
        ));
    }
    tracing::info!(account = %account, rule = %rule.id, messages = sent.len(), "notification test sent");
    Ok((StatusCode::ACCEPTED, Json(json!({"messages": sent}))))
}

// ---- preferences ----

fn recipient_id(path: &HashMap<String, String>) -> Result<RecipientId, ApiError> {
    path.get("recipient_id")
        .and_then(|id| RecipientId::parse(id).ok())
        .ok_or(ApiError::NotFound)
}

fn role_of(params: &HashMap<String, String>) -> Result<Option<RecipientRole>, ApiError> {
    params
        .get("role")
        .map(|r| RecipientRole::parse(&r.to_ascii_lowercase()).map_err(|e| invalid("role", e)))
        .transpose()
}

/// Every type with, per channel it uses, whether it is on for the recipient, why, and whether
/// the recipient may change it.
pub fn preferences_view(
    types: &[NotificationType],
    p: &Preferences,
    role: Option<&RecipientRole>,
    operator_default: bool,
) -> Value {
    let items: Vec<Value> = types
        .iter()
        .map(|t| {
            let mut channels = serde_json::Map::new();
            for c in t.channels.used() {
                let d = decide(t, c, p, role, operator_default);
                channels.insert(
                    c.as_str().to_owned(),
                    json!({
                        "on": d.on,
                        "because": d.because,
                        "choice": p.choice(&t.key, c),
                        "changeable": t.changeable(c, role),
                    }),
                );
            }
            json!({
                "key": t.key,
                "name": t.name,
                "description": t.description,
                "mandatory": t.mandatory,
                "channels": channels,
            })
        })
        .collect();
    json!({
        "recipientId": p.recipient_id,
        "types": items,
        "updatedAt": p.updated_at.and_then(|t| t.format(&Rfc3339).ok()),
    })
}

pub async fn get_preferences(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let id = recipient_id(&path)?;
    let role = role_of(&params)?;
    let types = state.notifications.types(&account).await?;
    let p = state.notifications.preferences(&account, &id).await?;
    Ok(Json(preferences_view(
        &types,
        &p,
        role.as_ref(),
        state.config.notifications_default_on,
    )))
}

/// Sets the recipient's choices for the types named (null clears a choice; types left out
/// keep theirs).
pub async fn put_preferences(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
    Query(params): Query<HashMap<String, String>>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let id = recipient_id(&path)?;
    let role = role_of(&params)?;
    let types = state.notifications.types(&account).await?;
    let choices = read_choices(body, &types).map_err(ApiError::Validation)?;
    let mut p = state.notifications.preferences(&account, &id).await?;
    for (key, c) in choices {
        let entry = p.types.entry(key).or_default();
        for channel in [Channel::Email, Channel::Sms] {
            if c.get(channel).is_some() || entry.get(channel).is_some() {
                entry.set(channel, c.get(channel));
            }
        }
    }
    p.types.retain(|_, c| c.email.is_some() || c.sms.is_some());
    p.updated_at = Some(state.clock.now());
    state.notifications.put_preferences(&account, &p).await?;
    tracing::info!(account = %account, recipient = %id, "preferences saved");
    Ok(Json(preferences_view(
        &types,
        &p,
        role.as_ref(),
        state.config.notifications_default_on,
    )))
}

// ---- the log ----

fn time_param(errors: &mut FieldErrors, name: &str, v: Option<String>) -> Option<OffsetDateTime> {
    v.and_then(|s| match OffsetDateTime::parse(&s, &Rfc3339) {
        Ok(t) => Some(t),
        Err(_) => {
            errors.push(
                name,
                "must be an RFC 3339 time such as 2026-12-01T00:00:00Z",
            );
            None
        }
    })
}

fn log_query(
    mut params: HashMap<String, String>,
) -> Result<(LogQuery, Option<String>), FieldErrors> {
    let mut errors = FieldErrors::new();
    let rule = params.remove("rule").and_then(|s| match RuleId::parse(&s) {
        Ok(id) => Some(id),
        Err(e) => {
            errors.push("rule", e);
            None
        }
    });
    let recipient = params
        .remove("recipient")
        .and_then(|s| match RecipientId::parse(&s) {
            Ok(id) => Some(id),
            Err(e) => {
                errors.push("recipient", e);
                None
            }
        });
    let outcome = params.remove("outcome").and_then(|s| {
        Outcome::parse(&s).or_else(|| {
            errors.push(
                "outcome",
                format!(
                    "must be one of {}",
                    Outcome::ALL.map(Outcome::as_str).join(", ")
                ),
            );
            None
        })
    });
    let from = time_param(&mut errors, "from", params.remove("from"));
    let to = time_param(&mut errors, "to", params.remove("to"));
    let (limit, cursor) = super::paging(
        params,
        LogQuery::DEFAULT_LIMIT,
        LogQuery::MAX_LIMIT,
        &mut errors,
    );
    errors.into_result((
        LogQuery {
            rule,
            recipient,
            outcome,
            from,
            to,
            limit,
            after: None,
        },
        cursor,
    ))
}

pub async fn list_log(
    State(state): State<AppState>,
    Account(account): Account,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (mut query, cursor) = log_query(params).map_err(ApiError::Validation)?;
    if let Some(c) = cursor {
        let last = cursor::decode(&query.fingerprint(), &c)
            .and_then(|id| NotificationId::parse(&id))
            .map_err(|e| invalid("cursor", e))?;
        query.after = Some(last);
    }
    let items = state.notifications.log(&account, &query).await?;
    let next = (items.len() == query.limit)
        .then(|| items.last())
        .flatten()
        .map(|last| cursor::encode(&query.fingerprint(), last.id.as_str()));
    Ok(Json(json!({"items": items, "nextCursor": next})))
}

pub async fn get_log_entry(
    State(state): State<AppState>,
    Account(account): Account,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let id = path
        .get("notification_id")
        .and_then(|id| NotificationId::parse(id).ok())
        .ok_or(ApiError::NotFound)?;
    let entry = state
        .notifications
        .entry(&account, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(json!(entry)))
}
