//! Azure Service Bus delivery, with in-memory stores:
//! - `servicebus_deliver/handler x10`: ten first attempts through the deliverer at once (as
//!   one SQS batch runs them: claim, make or reuse the SAS token, POST to a loopback stand-in
//!   answering 201, record), against
//! - `servicebus_deliver/bare reqwest x10`: ten plain POSTs of the same body to the same
//!   stand-in at the same concurrency. The ratio is Herald's overhead per delivery.
//!
//! `cargo xtask bench` runs this and prints the ratio.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use herald::adapters::connect::system_lookup;
use herald::adapters::destinations::azure_service_bus::ServiceBusCourier;
use herald::common::account::AccountId;
use herald::common::clock::{SystemClock, to_millis};
use herald::common::queue::MemoryQueue;
use herald::common::seal::SecretSealer;
use herald::common::seal::local::LocalSealer;
use herald::common::secret::Secret;
use herald::events::delivery::DeliveryJob;
use herald::events::delivery::deliverer::{Deliverer, Handled};
use herald::events::delivery::fanout::first_job;
use herald::events::delivery::memory::MemoryDeliveryStore;
use herald::events::destination::azure_service_bus::{EntityPath, KeyName, Namespace};
use herald::events::destination::{
    AllowedEndpoints, Couriers, Destination, Endpoint, ServiceBusDestination,
};
use herald::events::publish::EventPublisher;
use herald::events::subscription::memory::MemorySubscriptionStore;
use herald::events::subscription::{
    Subscription, SubscriptionId, SubscriptionName, SubscriptionStore,
};
use herald::events::webhook::{AddressPolicy, Event, EventId, NewEvent, TagFilter};
use serde_json::json;
use time::OffsetDateTime;

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

fn loopback() -> AddressPolicy {
    AddressPolicy {
        allow_http: true,
        allowed: vec!["127.0.0.0/8".parse().expect("a network")],
        allowed_hosts: vec![],
    }
}

async fn deliverer(origin: &str) -> (Deliverer, Subscription) {
    let now = OffsetDateTime::now_utc();
    let store = Arc::new(MemorySubscriptionStore::new());
    let sealer = Arc::new(LocalSealer::random());
    let key = sealer
        .seal(
            &account(),
            &Secret::parse("c2VjcmV0LWtleS0xMjM0NTY3ODkw+/ab=").expect("valid"),
        )
        .await
        .expect("sealed");
    let s = Subscription {
        id: SubscriptionId::new(now),
        account_id: account(),
        name: SubscriptionName::parse("bench").expect("valid"),
        destination: Destination::AzureServiceBus(ServiceBusDestination {
            namespace: Namespace::parse("acme-events").expect("valid"),
            entity: EntityPath::parse("bench-queue").expect("valid"),
            key_name: KeyName::parse("herald-send").expect("valid"),
            key,
            endpoint: Some(Endpoint::parse(origin).expect("an origin")),
        }),
        tag_filter: TagFilter::parse(vec!["prod".into()]).expect("valid"),
        events: serde_json::from_value(json!("all")).expect("valid"),
        active: true,
        disabled_reason: None,
        created_at: to_millis(now),
        updated_at: to_millis(now),
        version: 1,
    };
    store.create(&s).await.expect("stored");
    let courier = ServiceBusCourier::new(
        sealer,
        Arc::new(SystemClock),
        loopback(),
        system_lookup(),
        AllowedEndpoints::parse("http://127.0.0.1:*").expect("valid"),
    )
    .expect("client");
    let d = Deliverer {
        deliveries: Arc::new(MemoryDeliveryStore::new()),
        subscriptions: store,
        couriers: Couriers::only(Arc::new(courier)),
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
    let origin = runtime
        .block_on(herald_bench::receiver::service_bus())
        .expect("a loopback port");
    let url = format!("{origin}/bench-queue/messages");
    let (deliverer, subscription) = runtime.block_on(deliverer(&origin));
    let bare = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let body = serde_json::to_string(&event(OffsetDateTime::now_utc())).expect("JSON");

    let mut group = c.benchmark_group("servicebus_deliver");
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
                            .all(|r| r.as_ref().is_ok_and(|r| r.status() == 201))
                    );
                }
                started.elapsed()
            })
        });
    });
    group.finish();
}

criterion_group!(benches, deliveries);
criterion_main!(benches);
