//! Local stand-ins for the SMS providers Herald cannot reach offline: Twilio's Messages API and
//! Vonage's SMS API, speaking their wire formats and error codes. Tests (and developers) script
//! what a provider answers for a number, and read what each provider received:
//!
//! - `PUT /_script` `{"provider": "twilio", "to": "+4712345678", "responses": ["unavailable", "ok"]}`
//!   — answers in turn, then `ok` (also `throttle`, `invalid-number`, `opted-out`, `stall`);
//! - `GET /_requests` — every message received: `[{provider, to, from, text}]`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::sent::SentLog;

pub const TWILIO_SID: &str = "AC00000000000000000000000000000000";
pub const TWILIO_TOKEN: &str = "local-twilio-auth-token";
pub const VONAGE_KEY: &str = "local-vonage-key";
pub const VONAGE_SECRET: &str = "local-vonage-secret";
pub const VONAGE_SIGNATURE_SECRET: &str = "local-vonage-signature-secret";
/// The OAuth client secret the token endpoint accepts, and what its tokens start with (the
/// local SMTP servers accept XOAUTH2 tokens with this prefix).
pub const OAUTH_CLIENT_SECRET: &str = "local-oauth-secret";
pub const TOKEN_PREFIX: &str = "local-access-token-";

#[derive(Default)]
struct Fakes {
    scripts: HashMap<(String, String), VecDeque<String>>,
    requests: Vec<Value>,
    counter: u64,
    sent: Option<SentLog>,
}

type Shared = Arc<Mutex<Fakes>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Fakes> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The next scripted answer of `provider` for `to`, recording the request.
fn next(s: &Shared, provider: &str, to: &str, request: Value) -> (String, u64) {
    let mut fakes = lock(s);
    fakes.counter += 1;
    let n = fakes.counter;
    let behaviour = fakes
        .scripts
        .get_mut(&(provider.to_owned(), to.to_owned()))
        .and_then(VecDeque::pop_front)
        .unwrap_or_else(|| "ok".to_owned());
    let mut request = request;
    request["answer"] = json!(behaviour);
    request["at"] = json!(crate::sent::now());
    request["n"] = json!(n);
    if let Some(sent) = &fakes.sent {
        sent.record(
            "sms",
            request.clone(),
            &format!(
                "{provider} to {} from {}: {:?} ({behaviour})",
                request["to"].as_str().unwrap_or("?"),
                request["from"].as_str().unwrap_or("?"),
                request["text"].as_str().unwrap_or_default()
            ),
        );
    }
    fakes.requests.push(request);
    (behaviour, n)
}

/// Twilio's Messages list, newest first, filtered by `To` and `From`: every message the fake
/// took (a stalled one too: it took it, then answered late).
async fn twilio_list(
    State(s): State<Shared>,
    Path(sid): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if sid != TWILIO_SID {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let rfc2822 = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] +0000"
    );
    let messages: Vec<Value> = lock(&s)
        .requests
        .iter()
        .rev()
        .filter(|r| {
            r["provider"] == "twilio" && matches!(r["answer"].as_str(), Some("ok" | "stall"))
        })
        .filter(|r| query.get("To").is_none_or(|to| r["to"] == to.as_str()))
        .filter(|r| {
            query
                .get("From")
                .is_none_or(|from| r["from"] == from.as_str())
        })
        .map(|r| {
            let created = r["at"]
                .as_str()
                .and_then(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .and_then(|t| t.format(&rfc2822).ok());
            json!({
                "sid": format!("SM{:032x}", r["n"].as_u64().unwrap_or_default()),
                "to": r["to"], "from": r["from"], "body": r["text"],
                "status": "sent", "date_created": created,
            })
        })
        .collect();
    Json(json!({"messages": messages})).into_response()
}

async fn twilio(
    State(s): State<Shared>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}"))
    );
    let authorized = sid == TWILIO_SID
        && headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
    if !authorized {
        let body = json!({"code": 20003, "message": "Authentication Error - invalid username", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let to = form.get("To").cloned().unwrap_or_default();
    let from = form.get("From").cloned().unwrap_or_default();
    let text = form.get("Body").cloned().unwrap_or_default();
    let (behaviour, n) = next(
        &s,
        "twilio",
        &to,
        json!({"provider": "twilio", "to": to, "from": from, "text": text,
               "statusCallback": form.get("StatusCallback")}),
    );
    let error = |status: StatusCode, code: u32, message: String| {
        let body = json!({"code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status.as_u16()});
        (status, Json(body)).into_response()
    };
    match behaviour.as_str() {
        "throttle" => error(
            StatusCode::TOO_MANY_REQUESTS,
            20429,
            "Too Many Requests".into(),
        ),
        "unavailable" => error(
            StatusCode::SERVICE_UNAVAILABLE,
            20503,
            "Service Unavailable".into(),
        ),
        "invalid-number" => error(
            StatusCode::BAD_REQUEST,
            21211,
            format!("Invalid 'To' Phone Number: {to}"),
        ),
        "opted-out" => error(
            StatusCode::BAD_REQUEST,
            21610,
            "Attempt to send to unsubscribed recipient".into(),
        ),
        other => {
            if other == "stall" {
                tokio::time::sleep(Duration::from_secs(20)).await;
            }
            let body = json!({
                "sid": format!("SM{n:032x}"),
                "account_sid": TWILIO_SID,
                "to": to, "from": from, "body": text,
                "status": "queued", "num_segments": "1", "direction": "outbound-api",
                "api_version": "2010-04-01", "error_code": null, "error_message": null,
            });
            (StatusCode::CREATED, Json(body)).into_response()
        }
    }
}

async fn vonage(State(s): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    let to = form.get("to").cloned().unwrap_or_default();
    let reply = |status: &str, extra: Value| {
        let mut message = json!({"to": to, "status": status});
        if let (Some(m), Some(e)) = (message.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        Json(json!({"message-count": "1", "messages": [message]})).into_response()
    };
    if form.get("api_key").map(String::as_str) != Some(VONAGE_KEY)
        || form.get("api_secret").map(String::as_str) != Some(VONAGE_SECRET)
    {
        return reply("4", json!({"error-text": "Bad Credentials"}));
    }
    let from = form.get("from").cloned().unwrap_or_default();
    let text = form.get("text").cloned().unwrap_or_default();
    // Vonage takes numbers without the +; the script is keyed in E.164.
    let (behaviour, n) = next(
        &s,
        "vonage",
        &format!("+{to}"),
        json!({"provider": "vonage", "to": format!("+{to}"), "from": from, "text": text,
               "callback": form.get("callback"), "statusReportReq": form.get("status-report-req")}),
    );
    match behaviour.as_str() {
        "throttle" => reply(
            "1",
            json!({"error-text": "Throughput Rate Exceeded - please wait [ 1000 ] and retry"}),
        ),
        "unavailable" => (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response(),
        "invalid-number" => reply("3", json!({"error-text": "Invalid to parameter"})),
        "opted-out" => reply("7", json!({"error-text": "Number barred."})),
        other => {
            if other == "stall" {
                tokio::time::sleep(Duration::from_secs(20)).await;
            }
            reply(
                "0",
                json!({"message-id": format!("{n:032x}"), "remaining-balance": "10.00", "message-price": "0.03", "network": "24201"}),
            )
        }
    }
}

/// An OAuth 2.0 token endpoint (client-credentials grant, RFC 6749 §4.4).
async fn token(State(s): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    let client = form.get("client_id").cloned().unwrap_or_default();
    let (n, behaviour) = {
        let mut fakes = lock(&s);
        fakes.counter += 1;
        fakes
            .requests
            .push(json!({"provider": "oauth", "to": client, "scope": form.get("scope")}));
        let behaviour = fakes
            .scripts
            .get_mut(&("oauth".to_owned(), client.clone()))
            .and_then(VecDeque::pop_front);
        (fakes.counter, behaviour)
    };
    if behaviour.as_deref() == Some("huge-error") {
        // A hostile or broken endpoint: a 1 MiB error description.
        let body = json!({"error": "invalid_request", "error_description": "x".repeat(1 << 20)});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let valid = form.get("grant_type").map(String::as_str) == Some("client_credentials")
        && form.get("client_secret").map(String::as_str) == Some(OAUTH_CLIENT_SECRET);
    if !valid {
        let body =
            json!({"error": "invalid_client", "error_description": "client authentication failed"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    Json(json!({"access_token": format!("{TOKEN_PREFIX}{n}"), "token_type": "Bearer", "expires_in": 3600}))
        .into_response()
}

async fn script(State(s): State<Shared>, Json(body): Json<Value>) -> StatusCode {
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
    let responses = body["responses"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    lock(&s)
        .scripts
        .insert((text("provider"), text("to")), responses);
    StatusCode::NO_CONTENT
}

async fn requests(State(s): State<Shared>) -> Json<Value> {
    Json(Value::Array(lock(&s).requests.clone()))
}

pub fn router(sent: SentLog) -> Router {
    let fakes = Fakes {
        sent: Some(sent),
        ..Fakes::default()
    };
    Router::new()
        .route(
            "/twilio/2010-04-01/Accounts/{sid}/Messages.json",
            post(twilio).get(twilio_list),
        )
        .route("/vonage/sms/json", post(vonage))
        .route("/oauth/token", post(token))
        .route("/_script", put(script))
        .route("/_requests", get(requests))
        .with_state(Arc::new(Mutex::new(fakes)))
}
