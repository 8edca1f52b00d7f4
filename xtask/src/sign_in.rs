//! `GET {services}/dashboard?account=acme&role=admin`: a dashboard sign-in that works every
//! time it is opened. It does what a platform does: asks the API for a one-time link
//! (`POST /accounts/{id}/dashboard-sessions`, as an internal service) and sends the browser
//! there. Links themselves last 10 minutes and open once, so `cargo xtask dev` prints this.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::issuer::Issuer;

#[derive(Clone)]
struct SignIn {
    issuer: Issuer,
    audience: String,
    api_url: String,
    http: reqwest::Client,
}

pub fn router(issuer: Issuer, audience: String, api_url: String) -> Router {
    Router::new()
        .route("/dashboard", get(sign_in))
        .with_state(SignIn {
            issuer,
            audience,
            api_url,
            http: reqwest::Client::new(),
        })
}

async fn sign_in(State(s): State<SignIn>, Query(q): Query<HashMap<String, String>>) -> Response {
    let account = q.get("account").map_or("acme", String::as_str);
    let role = q.get("role").map_or("admin", String::as_str);
    let others: Vec<&str> = q
        .get("accounts")
        .map(|a| a.split(',').filter(|a| !a.is_empty()).collect())
        .unwrap_or_default();
    let token = match s
        .issuer
        .mint(&s.audience, "*", true, Duration::from_secs(300))
    {
        Ok(t) => t,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let mut body = json!({"role": role, "organization": "Local development", "user": "developer"});
    if !others.is_empty() {
        body["accounts"] = json!(others);
    }
    let answer = s
        .http
        .post(format!(
            "{}/accounts/{account}/dashboard-sessions",
            s.api_url
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await;
    let (status, text) = match answer {
        Ok(r) => (r.status(), r.text().await.unwrap_or_default()),
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    let link = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["url"].as_str().map(str::to_owned));
    match link {
        Some(url) if status.is_success() => Redirect::to(&url).into_response(),
        _ => (
            StatusCode::BAD_GATEWAY,
            format!("the API answered {status}: {text}"),
        )
            .into_response(),
    }
}
