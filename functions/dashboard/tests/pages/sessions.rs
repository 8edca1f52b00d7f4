//! Who gets in, and what each refusal leaves unchanged.

use axum::http::{Method, StatusCode};
use herald::dashboard::{IDLE_TIMEOUT, LINK_LIFETIME, Role};
use time::Duration;

use crate::harness::Dashboard;

#[tokio::test]
async fn a_link_signs_in_once_with_a_host_only_secure_cookie() {
    let d = Dashboard::new();
    let token = d.link(Role::Admin, &["acme"]).await;
    let mut b = d.browser();
    let first = b.get(&format!("/dashboard/sign-in?token={token}")).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(first.location(), Some("/dashboard/accounts/acme"));
    let cookie = first
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a cookie");
    for part in [
        "__Host-herald-session=",
        "Path=/",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
    ] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(!cookie.contains("Domain="), "{cookie}");
    assert_eq!(first.headers["referrer-policy"], "no-referrer");
    let page = b.get("/dashboard/accounts/acme").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.shows("Overview"));

    // The same link again, in another browser: refused, no second session.
    let mut other = d.browser();
    let again = other
        .get(&format!("/dashboard/sign-in?token={token}"))
        .await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.shows("expired or was already used"));
    assert_eq!(d.sessions.open_sessions(), 1);
}

#[tokio::test]
async fn an_expired_link_or_a_forged_one_opens_nothing() {
    let d = Dashboard::new();
    let token = d.link(Role::Admin, &["acme"]).await;
    d.clock.advance(LINK_LIFETIME);
    let mut b = d.browser();
    assert_eq!(
        b.get(&format!("/dashboard/sign-in?token={token}"))
            .await
            .status,
        StatusCode::GONE
    );
    assert_eq!(
        b.get("/dashboard/sign-in?token=not-a-token").await.status,
        StatusCode::GONE
    );
    assert_eq!(b.get("/dashboard/sign-in").await.status, StatusCode::GONE);
    assert_eq!(d.sessions.open_sessions(), 0);
}

#[tokio::test]
async fn without_a_valid_cookie_every_page_is_refused() {
    let d = Dashboard::new();
    let mut b = d.browser();
    assert_eq!(
        b.get("/dashboard/accounts/acme").await.status,
        StatusCode::UNAUTHORIZED
    );
    b.cookie = Some("A".repeat(43));
    let forged = b.get("/dashboard/accounts/acme/sms").await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert!(forged.shows("Open the dashboard again from your platform"));
}

#[tokio::test]
async fn sessions_end_when_idle_and_at_sign_out() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    d.clock.advance(IDLE_TIMEOUT - Duration::minutes(1));
    assert_eq!(
        b.get("/dashboard/accounts/acme").await.status,
        StatusCode::OK
    );
    d.clock.advance(IDLE_TIMEOUT);
    assert_eq!(
        b.get("/dashboard/accounts/acme").await.status,
        StatusCode::UNAUTHORIZED
    );

    let mut b = d.sign_in(Role::Viewer, &["acme"]).await;
    let out = b.submit("/dashboard/sign-out", &[]).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.shows("You are signed out"));
    assert_eq!(
        b.get("/dashboard/accounts/acme").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_change_without_the_csrf_token_is_refused_and_changes_nothing() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let fields = [
        ("senderName", "Acme"),
        ("primaryProvider", "twilio"),
        ("secondaryProvider", ""),
    ];
    let missing = b
        .request(Method::POST, "/dashboard/accounts/acme/sms", &fields)
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let mut forged = vec![("csrf", "forged")];
    forged.extend_from_slice(&fields);
    let wrong = b
        .request(Method::POST, "/dashboard/accounts/acme/sms", &forged)
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let page = b.get("/dashboard/accounts/acme/sms").await;
    assert!(page.shows("Herald"), "still the default sender");
    assert!(!page.shows("Acme<"));
}

#[tokio::test]
async fn a_viewer_sees_no_edit_control_and_is_refused_server_side() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Viewer, &["acme"]).await;
    let page = b.get("/dashboard/accounts/acme/sms").await;
    assert!(page.shows("View only"));
    assert!(!page.shows(">Edit<") && !page.body.contains("/sms/edit"));
    assert!(!page.body.contains("Reset to defaults"));
    let refused = b
        .submit(
            "/dashboard/accounts/acme/sms",
            &[("senderName", "Acme"), ("primaryProvider", "twilio")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let reset = b.submit("/dashboard/accounts/acme/sms/reset", &[]).await;
    assert_eq!(reset.status, StatusCode::FORBIDDEN);
    assert!(b.get("/dashboard/accounts/acme/sms").await.shows("Herald"));
    // The overview's empty lists say what is missing, without offering to add it.
    let overview = b.get("/dashboard/accounts/acme").await;
    assert!(overview.shows("No sending domain yet"));
    assert!(!overview.shows("Add a domain") && !overview.shows("Add a subscription"));
}

#[tokio::test]
async fn another_accounts_pages_are_not_found_and_the_switcher_lists_the_sessions() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme", "acme-eu"]).await;
    let home = b.get("/dashboard/accounts/acme").await;
    assert!(home.shows("Acme Group"));
    assert!(
        home.body
            .contains(r#"<option value="acme-eu">acme-eu</option>"#),
        "{}",
        home.body
    );
    assert_eq!(
        b.get("/dashboard/accounts/acme-eu/sms").await.status,
        StatusCode::OK
    );
    let switched = b.get("/dashboard/switch?account=acme-eu").await;
    assert_eq!(switched.location(), Some("/dashboard/accounts/acme-eu"));
    for other in [
        "/dashboard/accounts/globex",
        "/dashboard/accounts/globex/sms",
        "/dashboard/switch?account=globex",
    ] {
        assert_eq!(b.get(other).await.status, StatusCode::NOT_FOUND, "{other}");
    }
    let write = b
        .submit(
            "/dashboard/accounts/globex/sms",
            &[("senderName", "Evil"), ("primaryProvider", "twilio")],
        )
        .await;
    assert_eq!(write.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pages_forbid_framing_unless_the_operator_allows_it() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let page = b.get("/dashboard/accounts/acme").await;
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("text");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");

    let d = Dashboard::with_env(&[(
        "HERALD_DASHBOARD_FRAME_ANCESTORS",
        "https://app.example.com",
    )]);
    let token = d.link(Role::Admin, &["acme"]).await;
    let mut b = d.browser();
    let first = b.get(&format!("/dashboard/sign-in?token={token}")).await;
    let cookie = first.headers["set-cookie"].to_str().expect("text");
    assert!(
        cookie.contains("SameSite=None") && cookie.contains("Secure"),
        "{cookie}"
    );
    let page = b.get("/dashboard/accounts/acme").await;
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("text");
    assert!(
        csp.contains("frame-ancestors https://app.example.com"),
        "{csp}"
    );
}

#[tokio::test]
async fn assets_are_cached_for_a_year_and_pages_never() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let page = b.get("/dashboard/accounts/acme").await;
    assert_eq!(page.headers["cache-control"], "no-store");
    let htmx = page
        .body
        .split("src=\"")
        .map(|s| s.split('"').next().unwrap_or(""))
        .find(|s| s.contains("/htmx."))
        .expect("htmx linked")
        .to_owned();
    let asset = d.browser().get(&htmx).await;
    assert_eq!(asset.status, StatusCode::OK);
    assert_eq!(
        asset.headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(asset.body.contains("htmx"));
    let licence = d.browser().get("/dashboard/static/htmx-LICENSE.txt").await;
    assert!(licence.body.contains("Zero-Clause BSD"));
}
