//! Notifications of one event with 1,000 recipients, with in-memory stores and queues:
//! - `notify_event/1000 recipients, rendered and queued`: the notifier's whole path for the
//!   event (rules and types read, per recipient: preferences read, the occurrence logged
//!   pending, the email rendered, the message logged and its send job queued, the
//!   `notification.sent` event published, the occurrence finished), against
//! - `notify_event/1000 recipients, rendered only`: the same templates compiled once and the
//!   same email rendered for each recipient, nothing else. The ratio is what deciding, logging
//!   and queueing add to rendering.
//!
//! `cargo xtask bench` runs this and prints the ratio.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use herald::common::account::AccountId;
use herald::common::queue::MemoryQueue;
use herald::common::secret::Secret;
use herald::events::publish::EventPublisher;
use herald::events::webhook::{Event, EventId, NewEvent};
use herald::messaging::accept::Intake;
use herald::messaging::log::memory::MemoryMessageLog;
use herald::messaging::message::Channel;
use herald::notify::links::{LinkSigner, Links};
use herald::notify::memory::MemoryNotifyStore;
use herald::notify::notifier::{Notifier, recipient_context, render};
use herald::notify::rules::{NotificationRule, RuleId, read_rule};
use herald::notify::store::NotifyStore;
use herald::notify::template::EventContext;
use herald::notify::types::{NotificationType, TypeKey, read_type};
use serde_json::{Value, json};
use time::OffsetDateTime;

const RECIPIENTS: usize = 1_000;

fn account() -> AccountId {
    AccountId::parse("acme").expect("valid")
}

fn rule_body() -> Value {
    json!({
        "name": "Tell every signer",
        "eventName": "request.sent",
        "type": "request-sent",
        "recipients": {"path": "eventData.signers[*]"},
        "templates": {"email": {"en": {
            "subject": "{{ data.title }}: please sign",
            "text": "Hello {{ recipient.id }},\n\n{{ data.sender }} asks you to sign {{ data.title }}:\nhttps://sign.example/r/42/{{ recipient.id }}\n\nYour notifications: {{ preferences_url }}",
            "html": "<p>Hello {{ recipient.id }},</p><p>{{ data.sender }} asks you to sign <b>{{ data.title }}</b>: <a href=\"https://sign.example/r/42/{{ recipient.id }}\">sign</a></p><p><a href=\"{{ preferences_url }}\">Your notifications</a></p>"
        }}}
    })
}

fn event() -> Event {
    let now = OffsetDateTime::now_utc();
    let signers: Vec<Value> = (0..RECIPIENTS)
        .map(|i| {
            // Short: the whole of eventData must stay within an event's 64 KiB.
            json!({"id": format!("s{i}"), "email": format!("s{i}@example.com")})
        })
        .collect();
    NewEvent {
        sender: "signature-api".into(),
        event_name: "request.sent".into(),
        event_data: json!({"title": "Lease agreement", "sender": "Acme Rentals", "signers": signers}),
        organization_id: None,
        expires_at: None,
        tags: vec![],
    }
    .validate(EventId::new(now), account(), now)
    .expect("a valid event")
}

fn links() -> Links {
    Links {
        signer: LinkSigner::new(Secret::parse(&"k".repeat(32)).expect("valid"))
            .expect("long enough"),
        base_url: "https://herald.example".into(),
    }
}

async fn notifier() -> Notifier {
    let store = Arc::new(MemoryNotifyStore::new());
    let now = OffsetDateTime::now_utc();
    let t = NotificationType::new(
        TypeKey::parse("request-sent").expect("valid"),
        read_type(json!({"name": "Request sent", "channels": {"email": {}}})).expect("valid"),
        now,
    );
    store.put_type(&account(), &t, true).await.expect("stored");
    let rule = NotificationRule::new(
        RuleId::new(now),
        read_rule(rule_body()).expect("valid"),
        now,
    );
    store.put_rule(&account(), &rule).await.expect("stored");
    Notifier {
        store,
        intake: Intake {
            messages: Arc::new(MemoryMessageLog::new()),
            send_queue: Arc::new(MemoryQueue::default()),
        },
        events: EventPublisher::new(Arc::new(MemoryQueue::default())),
        links: Some(links()),
        operator_default: true,
        retention: time::Duration::days(90),
        short_links: None,
        reminders: None,
    }
}

fn notify(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("notify_event");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(RECIPIENTS as u64));
    group.bench_function("1000 recipients, rendered and queued", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // A fresh notifier and event each time (not timed): every occurrence new.
                    let n = notifier().await;
                    let e = event();
                    let started = Instant::now();
                    let tally = n
                        .handle(&e, OffsetDateTime::now_utc())
                        .await
                        .expect("handled");
                    total += started.elapsed();
                    assert_eq!(tally.sent, RECIPIENTS);
                }
                total
            })
        });
    });
    let now = OffsetDateTime::now_utc();
    let input = read_rule(rule_body()).expect("valid");
    let t = NotificationType::new(
        TypeKey::parse("request-sent").expect("valid"),
        read_type(json!({"name": "Request sent", "channels": {"email": {}}})).expect("valid"),
        now,
    );
    let links = links();
    group.bench_function("1000 recipients, rendered only", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let e = event();
                let started = Instant::now();
                let json = serde_json::to_value(&e).expect("JSON");
                let compiled = input.templates.compile(None).expect("compiles");
                let shared = EventContext::of(&json);
                for r in input.recipients.recipients(&json) {
                    let id = r.id.as_ref().expect("an id");
                    let url = links.preferences_url(&account(), id, None, now);
                    let ctx = recipient_context(&shared, &r, &t, &url, None);
                    render(&compiled, Channel::Email, &r, &ctx).expect("renders");
                }
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();
}

criterion_group!(benches, notify);
criterion_main!(benches);
