//! `POST /accounts/{accountId}/dashboard-sessions` (internal callers): a one-time sign-in link
//! to the account's dashboard, for a platform that embeds it to hand to one of its users.
//! The link opens a session (an admin's or a viewer's) on this account and, optionally, on
//! more accounts of the same organisation, between which the dashboard's top bar switches.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use herald::common::account::AccountId;
use herald::common::clock::rfc3339;
use herald::common::json_fields::{ObjectReader, string};
use herald::common::validation::FieldErrors;
use herald::dashboard::{Grant, MAX_ACCOUNTS, Role};
use serde_json::{Value, json};

use super::Account;
use crate::AppState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::problem::ApiError;

/// The longest organisation or user label a link may carry (shown in the top bar).
const MAX_LABEL: usize = 100;

fn label(value: Value) -> Result<String, String> {
    let s = string(value)?;
    let trimmed = s.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_LABEL {
        return Err(format!("must be 1 to {MAX_LABEL} characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(trimmed.to_owned())
}

fn parse(body: Value, home: AccountId, caller: &Caller) -> Result<Grant, FieldErrors> {
    let mut errors = FieldErrors::new();
    let fields = ObjectReader::new(body, "", &mut errors).and_then(|mut r| {
        let role = r.required("role", |v| {
            let s = string(v)?;
            Role::parse(&s).ok_or_else(|| format!("must be admin or viewer, not {s:?}"))
        });
        let others = r.optional("accounts", |v| {
            let Value::Array(items) = v else {
                return Err("must be an array of account ids".into());
            };
            if items.len() >= MAX_ACCOUNTS {
                return Err(format!("names at most {} more accounts", MAX_ACCOUNTS - 1));
            }
            let mut ids = Vec::new();
            let mut bad = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                // Another account of the organisation, which this caller must reach too; one
                // it may not is answered as unknown, as a path naming it would be.
                match string(item).ok().map(|s| caller.account(&s)) {
                    Some(Ok(id)) => ids.push(id),
                    _ => bad.push(i),
                }
            }
            if bad.is_empty() {
                Ok(ids)
            } else {
                Err(format!(
                    "items {bad:?} are not accounts this caller may reach"
                ))
            }
        });
        let organization = r.optional("organization", label);
        let user = r.optional("user", label);
        r.finish();
        Some((role?, others?, organization?, user?))
    });
    match fields {
        Some((role, others, organization, user)) if errors.is_empty() => {
            Grant::new(home, others.unwrap_or_default(), role, organization, user).map_err(|e| {
                let mut errors = FieldErrors::new();
                errors.push("accounts", e.to_string());
                errors
            })
        }
        _ => Err(errors),
    }
}

/// Where the dashboard is reached: the public URL the operator set, or the host this request
/// came in on (the dashboard is served by the same HTTP API, under `/dashboard`).
fn dashboard_base(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(url) = &state.config.public_api_url {
        return Ok(format!("{url}/dashboard"));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ApiError::BadRequest("the request names no Host".into()))?;
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("http") => "http",
        _ => "https",
    };
    Ok(format!("{scheme}://{host}/dashboard"))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Account(account): Account,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    if !caller.internal {
        return Err(ApiError::Forbidden(
            "only the platform signs users in to the dashboard (scope herald:internal)",
        ));
    }
    let Some(sessions) = &state.sessions else {
        return Err(ApiError::Unavailable(
            "the dashboard is not deployed (no HERALD_DASHBOARD_SESSIONS_TABLE)",
        ));
    };
    let grant = parse(body, account.clone(), &caller).map_err(ApiError::Validation)?;
    let base = dashboard_base(&state, &headers)?;
    let now = state.clock.now();
    let role = grant.role();
    let accounts: Vec<String> = grant.accounts().iter().map(|a| a.to_string()).collect();
    let (token, expires_at) = sessions.issue_link(grant, now).await?;
    tracing::info!(account = %account, caller = %caller.subject, role = role.as_str(), accounts = accounts.len(), "dashboard sign-in link issued");
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "url": format!("{base}/sign-in?token={}", token.expose()),
            "expiresAt": rfc3339(expires_at),
            "role": role.as_str(),
            "accounts": accounts,
        })),
    ))
}
