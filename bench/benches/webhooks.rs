//! Webhook delivery and fan-out, with in-memory stores:
//! - `webhook_deliver/handler x10`: ten first attempts through the deliverer at once (as one
//!   SQS batch runs them: claim, sign, POST to a loopback receiver, record), against
//!   `webhook_deliver/bare reqwest x10`: ten plain POSTs of the same body to the same receiver
//!   at the same concurrency. The ratio is Herald's overhead per delivery.
//! - `webhook_fanout/10000 subscriptions, batch of 10`: one SQS batch of ten events of one
//!   account, each matched against its 10,000 subscriptions and a job built for each; the
//!   subscriptions are read once for the batch (the rule fan-out follows), and that read is
//!   measured too: nothing is kept warm from one batch to the next.
//!
//! `cargo xtask bench` runs this and prints the ratios.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use herald::adapters::webhook_http::{ReqwestWebhookClient, system_lookup};
use herald::common::account::AccountId;
use herald::common::clock::{SystemClock, to_millis};
use herald::common::queue::{JobQueue, MemoryQueue, QueueError};
use herald::common::seal::SecretSealer;
use herald::common::seal::local::LocalSealer;
use herald::common::secret::Secret;
use herald::events::delivery::DeliveryJob;
use herald::events::delivery::deliverer::{Deliverer, Handled};
use herald::events::delivery::fanout::{Fanout, first_job};
use herald::events::delivery::memory::MemoryDeliveryStore;
use herald::events::destination::webhook::WebhookCourier;
use herald::events::destination::{Couriers, Destination, WebhookDestination};
use herald::events::publish::EventPublisher;
use herald::events::subscription::memory::MemorySubscriptionStore;
use herald::events::subscription::{
    Subscription, SubscriptionId, SubscriptionName, SubscriptionStore,
};
use herald::events::webhook::{AddressPolicy, Event, EventId, NewEvent, TagFilter, WebhookSecret};
use serde_json::json;
use time::OffsetDateTime;

/// A queue that only counts: fan-out's cost without the memory of 10,000 jobs a run.
#[derive(Default)]
struct CountingQueue(std::sync::atomic::AtomicUsize);

#[async_trait]
impl JobQueue<DeliveryJob> for CountingQueue {
    async fn enqueue_after(&self, _: &DeliveryJob, _: i32) -> Result<(), QueueError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    async fn enqueue_all(&self, jobs: &[DeliveryJob]) -> Result<(), QueueError> {
        self.0
            .fetch_add(jobs.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

fn account() -> AccountId {
    AccountId::parse("acme").expect("valid")
}

fn event(now: OffsetDateTime) -> Event {
    NewEvent {
        sender: "signature-api".into(),
        event_name: "order.completed".into(),
        event_data: json!({"orderId": "42", "documents": ["contract.pdf"], "signer": "Åse"}),
        organization_id: None,
        expires_at: None,
        tags: vec!["prod".into(), "team-signing".into()],
    }
    .validate(EventId::new(now), account(), now)
    .expect("valid")
}

fn subscription(url: &str, now: OffsetDateTime) -> Subscription {
    Subscription {
        id: SubscriptionId::new(now),
        account_id: account(),
        name: SubscriptionName::parse("bench").expect("valid"),
        destination: Destination::Webhook(WebhookDestination {
            url: url.to_owned(),
            secrets: vec![],
        }),
        tag_filter: TagFilter::parse(vec!["prod".into(), "team-*".into()]).expect("valid"),
        events: serde_json::from_value(json!("all")).expect("valid"),
        active: true,
        disabled_reason: None,
        created_at: to_millis(now),
        updated_at: to_millis(now),
        version: 1,
    }
}

fn loopback() -> AddressPolicy {
    AddressPolicy {
        allow_http: true,
        allowed: vec!["127.0.0.0/8".parse().expect("a network")],
        allowed_hosts: vec![],
    }
}

async fn deliverer(url: &str) -> (Deliverer, Subscription) {
    let now = OffsetDateTime::now_utc();
    let store = Arc::new(MemorySubscriptionStore::new());
    let sealer = Arc::new(LocalSealer::random());
    let secret = WebhookSecret::generate();
    let sealed = sealer
        .seal(&account(), &Secret::parse(secret.expose()).expect("valid"))
        .await
        .expect("sealed");
    let mut s = subscription(url, now);
    s.destination
        .webhook_mut()
        .expect("a webhook")
        .rotate(sealed, now)
        .expect("rotated");
    store.create(&s).await.expect("stored");
    let d = Deliverer {
        deliveries: Arc::new(MemoryDeliveryStore::new()),
        subscriptions: store,
        couriers: Couriers::only(Arc::new(WebhookCourier {
            client: Arc::new(
                ReqwestWebhookClient::new(loopback(), system_lookup()).expect("client"),
            ),
            sealer,
            clock: Arc::new(SystemClock),
            policy: loopback(),
            signature_header: "X-Herald-Signature".into(),
            opened: Mutex::new(BTreeMap::new()),
        })),
        queue: Arc::new(MemoryQueue::default()),
        events: EventPublisher::new(Arc::new(MemoryQueue::default())),
        clock: Arc::new(SystemClock),
        rng: Mutex::new(rand::SeedableRng::seed_from_u64(1)),
        retention: time::Duration::days(90),
    };
    (d, s)
}

const CONCURRENCY: usize = 10;

fn deliveries(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let url = runtime
        .block_on(herald_bench::receiver::ok())
        .expect("a loopback port");
    let (deliverer, subscription) = runtime.block_on(deliverer(&url));
    let bare = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let body = serde_json::to_string(&event(OffsetDateTime::now_utc())).expect("JSON");

    let mut group = c.benchmark_group("webhook_deliver");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(CONCURRENCY as u64));
    group.bench_function("handler x10", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // Fresh events, so every job is a first attempt (not built in the timing).
                    let jobs: Vec<DeliveryJob> = (0..CONCURRENCY)
                        .map(|_| {
                            let e = event(OffsetDateTime::now_utc());
                            let body = serde_json::to_string(&e).expect("JSON");
                            first_job(&e, &body, &subscription, false)
                        })
                        .collect();
                    let started = Instant::now();
                    let results = join_all(jobs.iter().map(|j| deliverer.handle(j))).await;
                    total += started.elapsed();
                    assert!(
                        results.iter().all(|r| matches!(r, Ok(Handled::Delivered))),
                        "{results:?}"
                    );
                }
                total
            })
        });
    });
    group.bench_function("bare reqwest x10", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    let results = join_all((0..CONCURRENCY).map(|_| {
                        bare.post(&url)
                            .header("content-type", "application/json")
                            .body(body.clone())
                            .send()
                    }))
                    .await;
                    assert!(
                        results
                            .iter()
                            .all(|r| r.as_ref().is_ok_and(|r| r.status() == 200))
                    );
                }
                started.elapsed()
            })
        });
    });
    group.finish();
}

fn fanout(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let now = OffsetDateTime::now_utc();
    let store = Arc::new(MemorySubscriptionStore::new());
    runtime.block_on(async {
        for i in 0..10_000 {
            let mut s = subscription(&format!("https://hooks{i}.acme.example/herald"), now);
            s.id = SubscriptionId::new(now + time::Duration::milliseconds(i));
            store.create(&s).await.expect("stored");
        }
    });
    let queue = Arc::new(CountingQueue::default());
    let fanout = Fanout {
        subscriptions: store,
        queue: queue.clone(),
        notifications: None,
    };
    // One SQS batch of ten events, each published a moment after the last.
    let events: Vec<Event> = (0..BATCH)
        .map(|i| event(now + time::Duration::milliseconds(i64::from(i))))
        .collect();

    let mut group = c.benchmark_group("webhook_fanout");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(u64::from(BATCH)));
    group.bench_function("10000 subscriptions, batch of 10", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let batch = fanout.batch();
                let fanned = join_all(events.iter().map(|e| batch.fan_out(e, now))).await;
                for n in fanned {
                    assert_eq!(n.expect("fanned out"), 10_000);
                }
            });
        });
    });
    group.finish();
}

/// Events per SQS batch, the events queue's batch size in `template.yaml`.
const BATCH: u32 = 10;

criterion_group!(benches, deliveries, fanout);
criterion_main!(benches);
