//! `customProvider` in `/accounts/{accountId}/sms-settings` and `.../email-settings`: the
//! account's own provider, its URL held to the address policy, its signing secret write-only
//! (made by Herald and shown once, or given, and sealed at rest).

use herald::common::seal::SecretSealer;
use herald::common::secret::SealedSecret;
use herald::events::webhook::WebhookSecret;
use herald::messaging::custom::CustomProvider;
use herald::messaging::settings::Settings;
use serde_json::{Value, json};

use crate::harness::{Herald, Setup, acme, get, put};

const SMS: &str = "/accounts/acme/sms-settings";
const EMAIL: &str = "/accounts/acme/email-settings";
const GIVEN: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn own(url: &str) -> Value {
    json!({"url": url})
}

fn sms_with(custom: Value) -> Value {
    json!({"senderName": "Acme", "primaryProvider": "custom", "secondaryProvider": "twilio",
           "customProvider": custom})
}

fn email_with(custom: Value) -> Value {
    json!({"fromAddressPrefix": "hello", "senderName": "Acme Support", "smtp": null,
           "customProvider": custom})
}

async fn stored_sms(h: &Herald) -> Option<CustomProvider> {
    Settings::new(h.settings.clone())
        .sms(&acme())
        .await
        .expect("read")
        .settings
        .and_then(|s| s.custom_provider().cloned())
}

async fn stored_email(h: &Herald) -> Option<CustomProvider> {
    Settings::new(h.settings.clone())
        .email(&acme())
        .await
        .expect("read")
        .settings
        .and_then(|s| s.custom_provider().cloned())
}

async fn opened(h: &Herald, sealed: &SealedSecret) -> String {
    h.sealer
        .open(&acme(), sealed)
        .await
        .expect("opens")
        .expose()
        .to_owned()
}

#[tokio::test]
async fn herald_makes_the_signing_secret_shows_it_once_and_keeps_it_sealed() {
    let h = Herald::new().await;
    let saved = h
        .call(put(SMS).json(sms_with(own("https://sms.acme.example/herald"))))
        .await;
    let body = saved.ok(200);
    let secret = body["customProvider"]["signingSecret"]
        .as_str()
        .expect("shown once")
        .to_owned();
    assert!(WebhookSecret::parse(&secret).is_ok(), "{secret}");
    assert_eq!(body["primaryProvider"], "custom");
    assert_eq!(
        body["customProvider"]["url"],
        "https://sms.acme.example/herald"
    );

    // Sealed at rest, and never shown again.
    let stored = stored_sms(&h).await.expect("stored");
    assert!(
        !String::from(stored.signing_secret.clone()).contains(&secret[6..]),
        "sealed, not stored in the clear"
    );
    assert_eq!(opened(&h, &stored.signing_secret).await, secret);
    let read = h.call(get(SMS)).await.ok(200);
    assert_eq!(
        read,
        json!({"senderName": "Acme", "primaryProvider": "custom", "secondaryProvider": "twilio",
               "customProvider": {"url": "https://sms.acme.example/herald",
                                  "signingSecret": "********"}})
    );

    // A later write that leaves it out, or sends the placeholder back, keeps it: not shown.
    for custom in [
        own("https://sms2.acme.example/herald"),
        json!({"url": "https://sms2.acme.example/herald", "signingSecret": "********"}),
    ] {
        let again = h.call(put(SMS).json(sms_with(custom))).await.ok(200);
        assert_eq!(again["customProvider"]["signingSecret"], "********");
        let kept = stored_sms(&h).await.expect("stored");
        assert_eq!(opened(&h, &kept.signing_secret).await, secret);
        assert_eq!(kept.url.as_str(), "https://sms2.acme.example/herald");
    }

    // One the account gives replaces it, and is not echoed.
    let given = h
        .call(put(SMS).json(sms_with(
            json!({"url": "https://sms.acme.example/herald", "signingSecret": GIVEN}),
        )))
        .await;
    assert!(!String::from_utf8_lossy(&given.body).contains(GIVEN));
    assert_eq!(given.ok(200)["customProvider"]["signingSecret"], "********");
    let replaced = stored_sms(&h).await.expect("stored");
    assert_eq!(opened(&h, &replaced.signing_secret).await, GIVEN);

    // Back to the platform's providers: the custom provider goes with it.
    let platform = h
        .call(put(SMS).json(json!({"senderName": "Acme", "primaryProvider": "twilio"})))
        .await
        .ok(200);
    assert!(platform.get("customProvider").is_none(), "{platform}");
    assert!(stored_sms(&h).await.is_none());
}

#[tokio::test]
async fn the_custom_provider_is_named_exactly_when_it_is_chosen() {
    let h = Herald::new().await;
    let missing = h
        .call(
            put(SMS).json(json!({"senderName": "Acme", "primaryProvider": "twilio",
                                   "secondaryProvider": "custom"})),
        )
        .await;
    assert_eq!(missing.invalid_fields(), ["customProvider"]);
    assert!(missing.message_for("customProvider").contains("required"));

    let unused = h
        .call(
            put(SMS).json(json!({"senderName": "Acme", "primaryProvider": "twilio",
                                   "customProvider": own("https://sms.acme.example/")})),
        )
        .await;
    assert_eq!(unused.invalid_fields(), ["customProvider"]);

    let twice = h
        .call(
            put(SMS).json(json!({"senderName": "Acme", "primaryProvider": "custom",
                                   "secondaryProvider": "custom",
                                   "customProvider": own("https://sms.acme.example/")})),
        )
        .await;
    assert_eq!(twice.invalid_fields(), ["secondaryProvider"]);

    // The operator offers only Amazon SNS; every account may still use its own provider.
    let h = Herald::start(Setup::with_env(&[("HERALD_SMS_PROVIDERS", "sns")])).await;
    let alone = h
        .call(put(SMS).json(
            json!({"senderName": "Acme. Co", "primaryProvider": "custom",
                                   "customProvider": own("https://sms.acme.example/")}),
        ))
        .await;
    assert_eq!(alone.ok(200)["secondaryProvider"], Value::Null);
}

#[tokio::test]
async fn every_bad_field_of_the_custom_provider_is_named() {
    let h = Herald::new().await;
    let bad = h
        .call(put(SMS).json(sms_with(json!({
            "url": "ftp://sms.acme.example/",
            "signingSecret": "hunter2",
            "method": "PUT",
        }))))
        .await;
    assert_eq!(
        bad.invalid_fields(),
        [
            "customProvider.url",
            "customProvider.signingSecret",
            "customProvider.method"
        ]
    );
    assert!(
        bad.message_for("customProvider.signingSecret")
            .contains("whsec_")
    );
    // The secret that was refused is not echoed either.
    assert!(!String::from_utf8_lossy(&bad.body).contains("hunter2"));

    let empty = h.call(put(SMS).json(sms_with(json!({})))).await;
    assert_eq!(empty.invalid_fields(), ["customProvider.url"]);
    let not_an_object = h
        .call(put(SMS).json(sms_with(json!("https://x.example/"))))
        .await;
    assert_eq!(not_an_object.invalid_fields(), ["customProvider"]);
    assert!(stored_sms(&h).await.is_none(), "nothing saved");
}

#[tokio::test]
async fn the_url_passes_the_address_policy_in_both_settings() {
    let h = Herald::new().await;
    for url in [
        "http://sms.acme.example/herald",
        "https://127.0.0.1:8443/herald",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/herald",
        "https://localhost/herald",
        "https://10.0.0.5/herald",
        "https://printer.local/herald",
        "https://user:pass@sms.acme.example/",
    ] {
        let sms = h.call(put(SMS).json(sms_with(own(url)))).await;
        assert_eq!(sms.invalid_fields(), ["customProvider.url"], "{url}");
        let email = h.call(put(EMAIL).json(email_with(own(url)))).await;
        assert_eq!(email.invalid_fields(), ["customProvider.url"], "{url}");
    }
    let why = h
        .call(put(SMS).json(sms_with(own("https://169.254.169.254/"))))
        .await
        .message_for("customProvider.url");
    assert!(why.contains("link-local"), "{why}");

    // Where the operator allows loopback over http (a local stack), it is taken.
    let local = Herald::start(Setup::with_env(&[
        ("HERALD_DESTINATION_ALLOW_HTTP", "true"),
        ("HERALD_DESTINATION_ALLOWED_NETWORKS", "127.0.0.0/8"),
    ]))
    .await;
    local
        .call(put(SMS).json(sms_with(own("http://127.0.0.1:8080/sms"))))
        .await
        .ok(200);
}

#[tokio::test]
async fn email_goes_through_smtp_or_the_custom_provider_never_both() {
    let h = Herald::new().await;
    let saved = h
        .call(put(EMAIL).json(email_with(own("https://mail.acme.example/herald"))))
        .await
        .ok(200);
    let secret = saved["customProvider"]["signingSecret"]
        .as_str()
        .expect("shown once")
        .to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(saved["smtp"], Value::Null);
    assert_eq!(
        saved["defaultSender"],
        "Acme Support <hello@mail.herald.example.net>"
    );
    let read = h.call(get(EMAIL)).await.ok(200);
    assert_eq!(read["customProvider"]["signingSecret"], "********");
    assert_eq!(
        opened(&h, &stored_email(&h).await.expect("stored").signing_secret).await,
        secret
    );

    let both = h
        .call(put(EMAIL).json(json!({
            "fromAddressPrefix": "hello", "senderName": "Acme Support",
            "smtp": {"host": "smtp.acme-mail.com", "senderAddress": "support@acme-mail.com"},
            "customProvider": own("https://mail.acme.example/herald"),
        })))
        .await;
    assert_eq!(both.invalid_fields(), ["customProvider"]);

    // Switching to SMTP drops the custom provider; switching back makes a new secret.
    h.call(put(EMAIL).json(json!({
        "fromAddressPrefix": "hello", "senderName": "Acme Support",
        "smtp": {"host": "smtp.acme-mail.com", "senderAddress": "support@acme-mail.com"},
    })))
    .await
    .ok(200);
    assert!(stored_email(&h).await.is_none());
    let back = h
        .call(put(EMAIL).json(email_with(own("https://mail.acme.example/herald"))))
        .await
        .ok(200);
    let fresh = back["customProvider"]["signingSecret"]
        .as_str()
        .expect("shown once");
    assert!(fresh.starts_with("whsec_") && fresh != secret);
}
