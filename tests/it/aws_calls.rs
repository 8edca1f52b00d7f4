//! What each unit of work costs in AWS calls, end to end under the local stack: its functions
//! reach moto through a proxy that counts every call by function and operation. One SMS sent,
//! one email sent, one webhook delivered on its first try and one delivered on its second.
//!
//! It needs a stack where nothing else is running (other tests' retries would be counted), so
//! it is ignored by the shared run: `cargo xtask test` runs it first, on the fresh stack, and
//! `cargo xtask bench` reports its figures (written to `HERALD_TEST_AWS_CALLS_OUT` when set).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use herald::common::account::AccountId;
use herald_tests::api::Api;
use herald_tests::receiver::{Receiver, Reply};
use herald_tests::{new_account, stack_var};
use serde_json::{Value, json};

type Counts = BTreeMap<String, BTreeMap<String, u64>>;

async fn counts() -> Counts {
    reqwest::get(stack_var("HERALD_TEST_AWS_CALLS_URL"))
        .await
        .expect("the counting proxy answers")
        .json()
        .await
        .expect("JSON")
}

/// The calls `function` made between two readings, by operation.
fn made(before: &Counts, after: &Counts, function: &str) -> BTreeMap<String, u64> {
    let empty = BTreeMap::new();
    let b = before.get(function).unwrap_or(&empty);
    after
        .get(function)
        .unwrap_or(&empty)
        .iter()
        .map(|(op, n)| (op.clone(), n - b.get(op).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn total(calls: &BTreeMap<String, u64>) -> u64 {
    calls.values().sum()
}

/// The counts of the functions a unit of work goes through: not dns-verify, which its
/// schedule wakes every few seconds whatever happens.
async fn work_counts() -> Counts {
    let mut all = counts().await;
    all.retain(|function, _| function != "dns-verify");
    all
}

/// Waits until no function has made a call for a while: the unit of work is finished.
async fn quiet() -> Counts {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = work_counts().await;
    let mut still_since = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = work_counts().await;
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() >= Duration::from_millis(2500) {
            break;
        }
    }
    last
}

/// One figure: the calls of the functions that did the work, by function and operation.
fn figure(parts: &[(&str, BTreeMap<String, u64>)]) -> Value {
    let by_function: serde_json::Map<String, Value> = parts
        .iter()
        .map(|(f, calls)| ((*f).to_owned(), json!(calls)))
        .collect();
    json!({
        "total": parts.iter().map(|(_, c)| total(c)).sum::<u64>(),
        "byFunction": by_function,
    })
}

/// Sends one message and counts what it cost: the API's calls while it answered, and
/// send-dispatch's until every function is quiet again.
async fn one_message(api: &Api, account: &AccountId, channel: &str, body: Value) -> Value {
    let before = quiet().await;
    let id = api.send_message(account.as_str(), channel, body).await;
    // The API serves one request at a time: what it called so far is this request's.
    let accepted = counts().await;
    let record = api.settled(account.as_str(), channel, &id).await;
    assert_eq!(record["status"], "sent", "{record}");
    let after = quiet().await;
    figure(&[
        ("api", made(&before, &accepted, "api")),
        ("send-dispatch", made(&before, &after, "send-dispatch")),
    ])
}

#[tokio::test]
#[ignore = "needs a stack of its own: run by cargo xtask test (first) and cargo xtask bench"]
async fn aws_calls_per_unit_of_work() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    api.save_sms_settings(account.as_str(), "twilio", None)
        .await;
    // Subscribed before anything runs, so that no cached subscription list misses it.
    let receiver = Receiver::start([]).await;
    api.subscribe(
        account.as_str(),
        json!({"name": "orders", "type": "webhook", "url": receiver.url,
               "events": ["order.completed"]}),
    )
    .await;
    // Warm every function once, so that per-instance caches are as they are in steady use.
    let published = api
        .post(
            &format!("/accounts/{account}/events"),
            json!({"sender": "orders", "eventName": "order.completed", "eventData": {}}),
        )
        .await;
    assert_eq!(published.status, 202, "{:?}", published.body);
    receiver.wait_for(1, Duration::from_secs(60)).await;
    for _ in 0..2 {
        let id = api
            .send_message(
                account.as_str(),
                "sms",
                json!({"to": "+4790000001", "text": "warm-up"}),
            )
            .await;
        api.settled(account.as_str(), "sms", &id).await;
    }
    let mut figures = serde_json::Map::new();

    // One SMS and one email (through SES): accepted by the API, sent by send-dispatch.
    let sms = json!({"to": "+4790000002", "text": "Your code is 1234"});
    figures.insert("sms".into(), one_message(&api, &account, "sms", sms).await);
    let email = json!({"to": "signer@example.com", "subject": "Please sign", "text": "Sign here"});
    figures.insert(
        "email".into(),
        one_message(&api, &account, "email", email).await,
    );

    // Webhooks: delivered on the first try, then on the second (a 500 first).
    for (name, script, attempts) in [
        ("webhookFirstTry", vec![], 1),
        ("webhookRetriedOnce", vec![Reply::status(500)], 2),
    ] {
        receiver.script(script);
        let seen = receiver.received().len();
        let before = quiet().await;
        let published = api
            .post(
                &format!("/accounts/{account}/events"),
                json!({"sender": "orders", "eventName": "order.completed",
                       "eventData": {"orderId": "42"}}),
            )
            .await;
        assert_eq!(published.status, 202, "{:?}", published.body);
        receiver
            .wait_for(seen + attempts, Duration::from_secs(60))
            .await;
        let after = quiet().await;
        assert_eq!(receiver.received().len(), seen + attempts, "{name}");
        figures.insert(
            name.into(),
            figure(&[("webhook-deliver", made(&before, &after, "webhook-deliver"))]),
        );
        if name == "webhookFirstTry" {
            figures.insert(
                "fanoutPerEvent".into(),
                figure(&[("webhook-fanout", made(&before, &after, "webhook-fanout"))]),
            );
        }
    }

    let figures = Value::Object(figures);
    println!("{}", serde_json::to_string_pretty(&figures).expect("JSON"));
    if let Ok(path) = std::env::var("HERALD_TEST_AWS_CALLS_OUT") {
        std::fs::write(path, figures.to_string()).expect("written");
    }
    // Herald's targets: a webhook delivered on its first try costs at most 3 calls.
    assert!(
        figures["webhookFirstTry"]["total"].as_u64() <= Some(3),
        "{figures:#}"
    );
    for unit in ["sms", "email", "webhookRetriedOnce"] {
        assert!(figures[unit]["total"].as_u64() > Some(0), "{figures:#}");
    }
}
