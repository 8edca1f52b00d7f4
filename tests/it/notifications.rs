//! End to end under the local stack: notification types, rules and preferences through the
//! API; events published through the API reach `notify` by way of `webhook-fanout` and the
//! notifications queue, and their messages are sent by `send-dispatch` as any other.

use std::time::Duration;

use herald::common::account::AccountId;
use herald::events::webhook::{EventId, NewEvent};
use herald_tests::api::Api;
use herald_tests::{enqueue, new_account, stack_var};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

/// Creates (or replaces) the type `key` with `channels`.
pub(crate) async fn notification_type(api: &Api, account: &AccountId, key: &str, channels: Value) {
    let reply = api
        .put(
            &format!("/accounts/{account}/notification-types/{key}"),
            json!({"name": "Message received", "channels": channels}),
        )
        .await;
    assert!(
        (200..300).contains(&reply.status),
        "{} {:?}",
        reply.status,
        reply.body
    );
}

/// Creates a rule; its id.
pub(crate) async fn rule(api: &Api, account: &AccountId, body: Value) -> String {
    let reply = api
        .post(&format!("/accounts/{account}/notification-rules"), body)
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body["id"].as_str().expect("id").to_owned()
}

/// Publishes `name` with `data` through the API; the event.
pub(crate) async fn publish(api: &Api, account: &AccountId, name: &str, data: Value) -> Value {
    let reply = api
        .post(
            &format!("/accounts/{account}/events"),
            json!({"sender": "inbox", "eventName": name, "eventData": data}),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    reply.body
}

/// `recipient`'s notification log once it holds `count` entries, none of them pending.
pub(crate) async fn log_of(
    api: &Api,
    account: &AccountId,
    recipient: &str,
    count: usize,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page = api
            .get(&format!(
                "/accounts/{account}/notifications?recipient={recipient}"
            ))
            .await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        let items = page.body["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= count && items.iter().all(|e| e["outcome"] != "pending") {
            assert_eq!(items.len(), count, "{items:#?}");
            return items;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{recipient}'s notifications after {WAIT:?}: {items:#?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The outcomes of `channel` in `entries`, sorted.
pub(crate) fn outcomes<'a>(entries: &'a [Value], channel: &str) -> Vec<&'a str> {
    let mut found: Vec<&str> = entries
        .iter()
        .filter(|e| e["channel"] == channel)
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    found.sort_unstable();
    found
}

/// Emails SES (moto) sent with `subject`.
async fn ses_sent(subject: &str) -> Vec<Value> {
    let data: Value = reqwest::get(format!(
        "{}/moto-api/data.json",
        stack_var("AWS_ENDPOINT_URL")
    ))
    .await
    .expect("moto")
    .json()
    .await
    .expect("JSON");
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["subject"] == subject)
        .cloned()
        .collect()
}

/// Waits for SES to have sent `count` emails with `subject`.
async fn emails(subject: &str, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let sent = ses_sent(subject).await;
        if sent.len() >= count {
            return sent;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} emails with {subject:?} after {WAIT:?}",
            sent.len()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// `what` made unique to this run.
pub(crate) fn unique(what: &str) -> String {
    format!("{what} {}", uuid::Uuid::new_v4().simple())
}

/// Reference 002: the sender of a message is told by email, not by SMS, which they turned off
/// for this type.
#[tokio::test]
async fn notifications_a_recipient_is_told_on_the_channels_they_keep() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    notification_type(
        &api,
        &account,
        "message-received",
        json!({"email": {}, "sms": {}}),
    )
    .await;
    let rule_id = rule(
        &api,
        &account,
        json!({"name": "Tell the sender", "eventName": "message.received",
               "type": "message-received",
               "recipients": {"path": "eventData.recipients[*]"},
               "templates": {
                   "email": {"en": {"subject": "{{ data.subject }}",
                                    "text": "Hi {{ recipient.name }}"}},
                   "sms": {"en": {"text": "{{ data.subject }}"}}}}),
    )
    .await;
    let preferences = api
        .put(
            &format!("/accounts/{account}/recipients/ann/preferences"),
            json!({"types": {"message-received": {"sms": false}}}),
        )
        .await;
    assert_eq!(preferences.status, 200, "{:?}", preferences.body);

    let subject = unique("New message");
    let event = publish(
        &api,
        &account,
        "message.received",
        json!({"subject": subject, "recipients": [
            {"id": "ann", "name": "Ann", "email": "ann@example.com", "phone": "+4790000011"}]}),
    )
    .await;

    let entries = log_of(&api, &account, "ann", 2).await;
    let email = entries
        .iter()
        .find(|e| e["channel"] == "email")
        .expect("an email entry");
    let sms = entries
        .iter()
        .find(|e| e["channel"] == "sms")
        .expect("an SMS entry");
    assert_eq!(email["outcome"], "sent", "{email}");
    assert_eq!(email["ruleId"], rule_id.as_str());
    assert_eq!(email["type"], "message-received");
    assert_eq!(email["eventId"], event["id"]);
    assert_eq!(email["eventName"], "message.received");
    assert_eq!(email["recipientId"], "ann");
    assert_eq!(sms["outcome"], "suppressed_preference", "{sms}");
    assert!(sms["messageId"].is_null(), "{sms}");

    let message_id = email["messageId"].as_str().expect("messageId");
    let record = api.settled(account.as_str(), "email", message_id).await;
    assert_eq!(record["status"], "sent", "{record}");
    let sent = emails(&subject, 1).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        sent[0]["destinations"]["ToAddresses"],
        json!(["ann@example.com"])
    );
    assert!(
        sent[0]["body"]
            .as_str()
            .is_some_and(|b| b.contains("Hi Ann")),
        "{}",
        sent[0]
    );

    // Made mandatory, the type ignores Ann's SMS opt-out.
    let mandatory = api
        .put(
            &format!("/accounts/{account}/notification-types/message-received"),
            json!({"name": "Message received", "channels": {"email": {}, "sms": {}},
                   "mandatory": true}),
        )
        .await;
    assert_eq!(mandatory.status, 200, "{:?}", mandatory.body);
    publish(
        &api,
        &account,
        "message.received",
        json!({"subject": unique("Another message"), "recipients": [
            {"id": "ann", "name": "Ann", "email": "ann@example.com", "phone": "+4790000011"}]}),
    )
    .await;
    let entries = log_of(&api, &account, "ann", 4).await;
    assert_eq!(outcomes(&entries, "sms"), ["sent", "suppressed_preference"]);
    assert_eq!(outcomes(&entries, "email"), ["sent", "sent"]);
}

/// A first-occurrence rule tells once per key: the same message and action three times makes
/// one email; another action makes another.
#[tokio::test]
async fn notifications_a_first_occurrence_rule_tells_once_per_key() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    notification_type(&api, &account, "message-opened", json!({"email": {}})).await;
    rule(
        &api,
        &account,
        json!({"name": "First open", "eventName": "message.opened", "type": "message-opened",
               "frequency": "first", "firstKey": "{{ data.messageId }}:{{ data.action }}",
               "recipients": {"path": "eventData.recipients[*]"},
               "templates": {"email": {"en": {"subject": "{{ data.subject }}",
                                              "text": "{{ data.action }}"}}}}),
    )
    .await;
    let subject = unique("Opened");
    let data = |action: &str| {
        json!({"subject": subject, "messageId": "m-1", "action": action,
               "recipients": [{"id": "bob", "email": "bob@example.com"}]})
    };
    for _ in 0..3 {
        publish(&api, &account, "message.opened", data("opened")).await;
    }
    let entries = log_of(&api, &account, "bob", 3).await;
    assert_eq!(
        outcomes(&entries, "email"),
        ["sent", "suppressed_repeat", "suppressed_repeat"],
        "{entries:#?}"
    );
    let first_keys: Vec<&Value> = entries.iter().map(|e| &e["firstKey"]).collect();
    assert!(
        first_keys.iter().all(|k| *k == "m-1:opened"),
        "{first_keys:?}"
    );

    publish(&api, &account, "message.opened", data("clicked")).await;
    let entries = log_of(&api, &account, "bob", 4).await;
    assert_eq!(
        outcomes(&entries, "email"),
        ["sent", "sent", "suppressed_repeat", "suppressed_repeat"],
        "{entries:#?}"
    );
    assert_eq!(emails(&subject, 2).await.len(), 2);
}

/// The same event delivered twice to the notifications queue (at least once delivery) makes
/// one message.
#[tokio::test]
async fn notifications_an_event_delivered_twice_notifies_once() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    notification_type(&api, &account, "message-received", json!({"email": {}})).await;
    rule(
        &api,
        &account,
        json!({"name": "Tell the sender", "eventName": "message.received",
               "type": "message-received",
               "recipients": {"path": "eventData.recipients[*]"},
               "templates": {"email": {"en": {"subject": "{{ data.subject }}",
                                              "text": "Hi"}}}}),
    )
    .await;
    let subject = unique("Twice");
    let now = time::OffsetDateTime::now_utc();
    let event = NewEvent {
        sender: "inbox".into(),
        event_name: "message.received".into(),
        event_data: json!({"subject": subject,
                           "recipients": [{"id": "cy", "email": "cy@example.com"}]}),
        organization_id: None,
        expires_at: None,
        tags: vec![],
    }
    .validate(EventId::new(now), account.clone(), now)
    .expect("a valid event");
    let body = serde_json::to_string(&event).expect("JSON");
    enqueue(
        &stack_var("HERALD_NOTIFICATIONS_QUEUE_URL"),
        &[body.clone(), body],
    )
    .await;

    let entries = log_of(&api, &account, "cy", 1).await;
    assert_eq!(entries[0]["outcome"], "sent", "{entries:#?}");
    emails(&subject, 1).await;
    // Time for a second message, were there one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(ses_sent(&subject).await.len(), 1);
    assert_eq!(log_of(&api, &account, "cy", 1).await.len(), 1);
}
