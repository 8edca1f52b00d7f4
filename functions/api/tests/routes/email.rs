//! `/accounts/{accountId}/email-settings`.

use herald::common::seal::SecretSealer;
use herald::common::secret::SealedSecret;
use herald::messaging::email::{EmailSettings, SmtpAuth};
use herald::messaging::settings::Settings;
use serde_json::{Value, json};

use crate::harness::{Caller, Herald, Setup, acme, delete, get, put};

const URL: &str = "/accounts/acme/email-settings";

fn with_smtp(auth: Value) -> Value {
    json!({
        "fromAddressPrefix": "hello",
        "senderName": "Acme Support",
        "smtp": {
            "host": "smtp.acme-mail.com",
            "port": 587,
            "senderAddress": "support@acme-mail.com",
            "senderLocked": true,
            "auth": auth,
        }
    })
}

fn basic(password: &str) -> Value {
    json!({"type": "basic", "username": "acme", "password": password})
}

/// The settings as stored, secrets sealed.
async fn stored(h: &Herald) -> Option<EmailSettings> {
    Settings::new(h.settings.clone())
        .email(&acme())
        .await
        .expect("read")
        .settings
}

fn sealed_secret(settings: &EmailSettings) -> SealedSecret {
    settings
        .smtp()
        .and_then(|s| s.auth.secret())
        .cloned()
        .expect("a sealed secret")
}

#[tokio::test]
async fn an_account_that_never_saved_gets_the_defaults_and_the_platforms_sender() {
    let h = Herald::new().await;
    let answer = h.call(get(URL)).await;
    assert_eq!(
        answer.ok(200),
        json!({
            "fromAddressPrefix": "noreply",
            "senderName": "Herald",
            "smtp": null,
            "defaultSender": "Herald <noreply@mail.herald.example.net>",
        })
    );
    assert_eq!(answer.header("etag"), Some("\"defaults\""));
}

#[tokio::test]
async fn settings_without_smtp_send_from_the_prefix_at_the_platforms_domain() {
    let h = Herald::new().await;
    let saved = h
        .call(put(URL).json(json!({"fromAddressPrefix": "hello", "senderName": "Acme Support"})))
        .await;
    let tag = saved.header("etag").expect("etag").to_owned();
    assert_eq!(
        saved.ok(200),
        json!({
            "fromAddressPrefix": "hello",
            "senderName": "Acme Support",
            "smtp": null,
            "defaultSender": "Acme Support <hello@mail.herald.example.net>",
        })
    );
    let read = h.call(get(URL)).await;
    assert_eq!(read.header("etag"), Some(tag.as_str()));
    // What GET shows, defaultSender included, is accepted back as it is.
    let again = h
        .call(put(URL).header("if-match", &tag).json(read.ok(200)))
        .await;
    assert_eq!(again.header("etag"), Some(tag.as_str()));
    assert_eq!(again.ok(200)["defaultSender"], read.json()["defaultSender"]);
}

#[tokio::test]
async fn an_smtp_password_is_sealed_and_shown_as_a_placeholder() {
    let h = Herald::new().await;
    let saved = h.call(put(URL).json(with_smtp(basic("s3cret-pw")))).await;
    let body = saved.ok(200);
    assert_eq!(
        body["smtp"],
        json!({
            "host": "smtp.acme-mail.com",
            "port": 587,
            "senderAddress": "support@acme-mail.com",
            "senderLocked": true,
            "auth": {"type": "basic", "username": "acme", "password": "********"},
            "disableCertificateValidation": false,
        })
    );
    // The account's own server's address is who mail comes from.
    assert_eq!(
        body["defaultSender"],
        "Acme Support <support@acme-mail.com>"
    );
    assert!(!String::from_utf8_lossy(&saved.body).contains("s3cret-pw"));

    let read = h.call(get(URL)).await;
    assert_eq!(read.ok(200), body);
    assert!(!String::from_utf8_lossy(&read.body).contains("s3cret-pw"));

    let settings = stored(&h).await.expect("stored");
    let sealed = sealed_secret(&settings);
    assert!(!sealed.as_bytes().windows(9).any(|w| w == b"s3cret-pw"));
    let opened = h.sealer.open(&acme(), &sealed).await.expect("opens");
    assert_eq!(opened.expose(), "s3cret-pw");
}

#[tokio::test]
async fn sending_the_placeholder_back_keeps_the_stored_secret() {
    let h = Herald::new().await;
    h.call(put(URL).json(with_smtp(basic("s3cret-pw"))))
        .await
        .ok(200);
    let before = sealed_secret(&stored(&h).await.expect("stored"));

    let mut changed = with_smtp(basic("********"));
    changed["smtp"]["port"] = json!(465);
    let kept = h.call(put(URL).json(changed)).await;
    assert_eq!(kept.ok(200)["smtp"]["port"], 465);
    let after = stored(&h).await.expect("stored");
    assert_eq!(sealed_secret(&after), before);

    // A new password replaces it.
    h.call(put(URL).json(with_smtp(basic("n3w-pw"))))
        .await
        .ok(200);
    let replaced = sealed_secret(&stored(&h).await.expect("stored"));
    let opened = h.sealer.open(&acme(), &replaced).await.expect("opens");
    assert_eq!(opened.expose(), "n3w-pw");
}

#[tokio::test]
async fn the_placeholder_without_a_stored_secret_of_that_kind_is_refused() {
    let h = Herald::new().await;
    // Nothing stored yet.
    let nothing = h.call(put(URL).json(with_smtp(basic("********")))).await;
    assert_eq!(nothing.invalid_fields(), ["smtp.auth.password"]);
    assert!(
        nothing
            .message_for("smtp.auth.password")
            .contains("no password is stored"),
        "{nothing:?}"
    );
    assert!(stored(&h).await.is_none());

    // A basic password never becomes an OAuth client secret.
    h.call(put(URL).json(with_smtp(basic("s3cret-pw"))))
        .await
        .ok(200);
    let switched = h
        .call(put(URL).json(with_smtp(json!({
            "type": "xoauth2",
            "clientId": "acme-app",
            "clientSecret": "********",
            "scopes": ["https://outlook.office.com/SMTP.Send"],
            "tokenEndpoint": "https://login.microsoftonline.com/acme/oauth2/v2.0/token",
        }))))
        .await;
    assert_eq!(switched.invalid_fields(), ["smtp.auth.clientSecret"]);
    let still = stored(&h).await.expect("stored");
    assert!(matches!(
        still.smtp().map(|s| &s.auth),
        Some(SmtpAuth::Basic { .. })
    ));
}

#[tokio::test]
async fn xoauth2_settings_are_kept_with_their_client_secret_sealed() {
    let h = Herald::new().await;
    let auth = json!({
        "type": "xoauth2",
        "clientId": "acme-app",
        "clientSecret": "cl13nt-s3cret",
        "scopes": ["https://outlook.office.com/SMTP.Send", "offline_access"],
        "tokenEndpoint": "https://login.microsoftonline.com/acme/oauth2/v2.0/token",
    });
    let saved = h.call(put(URL).json(with_smtp(auth.clone()))).await;
    let mut shown = auth;
    shown["clientSecret"] = json!("********");
    assert_eq!(saved.ok(200)["smtp"]["auth"], shown);
    let sealed = sealed_secret(&stored(&h).await.expect("stored"));
    let opened = h.sealer.open(&acme(), &sealed).await.expect("opens");
    assert_eq!(opened.expose(), "cl13nt-s3cret");
}

#[tokio::test]
async fn smtp_defaults_fill_what_is_left_out() {
    let h = Herald::new().await;
    let saved = h
        .call(put(URL).json(json!({
            "fromAddressPrefix": "hello",
            "senderName": "Acme",
            "smtp": {"host": "smtp.acme-mail.com", "senderAddress": "hello@acme-mail.com"},
        })))
        .await;
    assert_eq!(
        saved.ok(200)["smtp"],
        json!({
            "host": "smtp.acme-mail.com",
            "port": 25,
            "senderAddress": "hello@acme-mail.com",
            "senderLocked": false,
            "auth": {"type": "none"},
            "disableCertificateValidation": false,
        })
    );
}

#[tokio::test]
async fn every_invalid_field_is_named_by_its_path() {
    let h = Herald::new().await;
    let answer = h
        .call(put(URL).json(json!({
            "fromAddressPrefix": "a b",
            "senderName": "Acme\r\nBcc: victim@example.com",
            "smtp": {
                "host": "10.0.0.5",
                "port": 2525,
                "senderAddress": "not-an-address",
                "senderLocked": "yes",
                "auth": {"type": "basic"},
                "disableCertificateValidation": 1,
                "tls": true,
            },
            "replyTo": "x@acme-mail.com",
        })))
        .await;
    assert_eq!(
        answer.invalid_fields(),
        [
            "fromAddressPrefix",
            "senderName",
            "smtp.host",
            "smtp.port",
            "smtp.senderAddress",
            "smtp.senderLocked",
            "smtp.auth.username",
            "smtp.auth.password",
            "smtp.disableCertificateValidation",
            "smtp.tls",
            "replyTo",
        ]
    );
    assert!(
        answer
            .message_for("smtp.host")
            .contains("must not point at"),
        "{answer:?}"
    );

    let required = h.call(put(URL).json(json!({"smtp": {}}))).await;
    assert_eq!(
        required.invalid_fields(),
        [
            "fromAddressPrefix",
            "senderName",
            "smtp.host",
            "smtp.senderAddress"
        ]
    );

    let auth = h
        .call(put(URL).json(with_smtp(json!({"type": "kerberos", "password": "x"}))))
        .await;
    assert_eq!(auth.invalid_fields(), ["smtp.auth.type"]);

    let oauth = h
        .call(put(URL).json(with_smtp(json!({
            "type": "xoauth2",
            "clientId": "acme-app",
            "clientSecret": "s",
            "scopes": [],
            "tokenEndpoint": "http://login.acme-mail.com/token",
        }))))
        .await;
    assert_eq!(
        oauth.invalid_fields(),
        ["smtp.auth.scopes", "smtp.auth.tokenEndpoint"]
    );
    assert!(stored(&h).await.is_none());
}

#[tokio::test]
async fn loopback_smtp_hosts_pass_only_where_the_operator_allows_them() {
    let body = json!({
        "fromAddressPrefix": "hello",
        "senderName": "Acme",
        "smtp": {"host": "127.0.0.1", "senderAddress": "hello@acme-mail.com"},
    });
    let strict = Herald::new().await;
    let refused = strict.call(put(URL).json(body.clone())).await;
    assert_eq!(refused.invalid_fields(), ["smtp.host"]);

    let local = Herald::start(Setup::with_env(&[(
        "HERALD_DESTINATION_ALLOWED_NETWORKS",
        "127.0.0.0/8",
    )]))
    .await;
    let accepted = local.call(put(URL).json(body)).await;
    assert_eq!(accepted.ok(200)["smtp"]["host"], "127.0.0.1");
}

#[tokio::test]
async fn a_stale_if_match_fails_before_anything_is_written() {
    let h = Herald::new().await;
    let first = h.call(put(URL).json(with_smtp(basic("s3cret-pw")))).await;
    let first_tag = first.header("etag").expect("etag").to_owned();
    let second = h
        .call(
            put(URL)
                .header("if-match", &first_tag)
                .json(with_smtp(basic("n3w-pw"))),
        )
        .await;
    let second_tag = second.header("etag").expect("etag").to_owned();
    second.ok(200);
    let sealed = sealed_secret(&stored(&h).await.expect("stored"));

    let stale = h
        .call(
            put(URL)
                .header("if-match", &first_tag)
                .json(json!({"fromAddressPrefix": "x", "senderName": "X"})),
        )
        .await;
    stale.problem(412);
    let unchanged = stored(&h).await.expect("stored");
    assert_eq!(sealed_secret(&unchanged), sealed);
    assert_eq!(
        h.call(get(URL)).await.header("etag"),
        Some(second_tag.as_str())
    );

    // Validation comes first: an invalid body is a 400 even when stale.
    let invalid = h
        .call(put(URL).header("if-match", &first_tag).json(json!({})))
        .await;
    invalid.problem(400);

    let stale_reset = h.call(delete(URL).header("if-match", &first_tag)).await;
    stale_reset.problem(412);
    assert!(stored(&h).await.is_some());
}

#[tokio::test]
async fn delete_resets_to_the_defaults() {
    let h = Herald::new().await;
    let saved = h.call(put(URL).json(with_smtp(basic("s3cret-pw")))).await;
    let tag = saved.header("etag").expect("etag").to_owned();
    let reset = h.call(delete(URL).header("if-match", &tag)).await;
    assert_eq!(reset.header("etag"), Some("\"defaults\""));
    assert_eq!(
        reset.ok(200),
        json!({
            "fromAddressPrefix": "noreply",
            "senderName": "Herald",
            "smtp": null,
            "defaultSender": "Herald <noreply@mail.herald.example.net>",
        })
    );
    assert!(stored(&h).await.is_none());
}

#[tokio::test]
async fn other_accounts_are_not_found() {
    let h = Herald::new().await;
    let url = "/accounts/globex/email-settings";
    for answer in [
        h.call(get(url)).await,
        h.call(put(url).json(with_smtp(basic("x")))).await,
        h.call(delete(url)).await,
        h.call(get(url).by(Caller::admin("acme"))).await,
    ] {
        answer.problem(404);
    }
    // The account's administrator sees it.
    h.call(get(url).by(Caller::admin("globex acme")))
        .await
        .ok(200);
}
