//! End to end under the local stack: an SMS sent through Twilio asks for status callbacks to
//! Herald's API; callbacks signed by Twilio's own helper library (`RequestValidator`, from
//! PyPI) move the log forward and reach subscribers; a tampered one is refused with 403 and
//! changes nothing; one for an unknown message is answered 2xx so that Twilio stops retrying.

use std::time::Duration;

use herald_tests::api::Api;
use herald_tests::receiver::Receiver;
use herald_tests::verify::twilio_signature;
use herald_tests::{fakes, new_account, stack_var};
use serde_json::json;

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
    let account = new_account();
    let api = Api::internal(account.as_str());
    let saved = api
        .put(
            &format!("/accounts/{account}/sms-settings"),
            json!({"senderName": "Acme", "primaryProvider": "twilio", "secondaryProvider": null}),
        )
        .await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    api.post(
        &format!("/accounts/{account}/subscriptions"),
        json!({"name": "sms", "type": "webhook", "url": receiver.url, "events": ["sms.delivered"]}),
    )
    .await;
    let to = fakes::fresh_number();
    let sent = api
        .post(
            &format!("/accounts/{account}/messages/sms"),
            json!({"to": to, "text": "Your code is 1234"}),
        )
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    let id = sent.body["id"].as_str().expect("id").to_owned();
    let record = api.settled(account.as_str(), "sms", &id).await;
    assert_eq!(record["status"], "sent", "{record}");
    let sid = record["attempts"][0]["providerMessageId"]
        .as_str()
        .expect("sid")
        .to_owned();

    // Herald asked Twilio to call back with this message's ids.
    let requests = fakes::received(&to).await;
    let url = requests[0]["statusCallback"]
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

    let token = stack_var("HERALD_TWILIO_AUTH_TOKEN");
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
