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

/// The message shown next to the field `id` (`f-customProvider-url`, ...).
fn error_of(page: &crate::harness::Page, id: &str) -> Option<String> {
    page.body
        .split(&format!(r#"<p class="error" id="{id}-error">"#))
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .map(str::to_owned)
}

#[tokio::test]
async fn my_own_provider_is_chosen_and_its_new_secret_shown_once() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let form = b.get("/dashboard/accounts/acme/sms/edit").await;
    assert!(
        form.body
            .contains(r#"<option value="custom">My own provider</option>"#)
    );
    assert!(
        form.body
            .contains(r#"<label for="f-customProvider-url">Provider URL</label>"#)
    );
    let saved = b
        .submit(
            "/dashboard/accounts/acme/sms",
            &[
                ("senderName", "Acme"),
                ("primaryProvider", "custom"),
                ("secondaryProvider", "twilio"),
                ("customProvider.url", "https://sms.acme.example/herald"),
                ("customProvider.signingSecret", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.shows("SMS settings saved"));
    assert!(saved.shows("Copy this secret now: it will not be shown again."));
    let secret = saved
        .body
        .split(r#"<code id="signing-secret">"#)
        .nth(1)
        .and_then(|s| s.split("</code>").next())
        .expect("the secret, shown")
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");

    let page = b.get("/dashboard/accounts/acme/sms").await;
    assert!(page.shows("My own provider") && page.shows("https://sms.acme.example/herald"));
    assert!(page.shows("Set") && !page.body.contains(&secret));
    let edit = b.get("/dashboard/accounts/acme/sms/edit").await;
    assert!(edit.shows("Leave empty to keep the stored signing secret."));
    assert!(!edit.body.contains(&secret));

    // Saved again without a secret: the stored one is kept, and not shown.
    let again = b
        .submit(
            "/dashboard/accounts/acme/sms",
            &[
                ("senderName", "Acme"),
                ("primaryProvider", "twilio"),
                ("secondaryProvider", "custom"),
                ("customProvider.url", "https://sms.acme.example/herald"),
                ("customProvider.signingSecret", ""),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(
        again.location(),
        Some("/dashboard/accounts/acme/sms?saved=1")
    );
}

#[tokio::test]
async fn my_own_providers_errors_are_shown_next_to_their_fields() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    b.get("/dashboard/accounts/acme/sms/edit").await;
    let refused = b
        .submit(
            "/dashboard/accounts/acme/sms",
            &[
                ("senderName", "Acme"),
                ("primaryProvider", "custom"),
                (
                    "customProvider.url",
                    "https://169.254.169.254/latest/meta-data/",
                ),
                ("customProvider.signingSecret", "not-a-whsec"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let url = error_of(&refused, "f-customProvider-url").expect("an error by the URL");
    assert!(url.contains("link-local"), "{url}");
    let secret =
        error_of(&refused, "f-customProvider-signingSecret").expect("an error by the secret");
    assert!(secret.contains("whsec_"), "{secret}");
    assert!(
        refused.shows("https://169.254.169.254/latest/meta-data/"),
        "what was typed is kept"
    );
    assert!(
        !refused.body.contains("not-a-whsec"),
        "a secret is never shown"
    );
    assert!(refused.shows("Type the new signing secret again"));

    let missing = b
        .submit(
            "/dashboard/accounts/acme/sms",
            &[
                ("senderName", "Acme"),
                ("primaryProvider", "custom"),
                ("customProvider.url", ""),
            ],
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(
        error_of(&missing, "f-customProvider-url").is_some(),
        "{}",
        missing.body
    );
    assert!(
        b.get("/dashboard/accounts/acme/sms").await.shows("Herald"),
        "nothing saved"
    );
}
