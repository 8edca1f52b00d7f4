//! `webhook-fanout`: an event from the events queue becomes one delivery job per matching
//! active subscription of its account, queued in batches. Job ids are derived from the event
//! and the subscription, so an event fanned out twice queues jobs the deliverer recognises
//! as done.
//!
//! An account's subscriptions are read once per batch of events ([`BatchReads`]), never from
//! an earlier batch: an event published after the API answered 201 for a subscription reaches
//! it.
//!
//! With a notifications queue, each event is then forwarded there for the notification rules
//! (but notifications' own events, which no rule may act on): after its deliveries, so that
//! notifications never hold up a webhook. A failed forward fails the event, which comes back
//! and is fanned out again; its deliveries, keyed by event and subscription, are not repeated.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::common::queue::{JobQueue, QueueError};
use crate::common::store::StoreError;
use crate::events::delivery::{DeliveryId, DeliveryJob, FirstAttempt};
use crate::events::subscription::cache::BatchReads;
use crate::events::subscription::{Subscription, SubscriptionStore};
use crate::events::webhook::Event;
use crate::notify::rules::refused_event;

#[derive(Debug, thiserror::Error)]
pub enum FanoutError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("the event cannot be written as JSON: {0}")]
    Body(#[from] serde_json::Error),
}

pub struct Fanout {
    pub subscriptions: Arc<dyn SubscriptionStore>,
    pub queue: Arc<dyn JobQueue<DeliveryJob>>,
    /// Where events go on to the notification rules, where notifications are deployed.
    pub notifications: Option<Arc<dyn JobQueue<Event>>>,
}

/// Fan-out of one batch of events, sharing its reads of subscriptions. Make one per batch
/// received, before fanning out any of its events: see [`BatchReads`] for why.
pub struct BatchFanout<'a> {
    fanout: &'a Fanout,
    reads: BatchReads,
}

/// The first delivery job of `event` to `subscription`, with the exact body every attempt
/// sends. A test event is marked so that it reaches an inactive subscription too.
pub fn first_job(
    event: &Event,
    body: &str,
    subscription: &Subscription,
    test: bool,
) -> DeliveryJob {
    job_to(
        event,
        subscription,
        &first_attempt(event, body.to_owned(), test),
    )
}

/// What every first job of `event` carries: the same for each subscription, so fan-out
/// builds it once and the jobs share it.
fn first_attempt(event: &Event, body: String, test: bool) -> Arc<FirstAttempt> {
    Arc::new(FirstAttempt {
        event_id: event.id().clone(),
        event_name: event.event_name().clone(),
        event_expires_at: event.expires_at(),
        body,
        test,
    })
}

/// The first job of `event` to `subscription`, carrying `first`.
fn job_to(event: &Event, subscription: &Subscription, first: &Arc<FirstAttempt>) -> DeliveryJob {
    DeliveryJob {
        account_id: event.account_id().clone(),
        subscription_id: subscription.id.clone(),
        delivery_id: DeliveryId::of(event.id(), &subscription.id),
        attempt: 1,
        not_before: None,
        first: Some(first.clone()),
    }
}

impl Fanout {
    /// For a batch just received.
    pub fn batch(&self) -> BatchFanout<'_> {
        BatchFanout {
            fanout: self,
            reads: BatchReads::new(self.subscriptions.clone()),
        }
    }

    /// Fans out one event on its own, with a read of its own.
    pub async fn fan_out(&self, event: &Event, now: OffsetDateTime) -> Result<usize, FanoutError> {
        self.batch().fan_out(event, now).await
    }
}

impl BatchFanout<'_> {
    /// Queues one delivery per subscription that wants the event, then forwards the event to
    /// notifications; returns how many deliveries.
    pub async fn fan_out(&self, event: &Event, now: OffsetDateTime) -> Result<usize, FanoutError> {
        if event.is_expired(now) {
            tracing::info!(event = %event.id(), "expired before fan-out; not delivered");
            return Ok(0);
        }
        let deliveries = self.deliver(event).await?;
        if let Some(notifications) = &self.fanout.notifications
            && !refused_event(event.event_name())
        {
            notifications.enqueue(event).await?;
        }
        Ok(deliveries)
    }

    async fn deliver(&self, event: &Event) -> Result<usize, FanoutError> {
        let subscriptions = self.reads.of_account(event.account_id()).await?;
        let matching: Vec<&Subscription> = subscriptions
            .iter()
            .filter(|s| s.wants(event.event_name(), event.tags()))
            .collect();
        if matching.is_empty() {
            return Ok(0);
        }
        // Serialised once: every subscription receives the same bytes, and its jobs share them.
        let first = first_attempt(event, serde_json::to_string(event)?, false);
        let jobs: Vec<DeliveryJob> = matching.iter().map(|s| job_to(event, s, &first)).collect();
        self.fanout.queue.enqueue_all(&jobs).await?;
        tracing::info!(account = %event.account_id(), event = %event.id(), deliveries = jobs.len(), "event fanned out");
        Ok(jobs.len())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::common::account::AccountId;
    use crate::common::queue::MemoryQueue;
    use crate::events::subscription::memory::MemorySubscriptionStore;
    use crate::events::subscription::{SubscriptionId, SubscriptionName, SubscriptionStore};
    use crate::events::webhook::{EventId, NewEvent, TagFilter};

    const T0: OffsetDateTime = datetime!(2030-01-01 00:00:00 UTC);

    fn subscription(i: i64, tags: &[&str]) -> Subscription {
        Subscription {
            id: SubscriptionId::new(T0 + time::Duration::milliseconds(i)),
            account_id: AccountId::parse("acme").expect("valid"),
            name: SubscriptionName::parse("s").expect("valid"),
            destination: crate::events::destination::Destination::Webhook(
                crate::events::destination::WebhookDestination {
                    url: format!("https://hooks{i}.acme.example/herald"),
                    secrets: vec![],
                },
            ),
            tag_filter: TagFilter::parse(tags.iter().map(|t| (*t).to_owned()).collect())
                .expect("valid"),
            events: serde_json::from_value(json!("all")).expect("valid"),
            active: true,
            disabled_reason: None,
            created_at: T0,
            updated_at: T0,
            version: 1,
        }
    }

    /// Each job is what `first_job` makes for its subscription, in the store's order, and the
    /// jobs of one event share one first attempt.
    #[tokio::test]
    async fn jobs_are_first_jobs_sharing_one_first_attempt() {
        let store = Arc::new(MemorySubscriptionStore::new());
        let subscriptions = [
            subscription(0, &["prod"]),
            subscription(1, &["eu"]),
            subscription(2, &[]),
        ];
        for s in &subscriptions {
            store.create(s).await.expect("stored");
        }
        let queue = Arc::new(MemoryQueue::default());
        let fanout = Fanout {
            subscriptions: store.clone(),
            queue: queue.clone(),
            notifications: None,
        };
        let event = NewEvent {
            sender: "signature-api".into(),
            event_name: "order.completed".into(),
            event_data: json!({"orderId": "42"}),
            organization_id: None,
            expires_at: None,
            tags: vec!["prod".into()],
        }
        .validate(
            EventId::new(T0),
            AccountId::parse("acme").expect("valid"),
            T0,
        )
        .expect("valid");

        assert_eq!(fanout.fan_out(&event, T0).await.expect("fanned out"), 2);
        let jobs = queue.jobs();
        let body = serde_json::to_string(&event).expect("JSON");
        let expected: Vec<DeliveryJob> = [&subscriptions[0], &subscriptions[2]]
            .into_iter()
            .map(|s| first_job(&event, &body, s, false))
            .collect();
        assert_eq!(jobs, expected);
        let (a, b) = (jobs[0].first.as_ref(), jobs[1].first.as_ref());
        assert!(a.zip(b).is_some_and(|(a, b)| Arc::ptr_eq(a, b)));
    }

    /// The warm instance that fanned out the first event fans out the second: the
    /// subscription made between them gets it.
    #[tokio::test]
    async fn a_subscription_made_after_an_event_gets_the_next_one() {
        let store = Arc::new(MemorySubscriptionStore::new());
        store.create(&subscription(0, &[])).await.expect("stored");
        let queue = Arc::new(MemoryQueue::default());
        let fanout = Fanout {
            subscriptions: store.clone(),
            queue: queue.clone(),
            notifications: None,
        };
        let event = |i: i64| {
            let at = T0 + time::Duration::seconds(i);
            NewEvent {
                sender: "signature-api".into(),
                event_name: "order.completed".into(),
                event_data: json!({}),
                organization_id: None,
                expires_at: None,
                tags: vec![],
            }
            .validate(
                EventId::new(at),
                AccountId::parse("acme").expect("valid"),
                at,
            )
            .expect("valid")
        };
        assert_eq!(fanout.batch().fan_out(&event(0), T0).await.expect("ok"), 1);
        store.create(&subscription(1, &[])).await.expect("stored");
        assert_eq!(fanout.batch().fan_out(&event(1), T0).await.expect("ok"), 2);
    }

    fn named(name: &str) -> Event {
        NewEvent {
            sender: "signature-api".into(),
            event_name: name.into(),
            event_data: json!({}),
            organization_id: None,
            expires_at: None,
            tags: vec![],
        }
        .validate(
            EventId::new(T0),
            AccountId::parse("acme").expect("valid"),
            T0,
        )
        .expect("valid")
    }

    /// Events go on to notifications after their deliveries, matched by a subscription or
    /// not; notifications' own events do not.
    #[tokio::test]
    async fn events_are_forwarded_to_notifications_after_their_deliveries() {
        let store = Arc::new(MemorySubscriptionStore::new());
        store.create(&subscription(0, &[])).await.expect("stored");
        let queue = Arc::new(MemoryQueue::default());
        let notifications = Arc::new(MemoryQueue::default());
        let fanout = Fanout {
            subscriptions: store.clone(),
            queue: queue.clone(),
            notifications: Some(notifications.clone()),
        };
        let order = named("order.completed");
        assert_eq!(fanout.fan_out(&order, T0).await.expect("ok"), 1);
        assert_eq!(notifications.jobs(), std::slice::from_ref(&order));

        let sent = named("notification.sent");
        assert_eq!(fanout.fan_out(&sent, T0).await.expect("ok"), 1);
        assert_eq!(queue.jobs().len(), 2, "still delivered to subscribers");
        assert_eq!(
            notifications.jobs(),
            std::slice::from_ref(&order),
            "not forwarded"
        );

        // No subscriptions: forwarded all the same.
        let other = Fanout {
            subscriptions: Arc::new(MemorySubscriptionStore::new()),
            queue: queue.clone(),
            notifications: Some(notifications.clone()),
        };
        assert_eq!(other.fan_out(&order, T0).await.expect("ok"), 0);
        assert_eq!(notifications.jobs().len(), 2);
    }

    struct Refusing;

    #[async_trait::async_trait]
    impl JobQueue<Event> for Refusing {
        async fn enqueue_after(&self, _: &Event, _: i32) -> Result<(), QueueError> {
            Err(QueueError("unavailable".into()))
        }
    }

    /// A forward that fails fails the event, its deliveries queued already.
    #[tokio::test]
    async fn a_failed_forward_fails_the_event_after_its_deliveries() {
        let store = Arc::new(MemorySubscriptionStore::new());
        store.create(&subscription(0, &[])).await.expect("stored");
        let queue = Arc::new(MemoryQueue::default());
        let fanout = Fanout {
            subscriptions: store,
            queue: queue.clone(),
            notifications: Some(Arc::new(Refusing)),
        };
        let result = fanout.fan_out(&named("order.completed"), T0).await;
        assert!(matches!(result, Err(FanoutError::Queue(_))), "{result:?}");
        assert_eq!(queue.jobs().len(), 1);
    }
}
