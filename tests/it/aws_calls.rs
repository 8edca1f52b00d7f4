//! What each unit of work costs in AWS, end to end under the local stack: in calls, and in
//! dollars. The functions reach moto through a proxy that counts every call by function and
//! operation and meters what AWS bills for it (DynamoDB read and write units by table and
//! index, SQS requests); the SQS-to-Lambda pumps record their receives, deletes and invocations
//! into the same account (`GET /__herald/aws-capacity`, xtask/src/aws_calls.rs).
//!
//! The units:
//! - `sms`, `email`: one message, from its API request until every function is quiet again:
//!   the API's part of the request, send-dispatch, and the cascade of the status event it
//!   publishes (webhook-fanout, notify). The API function is invoked once per request by API
//!   Gateway, so the API's part counts one invocation.
//! - `webhookFirstTry`, `webhookRetriedOnce`: one delivery, by webhook-deliver, plus the job's
//!   share of the fan-out: the SQS request of the SendMessageBatch that enqueued it (not its
//!   call, so `calls` stay webhook-deliver's). The rest of the fan-out is per event, not per
//!   delivery.
//! - `fanoutPerEvent`: all of webhook-fanout for one event with one subscription, for
//!   information; its SendMessageBatch is also in the webhook units' share.
//!
//! Each unit is priced on three batch models:
//! - "batch of one", as measured: every request whole;
//! - "full batches" of [`BATCH_SIZE`]: what is done once per Lambda batch counts a tenth. That
//!   is the pump's ReceiveMessage and DeleteMessageBatch, the invocation of a queue-triggered
//!   function, a SendMessageBatch (Herald sends one per batch and destination queue), and the
//!   reads a batch makes once for all of its records that name the same thing
//!   ([`SHARED_READS`]: the deliverer's subscription, fan-out's list of an account's
//!   subscriptions). Here the ten records of a batch share those reads: one busy subscription,
//!   one busy account, which is where volume, and so cost, comes from;
//! - "full batches, nothing shared": the same, but every record of a batch names a different
//!   subscription or account, so each makes its own read.
//!
//! The targets are compared at full batches; the bench prints the other two beside them.
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

// Prices: us-east-1 on-demand list prices, December 2026 (aws.amazon.com/dynamodb/pricing/
// on-demand, aws.amazon.com/sqs/pricing, aws.amazon.com/lambda/pricing); free tiers ignored.
/// DynamoDB on-demand, per million write request units (1 KB each).
const DOLLARS_PER_MILLION_WRU: f64 = 0.625;
/// DynamoDB on-demand, per million read request units (4 KB strongly consistent, 8 KB not).
const DOLLARS_PER_MILLION_RRU: f64 = 0.125;
/// SQS standard queues, per million requests (each 64 KB of payload is one).
const DOLLARS_PER_MILLION_SQS_REQUESTS: f64 = 0.40;
/// Lambda, per million invocations.
const DOLLARS_PER_MILLION_INVOCATIONS: f64 = 0.20;
/// Lambda arm64 compute, per GB-second.
const DOLLARS_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// The functions' memory (template.yaml's Globals: 256 MB).
const LAMBDA_GB: f64 = 0.25;
/// The BatchSize of the template's SQS event sources.
const BATCH_SIZE: f64 = 10.0;
/// Assumed Lambda duration of one invocation (a batch, or one API request), in seconds. Not
/// measured: it depends on the receivers' and the providers' response times, so compute is an
/// estimate shown beside the cost and left out of the compared total.
const DURATIONS: [(&str, f64); 5] = [
    ("webhook-deliver", 0.100),
    ("send-dispatch", 0.100),
    ("webhook-fanout", 0.020),
    ("notify", 0.020),
    ("api", 0.025),
];

/// Reads a Lambda batch makes once for all of its records that name the same item or
/// partition, by function and table (`BatchReads` in shared/src/events/subscription/cache.rs).
const SHARED_READS: [(&str, &str); 2] = [
    ("webhook-deliver", "SubscriptionsTable"),
    ("webhook-fanout", "SubscriptionsTable"),
];

/// A unit's target, in dollars per million units at full batches (provider fees aside).
#[derive(Clone, Copy)]
enum Target {
    AtMost(f64),
    /// At most this many times another unit's cost.
    Times(&'static str, f64),
}

/// Herald's targets, one row per unit.
const TARGETS: [(&str, Target); 4] = [
    ("webhookFirstTry", Target::AtMost(1.50)),
    ("webhookRetriedOnce", Target::Times("webhookFirstTry", 2.0)),
    ("sms", Target::AtMost(1.00)),
    ("email", Target::AtMost(1.00)),
];

/// What the API function's part of a unit adds for the invocation API Gateway makes per request.
const API_REQUESTS: &str = "apigateway lambda:Invoke";

/// Per function, per key (see xtask/src/aws_calls.rs): `call <op>`, `wru <table>[/<index>]`
/// and `rru ...` in thousandths of a unit, `sqs <action> <queue>` and `pump <op>`.
type Usage = BTreeMap<String, BTreeMap<String, u64>>;

fn capacity_url() -> String {
    let calls = stack_var("HERALD_TEST_AWS_CALLS_URL");
    let proxy = calls.strip_suffix("/__herald/aws-calls").unwrap_or(&calls);
    format!("{proxy}/__herald/aws-capacity")
}

async fn usage() -> Usage {
    reqwest::get(capacity_url())
        .await
        .expect("the counting proxy answers")
        .json()
        .await
        .expect("JSON")
}

/// What `function` used between two readings, by key.
fn made(before: &Usage, after: &Usage, function: &str) -> BTreeMap<String, u64> {
    let empty = BTreeMap::new();
    let b = before.get(function).unwrap_or(&empty);
    after
        .get(function)
        .unwrap_or(&empty)
        .iter()
        .map(|(key, n)| (key.clone(), n - b.get(key).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// The usage of the functions a unit of work goes through: not dns-verify, which its
/// schedule wakes every few seconds whatever happens.
async fn work_usage() -> Usage {
    let mut all = usage().await;
    all.retain(|function, _| function != "dns-verify");
    all
}

/// Waits until no function has used anything for a while: the unit of work is finished.
async fn quiet() -> Usage {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = work_usage().await;
    let mut still_since = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = work_usage().await;
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() >= Duration::from_millis(2500) {
            break;
        }
    }
    last
}

/// A figure on the three batch models (see the top of this file).
#[derive(Default, Clone, Copy)]
struct Models {
    one: f64,
    full: f64,
    unshared: f64,
}

/// How a figure grows with the batch.
#[derive(Clone, Copy, PartialEq)]
enum Per {
    /// Once per record, whatever the batch.
    Record,
    /// Once per Lambda batch.
    Batch,
    /// Once per batch for the records that share it ([`SHARED_READS`]).
    SharedRead,
}

impl std::ops::AddAssign for Models {
    fn add_assign(&mut self, other: Self) {
        self.one += other.one;
        self.full += other.full;
        self.unshared += other.unshared;
    }
}

impl Models {
    fn add(&mut self, n: u64, per: Per) {
        let n = n as f64;
        let tenth = n / BATCH_SIZE;
        self.one += n;
        self.full += if per == Per::Record { n } else { tenth };
        self.unshared += if per == Per::Batch { tenth } else { n };
    }

    fn map(self, f: impl Fn(f64) -> f64) -> Self {
        Self {
            one: f(self.one),
            full: f(self.full),
            unshared: f(self.unshared),
        }
    }

    fn json(self) -> Value {
        json!({"batchOfOne": rounded(self.one), "fullBatches": rounded(self.full),
               "fullBatchesUnshared": rounded(self.unshared)})
    }
}

/// Sums of tenths and prices carry float noise (1.5150000000000001): six decimals are plenty.
fn rounded(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// One unit: what the functions that did its work used, by function, summed and priced.
fn figure(parts: &[(&str, BTreeMap<String, u64>)]) -> Value {
    let mut calls = 0;
    let mut records = 0;
    let (mut wru_table, mut wru_index) = (0, 0);
    let mut wru = BTreeMap::<String, f64>::new();
    let mut rru = Models::default();
    let mut sqs = Models::default();
    let mut invocations = Models::default();
    let mut compute = Models::default();
    for (function, used) in parts {
        let mut invoked = Models::default();
        for (key, &n) in used {
            let (kind, what) = key.split_once(' ').unwrap_or((key, ""));
            match (kind, what) {
                ("call", _) => calls += n,
                ("wru", name) => {
                    if name.contains('/') {
                        wru_index += n;
                    } else {
                        wru_table += n;
                    }
                    *wru.entry(name.to_owned()).or_default() += n as f64 / 1000.0;
                }
                ("rru", name) => {
                    let shared = SHARED_READS
                        .iter()
                        .any(|(f, table)| f == function && name.ends_with(table));
                    rru.add(n, if shared { Per::SharedRead } else { Per::Record });
                }
                ("sqs", action) => {
                    let batched = action.split(' ').next() == Some("SendMessageBatch");
                    sqs.add(n, if batched { Per::Batch } else { Per::Record });
                }
                ("pump", "records") => records += n,
                ("pump", "lambda:Invoke") => invoked.add(n, Per::Batch),
                ("pump", _) => sqs.add(n, Per::Batch),
                ("apigateway", _) => invoked.add(n, Per::Record),
                _ => {}
            }
        }
        let seconds = DURATIONS
            .iter()
            .find(|(f, _)| f == function)
            .map_or(0.0, |(_, s)| *s);
        let dollars = seconds * LAMBDA_GB * DOLLARS_PER_GB_SECOND * 1e6;
        compute += invoked.map(|n| n * dollars);
        invocations += invoked;
    }
    let (wru_table, wru_index) = (wru_table as f64 / 1000.0, wru_index as f64 / 1000.0);
    let rru = rru.map(|n| n / 1000.0);
    let cost = |rru: f64, sqs: f64, invocations: f64| {
        (wru_table + wru_index) * DOLLARS_PER_MILLION_WRU
            + rru * DOLLARS_PER_MILLION_RRU
            + sqs * DOLLARS_PER_MILLION_SQS_REQUESTS
            + invocations * DOLLARS_PER_MILLION_INVOCATIONS
    };
    let by_function: serde_json::Map<String, Value> = parts
        .iter()
        .map(|(f, used)| ((*f).to_owned(), json!(used)))
        .collect();
    json!({
        "calls": calls,
        "wruTable": rounded(wru_table),
        "wruIndex": rounded(wru_index),
        "wru": wru,
        "rru": rru.json(),
        "sqsRequests": sqs.json(),
        "invocations": invocations.json(),
        "records": records,
        "costPerMillion": Models {
            one: cost(rru.one, sqs.one, invocations.one),
            full: cost(rru.full, sqs.full, invocations.full),
            unshared: cost(rru.unshared, sqs.unshared, invocations.unshared),
        }.json(),
        "computePerMillion": compute.json(),
        "byFunction": by_function,
    })
}

/// Sends one message and measures what it cost: the API's part while it answered, and every
/// other function's (send-dispatch, then the status event's fan-out and notify) until every
/// function is quiet again.
async fn one_message(api: &Api, account: &AccountId, channel: &str, body: Value) -> Value {
    let before = quiet().await;
    let id = api.send_message(account.as_str(), channel, body).await;
    // The API serves one request at a time: what it used so far is this request's.
    let accepted = usage().await;
    let record = api.settled(account.as_str(), channel, &id).await;
    assert_eq!(record["status"], "sent", "{record}");
    let after = quiet().await;
    let mut request = made(&before, &accepted, "api");
    request.insert(API_REQUESTS.to_owned(), 1);
    let mut parts = vec![("api", request)];
    for function in after.keys().filter(|f| *f != "api") {
        let used = made(&before, &after, function);
        if !used.is_empty() {
            parts.push((function.as_str(), used));
        }
    }
    figure(&parts)
}

/// The target of `unit` in dollars per million on the batch model `model` (a key of
/// `costPerMillion`), given the figures so far.
fn target(
    unit: &str,
    model: &str,
    figures: &serde_json::Map<String, Value>,
) -> Option<(f64, String)> {
    let (_, target) = TARGETS.iter().find(|(u, _)| *u == unit)?;
    Some(match *target {
        Target::AtMost(dollars) => (dollars, format!("<= ${dollars:.2}")),
        Target::Times(other, times) => {
            let base = figures[other]["costPerMillion"][model].as_f64()?;
            let dollars = times * base;
            (dollars, format!("<= {times}x {other} (${dollars:.2})"))
        }
    })
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
        let fanout = made(&before, &after, "webhook-fanout");
        // The job's share of the fan-out: the request that enqueued it, on the deliveries
        // queue (the other forwards the event to notify).
        let enqueue: BTreeMap<String, u64> = fanout
            .iter()
            .filter(|(key, _)| {
                key.starts_with("sqs SendMessageBatch ") && key.ends_with("DeliveriesQueue")
            })
            .map(|(key, n)| (key.clone(), *n))
            .collect();
        figures.insert(
            name.into(),
            figure(&[
                ("webhook-deliver", made(&before, &after, "webhook-deliver")),
                ("webhook-fanout", enqueue),
            ]),
        );
        if name == "webhookFirstTry" {
            figures.insert(
                "fanoutPerEvent".into(),
                figure(&[("webhook-fanout", fanout)]),
            );
        }
    }

    for (unit, _) in TARGETS {
        let met = |model: &str| {
            let (dollars, text) = target(unit, model, &figures)?;
            let cost = figures[unit]["costPerMillion"][model].as_f64()?;
            Some((dollars, text, cost <= dollars))
        };
        if let (Some((dollars, text, met)), Some((_, _, met_unshared))) =
            (met("fullBatches"), met("fullBatchesUnshared"))
        {
            figures[unit]["target"] = json!({
                "dollarsPerMillion": dollars,
                "text": text,
                "met": met,
                "metUnshared": met_unshared,
            });
        }
    }

    // Written out before anything is asserted, so that the bench prints the figures of a run
    // that misses a target.
    let figures = Value::Object(figures);
    println!("{}", serde_json::to_string_pretty(&figures).expect("JSON"));
    if let Ok(path) = std::env::var("HERALD_TEST_AWS_CALLS_OUT") {
        std::fs::write(path, figures.to_string()).expect("written");
    }
    // Herald's targets: a webhook delivered on its first try costs at most 3 calls.
    assert!(
        figures["webhookFirstTry"]["calls"].as_u64() <= Some(3),
        "{figures:#}"
    );
    for unit in ["sms", "email", "webhookFirstTry", "webhookRetriedOnce"] {
        assert!(figures[unit]["calls"].as_u64() > Some(0), "{figures:#}");
        assert!(figures[unit]["wruTable"].as_f64() > Some(0.0), "{unit}");
        for figure in ["rru", "sqsRequests", "invocations", "costPerMillion"] {
            assert!(
                figures[unit][figure]["fullBatches"].as_f64() > Some(0.0),
                "{unit} {figure}"
            );
        }
    }
    // A batch's shared reads are shared: a batch of ten costs less than ten batches of one.
    for unit in ["webhookFirstTry", "webhookRetriedOnce"] {
        let cost = &figures[unit]["costPerMillion"];
        assert!(
            cost["fullBatches"].as_f64() < cost["fullBatchesUnshared"].as_f64(),
            "{unit}: {cost}"
        );
        assert!(
            cost["fullBatchesUnshared"].as_f64() < cost["batchOfOne"].as_f64(),
            "{unit}: {cost}"
        );
    }
    // TARGET: a webhook delivered on its first try costs at most $1.50 per million, and one
    // retried once at most twice that, at full batches (see TARGETS). The data layout of
    // deliveries before it was packed (two indexes projecting every attribute, request and
    // response kept in the item) missed both several times over.
    for unit in ["webhookFirstTry", "webhookRetriedOnce"] {
        assert_eq!(
            figures[unit]["target"]["met"],
            true,
            "TARGET missed: {unit} costs ${:.3}/M at full batches, target {}",
            figures[unit]["costPerMillion"]["fullBatches"]
                .as_f64()
                .unwrap_or_default(),
            figures[unit]["target"]["text"]
        );
    }
}
