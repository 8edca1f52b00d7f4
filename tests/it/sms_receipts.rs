//! End to end under the local stack: an SMS sent through Twilio or Vonage asks for delivery
//! receipts to Herald's API; receipts signed by the provider's own helper library (Twilio's
//! `RequestValidator`, Vonage's `vonage-http-client`, from PyPI) move the log forward and
//! reach subscribers; a tampered one is refused with 403 and changes nothing; one for an
//! unknown message is answered 2xx so that the provider stops retrying. Amazon SNS's delivery
//! status log lines, as a CloudWatch Logs subscription hands them to `delivery-status`, find
//! their message by SNS's message id.

use std::time::Duration;

use herald_tests::api::Api;
use herald_tests::receiver::Receiver;
use herald_tests::verify::{twilio_signature, vonage_signature};
use herald_tests::{fakes, invoke, new_account, stack_var};
use serde_json::json;

/// The Twilio auth token the local stack put in Secrets Manager.
async fn twilio_token() -> String {
    herald_tests::provider_secrets()
        .await
        .twilio_auth_token
        .expect("the local stack sets Twilio's auth token")
        .expose()
        .to_owned()
}

/// Vonage's API key, signature secret and method, as the local stack configured them.
async fn vonage_signing() -> (String, String, String) {
    let secret = herald_tests::provider_secrets()
        .await
        .vonage_signature_secret
        .expect("the local stack sets Vonage's signature secret")
        .expose()
        .to_owned();
    (
        stack_var("HERALD_VONAGE_API_KEY"),
        secret,
        stack_var("HERALD_VONAGE_SIGNATURE_METHOD"),
    )
}

/// A receipt's parameters with its `sig`.
fn with_sig(params: &[(&str, &str)], sig: &str) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    all.push(("sig".into(), sig.to_owned()));
    all
}

async fn callback(url: &str, params: &[(&str, &str)], signature: &str) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header("x-twilio-signature", signature)
        .form(params)
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

#[tokio::test]
async fn twilio_status_callbacks_are_verified_and_applied() {
    let receiver = Receiver::start([]).await;
    let (account, api, id, record, request) =
        sent_sms("twilio", &receiver, &["sms.delivered"]).await;
    let sid = record["attempts"][0]["providerMessageId"]
        .as_str()
        .expect("sid")
        .to_owned();
    let to = request["to"].as_str().expect("to").to_owned();

    // Herald asked Twilio to call back with this message's ids.
    let url = request["statusCallback"]
        .as_str()
        .expect("a StatusCallback")
        .to_owned();
    assert_eq!(
        url,
        format!(
            "{}/callbacks/twilio/{account}/{id}",
            stack_var("HERALD_TEST_API_URL")
        )
    );

    let token = twilio_token().await;
    let account_sid = stack_var("HERALD_TWILIO_ACCOUNT_SID");
    let delivered = [
        ("AccountSid", account_sid.as_str()),
        ("ApiVersion", "2010-04-01"),
        ("From", "Acme"),
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "delivered"),
        ("SmsSid", sid.as_str()),
        ("SmsStatus", "delivered"),
        ("To", to.as_str()),
    ];
    let signature = twilio_signature(&token, &url, &delivered);

    // Tampered: the signature was made for "delivered", the body says "undelivered".
    let mut tampered = delivered;
    tampered[4] = ("MessageStatus", "undelivered");
    assert_eq!(callback(&url, &tampered, &signature).await, 403);
    assert_eq!(callback(&url, &delivered, "bm90IGl0").await, 403);
    let unchanged = api.get(&format!("/accounts/{account}/logs/sms/{id}")).await;
    assert_eq!(unchanged.body["status"], "sent");
    assert!(unchanged.body.get("receipts").is_none());

    // Signed by Twilio's helper: applied, and applied once however often it comes.
    assert_eq!(callback(&url, &delivered, &signature).await, 204);
    assert_eq!(callback(&url, &delivered, &signature).await, 204);
    let record = api.get(&format!("/accounts/{account}/logs/sms/{id}")).await;
    assert_eq!(record.body["status"], "delivered", "{:?}", record.body);
    assert_eq!(record.body["receipts"].as_array().map(Vec::len), Some(2));
    let events = receiver.wait_for(1, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.received().len(), 1, "{events:?}");
    assert_eq!(events[0].json()["eventName"], "sms.delivered");
    assert_eq!(events[0].json()["eventData"]["messageId"], id.as_str());

    // A callback for a message Herald does not know: 2xx, so that Twilio stops retrying.
    let unknown = format!(
        "{}/callbacks/twilio/{account}/01JD6ZK5Q2V7X8Y9Z0A1B2C3D4",
        stack_var("HERALD_TEST_API_URL")
    );
    let signature = twilio_signature(&token, &unknown, &delivered);
    assert_eq!(callback(&unknown, &delivered, &signature).await, 204);
}

/// Sends one SMS through `provider` for a new account subscribed to `events`; the account, its
/// client, the message id, its settled log record, and the provider's view of the request.
async fn sent_sms(
    provider: &str,
    receiver: &Receiver,
    events: &[&str],
) -> (String, Api, String, serde_json::Value, serde_json::Value) {
    let account = new_account().as_str().to_owned();
    let api = Api::internal(&account);
    api.save_sms_settings(&account, provider, None).await;
    api.subscribe(
        &account,
        json!({"name": "sms", "type": "webhook", "url": receiver.url, "events": events}),
    )
    .await;
    let to = fakes::fresh_number();
    let id = api
        .send_message(
            &account,
            "sms",
            json!({"to": to, "text": "Your code is 1234"}),
        )
        .await;
    let record = api.settled(&account, "sms", &id).await;
    assert_eq!(record["status"], "sent", "{record}");
    // What the Twilio or Vonage stand-in received (SNS's requests go to moto).
    let request = fakes::received(&to)
        .await
        .into_iter()
        .next()
        .unwrap_or_default();
    (account, api, id, record, request)
}

#[tokio::test]
async fn vonage_signed_delivery_receipts_are_verified_and_applied() {
    let receiver = Receiver::start([]).await;
    let (account, api, id, record, request) = sent_sms("vonage", &receiver, &["sms.failed"]).await;
    let vonage_id = record["attempts"][0]["providerMessageId"]
        .as_str()
        .expect("message-id")
        .to_owned();
    // Herald asked Vonage for a receipt at this message's URL.
    let url = request["callback"].as_str().expect("a callback").to_owned();
    assert_eq!(
        url,
        format!(
            "{}/callbacks/vonage/{account}/{id}",
            stack_var("HERALD_TEST_API_URL")
        )
    );
    assert_eq!(request["statusReportReq"], "1");

    let (api_key, secret, method) = vonage_signing().await;
    let to = request["to"]
        .as_str()
        .expect("to")
        .trim_start_matches('+')
        .to_owned();
    let now = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let failed = [
        ("api-key", api_key.as_str()),
        ("err-code", "6"),
        ("message-timestamp", "2026-11-24 10:00:00"),
        ("messageId", vonage_id.as_str()),
        ("msisdn", to.as_str()),
        ("network-code", "24201"),
        ("nonce", "5b2c6b6e-8d2a-4b8e-9d1a-2f6f0f6f1c11"),
        ("price", "0.03330000"),
        ("scts", "2611241000"),
        ("status", "failed"),
        ("timestamp", now.as_str()),
        ("to", "Acme"),
    ];
    let sig = vonage_signature(&api_key, &secret, &method, &failed);
    let client = reqwest::Client::new();

    // Tampered (signed as a failure, sent as a delivery) and unsigned: refused, nothing changes.
    let mut tampered = failed;
    tampered[9] = ("status", "delivered");
    let refused = client
        .get(&url)
        .query(&with_sig(&tampered, &sig))
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 403);
    let unsigned = client.post(&url).form(&failed).send().await.expect("sent");
    assert_eq!(unsigned.status(), 403);
    let unchanged = api.get(&format!("/accounts/{account}/logs/sms/{id}")).await;
    assert_eq!(unchanged.body["status"], "sent");
    assert!(unchanged.body.get("receipts").is_none());

    // Signed by Vonage's library: applied, whichever way the dashboard sends it (GET query,
    // POST JSON), and applied once.
    let by_get = client
        .get(&url)
        .query(&with_sig(&failed, &sig))
        .send()
        .await
        .expect("sent");
    assert_eq!(by_get.status(), 204);
    let body: serde_json::Map<String, serde_json::Value> = with_sig(&failed, &sig)
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    let by_json = client.post(&url).json(&body).send().await.expect("sent");
    assert_eq!(by_json.status(), 204);
    let record = api.get(&format!("/accounts/{account}/logs/sms/{id}")).await;
    assert_eq!(record.body["status"], "failed", "{:?}", record.body);
    assert_eq!(record.body["receipts"].as_array().map(Vec::len), Some(2));
    let reason = record.body["statusHistory"][2]["reason"]
        .as_str()
        .unwrap_or("");
    assert!(reason.contains("error 6"), "{reason}");
    let events = receiver.wait_for(1, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.received().len(), 1, "{events:?}");
    let event = events[0].json();
    assert_eq!(event["eventName"], "sms.failed");
    assert_eq!(event["eventData"]["messageId"], id.as_str());
    assert_eq!(event["eventData"]["code"], "6");

    // A receipt for a message Herald does not know: 2xx, so that Vonage stops retrying.
    let unknown = format!(
        "{}/callbacks/vonage/{account}/01JD6ZK5Q2V7X8Y9Z0A1B2C3D4",
        stack_var("HERALD_TEST_API_URL")
    );
    let forgotten = client
        .post(&unknown)
        .form(&with_sig(&failed, &sig))
        .send()
        .await
        .expect("sent");
    assert_eq!(forgotten.status(), 204);
}

#[tokio::test]
async fn a_vonage_receipt_applies_only_to_its_own_message_and_only_while_fresh() {
    let receiver = Receiver::start([]).await;
    let (account, api, id, record, request) = sent_sms("vonage", &receiver, &["sms.failed"]).await;
    // Another account's message, sent through Vonage too.
    let (other_account, other_api, other_id, _, other_request) =
        sent_sms("vonage", &receiver, &["sms.failed"]).await;
    let vonage_id = record["attempts"][0]["providerMessageId"]
        .as_str()
        .expect("message-id")
        .to_owned();
    let url = request["callback"].as_str().expect("a callback").to_owned();
    let other_url = other_request["callback"]
        .as_str()
        .expect("a callback")
        .to_owned();
    let (api_key, secret, method) = vonage_signing().await;
    let receipt = |timestamp: i64| {
        let timestamp = timestamp.to_string();
        let params = [
            ("api-key", api_key.as_str()),
            ("err-code", "6"),
            ("messageId", vonage_id.as_str()),
            ("msisdn", "4712345678"),
            ("nonce", "0c5f8a0e-1d0b-4e8c-b1f4-8d2f5d8e9a10"),
            ("status", "failed"),
            ("timestamp", timestamp.as_str()),
            ("to", "Acme"),
        ];
        with_sig(
            &params,
            &vonage_signature(&api_key, &secret, &method, &params),
        )
    };
    let client = reqwest::Client::new();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    // Validly signed, about the first message, replayed to the other account's message: refused.
    let fresh = receipt(now);
    let replayed = client
        .post(&other_url)
        .form(&fresh)
        .send()
        .await
        .expect("sent");
    assert_eq!(replayed.status(), 403);
    let untouched = other_api
        .get(&format!("/accounts/{other_account}/logs/sms/{other_id}"))
        .await;
    assert_eq!(untouched.body["status"], "sent", "{}", untouched.body);
    assert!(untouched.body.get("receipts").is_none());

    // The same receipt a week later, at its own message's URL: refused as stale.
    let week_old = receipt(now - 7 * 24 * 3600);
    let stale = client
        .post(&url)
        .form(&week_old)
        .send()
        .await
        .expect("sent");
    assert_eq!(stale.status(), 403);
    let unchanged = api.get(&format!("/accounts/{account}/logs/sms/{id}")).await;
    assert_eq!(unchanged.body["status"], "sent", "{}", unchanged.body);

    // Fresh, at its own URL: applied.
    let applied = client.post(&url).form(&fresh).send().await.expect("sent");
    assert_eq!(applied.status(), 204);
    let failed = api.get(&format!("/accounts/{account}/logs/sms/{id}")).await;
    assert_eq!(failed.body["status"], "failed", "{}", failed.body);
    let events = receiver.wait_for(1, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let failed_events: Vec<_> = receiver
        .received()
        .iter()
        .map(|e| e.json()["eventData"]["messageId"].clone())
        .collect();
    assert_eq!(failed_events, [json!(id)], "{events:?}");
}

#[tokio::test]
async fn a_twilio_callback_naming_another_message_sid_is_refused() {
    let receiver = Receiver::start([]).await;
    let (_, _, _, record, _) = sent_sms("twilio", &receiver, &["sms.failed"]).await;
    let (other_account, other_api, other_id, _, other_request) =
        sent_sms("twilio", &receiver, &["sms.failed"]).await;
    let sid = record["attempts"][0]["providerMessageId"]
        .as_str()
        .expect("sid")
        .to_owned();
    let other_url = other_request["statusCallback"]
        .as_str()
        .expect("a StatusCallback")
        .to_owned();
    let token = twilio_token().await;
    let params = [
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
    ];
    // Signed for the other message's URL, but about the first message's SID.
    let signature = twilio_signature(&token, &other_url, &params);
    assert_eq!(callback(&other_url, &params, &signature).await, 403);
    let untouched = other_api
        .get(&format!("/accounts/{other_account}/logs/sms/{other_id}"))
        .await;
    assert_eq!(untouched.body["status"], "sent", "{}", untouched.body);
}

/// A CloudWatch Logs subscription's invocation: the log lines, gzipped and base64-encoded.
fn logs_event(log_group: &str, lines: &[String]) -> serde_json::Value {
    use base64::Engine;
    use std::io::Write;
    let data = json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": "bd2b7a6c-5d5f-4b47-a4f2-4a1f5c7e9c11",
        "subscriptionFilters": ["herald-local-SnsSmsStatusSubscription"],
        "logEvents": lines.iter().enumerate().map(|(i, line)| json!({
            "id": format!("3719582039{i:014}"),
            "timestamp": 1_795_514_400_000_i64,
            "message": line,
        })).collect::<Vec<_>>(),
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data.to_string().as_bytes()).expect("gzipped");
    let zipped = gz.finish().expect("gzipped");
    json!({"awslogs": {"data": base64::engine::general_purpose::STANDARD.encode(zipped)}})
}

#[tokio::test]
async fn sns_delivery_status_logs_are_applied() {
    let receiver = Receiver::start([]).await;
    let (account, api, id, record, _) = sent_sms("sns", &receiver, &["sms.delivered"]).await;
    let sns_id = record["attempts"][0]["providerMessageId"]
        .as_str()
        .expect("SNS message id")
        .to_owned();
    let line = |message_id: &str, status: &str, response: &str| {
        json!({
            "notification": {"messageId": message_id, "timestamp": "2026-11-24 10:00:01.250"},
            "delivery": {"phoneCarrier": "Telenor", "mnc": 1, "destination": "+4700000000",
                         "priceInUSD": 0.00645, "smsType": "Transactional", "mcc": 242,
                         "providerResponse": response, "dwellTimeMs": 599,
                         "dwellTimeMsUntilDeviceAck": 1344},
            "status": status
        })
        .to_string()
    };
    let delivered = line(
        &sns_id,
        "SUCCESS",
        "Message has been accepted by phone carrier",
    );
    let lines = [
        delivered.clone(),
        // An SMS sent by something else in the same AWS account, and a line that is not JSON.
        line(
            "0b7e3f9e-3c1e-5f57-9d2a-6f3c9d1e2a40",
            "FAILURE",
            "Unknown error attempting to reach phone",
        ),
        "not a delivery status line".to_owned(),
    ];
    let group = "sns/us-east-1/123456789012/DirectPublishToPhoneNumber";
    let answer = invoke("delivery-status", &logs_event(group, &lines)).await;
    assert_eq!(answer, json!({"recorded": 1}));
    // Twice: recorded, and nothing changes.
    invoke("delivery-status", &logs_event(group, &[delivered])).await;

    let record = api.get(&format!("/accounts/{account}/logs/sms/{id}")).await;
    assert_eq!(record.body["status"], "delivered", "{:?}", record.body);
    assert_eq!(
        record.body["statusHistory"][2]["at"],
        "2026-11-24T10:00:01.25Z"
    );
    let receipts = record.body["receipts"].as_array().expect("receipts");
    assert_eq!(receipts.len(), 2);
    assert_eq!(receipts[0]["source"], "sns");
    assert_eq!(receipts[1]["applied"], false);
    let events = receiver.wait_for(1, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.received().len(), 1, "{events:?}");
    assert_eq!(events[0].json()["eventName"], "sms.delivered");
    assert_eq!(events[0].json()["eventData"]["provider"], "sns");
}
