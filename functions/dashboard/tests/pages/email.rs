//! The Email page's first tab: the settings shown, the edit form's rules (each message next to
//! its field), write-only secrets, and reset.

use axum::http::StatusCode;
use herald::common::account::AccountId;
use herald::dashboard::Role;
use herald::messaging::email::SmtpAuth;

use crate::harness::{Dashboard, Page};

const PAGE: &str = "/dashboard/accounts/acme/email";
const EDIT: &str = "/dashboard/accounts/acme/email/edit";

/// The message shown next to the field `id` (`f-smtp-host`, ...).
fn error_of(page: &Page, id: &str) -> Option<String> {
    page.body
        .split(&format!(r#"<p class="error" id="{id}-error">"#))
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .map(str::to_owned)
}

/// A form with our own SMTP server and basic auth, `changes` applied over it.
fn smtp_form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("fromAddressPrefix", "hello"),
        ("senderName", "Acme Signing"),
        ("smtp", "on"),
        ("smtp.port", "587"),
        ("smtp.host", "smtp.acme-mail.com"),
        ("smtp.senderAddress", "hello@acme-mail.com"),
        ("smtp.auth.type", "basic"),
        ("smtp.auth.username", "acme"),
        ("smtp.auth.password", "s3cret-pa55"),
        ("smtp.auth.clientId", ""),
        ("smtp.auth.clientSecret", ""),
        ("smtp.auth.scopes", ""),
        ("smtp.auth.tokenEndpoint", ""),
    ];
    for (k, v) in changes {
        match form.iter_mut().find(|(name, _)| name == k) {
            Some(field) => field.1 = v,
            None => form.push((k, v)),
        }
    }
    form
}

/// The stored password, opened.
async fn stored_password(d: &Dashboard) -> Option<String> {
    let account = AccountId::parse("acme").expect("valid");
    let stored = d.state.app.settings.email(&account).await.expect("read");
    let sealed = match &stored.settings?.smtp()?.auth {
        SmtpAuth::Basic { password, .. } => password.clone(),
        _ => return None,
    };
    let secret = d
        .state
        .app
        .sealer
        .open(&account, &sealed)
        .await
        .expect("opens");
    Some(secret.expose().to_owned())
}

#[tokio::test]
async fn the_defaults_are_shown_under_the_settings_tab() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let page = b.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(
            r#"<a href="/dashboard/accounts/acme/email" aria-current="page">Email settings</a>"#
        ),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"<a href="/dashboard/accounts/acme/email/domains">My domains</a>"#)
    );
    assert!(page.shows("Herald <noreply@mail.herald.example.net>"));
    assert!(
        page.body
            .contains("<dt>Use my own SMTP server</dt><dd>Off</dd>")
    );
    assert!(
        page.body
            .contains(r#"<a class="button" href="/dashboard/accounts/acme/email/edit">Edit</a>"#)
    );
    assert!(
        page.body
            .contains(r#"data-dialog="reset-dialog">Reset to defaults</a>"#)
    );
}

#[tokio::test]
async fn every_smtp_field_is_in_the_form_even_without_javascript() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let form = b.get(EDIT).await;
    assert_eq!(form.status, StatusCode::OK);
    // Shown by default: the script hides what does not apply.
    assert!(
        form.body
            .contains(r#"<fieldset id="smtp-fields" data-shown-when="smtp=on">"#),
        "{}",
        form.body
    );
    for id in [
        "f-smtp",
        "f-smtp-port",
        "f-smtp-host",
        "f-smtp-senderAddress",
        "f-smtp-senderLocked",
        "f-smtp-auth-type-none",
        "f-smtp-auth-type-basic",
        "f-smtp-auth-type-xoauth2",
        "f-smtp-auth-username",
        "f-smtp-auth-password",
        "f-smtp-auth-clientId",
        "f-smtp-auth-clientSecret",
        "f-smtp-auth-scopes",
        "f-smtp-auth-tokenEndpoint",
        "f-smtp-disableCertificateValidation",
    ] {
        assert!(
            form.body.contains(&format!(r#"<label for="{id}">"#)),
            "{id} labelled"
        );
    }
    assert!(
        form.body
            .contains(r#"<div class="group" data-shown-when="smtp.auth.type=basic">"#)
    );
    assert!(form.body.contains(r#"<option value="465">465</option>"#));
    assert!(form.body.contains(
        r#"<input id="f-smtp-auth-type-none" type="radio" name="smtp.auth.type" value="none" checked>"#
    ));
}

#[tokio::test]
async fn saving_our_own_smtp_server_shows_it_and_the_password_only_as_set() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    b.get(EDIT).await;
    let saved = b.submit(PAGE, &smtp_form(&[])).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        saved.location(),
        Some("/dashboard/accounts/acme/email?saved=1")
    );

    let page = b.get("/dashboard/accounts/acme/email?saved=1").await;
    assert!(page.shows("Email settings saved."));
    assert!(page.shows("Acme Signing <hello@acme-mail.com>"));
    assert!(
        page.body
            .contains("<dt>Host</dt><dd>smtp.acme-mail.com</dd>")
    );
    assert!(page.body.contains("<dt>Port</dt><dd>587</dd>"));
    assert!(
        page.body
            .contains("<dt>Authentication</dt><dd>Username and password</dd>")
    );
    assert!(page.body.contains("<dt>Password</dt><dd>Set</dd>"));
    assert!(!page.body.contains("s3cret-pa55") && !page.body.contains("********"));

    let form = b.get(EDIT).await;
    assert!(!form.body.contains("s3cret-pa55") && !form.body.contains("********"));
    assert!(form.body.contains(
        r#"<input id="f-smtp-auth-password" name="smtp.auth.password" type="password" value="""#
    ));
    assert!(form.shows("Leave empty to keep the stored password"));
    assert!(
        form.body
            .contains(r#"<option value="587" selected>587</option>"#)
    );
    assert_eq!(stored_password(&d).await.as_deref(), Some("s3cret-pa55"));
}

#[tokio::test]
async fn a_password_left_empty_keeps_the_stored_one_and_a_new_one_replaces_it() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    b.get(EDIT).await;
    b.submit(PAGE, &smtp_form(&[])).await;

    b.get(EDIT).await;
    let kept = b
        .submit(
            PAGE,
            &smtp_form(&[
                ("smtp.auth.password", ""),
                ("smtp.host", "mx.acme-mail.com"),
            ]),
        )
        .await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.body);
    assert_eq!(stored_password(&d).await.as_deref(), Some("s3cret-pa55"));
    assert!(b.get(PAGE).await.shows("mx.acme-mail.com"));

    b.get(EDIT).await;
    let replaced = b
        .submit(PAGE, &smtp_form(&[("smtp.auth.password", "n3w pass ")]))
        .await;
    assert_eq!(replaced.status, StatusCode::SEE_OTHER);
    assert_eq!(
        stored_password(&d).await.as_deref(),
        Some("n3w pass "),
        "a secret is taken as typed, spaces included"
    );
}

#[tokio::test]
async fn each_error_is_shown_next_to_its_field_and_nothing_is_saved() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    b.get(EDIT).await;
    let refused = b
        .submit(
            PAGE,
            &smtp_form(&[
                ("fromAddressPrefix", "hello there"),
                ("smtp.host", "10.0.0.5"),
                ("smtp.port", "2525"),
                ("smtp.senderAddress", "not an address"),
                ("smtp.auth.username", ""),
            ]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    for id in [
        "f-fromAddressPrefix",
        "f-smtp-host",
        "f-smtp-port",
        "f-smtp-senderAddress",
        "f-smtp-auth-username",
    ] {
        assert!(error_of(&refused, id).is_some(), "{id}: {}", refused.body);
    }
    assert!(
        error_of(&refused, "f-smtp-host")
            .expect("host")
            .contains("must not point at"),
    );
    assert_eq!(
        error_of(&refused, "f-smtp-port").as_deref(),
        Some("must be 25, 587 or 465")
    );
    // What was typed stays, except the password.
    assert!(refused.body.contains(r#"value="10.0.0.5""#));
    assert!(refused.body.contains(r#"value="not an address""#));
    assert!(!refused.body.contains("s3cret-pa55"));
    assert!(refused.shows("Type the new password again"));
    // Nothing saved.
    assert!(
        b.get(PAGE)
            .await
            .body
            .contains("<dt>Use my own SMTP server</dt><dd>Off</dd>")
    );
    assert_eq!(stored_password(&d).await, None);
}

#[tokio::test]
async fn a_password_is_required_when_none_is_stored() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    b.get(EDIT).await;
    let refused = b
        .submit(PAGE, &smtp_form(&[("smtp.auth.password", "")]))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error_of(&refused, "f-smtp-auth-password").as_deref(),
        Some("must not be empty")
    );
    assert!(refused.shows("No password is stored yet."));

    // A stored password is not a client secret: switching to XOAuth2 needs one.
    b.submit(PAGE, &smtp_form(&[])).await;
    b.get(EDIT).await;
    let switched = b
        .submit(
            PAGE,
            &smtp_form(&[
                ("smtp.auth.type", "xoauth2"),
                ("smtp.auth.password", ""),
                ("smtp.auth.clientId", "acme-app"),
                ("smtp.auth.scopes", "https://outlook.office.com/SMTP.Send"),
                (
                    "smtp.auth.tokenEndpoint",
                    "https://login.microsoftonline.com/acme/oauth2/v2.0/token",
                ),
            ]),
        )
        .await;
    assert_eq!(switched.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        error_of(&switched, "f-smtp-auth-clientSecret").as_deref(),
        Some("must not be empty")
    );
}

#[tokio::test]
async fn xoauth2_fields_are_checked_and_saved() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    b.get(EDIT).await;
    let xoauth2 = |scopes: &'static str, endpoint: &'static str| {
        smtp_form(&[
            ("smtp.auth.type", "xoauth2"),
            ("smtp.auth.password", ""),
            ("smtp.auth.clientId", "acme-app"),
            ("smtp.auth.clientSecret", "client-s3cret"),
            ("smtp.auth.scopes", scopes),
            ("smtp.auth.tokenEndpoint", endpoint),
        ])
    };
    let refused = b
        .submit(PAGE, &xoauth2("", "http://login.example.net/token"))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(error_of(&refused, "f-smtp-auth-scopes").is_some());
    assert!(error_of(&refused, "f-smtp-auth-tokenEndpoint").is_some());
    assert!(!refused.body.contains("client-s3cret"));
    assert!(refused.shows("Type the new client secret again"));
    assert!(refused.body.contains(r#"value="acme-app""#));

    let saved = b
        .submit(
            PAGE,
            &xoauth2(
                "https://outlook.office.com/SMTP.Send offline_access",
                "https://login.microsoftonline.com/acme/oauth2/v2.0/token",
            ),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = b.get(PAGE).await;
    assert!(page.body.contains("<dt>Client secret</dt><dd>Set</dd>"));
    assert!(page.shows("offline_access"));
    assert!(!page.body.contains("client-s3cret"));
    let form = b.get(EDIT).await;
    assert!(
        form.body
            .contains(r#"value="https://outlook.office.com/SMTP.Send offline_access""#)
    );
    assert!(form.shows("Leave empty to keep the stored client secret"));
    assert!(!form.body.contains("client-s3cret"));
}

#[tokio::test]
async fn turning_smtp_off_ignores_its_fields() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    b.get(EDIT).await;
    b.submit(PAGE, &smtp_form(&[])).await;
    let mut off = smtp_form(&[("smtp.host", "not a host!")]);
    off.retain(|(k, _)| *k != "smtp");
    let saved = b.submit(PAGE, &off).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = b.get(PAGE).await;
    assert!(
        page.body
            .contains("<dt>Use my own SMTP server</dt><dd>Off</dd>")
    );
    assert!(page.shows("Acme Signing <hello@mail.herald.example.net>"));
}

#[tokio::test]
async fn reset_asks_first_then_restores_the_defaults() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    b.get(EDIT).await;
    b.submit(PAGE, &smtp_form(&[])).await;
    let confirm = b.get("/dashboard/accounts/acme/email/reset").await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.shows("Reset email settings?"));
    let done = b.submit("/dashboard/accounts/acme/email/reset", &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        done.location(),
        Some("/dashboard/accounts/acme/email?reset=1")
    );
    let page = b.get("/dashboard/accounts/acme/email?reset=1").await;
    assert!(page.shows("Email settings reset to defaults."));
    assert!(page.shows("Herald <noreply@mail.herald.example.net>"));
    assert!(!page.shows("smtp.acme-mail.com"));
    assert_eq!(stored_password(&d).await, None);
}

#[tokio::test]
async fn a_viewer_sees_the_settings_without_any_control() {
    let d = Dashboard::new();
    let mut admin = d.sign_in(Role::Admin, &["acme"]).await;
    admin.get(EDIT).await;
    admin.submit(PAGE, &smtp_form(&[])).await;

    let mut viewer = d.sign_in(Role::Viewer, &["acme"]).await;
    let page = viewer.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.shows("smtp.acme-mail.com"));
    assert!(page.body.contains("<dt>Password</dt><dd>Set</dd>"));
    assert!(!page.body.contains(">Edit</a>"));
    assert!(!page.body.contains("Reset to defaults"));
    assert!(!page.body.contains("reset-dialog"));
    let edit = viewer.get(EDIT).await;
    assert_eq!(edit.status, StatusCode::SEE_OTHER);
    let reset = viewer.get("/dashboard/accounts/acme/email/reset").await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    let refused = viewer
        .submit("/dashboard/accounts/acme/email/reset", &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(stored_password(&d).await.as_deref(), Some("s3cret-pa55"));
}

#[tokio::test]
async fn email_through_my_own_provider_shows_its_new_secret_once() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let form = b.get(EDIT).await;
    assert!(
        form.body
            .contains(r#"<label for="f-customProvider">Use my own provider</label>"#)
    );
    let saved = b
        .submit(
            PAGE,
            &[
                ("fromAddressPrefix", "hello"),
                ("senderName", "Acme Signing"),
                ("customProvider", "on"),
                ("customProvider.url", "https://mail.acme.example/herald"),
                ("customProvider.signingSecret", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.shows("Email settings saved"));
    assert!(saved.shows("Copy this secret now: it will not be shown again."));
    assert!(saved.body.contains(r#"<code id="signing-secret">whsec_"#));

    let page = b.get(PAGE).await;
    assert!(page.shows("https://mail.acme.example/herald"));
    assert!(!page.body.contains("whsec_"));
    // Saved again: the secret is kept, nothing shown.
    let again = b
        .submit(
            PAGE,
            &[
                ("fromAddressPrefix", "hello"),
                ("senderName", "Acme Signing"),
                ("customProvider", "on"),
                ("customProvider.url", "https://mail2.acme.example/herald"),
                ("customProvider.signingSecret", ""),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
}

#[tokio::test]
async fn smtp_and_my_own_provider_together_are_refused_next_to_the_choice() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    b.get(EDIT).await;
    let mut form = smtp_form(&[]);
    form.extend([
        ("customProvider", "on"),
        ("customProvider.url", "http://mail.acme.example/herald"),
        ("customProvider.signingSecret", ""),
    ]);
    let refused = b.submit(PAGE, &form).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let both = error_of(&refused, "f-customProvider").expect("an error by the choice");
    assert!(both.contains("smtp"), "{both}");
    let url = error_of(&refused, "f-customProvider-url").expect("an error by the URL");
    assert!(url.contains("https"), "{url}");
    assert!(refused.shows("http://mail.acme.example/herald"));
    assert!(stored_password(&d).await.is_none(), "nothing saved");
}
