//! The SMS page's form: the API's rules, each message next to its field.

use axum::http::StatusCode;
use herald::dashboard::Role;

use crate::harness::Dashboard;

#[tokio::test]
async fn saving_valid_settings_shows_them() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let form = b.get("/dashboard/accounts/acme/sms/edit").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body
            .contains(r#"<label for="f-senderName">Sender name</label>"#)
    );
    let saved = b
        .submit(
            "/dashboard/accounts/acme/sms",
            &[
                ("senderName", "Acme"),
                ("primaryProvider", "twilio"),
                ("secondaryProvider", "vonage"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        saved.location(),
        Some("/dashboard/accounts/acme/sms?saved=1")
    );
    let page = b.get("/dashboard/accounts/acme/sms?saved=1").await;
    assert!(page.shows("SMS settings saved."));
    assert!(page.shows("Acme") && page.shows("Twilio") && page.shows("Vonage"));
}

#[tokio::test]
async fn each_error_is_shown_next_to_its_field_with_what_was_typed() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    b.get("/dashboard/accounts/acme/sms/edit").await;
    let refused = b
        .submit(
            "/dashboard/accounts/acme/sms",
            &[
                ("senderName", "Acme Signing Services"),
                ("primaryProvider", "twilio"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .body
            .contains(r#"<p class="error" id="f-senderName-error">must be 3 to 11"#),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(r#"aria-invalid="true""#));
    assert!(
        refused.shows("Acme Signing Services"),
        "what was typed is kept"
    );

    // A provider's stricter rule names the provider.
    let dotted = b
        .submit(
            "/dashboard/accounts/acme/sms",
            &[("senderName", "Acme.Sign"), ("primaryProvider", "twilio")],
        )
        .await;
    assert_eq!(dotted.status, StatusCode::BAD_REQUEST);
    let error = dotted
        .body
        .split(r#"id="f-senderName-error">"#)
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .expect("an error next to the sender name");
    assert!(error.contains("Twilio"), "{error}");

    // The secondary provider may not be the primary.
    let same = b
        .submit(
            "/dashboard/accounts/acme/sms",
            &[
                ("senderName", "Acme"),
                ("primaryProvider", "twilio"),
                ("secondaryProvider", "twilio"),
            ],
        )
        .await;
    assert_eq!(same.status, StatusCode::BAD_REQUEST);
    assert!(
        same.body.contains(r#"id="f-secondaryProvider-error""#),
        "{}",
        same.body
    );
    assert!(
        b.get("/dashboard/accounts/acme/sms").await.shows("Herald"),
        "nothing saved"
    );
}

#[tokio::test]
async fn reset_asks_first_then_restores_the_defaults() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    b.get("/dashboard/accounts/acme/sms/edit").await;
    b.submit(
        "/dashboard/accounts/acme/sms",
        &[("senderName", "Acme"), ("primaryProvider", "vonage")],
    )
    .await;
    let confirm = b.get("/dashboard/accounts/acme/sms/reset").await;
    assert!(confirm.shows("Reset SMS settings?"));
    let done = b.submit("/dashboard/accounts/acme/sms/reset", &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let page = b.get("/dashboard/accounts/acme/sms").await;
    assert!(page.shows("Herald") && !page.shows(">Acme<"));
}
