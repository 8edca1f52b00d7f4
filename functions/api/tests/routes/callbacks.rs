//! Providers' delivery receipts: `POST /callbacks/twilio/{accountId}/{messageId}` and
//! `GET|POST /callbacks/vonage/{accountId}/{messageId}`, signed by the provider rather than
//! authorized by a token.

use std::sync::atomic::Ordering;

use axum::http::Method;
use herald::messaging::log::{MessageId, MessageLog, MessageRecord};
use herald::messaging::message::{Channel, MessageStatus};
use herald::messaging::receipts::vonage::SignatureMethod;
use herald::messaging::receipts::{twilio, vonage};
use serde_json::{Value, json};

use crate::harness::{
    Caller, Herald, PUBLIC_API_URL, Req, SecretsManagerAnswer, Setup, acme, get, post,
};

const TWILIO_TOKEN: &str = "twilio-auth-token-0123456789abcdef";
const VONAGE_SECRET: &str = "vonage-signature-secret-0123456789";

fn secrets() -> Value {
    json!({"twilioAuthToken": TWILIO_TOKEN, "vonageSignatureSecret": VONAGE_SECRET})
}

async fn with_secrets(secret: Value) -> Herald {
    Herald::start(Setup::with_secrets(SecretsManagerAnswer::Secret(secret))).await
}

/// An SMS the API accepted and `provider` took under `provider_id`, as dispatch leaves it.
async fn sent_sms(h: &Herald, provider: &str, provider_id: &str) -> String {
    let answer = h
        .call(post("/accounts/acme/messages/sms").json(json!({"to": "+4712345678", "text": "Hi"})))
        .await;
    let id = answer.ok(202)["id"].as_str().expect("id").to_owned();
    let mut record = record(h, &id).await;
    record.push_attempt(
        serde_json::from_value(json!({
            "provider": provider, "at": h.now_text(), "durationMs": 80, "outcome": "accepted",
            "providerMessageId": provider_id, "response": {"status": 201},
        }))
        .expect("an attempt"),
    );
    record.sent_via = Some(provider.to_owned());
    record.set_status(MessageStatus::Sent, h.now(), None);
    h.messages.replace(&mut record).await.expect("replaced");
    id
}

async fn record(h: &Herald, id: &str) -> MessageRecord {
    h.messages
        .get(
            &acme(),
            Channel::Sms,
            &MessageId::parse(id).expect("id"),
            h.now(),
        )
        .await
        .expect("read")
        .expect("logged")
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn twilio_delivered(sid: &str) -> Vec<(String, String)> {
    params(&[
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("ApiVersion", "2010-04-01"),
        ("MessageSid", sid),
        ("MessageStatus", "delivered"),
        ("SmsSid", sid),
        ("SmsStatus", "delivered"),
        ("To", "+4712345678"),
    ])
}

/// Twilio's status callback to `path`, signed over `signed_params` (for the public URL).
fn twilio_callback(
    path: &str,
    sent_params: &[(String, String)],
    signed_params: &[(String, String)],
) -> Req {
    let url = format!("{PUBLIC_API_URL}{path}");
    let signature = twilio::signature(TWILIO_TOKEN, &url, signed_params);
    post(path)
        .by(Caller::Nobody)
        .header("x-twilio-signature", &signature)
        .form(sent_params)
}

/// A Vonage delivery receipt about `vonage_id` for Herald's message `id`, signed at Herald's
/// present time, with its `sig`.
fn vonage_receipt(h: &Herald, id: &str, vonage_id: &str, status: &str) -> Vec<(String, String)> {
    let timestamp = h.now().unix_timestamp().to_string();
    let mut receipt = params(&[
        ("api-key", "abcd1234"),
        ("client-ref", id),
        ("err-code", if status == "delivered" { "0" } else { "6" }),
        ("message-timestamp", "2030-01-15 09:30:00"),
        ("messageId", vonage_id),
        ("msisdn", "4712345678"),
        ("nonce", "5b2c6b6e-8d2a-4b8e-9d1a-2f6f0f6f1c11"),
        ("status", status),
        ("timestamp", &timestamp),
        ("to", "Acme"),
    ]);
    sign_vonage(&mut receipt, SignatureMethod::Md5Hash);
    receipt
}

fn sign_vonage(receipt: &mut Vec<(String, String)>, method: SignatureMethod) {
    receipt.retain(|(k, _)| k != "sig");
    let sig = vonage::signature(method, VONAGE_SECRET, receipt);
    receipt.push(("sig".to_owned(), sig));
}

fn query(receipt: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(receipt)
        .finish()
}

fn vonage_path(id: &str) -> String {
    format!("/callbacks/vonage/acme/{id}")
}

#[tokio::test]
async fn a_signed_twilio_callback_moves_the_message_on_once() {
    let h = with_secrets(secrets()).await;
    let id = sent_sms(&h, "twilio", "SM0001").await;
    let path = format!("/callbacks/twilio/acme/{id}");
    let delivered = twilio_delivered("SM0001");

    let answer = h.call(twilio_callback(&path, &delivered, &delivered)).await;
    assert_eq!(answer.status, 204, "{answer:?}");
    assert!(answer.body.is_empty());
    let after = record(&h, &id).await;
    assert_eq!(after.status, MessageStatus::Delivered);
    assert_eq!(after.receipts.len(), 1);
    assert_eq!(receipt(&after, 0)["source"], "twilio");
    assert_eq!(receipt(&after, 0)["receipt"], json!({"type": "delivered"}));
    assert_eq!(receipt(&after, 0)["raw"]["MessageSid"], "SM0001");
    let events = h.events_queue.jobs();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_name().as_str(), "sms.delivered");
    assert_eq!(events[0].event_data()["messageId"], id.as_str());

    // Twilio calls again: recorded, changing nothing, publishing nothing.
    let again = h.call(twilio_callback(&path, &delivered, &delivered)).await;
    assert_eq!(again.status, 204);
    let after = record(&h, &id).await;
    assert_eq!(after.status, MessageStatus::Delivered);
    assert_eq!(after.receipts.len(), 2);
    assert_eq!(receipt(&after, 1)["applied"], false);
    assert_eq!(h.events_queue.jobs().len(), 1);
    // The providers' secrets were read once.
    let reads = h.secrets_reads.as_ref().expect("configured");
    assert_eq!(reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_twilio_callback_that_does_not_verify_is_refused_and_changes_nothing() {
    let h = with_secrets(secrets()).await;
    let id = sent_sms(&h, "twilio", "SM0001").await;
    let path = format!("/callbacks/twilio/acme/{id}");
    let delivered = twilio_delivered("SM0001");
    let mut undelivered = delivered.clone();
    undelivered[3].1 = "undelivered".to_owned();

    let other_message = MessageId::new(h.now());
    let refused = [
        // Signed for "delivered", sent as "undelivered".
        twilio_callback(&path, &undelivered, &delivered),
        // Signed for another message's URL.
        post(&path)
            .by(Caller::Nobody)
            .header(
                "x-twilio-signature",
                &twilio::signature(
                    TWILIO_TOKEN,
                    &format!("{PUBLIC_API_URL}/callbacks/twilio/acme/{other_message}"),
                    &delivered,
                ),
            )
            .form(&delivered),
        // Signed with another token.
        post(&path)
            .by(Caller::Nobody)
            .header(
                "x-twilio-signature",
                &twilio::signature(
                    "another-token",
                    &format!("{PUBLIC_API_URL}{path}"),
                    &delivered,
                ),
            )
            .form(&delivered),
        // Not signed, or not base64.
        post(&path).by(Caller::Nobody).form(&delivered),
        post(&path)
            .by(Caller::Nobody)
            .header("x-twilio-signature", "not base64!")
            .form(&delivered),
    ];
    for request in refused {
        let answer = h.call(request).await;
        assert_eq!(answer.detail(403), "the X-Twilio-Signature does not verify");
    }
    let unchanged = record(&h, &id).await;
    assert_eq!(unchanged.status, MessageStatus::Sent);
    assert!(unchanged.receipts.is_empty());
    assert!(h.events_queue.jobs().is_empty());
}

#[tokio::test]
async fn a_twilio_callback_about_another_provider_message_is_refused() {
    let h = with_secrets(secrets()).await;
    let id = sent_sms(&h, "twilio", "SM0001").await;
    let path = format!("/callbacks/twilio/acme/{id}");
    let other = twilio_delivered("SM9999");
    let answer = h.call(twilio_callback(&path, &other, &other)).await;
    assert_eq!(
        answer.detail(403),
        "the receipt is about another message than the one its URL names"
    );
    assert!(record(&h, &id).await.receipts.is_empty());
}

#[tokio::test]
async fn a_twilio_callback_for_a_message_still_being_sent_asks_to_come_back() {
    let h = with_secrets(secrets()).await;
    let answer = h
        .call(post("/accounts/acme/messages/sms").json(json!({"to": "+4712345678", "text": "Hi"})))
        .await;
    let id = answer.ok(202)["id"].as_str().expect("id").to_owned();
    let path = format!("/callbacks/twilio/acme/{id}");
    let delivered = twilio_delivered("SM0001");
    let later = h.call(twilio_callback(&path, &delivered, &delivered)).await;
    later.problem(503);
    assert_eq!(later.header("retry-after"), Some("1"));
    assert_eq!(record(&h, &id).await.status, MessageStatus::Queued);
}

#[tokio::test]
async fn twilio_callbacks_herald_cannot_place_are_acknowledged_and_dropped() {
    let h = with_secrets(secrets()).await;
    let id = sent_sms(&h, "twilio", "SM0001").await;
    let unknown = MessageId::new(h.now());
    let delivered = twilio_delivered("SM0001");
    let no_status = params(&[("MessageSid", "SM0001")]);
    for (path, body) in [
        // A message Herald does not know.
        (format!("/callbacks/twilio/acme/{unknown}"), &delivered),
        // Ids that are not ids.
        (
            "/callbacks/twilio/acme/not-a-message".to_owned(),
            &delivered,
        ),
        (format!("/callbacks/twilio/a.b/{id}"), &delivered),
        // No status to apply.
        (format!("/callbacks/twilio/acme/{id}"), &no_status),
    ] {
        let answer = h.call(twilio_callback(&path, body, body)).await;
        assert_eq!(answer.status, 204, "{answer:?}");
    }
    let unchanged = record(&h, &id).await;
    assert_eq!(unchanged.status, MessageStatus::Sent);
    assert!(unchanged.receipts.is_empty());
}

#[tokio::test]
async fn a_signed_vonage_receipt_applies_however_it_is_sent() {
    let h = with_secrets(secrets()).await;
    let id = sent_sms(&h, "vonage", "vn-0001").await;
    let path = vonage_path(&id);
    let failed = vonage_receipt(&h, &id, "vn-0001", "failed");

    // As a GET query: applied.
    let by_get = h
        .call(get(format!("{path}?{}", query(&failed))).by(Caller::Nobody))
        .await;
    assert_eq!(by_get.status, 204, "{by_get:?}");
    let after = record(&h, &id).await;
    assert_eq!(after.status, MessageStatus::Failed);
    assert_eq!(after.receipts.len(), 1);
    assert_eq!(
        receipt(&after, 0)["receipt"]["reason"],
        "Vonage reports the message failed (error 6: anti-spam rejection)"
    );
    // The signature is not kept with the receipt.
    assert!(receipt(&after, 0)["raw"].get("sig").is_none());
    assert_eq!(receipt(&after, 0)["raw"]["client-ref"], id.as_str());
    let events = h.events_queue.jobs();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_name().as_str(), "sms.failed");
    assert_eq!(events[0].event_data()["code"], "6");

    // As a form, and as JSON: the same receipt, recorded again.
    let by_form = h.call(post(&path).by(Caller::Nobody).form(&failed)).await;
    assert_eq!(by_form.status, 204, "{by_form:?}");
    let object: serde_json::Map<String, Value> =
        failed.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let by_json = h
        .call(post(&path).by(Caller::Nobody).json(Value::Object(object)))
        .await;
    assert_eq!(by_json.status, 204, "{by_json:?}");
    assert_eq!(record(&h, &id).await.receipts.len(), 3);
    assert_eq!(h.events_queue.jobs().len(), 1);
}

#[tokio::test]
async fn a_vonage_receipt_that_does_not_verify_or_is_stale_is_refused() {
    let h = with_secrets(secrets()).await;
    let id = sent_sms(&h, "vonage", "vn-0001").await;
    let path = vonage_path(&id);
    let delivered = vonage_receipt(&h, &id, "vn-0001", "delivered");

    let mut tampered = delivered.clone();
    if let Some(status) = tampered.iter_mut().find(|(k, _)| k == "status") {
        status.1 = "failed".to_owned();
    }
    let mut unsigned = delivered.clone();
    unsigned.retain(|(k, _)| k != "sig");
    let mut twice = delivered.clone();
    twice.push(("status".to_owned(), "delivered".to_owned()));
    let mut other_method = delivered.clone();
    sign_vonage(&mut other_method, SignatureMethod::Sha256);
    for receipt in [tampered, unsigned, twice, other_method] {
        let answer = h
            .call(get(format!("{path}?{}", query(&receipt))).by(Caller::Nobody))
            .await;
        assert_eq!(
            answer.detail(403),
            "the sig parameter does not verify with the signature secret"
        );
    }

    // Signed, but outside Vonage's day of retries, or ahead of Herald's clock.
    h.clock
        .advance(time::Duration::hours(25) + time::Duration::seconds(1));
    let stale = h
        .call(post(&path).by(Caller::Nobody).form(&delivered))
        .await;
    assert!(stale.detail(403).contains("older than"), "{stale:?}");
    h.clock.advance(-time::Duration::hours(26));
    let ahead = h
        .call(post(&path).by(Caller::Nobody).form(&delivered))
        .await;
    assert!(ahead.detail(403).contains("in the future"), "{ahead:?}");

    let unchanged = record(&h, &id).await;
    assert_eq!(unchanged.status, MessageStatus::Sent);
    assert!(unchanged.receipts.is_empty());
}

#[tokio::test]
async fn a_vonage_receipt_is_checked_with_the_operators_signature_method() {
    let h = Herald::start(Setup {
        env: vec![("HERALD_VONAGE_SIGNATURE_METHOD", "sha256".to_owned())],
        secrets_manager: Some(SecretsManagerAnswer::Secret(secrets())),
    })
    .await;
    let id = sent_sms(&h, "vonage", "vn-0001").await;
    let mut delivered = vonage_receipt(&h, &id, "vn-0001", "delivered");
    let md5 = h
        .call(post(vonage_path(&id)).by(Caller::Nobody).form(&delivered))
        .await;
    md5.problem(403);
    sign_vonage(&mut delivered, SignatureMethod::Sha256);
    let sha256 = h
        .call(post(vonage_path(&id)).by(Caller::Nobody).form(&delivered))
        .await;
    assert_eq!(sha256.status, 204, "{sha256:?}");
    assert_eq!(record(&h, &id).await.status, MessageStatus::Delivered);
}

#[tokio::test]
async fn a_vonage_receipt_in_json_must_be_an_object() {
    let h = with_secrets(secrets()).await;
    let id = sent_sms(&h, "vonage", "vn-0001").await;
    let answer = h
        .call(
            post(vonage_path(&id))
                .by(Caller::Nobody)
                .json(json!(["status", "delivered"])),
        )
        .await;
    let detail = answer.detail(400);
    assert!(
        detail.starts_with("the delivery receipt is not a JSON object"),
        "{detail}"
    );
}

#[tokio::test]
async fn a_vonage_receipt_about_another_message_is_refused() {
    let h = with_secrets(secrets()).await;
    let id = sent_sms(&h, "vonage", "vn-0001").await;
    let other = vonage_receipt(&h, &id, "vn-9999", "delivered");
    let answer = h
        .call(post(vonage_path(&id)).by(Caller::Nobody).form(&other))
        .await;
    answer.problem(403);
    assert!(record(&h, &id).await.receipts.is_empty());
}

#[tokio::test]
async fn without_the_providers_secrets_the_receipt_routes_are_off() {
    let off = Herald::new().await;
    let id = MessageId::new(off.now());
    let delivered = twilio_delivered("SM0001");
    let twilio_path = format!("/callbacks/twilio/acme/{id}");
    off.call(twilio_callback(&twilio_path, &delivered, &delivered))
        .await
        .problem(404);
    let receipt = vonage_receipt(&off, id.as_str(), "vn-1", "delivered");
    off.call(
        post(vonage_path(id.as_str()))
            .by(Caller::Nobody)
            .form(&receipt),
    )
    .await
    .problem(404);

    // A secret with only Vonage's: Twilio's route is off, Vonage's on.
    let vonage_only = with_secrets(json!({"vonageSignatureSecret": VONAGE_SECRET})).await;
    vonage_only
        .call(twilio_callback(&twilio_path, &delivered, &delivered))
        .await
        .problem(404);
    let answer = vonage_only
        .call(
            post(vonage_path(id.as_str()))
                .by(Caller::Nobody)
                .form(&receipt),
        )
        .await;
    assert_eq!(answer.status, 204, "{answer:?}");
    let twilio_only = with_secrets(json!({"twilioAuthToken": TWILIO_TOKEN})).await;
    twilio_only
        .call(
            post(vonage_path(id.as_str()))
                .by(Caller::Nobody)
                .form(&receipt),
        )
        .await
        .problem(404);
}

#[tokio::test]
async fn a_secrets_manager_that_fails_is_a_503_and_a_malformed_secret_a_500() {
    let failing = Herald::start(Setup::with_secrets(SecretsManagerAnswer::Error(
        "ResourceNotFoundException",
    )))
    .await;
    let id = MessageId::new(failing.now());
    let delivered = twilio_delivered("SM0001");
    let path = format!("/callbacks/twilio/acme/{id}");
    let answer = failing
        .call(twilio_callback(&path, &delivered, &delivered))
        .await;
    answer.problem(503);
    assert_eq!(answer.header("retry-after"), Some("1"));
    // A failed read is not kept: the next receipt asks again.
    failing
        .call(twilio_callback(&path, &delivered, &delivered))
        .await
        .problem(503);
    let reads = failing.secrets_reads.as_ref().expect("configured");
    assert_eq!(reads.load(Ordering::SeqCst), 2);

    let malformed = with_secrets(json!({"twilioToken": TWILIO_TOKEN})).await;
    let answer = malformed
        .call(twilio_callback(&path, &delivered, &delivered))
        .await;
    assert_eq!(
        answer.problem(500)["detail"],
        "Herald could not complete the request; try again later."
    );
    assert!(!String::from_utf8_lossy(&answer.body).contains(TWILIO_TOKEN));
}

#[tokio::test]
async fn receipts_need_no_token_and_take_the_claims_of_none() {
    let h = with_secrets(secrets()).await;
    let id = sent_sms(&h, "twilio", "SM0001").await;
    let path = format!("/callbacks/twilio/acme/{id}");
    // A bearer's claims change nothing: the signature decides, whoever the bearer is.
    let delivered = twilio_delivered("SM0001");
    let with_claims = twilio_callback(&path, &delivered, &delivered).by(Caller::admin("globex"));
    assert_eq!(h.call(with_claims).await.status, 204);
    assert_eq!(record(&h, &id).await.status, MessageStatus::Delivered);
}

/// A method a receipt route does not take reaches the function only with a token (API
/// Gateway's greedy route), and is answered as every other error is.
#[tokio::test]
async fn an_unrouted_method_on_a_receipt_route_is_a_problem() {
    let h = with_secrets(secrets()).await;
    let id = MessageId::new(h.now());
    for (request, allow) in [
        (
            Req::new(Method::GET, format!("/callbacks/twilio/acme/{id}")),
            "POST",
        ),
        (
            Req::new(Method::PUT, vonage_path(id.as_str())),
            "GET,HEAD,POST",
        ),
        (
            Req::new(Method::DELETE, vonage_path(id.as_str())),
            "GET,HEAD,POST",
        ),
    ] {
        let answer = h.call(request).await;
        assert_eq!(answer.problem(405)["title"], "Method Not Allowed");
        assert_eq!(answer.header("allow"), Some(allow), "{answer:?}");
    }
}

/// A logged receipt as the API shows it.
fn receipt(record: &MessageRecord, n: usize) -> Value {
    serde_json::to_value(&record.receipts[n]).expect("json")
}
