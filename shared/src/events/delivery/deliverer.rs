//! `webhook-deliver`: one attempt per queue job.
//!
//! 1. A job whose time has not come (`notBefore`) goes back on the queue for the next hop.
//! 2. The delivery is claimed with a conditional write (created and claimed in one write on
//!    its first attempt). A job whose attempt number is not the delivery's next is stale and
//!    does nothing, so an event fanned out twice, or a job SQS delivers twice, sends once.
//! 3. The envelope is handed to the subscription's destination by its kind's courier (a
//!    webhook is signed and POSTed); the answer decides: delivered, retried later (the next job
//!    is queued with its delay), failed, or failed with the subscription disabled (a 410, a
//!    topic or queue that no longer exists).
//! 4. The outcome is written, conditional on the claim, then the retry queued. If queueing
//!    fails, the job comes back and queues the retry again without sending.
//!
//! The one window left is a crash after the receiver answered and before the outcome is
//! written: the claim lapses and the attempt is made again, with the same `webhook-id`, which
//! receivers use to drop the repeat.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use rand::rngs::StdRng;
use time::OffsetDateTime;

use crate::common::clock::{Clock, to_millis};
use crate::common::queue::{JobQueue, QueueError};
pub use crate::events::delivery::DeliverError;
use crate::events::delivery::client::WebhookResponse;
use crate::events::delivery::sqs_hop::remaining_until;
use crate::events::delivery::{
    Claimed, DeliveryAttempt, DeliveryJob, DeliveryRecord, DeliveryStatus, DeliveryStore,
    StoreError,
};
use crate::events::destination::webhook::GONE;
use crate::events::destination::{Couriers, Outbound, Report};
use crate::events::payload::SubscriptionDisabled;
use crate::events::publish::EventPublisher;
use crate::events::subscription::cache::BatchReads;
use crate::events::subscription::{Subscription, SubscriptionStore};
use crate::events::webhook::{RetryState, Verdict, next_attempt_at, next_hop};

/// How long a claim holds: longer than an attempt may take (15 s), shorter than the queue's
/// visibility timeout, so that a crashed deliverer's job is taken up again.
pub const CLAIM: time::Duration = time::Duration::seconds(60);

/// A scheduled attempt is aimed at least this long before the give-up time.
const LAST_ATTEMPT_MARGIN: time::Duration = time::Duration::seconds(2);

/// What became of a job; the Lambda reports `Retry` as a batch item failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    Delivered,
    /// The attempt failed and the next one is queued.
    Scheduled,
    Failed,
    /// Not due yet: queued again for the next hop of its wait.
    Deferred,
    /// Nothing to do: stale, unknown, or already settled.
    Skipped,
    /// Not done: the queue should deliver the job again later.
    Retry,
}

pub struct Deliverer {
    pub deliveries: Arc<dyn DeliveryStore>,
    /// Read once per batch of jobs and never kept longer ([`BatchReads`]): a subscription
    /// deactivated, deleted or moved to another destination before a batch was received gets
    /// nothing from it.
    pub subscriptions: Arc<dyn SubscriptionStore>,
    /// Who hands the envelope over, per kind of destination.
    pub couriers: Couriers,
    pub queue: Arc<dyn JobQueue<DeliveryJob>>,
    pub events: EventPublisher,
    pub clock: Arc<dyn Clock>,
    pub rng: Mutex<StdRng>,
    /// How long delivery records are kept.
    pub retention: time::Duration,
}

/// What [`Deliverer::claim`] found.
enum Claim {
    /// Claimed for this job's attempt.
    Ours(Box<DeliveryRecord>),
    /// Another deliverer holds it: the queue should bring the job back later.
    Busy,
    /// Nothing to do: unknown, settled, or a stale job.
    Nothing,
}

impl Deliverer {
    /// The reads of one batch of jobs: make one per batch received, before handling any.
    pub fn batch(&self) -> BatchReads {
        BatchReads::new(self.subscriptions.clone())
    }

    /// Handles one job on its own, with reads of its own.
    pub async fn handle(&self, job: &DeliveryJob) -> Result<Handled, DeliverError> {
        self.handle_in(&self.batch(), job).await
    }

    /// Handles one job of the batch `reads` belongs to.
    pub async fn handle_in(
        &self,
        reads: &BatchReads,
        job: &DeliveryJob,
    ) -> Result<Handled, DeliverError> {
        let now = self.clock.now();
        if let Some(not_before) = job.not_before {
            let remaining = remaining_until(not_before, now);
            if !remaining.is_zero() {
                let (delay, _) = next_hop(remaining);
                self.queue.enqueue_after(job, delay).await?;
                return Ok(Handled::Deferred);
            }
        }
        match self.claim(job, now).await? {
            Claim::Ours(mut record) => self.attempt(reads, job, &mut record).await,
            Claim::Busy => Ok(Handled::Retry),
            Claim::Nothing => Ok(Handled::Skipped),
        }
    }

    /// Claims the delivery for this job's attempt (creating it on a first attempt).
    async fn claim(&self, job: &DeliveryJob, now: OffsetDateTime) -> Result<Claim, DeliverError> {
        let until = to_millis(now + CLAIM);
        if let (Some(first), 1) = (&job.first, job.attempt) {
            let record = DeliveryRecord {
                id: job.delivery_id.clone(),
                account_id: job.account_id.clone(),
                subscription_id: job.subscription_id.clone(),
                event_id: first.event_id.clone(),
                event_name: first.event_name.clone(),
                test: first.test,
                status: DeliveryStatus::Pending,
                body: first.body.clone(),
                event_expires_at: first.event_expires_at,
                attempts: Vec::new(),
                attempt_count: 0,
                next_attempt: 1,
                job_ticket: job.attempt,
                next_attempt_at: Some(to_millis(now)),
                window_start: Some(to_millis(now)),
                claimed_until: Some(until),
                reason: None,
                created_at: to_millis(now),
                updated_at: to_millis(now),
                expires_at: to_millis(now + self.retention),
                version: 1,
            };
            match self.deliveries.create(&record).await {
                Ok(()) => return Ok(Claim::Ours(Box::new(record))),
                // Fanned out before: the record decides below.
                Err(StoreError::PreconditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let record = match self
            .deliveries
            .claim(&job.account_id, &job.delivery_id, job.attempt, now, until)
            .await?
        {
            Claimed::Ours(record) => return Ok(Claim::Ours(record)),
            Claimed::Not(Some(record)) => record,
            Claimed::Not(None) => {
                tracing::warn!(account = %job.account_id, delivery = %job.delivery_id, "no such delivery (expired or never created); job dropped");
                return Ok(Claim::Nothing);
            }
        };
        if record.status != DeliveryStatus::Pending {
            return Ok(Claim::Nothing);
        }
        if record.ticket() != job.attempt {
            // The last attempt scheduled the pending one (an administrator's retry sets
            // another time), under the ticket after this job's.
            let scheduled_by_last = record.attempts.last().is_some_and(|a| {
                a.next_attempt_at.is_some() && a.next_attempt_at == record.next_attempt_at
            });
            if record.ticket() == job.attempt + 1 && scheduled_by_last {
                // This job's attempt was made and its retry recorded, but perhaps never
                // queued: queue it (again). The retry's own claim keeps a second copy idle.
                self.queue_retry(&record).await?;
            }
            return Ok(Claim::Nothing);
        }
        // Pending under this job's ticket, yet not claimed: another deliverer holds it.
        Ok(Claim::Busy)
    }

    async fn attempt(
        &self,
        reads: &BatchReads,
        job: &DeliveryJob,
        record: &mut DeliveryRecord,
    ) -> Result<Handled, DeliverError> {
        let subscription = reads
            .subscription(&job.account_id, &job.subscription_id)
            .await?;
        let started_at = self.clock.now();
        let give_up_at = self.give_up_at(record, started_at);
        let number = record.next_attempt;
        // Made from here on, whatever its outcome: what is scheduled next counts past it.
        record.attempt_count = record.attempt_count.max(number);
        let mut attempt = DeliveryAttempt {
            number,
            at: to_millis(started_at),
            url: subscription
                .as_ref()
                .map(|s| s.destination.describe())
                .unwrap_or_default(),
            request_headers: BTreeMap::new(),
            response_status: None,
            response_headers: BTreeMap::new(),
            response_body: String::new(),
            response_body_truncated: false,
            duration_ms: 0,
            outcome: String::new(),
            error: None,
            next_attempt_at: None,
        };
        let outcome = match subscription.as_deref() {
            // Late (a job that waited in the queue, a last hop that landed after the limit):
            // never sent after the event's expiresAt or the five-day window.
            _ if started_at > give_up_at => {
                Err("expired before it could be delivered: never sent after the event's expiresAt or five days".to_owned())
            }
            None => Err("the subscription was deleted".to_owned()),
            Some(s) if !s.active && !record.test => Err("the subscription is inactive".to_owned()),
            Some(s) => Ok(s),
        };
        let (verdict, response) = match outcome {
            Err(why) => {
                attempt.error = Some(why);
                (Verdict::Fail, None)
            }
            Ok(subscription) => {
                let report = self.send(subscription, record).await?;
                attempt.url = report.target;
                attempt.request_headers = report.request_headers;
                attempt.duration_ms =
                    u64::try_from(report.duration.as_millis()).unwrap_or(u64::MAX);
                attempt.error = report.error;
                if let Some(r) = &report.response {
                    attempt.response_status = Some(r.status);
                    attempt.response_headers = r.headers.clone();
                    attempt.response_body = r.body.clone();
                    attempt.response_body_truncated = r.truncated;
                }
                (report.verdict, report.response)
            }
        };

        let now = self.clock.now();
        record.claimed_until = None;
        record.updated_at = to_millis(now);
        let handled = match verdict {
            Verdict::Delivered => {
                record.status = DeliveryStatus::Delivered;
                record.next_attempt_at = None;
                attempt.outcome = "delivered".into();
                Handled::Delivered
            }
            Verdict::Retry => {
                let next = self.next_attempt(record, now, give_up_at, response.as_ref());
                match next {
                    Some(at) => {
                        record.schedule(at);
                        attempt.outcome = "retry".into();
                        attempt.next_attempt_at = Some(to_millis(at));
                        Handled::Scheduled
                    }
                    None => {
                        self.fail(record, format!("gave up after {number} attempts"));
                        attempt.outcome = "failed".into();
                        Handled::Failed
                    }
                }
            }
            Verdict::Fail => {
                let why = attempt
                    .error
                    .clone()
                    .or_else(|| {
                        attempt
                            .response_status
                            .map(|s| format!("the endpoint answered {s}"))
                    })
                    .unwrap_or_else(|| "failed".into());
                self.fail(record, why);
                attempt.outcome = "failed".into();
                Handled::Failed
            }
            Verdict::DisableSubscription => {
                let why = attempt.error.clone().unwrap_or_else(|| GONE.to_owned());
                self.fail(record, format!("{why}: the subscription is disabled"));
                attempt.outcome = "disabled".into();
                Handled::Failed
            }
        };
        let why = attempt.error.clone().unwrap_or_else(|| GONE.to_owned());
        record.push_attempt(attempt);
        if verdict == Verdict::DisableSubscription {
            // Before the delivery is settled, so that a failure here brings the job back.
            self.disable(&job.account_id, &job.subscription_id, why, now)
                .await?;
        }
        self.deliveries.replace(record).await?;
        tracing::info!(
            account = %record.account_id,
            delivery = %record.id,
            attempt = number,
            outcome = ?handled,
            "delivery attempt"
        );
        if handled == Handled::Scheduled {
            self.queue_retry(record).await?;
        }
        Ok(handled)
    }

    fn fail(&self, record: &mut DeliveryRecord, why: String) {
        record.status = DeliveryStatus::Failed;
        record.next_attempt_at = None;
        record.reason = Some(why);
    }

    /// The last moment an attempt may be made: the event's `expiresAt`, or five days after
    /// the window opened (the first attempt, or the last manual retry).
    fn give_up_at(&self, record: &DeliveryRecord, now: OffsetDateTime) -> OffsetDateTime {
        RetryState {
            first_attempt_at: record.window_start.unwrap_or(now),
            failed_attempts: 0,
            expires_at: record.event_expires_at,
        }
        .give_up_at()
    }

    fn next_attempt(
        &self,
        record: &DeliveryRecord,
        now: OffsetDateTime,
        give_up_at: OffsetDateTime,
        response: Option<&WebhookResponse>,
    ) -> Option<OffsetDateTime> {
        let state = RetryState {
            first_attempt_at: record.window_start.unwrap_or(now),
            // The attempts of this window (since the first, or the last manual retry), the
            // one just made included.
            failed_attempts: u32::try_from(
                record
                    .attempts
                    .iter()
                    .filter(|a| record.window_start.is_none_or(|w| a.at >= w))
                    .count(),
            )
            .unwrap_or(u32::MAX)
            .saturating_add(1),
            expires_at: record.event_expires_at,
        };
        let retry_after = response.and_then(|r| r.retry_after);
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        let at = next_attempt_at(&state, now, retry_after, &mut *rng)?;
        // SQS delays are whole seconds and a hop may land late: aim a little before the limit
        // so that the last attempt is not refused as expired.
        let latest = give_up_at - LAST_ATTEMPT_MARGIN;
        Some(at.min(latest)).filter(|at| *at > now)
    }

    /// Queues the record's next attempt, delayed by the first hop of its wait.
    async fn queue_retry(&self, record: &DeliveryRecord) -> Result<(), QueueError> {
        let now = self.clock.now();
        let at = record.next_attempt_at;
        let delay = at.map_or(0, |at| next_hop(remaining_until(at, now)).0);
        let job = DeliveryJob {
            account_id: record.account_id.clone(),
            subscription_id: record.subscription_id.clone(),
            delivery_id: record.id.clone(),
            attempt: record.ticket(),
            not_before: record.next_attempt_at,
            first: None,
        };
        self.queue.enqueue_after(&job, delay).await
    }

    /// Hands the record's body to the subscription's destination.
    async fn send(
        &self,
        subscription: &Subscription,
        record: &DeliveryRecord,
    ) -> Result<Report, DeliverError> {
        let outbound = Outbound {
            account_id: &record.account_id,
            subscription_id: &record.subscription_id,
            delivery_id: &record.id,
            event_id: &record.event_id,
            event_name: &record.event_name,
            body: &record.body,
            at: self.clock.now(),
        };
        self.couriers
            .of(subscription.destination.kind())
            .send(&subscription.destination, &outbound)
            .await
    }

    /// The destination is gone (a 410, a deleted topic or queue): no further events go to it.
    /// Read afresh and written conditionally (retried when a concurrent edit wins);
    /// `subscription.disabled` is published only by the write that disabled it.
    async fn disable(
        &self,
        account: &crate::common::account::AccountId,
        id: &crate::events::subscription::SubscriptionId,
        reason: String,
        now: OffsetDateTime,
    ) -> Result<(), DeliverError> {
        for _ in 0..3 {
            let Some(mut subscription) = self.subscriptions.get(account, id).await? else {
                return Ok(());
            };
            if !subscription.active {
                return Ok(());
            }
            subscription.active = false;
            subscription.disabled_reason = Some(reason.clone());
            subscription.updated_at = to_millis(now);
            match self.subscriptions.replace(&mut subscription).await {
                Ok(()) => {}
                Err(StoreError::PreconditionFailed) => continue,
                Err(e) => return Err(e.into()),
            }
            tracing::warn!(account = %account, subscription = %id, reason = %reason, "destination gone: subscription disabled");
            if let Err(e) = self
                .events
                .herald_event(
                    account,
                    &SubscriptionDisabled::new(&subscription, &reason),
                    vec![],
                    now,
                )
                .await
            {
                tracing::error!(account = %account, error = %e, "subscription.disabled not published");
            }
            return Ok(());
        }
        Err(StoreError::PreconditionFailed.into())
    }
}
