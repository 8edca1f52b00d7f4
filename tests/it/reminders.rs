//! Reference 001 end to end under the local stack, on a clock moved per account: a signature
//! request with two signers is sent (an SMS with a short link, and an email where the
//! signer's `send_to` asks for one); the first signs, so the second is told and the first's
//! reminders stop; on days 3 and 7 only the second is reminded, each reminder publishing
//! `notification.reminder` to a webhook subscription; the request completes, everyone gets
//! the download link, and the day-14 reminder's schedule is gone from EventBridge Scheduler.

use std::time::Duration;

use herald::common::account::AccountId;
use herald::notify::reminders::SeriesKey;
use herald::notify::rules::RuleId;
use herald_tests::api::Api;
use herald_tests::receiver::Receiver;
use herald_tests::{aws, new_account, stack_var};
use serde_json::{Value, json};

use crate::notifications::{notification_type, publish, rule, unique};

const WAIT: Duration = Duration::from_secs(60);

/// Moves the account's schedule clock forward by `days`.
async fn advance(account: &AccountId, days: i64) {
    let reply = reqwest::Client::new()
        .post(format!("{}/_clock", stack_var("HERALD_TEST_FAKES_URL")))
        .json(&json!({"accountId": account.as_str(), "advanceSeconds": days * 86_400}))
        .send()
        .await
        .expect("the local scheduler answers");
    assert_eq!(reply.status(), 200);
}

/// The names of the reminder schedules waiting in Scheduler.
async fn schedules() -> Vec<String> {
    let scheduler = aws_sdk_scheduler::Client::new(&aws().await);
    let out = scheduler
        .list_schedules()
        .group_name(stack_var("HERALD_REMINDER_SCHEDULE_GROUP"))
        .send()
        .await
        .expect("listed");
    out.schedules()
        .iter()
        .filter_map(|s| s.name().map(str::to_owned))
        .collect()
}

/// The reminder schedules once `done` holds for them: notify makes a series' schedules after
/// it has queued the event's notices, so the notices may be sent before the last is made.
async fn schedules_until(done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let waiting = schedules().await;
        if done(&waiting) || tokio::time::Instant::now() >= deadline {
            return waiting;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The account's notification log once `done` holds for it, none pending.
async fn log_until(api: &Api, account: &AccountId, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page = api
            .get(&format!("/accounts/{account}/notifications?limit=100"))
            .await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        let items = page.body["items"].as_array().cloned().unwrap_or_default();
        if items.iter().all(|e| e["outcome"] != "pending") && done(&items) {
            return items;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the notification log after {WAIT:?}: {items:#?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// (event name, recipient, channel, outcome) of every entry, sorted.
fn entries(log: &[Value]) -> Vec<(String, String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    let mut all: Vec<_> = log
        .iter()
        .map(|e| {
            (
                text(&e["eventName"]),
                text(&e["recipientId"]),
                text(&e["channel"]),
                text(&e["outcome"]),
            )
        })
        .collect();
    all.sort();
    all
}

fn entry(event: &str, who: &str, channel: &str, outcome: &str) -> (String, String, String, String) {
    (event.into(), who.into(), channel.into(), outcome.into())
}

fn signer(id: &str, email: bool, phone: &str) -> Value {
    json!({
        "send_to": {"email": email, "mobile_number": true},
        "signer": {"id": id, "email": format!("{id}@example.com"), "mobile_number": phone},
        "request_url": format!("https://sign.example/r/{id}")
    })
}

const FIELDS: &str = r#"{"id": "signer.id", "email": "signer.email", "phone": "signer.mobile_number",
    "sendToEmail": "send_to.email", "sendToSms": "send_to.mobile_number"}"#;

#[tokio::test]
async fn reminders_reference_001_signing_flow_on_a_moved_clock() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let receiver = Receiver::start([]).await;
    let subscription = api
        .post(
            &format!("/accounts/{account}/subscriptions"),
            json!({"name": "Reminders", "type": "webhook", "url": receiver.url,
                   "events": ["notification.reminder"]}),
        )
        .await;
    assert_eq!(subscription.status, 201, "{:?}", subscription.body);
    let fields: Value = serde_json::from_str(FIELDS).expect("JSON");
    notification_type(&api, &account, "signing", json!({"email": {}, "sms": {}})).await;
    let title = unique("Employment Agreement");
    let sent_rule = rule(
        &api,
        &account,
        json!({"name": "Request sent", "eventName": "request.sent", "type": "signing",
               "recipients": {"path": "eventData.signers[*]", "fields": fields},
               "templates": {
                   "sms": {"en": {"text": "You've been sent \"{{ data.title }}\" by Acme. Please review & sign: {{ recipient.request_url | shorten }}"}},
                   "email": {"en": {"subject": "Please sign {{ data.title }}",
                                    "text": "Sign here: {{ recipient.request_url | shorten }}"}}},
               "reminders": {
                   "subject": "eventData.requestId",
                   "actedOn": [{"eventName": "request.signed", "recipient": "eventData.signerId"}],
                   "closedBy": ["request.completed", "request.cancelled"],
                   "templates": {"sms": {"en": {"text": "Reminder {{ event.reminder.number }}: \"{{ data.title }}\" waits for your signature: {{ recipient.request_url | shorten }}"}}}}}),
    )
    .await;
    rule(
        &api,
        &account,
        json!({"name": "Request signed", "eventName": "request.signed", "type": "signing",
               "recipients": {"path": "eventData.waiting[*]", "fields": fields},
               "templates": {"sms": {"en": {"text": "{{ data.signerName }} has signed \"{{ data.title }}\". One more signature is needed to complete the document."}}}}),
    )
    .await;
    rule(
        &api,
        &account,
        json!({"name": "Request completed", "eventName": "request.completed", "type": "signing",
               "recipients": {"path": "eventData.signers[*]", "fields": fields},
               "templates": {"sms": {"en": {"text": "\"{{ data.title }}\" has been accepted by all parties. Download your document here: {{ data.download_url | shorten }}"}}}}),
    )
    .await;

    let request = format!("req-{}", uuid::Uuid::new_v4().simple());
    let ann = signer("ann", true, "+4790000031");
    let bob = signer("bob", false, "+4790000032");
    publish(
        &api,
        &account,
        "request.sent",
        json!({"requestId": request, "title": title, "signers": [ann, bob]}),
    )
    .await;
    let sent = |e: &str, who: &str, ch: &str| entry(e, who, ch, "sent");
    let log = log_until(&api, &account, |l| l.len() >= 4).await;
    assert_eq!(
        entries(&log),
        [
            sent("request.sent", "ann", "email"),
            sent("request.sent", "ann", "sms"),
            entry("request.sent", "bob", "email", "suppressed_preference"),
            sent("request.sent", "bob", "sms"),
        ]
    );
    let series = SeriesKey::of(
        &account,
        &RuleId::parse(&sent_rule).expect("an id"),
        &request,
    );
    let names: Vec<String> = (1..=3).map(|n| series.schedule_name(n)).collect();
    let waiting = schedules_until(|w| names.iter().all(|n| w.contains(n))).await;
    for number in 1..=3 {
        assert!(
            waiting.contains(&series.schedule_name(number)),
            "days 3, 7 and 14 are scheduled: {waiting:?}"
        );
    }

    publish(
        &api,
        &account,
        "request.signed",
        json!({"requestId": request, "title": title, "signerId": "ann", "signerName": "Ann",
               "waiting": [bob]}),
    )
    .await;
    log_until(&api, &account, |l| l.len() >= 5).await;

    let reminded = |n: usize| {
        move |l: &[Value]| {
            l.iter()
                .filter(|e| e["eventName"] == "notification.reminder")
                .count()
                >= n
        }
    };
    advance(&account, 3).await;
    log_until(&api, &account, reminded(1)).await;
    advance(&account, 4).await;
    let log = log_until(&api, &account, reminded(2)).await;
    let reminders: Vec<_> = entries(&log)
        .into_iter()
        .filter(|e| e.0 == "notification.reminder")
        .collect();
    assert_eq!(
        reminders,
        [
            sent("notification.reminder", "bob", "sms"),
            sent("notification.reminder", "bob", "sms"),
        ],
        "only bob, who has not signed"
    );

    // Every notice's message went out, the reminders' with a short link.
    for e in log.iter().filter(|e| e["outcome"] == "sent") {
        let channel = e["channel"].as_str().expect("a channel");
        let id = e["messageId"].as_str().expect("a message id");
        let record = api.settled(account.as_str(), channel, id).await;
        assert_eq!(record["status"], "sent", "{record}");
        if e["eventName"] == "notification.reminder" {
            let text = record["message"]["text"].as_str().expect("an SMS");
            assert!(text.starts_with("Reminder "), "{text}");
            assert!(
                text.contains(&format!("{}/l/", stack_var("HERALD_TEST_API_URL"))),
                "{text}"
            );
        }
    }
    let hooks = receiver.wait_for(2, WAIT).await;
    let mut numbers: Vec<i64> = hooks
        .iter()
        .map(|h| {
            let body = h.json();
            assert_eq!(body["eventName"], "notification.reminder", "{body}");
            assert_eq!(body["eventData"]["recipients"], json!(["bob"]), "{body}");
            assert_eq!(body["eventData"]["subject"], request.as_str(), "{body}");
            body["eventData"]["number"].as_i64().expect("a number")
        })
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers, [1, 2]);

    let day_14 = series.schedule_name(3);
    let waiting = schedules().await;
    assert!(waiting.contains(&day_14), "{waiting:?}");
    for fired in [1, 2] {
        assert!(
            !waiting.contains(&series.schedule_name(fired)),
            "fired and deleted: {waiting:?}"
        );
    }
    publish(
        &api,
        &account,
        "request.completed",
        json!({"requestId": request, "title": title, "signers": [ann, bob],
               "download_url": format!("https://sign.example/d/{request}")}),
    )
    .await;
    let log = log_until(&api, &account, |l| {
        l.iter()
            .filter(|e| e["eventName"] == "request.completed")
            .count()
            >= 2
    })
    .await;
    let completed: Vec<_> = entries(&log)
        .into_iter()
        .filter(|e| e.0 == "request.completed")
        .collect();
    assert_eq!(
        completed,
        [
            sent("request.completed", "ann", "sms"),
            sent("request.completed", "bob", "sms")
        ]
    );
    // Completion deleted the day-14 schedule (it is processed with the completion's event,
    // before the notices are logged).
    let waiting = schedules().await;
    assert!(!waiting.contains(&day_14), "{waiting:?}");
    advance(&account, 8).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let log = log_until(&api, &account, |_| true).await;
    assert_eq!(
        log.iter()
            .filter(|e| e["eventName"] == "notification.reminder")
            .count(),
        2,
        "no reminder on day 14"
    );
}
