//! `webhook-fanout`: an event from the events queue becomes one delivery job per matching
//! active subscription of its account, queued in batches. Job ids are derived from the event
//! and the subscription, so an event fanned out twice queues jobs the deliverer recognises
//! as done.

use std::sync::Arc;

use time::OffsetDateTime;

use super::{DeliveryId, DeliveryJob, FirstAttempt};
use crate::clock::rfc3339;
use crate::queue::{JobQueue, QueueError};
use crate::store::StoreError;
use crate::subscription::Subscription;
use crate::subscription::cache::CachedSubscriptions;
use crate::webhook::Event;

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
    pub subscriptions: Arc<CachedSubscriptions>,
    pub queue: Arc<dyn JobQueue<DeliveryJob>>,
}

/// The first delivery job of `event` to `subscription`, with the exact body every attempt
/// sends. A test event is marked so that it reaches an inactive subscription too.
pub fn first_job(
    event: &Event,
    body: &str,
    subscription: &Subscription,
    test: bool,
) -> DeliveryJob {
    DeliveryJob {
        account_id: event.account_id().clone(),
        subscription_id: subscription.id.clone(),
        delivery_id: DeliveryId::of(event.id(), &subscription.id),
        attempt: 1,
        not_before: None,
        first: Some(FirstAttempt {
            event_id: event.id().clone(),
            event_name: event.event_name().clone(),
            event_expires_at: rfc3339(event.expires_at()),
            body: body.to_owned(),
            test,
        }),
    }
}

impl Fanout {
    /// Queues one delivery per subscription that wants the event; returns how many.
    pub async fn fan_out(&self, event: &Event, now: OffsetDateTime) -> Result<usize, FanoutError> {
        if event.is_expired(now) {
            tracing::info!(event = %event.id(), "expired before fan-out; not delivered");
            return Ok(0);
        }
        let subscriptions = self.subscriptions.of_account(event.account_id()).await?;
        let matching: Vec<&Subscription> = subscriptions
            .iter()
            .filter(|s| s.wants(event.event_name(), event.tags()))
            .collect();
        if matching.is_empty() {
            return Ok(0);
        }
        // Serialised once: every subscription receives the same bytes.
        let body = serde_json::to_string(event)?;
        let jobs: Vec<DeliveryJob> = matching
            .iter()
            .map(|s| first_job(event, &body, s, false))
            .collect();
        self.queue.enqueue_all(&jobs).await?;
        tracing::info!(account = %event.account_id(), event = %event.id(), deliveries = jobs.len(), "event fanned out");
        Ok(jobs.len())
    }
}
