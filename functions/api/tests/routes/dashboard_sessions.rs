//! `POST /accounts/{accountId}/dashboard-sessions`: one-time sign-in links for the dashboard.

use herald::dashboard::{LINK_LIFETIME, Sessions};
use serde_json::json;

use crate::harness::{Caller, Herald, PUBLIC_API_URL, Setup, post};

const URL: &str = "/accounts/acme/dashboard-sessions";

#[tokio::test]
async fn an_internal_caller_gets_a_link_that_opens_one_session() {
    let h = Herald::new().await;
    let answer = h
        .call(
            post(URL)
                .header("host", "herald.example.net")
                .header("x-forwarded-proto", "https")
                .json(json!({"role": "viewer", "organization": "Acme Group", "user": "bob@acme.test"})),
        )
        .await;
    let body = answer.ok(201);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let url = body["url"].as_str().expect("a url");
    let token = url
        .strip_prefix("https://herald.example.net/dashboard/sign-in?token=")
        .unwrap_or_else(|| panic!("{url}"));
    assert_eq!(body["role"], "viewer");
    assert_eq!(body["accounts"], json!(["acme"]));
    assert_eq!(
        body["expiresAt"],
        herald::common::clock::rfc3339(h.now() + LINK_LIFETIME)
    );
    let sessions = Sessions::new(h.sessions.clone());
    let (_, session) = sessions.sign_in(token, h.now()).await.expect("opens");
    assert_eq!(session.grant.organization(), Some("Acme Group"));
    assert!(sessions.sign_in(token, h.now()).await.is_err(), "once only");
}

#[tokio::test]
async fn the_link_is_on_the_public_url_where_one_is_set() {
    let h = Herald::start(Setup::with_env(&[(
        "HERALD_PUBLIC_API_URL",
        PUBLIC_API_URL,
    )]))
    .await;
    let body = h
        .call(post(URL).json(json!({"role": "admin"})))
        .await
        .ok(201);
    assert!(
        body["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&format!("{PUBLIC_API_URL}/dashboard/sign-in?token="))),
        "{body}"
    );
}

#[tokio::test]
async fn more_accounts_must_be_reachable_by_the_caller() {
    let h = Herald::new().await;
    let ok = h
        .call(
            post(URL)
                .by(Caller::internal("acme acme-eu"))
                .header("host", "h")
                .json(json!({"role": "admin", "accounts": ["acme-eu", "acme"]})),
        )
        .await
        .ok(201);
    assert_eq!(ok["accounts"], json!(["acme", "acme-eu"]));
    let refused = h
        .call(
            post(URL)
                .by(Caller::internal("acme"))
                .header("host", "h")
                .json(json!({"role": "admin", "accounts": ["globex"]})),
        )
        .await;
    assert_eq!(refused.invalid_fields(), ["accounts"]);
}

#[tokio::test]
async fn every_bad_field_is_named() {
    let h = Herald::new().await;
    let answer = h
        .call(post(URL).header("host", "h").json(json!({
            "role": "owner",
            "accounts": "acme-eu",
            "organization": "",
            "user": "a\u{7}b",
            "extra": true,
        })))
        .await;
    let mut fields = answer.invalid_fields();
    fields.sort();
    assert_eq!(
        fields,
        ["accounts", "extra", "organization", "role", "user"],
        "{answer:?}"
    );
    assert!(answer.message_for("role").contains("admin or viewer"));
    let missing = h.call(post(URL).header("host", "h").json(json!({}))).await;
    assert_eq!(missing.invalid_fields(), ["role"]);
}

#[tokio::test]
async fn only_internal_callers_and_only_their_accounts() {
    let h = Herald::new().await;
    let admin = h
        .call(
            post(URL)
                .by(Caller::admin("acme"))
                .json(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(admin.status, 403, "{admin:?}");
    let other = h
        .call(post("/accounts/globex/dashboard-sessions").json(json!({"role": "admin"})))
        .await;
    assert_eq!(other.status, 404, "{other:?}");
    assert_eq!(h.sessions.open_sessions(), 0);
}
