//! The deliverer against a real HTTP receiver on loopback, scripted per request, with
//! in-memory stores and a manual clock: every rule of the reference (retry on 429/5xx/timeouts,
//! Retry-After, 410 disables, other statuses fail) checked without sleeping through a backoff.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use herald::adapters::webhook_http::{Lookup, ReqwestWebhookClient, system_lookup};
use herald::common::account::AccountId;
use herald::common::clock::{Clock, ManualClock, rfc3339};
use herald::common::queue::MemoryQueue;
use herald::common::seal::SecretSealer;
use herald::common::seal::local::LocalSealer;
use herald::common::secret::Secret;
use herald::events::delivery::deliverer::{Deliverer, Handled};
use herald::events::delivery::fanout::{Fanout, first_job};
use herald::events::delivery::memory::MemoryDeliveryStore;
use herald::events::delivery::{DeliveryJob, DeliveryRecord, DeliveryStatus, DeliveryStore};
use herald::events::destination::webhook::WebhookCourier;
use herald::events::destination::{Couriers, Destination, WebhookDestination};
use herald::events::publish::EventPublisher;
use herald::events::subscription::memory::MemorySubscriptionStore;
use herald::events::subscription::{
    Subscription, SubscriptionId, SubscriptionName, SubscriptionStore,
};
use herald::events::webhook::signature::verify_standard;
use herald::events::webhook::{AddressPolicy, Event, EventId, NewEvent, TagFilter, WebhookSecret};
use herald_tests::receiver::{Receiver, Reply};
use rand::SeedableRng;
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2030-01-01 12:00:00 UTC);

fn loopback_policy() -> AddressPolicy {
    AddressPolicy {
        allow_http: true,
        allowed: vec!["127.0.0.0/8".parse().expect("a network")],
        allowed_hosts: vec![],
    }
}

struct Fixture {
    deliverer: Deliverer,
    clock: Arc<ManualClock>,
    deliveries: Arc<MemoryDeliveryStore>,
    subscriptions: Arc<MemorySubscriptionStore>,
    queue: Arc<MemoryQueue<DeliveryJob>>,
    events: Arc<MemoryQueue<Event>>,
    sealer: Arc<LocalSealer>,
    account: AccountId,
}

impl Fixture {
    fn new(policy: AddressPolicy, lookup: Arc<Lookup>) -> Self {
        let clock = Arc::new(ManualClock::at(T0));
        let deliveries = Arc::new(MemoryDeliveryStore::new());
        let subscriptions = Arc::new(MemorySubscriptionStore::new());
        let queue = Arc::new(MemoryQueue::default());
        let events = Arc::new(MemoryQueue::default());
        let sealer = Arc::new(LocalSealer::random());
        let deliverer = Deliverer {
            deliveries: deliveries.clone(),
            subscriptions: subscriptions.clone(),
            couriers: Couriers::only(Arc::new(WebhookCourier {
                client: Arc::new(
                    ReqwestWebhookClient::new(policy.clone(), lookup).expect("client"),
                ),
                sealer: sealer.clone(),
                clock: clock.clone(),
                policy,
                signature_header: "X-Herald-Signature".into(),
                opened: Mutex::new(BTreeMap::new()),
            })),
            queue: queue.clone(),
            events: EventPublisher::new(events.clone()),
            clock: clock.clone(),
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(7)),
            retention: time::Duration::days(90),
        };
        Self {
            deliverer,
            clock,
            deliveries,
            subscriptions,
            queue,
            events,
            sealer,
            account: AccountId::parse("acme").expect("valid"),
        }
    }

    fn loopback() -> Self {
        Self::new(loopback_policy(), system_lookup())
    }

    /// A subscription to every event at `url`, signed with a fresh secret (returned).
    async fn subscribe(&self, url: &str) -> (Subscription, WebhookSecret) {
        let secret = WebhookSecret::generate();
        let sealed = self
            .sealer
            .seal(
                &self.account,
                &Secret::parse(secret.expose()).expect("valid"),
            )
            .await
            .expect("sealed");
        let mut s = Subscription {
            id: SubscriptionId::new(self.clock.now()),
            account_id: self.account.clone(),
            name: SubscriptionName::parse("Orders").expect("valid"),
            destination: Destination::Webhook(WebhookDestination {
                url: url.to_owned(),
                secrets: vec![],
            }),
            tag_filter: TagFilter::any(),
            events: serde_json::from_value(json!("all")).expect("valid"),
            active: true,
            disabled_reason: None,
            created_at: T0,
            updated_at: T0,
            version: 1,
        };
        s.destination
            .webhook_mut()
            .expect("a webhook")
            .rotate(sealed, T0)
            .expect("rotated");
        self.subscriptions.create(&s).await.expect("created");
        (s, secret)
    }

    fn event(&self, expires_in: Option<time::Duration>) -> Event {
        let now = self.clock.now();
        NewEvent {
            sender: "signature-api".into(),
            event_name: "order.completed".into(),
            event_data: json!({"orderId": "42", "note": "ünïcode / \"quotes\""}),
            organization_id: None,
            expires_at: expires_in.map(|d| rfc3339(now + d)),
            tags: vec!["prod".into()],
        }
        .validate(EventId::new(now), self.account.clone(), now)
        .expect("valid")
    }

    fn first(&self, event: &Event, subscription: &Subscription) -> DeliveryJob {
        let body = serde_json::to_string(event).expect("JSON");
        first_job(event, &body, subscription, false)
    }

    async fn record(&self, job: &DeliveryJob) -> DeliveryRecord {
        self.deliveries
            .get(&self.account, &job.delivery_id, self.clock.now())
            .await
            .expect("read")
            .expect("present")
    }

    /// The one job queued since the last call, with its delay.
    fn next_job(&self) -> (DeliveryJob, i32) {
        let mut jobs = self.queue.drain();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        jobs.remove(0)
    }
}

fn secs(record: &DeliveryRecord, i: usize) -> i64 {
    let a = &record.attempts[i];
    (a.next_attempt_at.expect("next") - a.at).whole_seconds()
}

#[tokio::test]
async fn a_200_is_delivered_once_signed_both_ways() {
    let receiver = Receiver::start([]).await;
    let f = Fixture::loopback();
    let (subscription, secret) = f.subscribe(&receiver.url).await;
    let event = f.event(None);
    let job = f.first(&event, &subscription);
    assert_eq!(
        f.deliverer.handle(&job).await.expect("ok"),
        Handled::Delivered
    );
    // The same job again (SQS delivered it twice, or the event was fanned out twice).
    assert_eq!(
        f.deliverer.handle(&job).await.expect("ok"),
        Handled::Skipped
    );

    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(
        r.body,
        serde_json::to_string(&event).expect("JSON").as_bytes()
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("webhook-id"), Some(job.delivery_id.as_str()));
    let ts: i64 = r
        .header("webhook-timestamp")
        .expect("timestamp")
        .parse()
        .expect("a number");
    assert_eq!(ts, T0.unix_timestamp());
    assert!(verify_standard(
        &secret,
        job.delivery_id.as_str(),
        ts,
        &r.body,
        r.header("webhook-signature").expect("signed")
    ));
    assert_eq!(
        r.header("x-herald-signature"),
        Some(
            herald::events::webhook::herald_signature(secret.expose().as_bytes(), &r.body).as_str()
        )
    );

    let record = f.record(&job).await;
    assert_eq!(record.status, DeliveryStatus::Delivered);
    assert_eq!(record.attempts.len(), 1);
    let a = &record.attempts[0];
    assert_eq!(a.response_status, Some(200));
    assert_eq!(a.outcome, "delivered");
    assert!(a.request_headers.contains_key("webhook-signature"));
    assert!(f.queue.jobs().is_empty());
}

#[tokio::test]
async fn a_500_is_retried_after_about_a_second_then_delivered() {
    let receiver = Receiver::start([Reply::status(500).body("database down")]).await;
    let f = Fixture::loopback();
    let (subscription, _) = f.subscribe(&receiver.url).await;
    let job = f.first(&f.event(None), &subscription);
    assert_eq!(
        f.deliverer.handle(&job).await.expect("ok"),
        Handled::Scheduled
    );
    let record = f.record(&job).await;
    assert_eq!(record.status, DeliveryStatus::Pending);
    assert_eq!(record.attempts[0].response_status, Some(500));
    assert_eq!(record.attempts[0].response_body, "database down");
    assert_eq!(record.attempts[0].outcome, "retry");
    let wait = secs(&record, 0);
    assert!((0..=2).contains(&wait), "about 1 s, jittered: {wait}");

    let (retry, delay) = f.next_job();
    assert_eq!(retry.attempt, 2);
    assert!((1..=2).contains(&delay), "{delay}");
    // Too early: the job goes back for the rest of its wait, nothing is sent.
    assert_eq!(
        f.deliverer.handle(&retry).await.expect("ok"),
        Handled::Deferred
    );
    let (retry, _) = f.next_job();
    f.clock.advance(time::Duration::seconds(2));
    assert_eq!(
        f.deliverer.handle(&retry).await.expect("ok"),
        Handled::Delivered
    );
    assert_eq!(receiver.received().len(), 2);
    // The first job, redelivered late, changes nothing.
    assert_eq!(
        f.deliverer.handle(&job).await.expect("ok"),
        Handled::Skipped
    );
    let record = f.record(&job).await;
    assert_eq!(record.status, DeliveryStatus::Delivered);
    assert_eq!(record.attempts.len(), 2);
    assert_eq!(receiver.received().len(), 2);
}

/// An administrator's retry while the schedule has one queued: the attempts stay numbered
/// 1, 2, 3, and the superseded job neither sends nor queues anything when it comes.
#[tokio::test]
async fn a_manual_retry_supersedes_the_queued_one_and_numbers_stay_consecutive() {
    let receiver = Receiver::start([
        Reply::status(500).header("retry-after", "3600"),
        Reply::status(500),
    ])
    .await;
    let f = Fixture::loopback();
    let (subscription, _) = f.subscribe(&receiver.url).await;
    let job = f.first(&f.event(None), &subscription);
    assert_eq!(
        f.deliverer.handle(&job).await.expect("ok"),
        Handled::Scheduled
    );
    let (scheduled, _) = f.next_job();

    // What `POST /deliveries/{id}/retry` does.
    f.clock.advance(time::Duration::seconds(10));
    let mut record = f.record(&job).await;
    let manual = record.retry_now(f.clock.now(), time::Duration::days(90));
    f.deliveries.replace(&mut record).await.expect("saved");
    assert_eq!(
        f.deliverer.handle(&manual).await.expect("ok"),
        Handled::Scheduled
    );
    let (next, _) = f.next_job();

    // The job the schedule queued an hour ahead arrives: stale, silent.
    f.clock.advance(time::Duration::hours(1));
    assert_eq!(
        f.deliverer.handle(&scheduled).await.expect("ok"),
        Handled::Skipped
    );
    assert!(f.queue.drain().is_empty(), "a stale job queues nothing");
    assert_eq!(receiver.received().len(), 2);

    assert_eq!(
        f.deliverer.handle(&next).await.expect("ok"),
        Handled::Delivered
    );
    let record = f.record(&job).await;
    let numbers: Vec<u32> = record.attempts.iter().map(|a| a.number).collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert_eq!(record.attempt_count, 3);
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn retry_after_is_honoured_and_long_waits_travel_in_hops() {
    let receiver = Receiver::start([Reply::status(429).header("retry-after", "3600")]).await;
    let f = Fixture::loopback();
    let (subscription, _) = f.subscribe(&receiver.url).await;
    let job = f.first(&f.event(None), &subscription);
    assert_eq!(
        f.deliverer.handle(&job).await.expect("ok"),
        Handled::Scheduled
    );
    let record = f.record(&job).await;
    assert!(secs(&record, 0) >= 3600, "{}", secs(&record, 0));
    // An hour is four 15-minute hops.
    let mut hops = 0;
    let (mut retry, mut delay) = f.next_job();
    while f.deliverer.handle(&retry).await.expect("ok") == Handled::Deferred {
        assert_eq!(delay, 900);
        hops += 1;
        f.clock.advance(time::Duration::seconds(i64::from(delay)));
        (retry, delay) = f.next_job();
    }
    assert_eq!(hops, 4);
    assert_eq!(receiver.received().len(), 2);
    assert_eq!(f.record(&job).await.status, DeliveryStatus::Delivered);
}

#[tokio::test]
async fn a_410_disables_the_subscription_and_says_so() {
    let receiver = Receiver::start([Reply::status(410)]).await;
    let f = Fixture::loopback();
    let (subscription, _) = f.subscribe(&receiver.url).await;
    let job = f.first(&f.event(None), &subscription);
    assert_eq!(f.deliverer.handle(&job).await.expect("ok"), Handled::Failed);
    let record = f.record(&job).await;
    assert_eq!(record.status, DeliveryStatus::Failed);
    assert_eq!(record.attempts[0].outcome, "disabled");
    let stored = f
        .subscriptions
        .get(&f.account, &subscription.id)
        .await
        .expect("read")
        .expect("present");
    assert!(!stored.active);
    let published = f.events.jobs();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].event_name().as_str(), "subscription.disabled");
    assert_eq!(
        published[0].event_data()["subscriptionId"],
        subscription.id.as_str()
    );
    assert!(f.queue.jobs().is_empty());

    // The next event's delivery sends nothing.
    let next = f.first(&f.event(None), &subscription);
    assert_eq!(
        f.deliverer.handle(&next).await.expect("ok"),
        Handled::Failed
    );
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn other_statuses_fail_without_retry() {
    let receiver = Receiver::start([Reply::status(400).body("bad payload")]).await;
    let f = Fixture::loopback();
    let (subscription, _) = f.subscribe(&receiver.url).await;
    let job = f.first(&f.event(None), &subscription);
    assert_eq!(f.deliverer.handle(&job).await.expect("ok"), Handled::Failed);
    let record = f.record(&job).await;
    assert_eq!(record.reason.as_deref(), Some("the endpoint answered 400"));
    assert!(f.queue.jobs().is_empty());
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_stalled_endpoint_times_out_after_15_seconds_and_is_retried() {
    let receiver = Receiver::start([Reply::status(200).after(Duration::from_secs(20))]).await;
    let f = Fixture::loopback();
    let (subscription, _) = f.subscribe(&receiver.url).await;
    let job = f.first(&f.event(None), &subscription);
    let started = std::time::Instant::now();
    assert_eq!(
        f.deliverer.handle(&job).await.expect("ok"),
        Handled::Scheduled
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(14) && waited < Duration::from_secs(19),
        "{waited:?}"
    );
    let record = f.record(&job).await;
    assert!(
        record.attempts[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("timed out")),
        "{:?}",
        record.attempts[0]
    );
    assert_eq!(f.next_job().0.attempt, 2);
}

#[tokio::test]
async fn retries_stop_at_the_events_expiry() {
    let receiver = Receiver::start((0..10).map(|_| Reply::status(503))).await;
    let f = Fixture::loopback();
    let (subscription, _) = f.subscribe(&receiver.url).await;
    let job = f.first(&f.event(Some(time::Duration::minutes(10))), &subscription);
    let mut handled = f.deliverer.handle(&job).await.expect("ok");
    let mut delays = Vec::new();
    while handled != Handled::Failed {
        let (retry, delay) = f.next_job();
        delays.push(delay);
        f.clock.advance(time::Duration::seconds(i64::from(delay)));
        handled = f.deliverer.handle(&retry).await.expect("ok");
    }
    let record = f.record(&job).await;
    // 1 s, 5 s, 30 s, 2 min, then cut to the expiry at 10 min: six attempts.
    assert_eq!(record.attempts.len(), 6, "{delays:?}");
    let last = record.attempts[5].at;
    assert!(last <= T0 + time::Duration::minutes(10) + time::Duration::seconds(1));
    assert!(
        record
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("gave up"))
    );
    assert_eq!(receiver.received().len(), 6);
}

/// A public-looking name that resolves to loopback is refused at delivery, though its URL
/// passed when saved; the same name allowed by the operator is delivered.
#[tokio::test]
async fn a_name_resolving_to_a_refused_address_is_never_connected_to() {
    let receiver = Receiver::start([]).await;
    let port = receiver
        .url
        .split(':')
        .nth(2)
        .and_then(|p| p.split('/').next())
        .expect("port");
    let url = format!("http://rebind.example:{port}/hooks");
    let rebinding: Arc<Lookup> = Arc::new(|_host: String| {
        Box::pin(async { Ok(vec!["127.0.0.1".parse::<IpAddr>().expect("ip")]) })
    });
    let strict = AddressPolicy {
        allow_http: true,
        ..AddressPolicy::default()
    };
    let f = Fixture::new(strict, rebinding.clone());
    let (subscription, _) = f.subscribe(&url).await;
    let job = f.first(&f.event(None), &subscription);
    assert_eq!(f.deliverer.handle(&job).await.expect("ok"), Handled::Failed);
    let record = f.record(&job).await;
    assert!(
        record.attempts[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("rebind.example")),
        "{:?}",
        record.attempts[0]
    );
    assert!(receiver.received().is_empty());

    let trusting = AddressPolicy {
        allow_http: true,
        allowed_hosts: vec!["rebind.example".into()],
        ..AddressPolicy::default()
    };
    let f = Fixture::new(trusting, rebinding);
    let (subscription, _) = f.subscribe(&url).await;
    let job = f.first(&f.event(None), &subscription);
    assert_eq!(
        f.deliverer.handle(&job).await.expect("ok"),
        Handled::Delivered
    );
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn fan_out_queues_one_job_per_matching_active_subscription() {
    let f = Fixture::loopback();
    let (all, _) = f.subscribe("http://127.0.0.1:9/a").await;
    let (mut tagged, _) = f.subscribe("http://127.0.0.1:9/b").await;
    tagged.tag_filter = TagFilter::parse(vec!["prod".into(), "team-*".into()]).expect("valid");
    f.subscriptions.replace(&mut tagged).await.expect("saved");
    let (mut inactive, _) = f.subscribe("http://127.0.0.1:9/c").await;
    inactive.active = false;
    f.subscriptions.replace(&mut inactive).await.expect("saved");

    let queue = Arc::new(MemoryQueue::default());
    let fanout = Fanout {
        subscriptions: f.subscriptions.clone(),
        queue: queue.clone(),
        notifications: None,
    };
    // Tagged `prod` only: the tag filter also wants a `team-*` tag.
    let event = f.event(None);
    assert_eq!(fanout.fan_out(&event, T0).await.expect("ok"), 1);
    let jobs = queue.jobs();
    assert_eq!(jobs[0].subscription_id, all.id);
    // Fanned out again: the same delivery id.
    fanout.fan_out(&event, T0).await.expect("ok");
    assert_eq!(queue.jobs()[1].delivery_id, jobs[0].delivery_id);
    // An expired event goes nowhere.
    assert_eq!(
        fanout
            .fan_out(&event, T0 + time::Duration::days(6))
            .await
            .expect("ok"),
        0
    );
}

/// A first job that waited in the queue past the event's expiry sends nothing.
#[tokio::test]
async fn a_job_that_waited_past_the_events_expiry_sends_nothing() {
    let receiver = Receiver::start([]).await;
    let f = Fixture::loopback();
    let (subscription, _) = f.subscribe(&receiver.url).await;
    let job = f.first(&f.event(Some(time::Duration::seconds(30))), &subscription);
    f.clock.advance(time::Duration::seconds(31));
    assert_eq!(f.deliverer.handle(&job).await.expect("ok"), Handled::Failed);
    let record = f.record(&job).await;
    assert!(
        record
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("expired")),
        "{record:?}"
    );
    assert!(receiver.received().is_empty());
}
