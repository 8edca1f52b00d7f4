//! End to end under the local stack: emails go out through SES (moto records them) from the
//! default sender, or through the account's own SMTP server (real aiosmtpd servers on loopback:
//! STARTTLS, implicit TLS, AUTH PLAIN and XOAUTH2 with a token from a local token endpoint).

use std::time::Duration;

use herald::common::account::AccountId;
use herald_tests::api::Api;
use herald_tests::{new_account, stack_var};
use serde_json::{Value, json};

async fn send(api: &Api, account: &AccountId, body: Value) -> String {
    api.send_message(account.as_str(), "email", body).await
}

async fn smtp_settings(api: &Api, account: &AccountId, smtp: Value) {
    let reply = api
        .put(
            &format!("/accounts/{account}/email-settings"),
            json!({"fromAddressPrefix": "hello", "senderName": "Acme Support", "smtp": smtp}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
}

/// What the local SMTP servers accepted with this subject.
fn smtp_received(subject: &str) -> Vec<Value> {
    std::fs::read_to_string(stack_var("HERALD_TEST_SMTP_LOG"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["data"].as_str().is_some_and(|d| d.contains(subject)))
        .collect()
}

/// The local SMTP server on 465 (implicit TLS, self-signed) with XOAUTH2 tokens from the local
/// token endpoint for `client_id`.
fn xoauth2_on_465(client_id: &str) -> Value {
    json!({
        "host": "localhost", "port": 465, "senderAddress": "hello@acme.example",
        "disableCertificateValidation": true,
        "auth": {"type": "xoauth2", "clientId": client_id,
                 "clientSecret": stack_var("HERALD_TEST_OAUTH_SECRET"),
                 "scopes": ["https://outlook.office.com/.default"],
                 "tokenEndpoint": format!("{}/oauth/token", stack_var("HERALD_TEST_FAKES_URL"))}
    })
}

fn subject() -> String {
    format!("Please sign {}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn ses_sends_from_the_default_sender() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let subject = subject();
    let id = send(
        &api,
        &account,
        json!({"to": "signer@example.com", "subject": subject, "text": "Sign here", "from": "evil@elsewhere.example"}),
    )
    .await;
    let record = api.settled(account.as_str(), "email", &id).await;
    assert_eq!(record["status"], "sent", "{record}");
    assert_eq!(record["sentVia"], "ses");

    let data: Value = reqwest::get(format!(
        "{}/moto-api/data.json",
        stack_var("AWS_ENDPOINT_URL")
    ))
    .await
    .expect("moto")
    .json()
    .await
    .expect("JSON");
    let sent: Vec<&Value> = data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["subject"] == subject.as_str())
        .collect();
    assert_eq!(sent.len(), 1, "{:?}", data["ses"]["Message"]);
    // A `from` outside the sending domain is not used.
    assert_eq!(sent[0]["source"], "Herald <noreply@mail.example.com>");
    assert_eq!(
        sent[0]["destinations"]["ToAddresses"],
        json!(["signer@example.com"])
    );
    assert_eq!(sent[0]["body"], "Sign here");
    assert_eq!(record["attempts"][0]["providerMessageId"], sent[0]["id"]);
}

#[tokio::test]
async fn starttls_with_a_password_and_a_locked_sender() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    smtp_settings(
        &api,
        &account,
        json!({
            "host": "127.0.0.1", "port": 587, "senderAddress": "hello@acme.example",
            "senderLocked": true, "disableCertificateValidation": true,
            "auth": {"type": "basic", "username": stack_var("HERALD_TEST_SMTP_USER"),
                     "password": stack_var("HERALD_TEST_SMTP_PASSWORD")}
        }),
    )
    .await;
    let subject = subject();
    let id = send(
        &api,
        &account,
        json!({"to": ["a@example.com", "b@example.com"], "subject": subject, "text": "t", "html": "<p>h</p>", "from": "other@acme.example"}),
    )
    .await;
    let record = api.settled(account.as_str(), "email", &id).await;
    assert_eq!(record["status"], "sent", "{record}");
    assert_eq!(record["sentVia"], "smtp");
    let got = smtp_received(&subject);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["port"], "587");
    assert_eq!(got[0]["tls"], true);
    assert_eq!(
        got[0]["auth"],
        format!("password:{}", stack_var("HERALD_TEST_SMTP_USER"))
    );
    // senderLocked: the request's from is ignored.
    assert_eq!(got[0]["mailFrom"], "hello@acme.example");
    assert_eq!(got[0]["rcptTos"], json!(["a@example.com", "b@example.com"]));
    let data = got[0]["data"].as_str().unwrap_or_default();
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(data.contains("Acme Support"), "{data}");
}

#[tokio::test]
async fn implicit_tls_with_xoauth2_tokens_cached() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let client_id = format!("client-{}", uuid::Uuid::new_v4().simple());
    smtp_settings(&api, &account, xoauth2_on_465(&client_id)).await;
    for _ in 0..2 {
        let subject = subject();
        let id = send(
            &api,
            &account,
            json!({"to": "a@example.com", "subject": subject, "text": "t"}),
        )
        .await;
        let record = api.settled(account.as_str(), "email", &id).await;
        assert_eq!(record["status"], "sent", "{record}");
        let got = smtp_received(&subject);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["port"], "465");
        assert_eq!(got[0]["tls"], true);
        assert_eq!(got[0]["auth"], "xoauth2:hello@acme.example");
    }
    let token_requests = herald_tests::fakes::received(&client_id).await;
    assert_eq!(
        token_requests.len(),
        1,
        "the token is cached: {token_requests:?}"
    );
    assert_eq!(
        token_requests[0]["scope"],
        "https://outlook.office.com/.default"
    );
}

#[tokio::test]
async fn a_self_signed_certificate_is_refused_unless_validation_is_disabled() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    smtp_settings(
        &api,
        &account,
        json!({"host": "localhost", "port": 587, "senderAddress": "hello@acme.example",
               "auth": {"type": "basic", "username": stack_var("HERALD_TEST_SMTP_USER"),
                        "password": stack_var("HERALD_TEST_SMTP_PASSWORD")}}),
    )
    .await;
    let subject = subject();
    let id = send(
        &api,
        &account,
        json!({"to": "a@example.com", "subject": subject, "text": "t"}),
    )
    .await;
    let record = api.settled(account.as_str(), "email", &id).await;
    assert_eq!(record["status"], "failed", "{record}");
    assert_eq!(record["attempts"][0]["outcome"], "permanentFailure");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(smtp_received(&subject).is_empty());
}

#[tokio::test]
async fn port_25_uses_the_requested_sender_when_not_locked() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    smtp_settings(
        &api,
        &account,
        json!({"host": "127.0.0.1", "port": 25, "senderAddress": "hello@acme.example",
               "disableCertificateValidation": true}),
    )
    .await;
    let subject = subject();
    let id = send(
        &api,
        &account,
        json!({"to": "a@example.com", "subject": subject, "text": "t", "from": "billing@acme.example"}),
    )
    .await;
    let record = api.settled(account.as_str(), "email", &id).await;
    assert_eq!(record["status"], "sent", "{record}");
    let got = smtp_received(&subject);
    assert_eq!(got[0]["port"], "25");
    assert_eq!(got[0]["mailFrom"], "billing@acme.example");
    // STARTTLS was offered, so it was used.
    assert_eq!(got[0]["tls"], true);
    assert_eq!(got[0]["auth"], Value::Null);
}

#[tokio::test]
async fn a_token_endpoint_inside_herald_is_refused_when_saved() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    for (host, endpoint) in [
        (
            "smtp.acme.example",
            "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
        ),
        ("smtp.acme.example", "https://10.0.0.5/token"),
        ("10.0.0.5", "https://login.acme.example/token"),
        ("169.254.169.254", "https://login.acme.example/token"),
    ] {
        let reply = api
            .put(
                &format!("/accounts/{account}/email-settings"),
                json!({"fromAddressPrefix": "hello", "senderName": "Acme",
                    "smtp": {"host": host, "port": 465, "senderAddress": "hello@acme.example",
                        "auth": {"type": "xoauth2", "clientId": "c", "clientSecret": "s",
                                 "scopes": ["x"], "tokenEndpoint": endpoint}}}),
            )
            .await;
        assert_eq!(reply.status, 400, "{host} {endpoint}: {}", reply.body);
        let fields: Vec<&str> = reply.body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        let expected = if host.starts_with("smtp.") {
            "smtp.auth.tokenEndpoint"
        } else {
            "smtp.host"
        };
        assert_eq!(fields, [expected], "{}", reply.body);
    }
}

#[tokio::test]
async fn a_huge_token_error_fails_the_email_once_with_a_short_reason() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let client_id = format!("client-{}", uuid::Uuid::new_v4().simple());
    herald_tests::fakes::script("oauth", &client_id, &["huge-error"]).await;
    smtp_settings(&api, &account, xoauth2_on_465(&client_id)).await;
    let id = send(
        &api,
        &account,
        json!({"to": "a@example.com", "subject": subject(), "text": "t"}),
    )
    .await;
    let record = api.settled(account.as_str(), "email", &id).await;
    assert_eq!(record["status"], "failed", "{record}");
    let size = record.to_string().len();
    assert!(
        size < 8 * 1024,
        "the log keeps an excerpt, not the reply: {size} bytes"
    );
    let reason = record["statusHistory"]
        .as_array()
        .and_then(|h| h.last())
        .and_then(|c| c["reason"].as_str())
        .unwrap_or_default()
        .to_owned();
    // The reply was cut at 64 KiB, so its OAuth error could not be read.
    assert!(
        reason.starts_with("token endpoint answered 400"),
        "{reason}"
    );
    assert!(reason.len() < 600, "{reason}");
    // Failed at once (a 400 is permanent): the client secret went out once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(herald_tests::fakes::received(&client_id).await.len(), 1);
}
