//! The SQS handlers of `send-dispatch` and `sms-failover`: every record of a batch dispatched
//! at once, the ones to retry reported back as batch item failures. The functions' `main` and
//! the benchmarks run these same handlers.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use crate::lambda::sqs_batch::{Delivery, run_batch};
use crate::messaging::dispatch::SendJob;
use crate::messaging::dispatch::email::EmailDispatcher;
use crate::messaging::dispatch::sms::SmsDispatcher;
use crate::messaging::dispatch::{DispatchError, Leg, Outcome};
use crate::messaging::message::Channel;

/// Whether the record is done with (`true`) or must come back (`false`).
fn handled(job: &SendJob, result: Result<Outcome, DispatchError>) -> bool {
    match result {
        Ok(outcome) => outcome != Outcome::Retry,
        Err(e) => {
            tracing::error!(account = %job.account_id, message = %job.message_id, error = %e, "dispatch failed; will retry");
            false
        }
    }
}

/// Whether every record of the batch comes from the queue `arn` (a batch comes from one event
/// source mapping, so from one queue).
pub fn from_queue(event: &SqsEvent, arn: Option<&str>) -> bool {
    arn.is_some_and(|arn| {
        !event.records.is_empty()
            && event
                .records
                .iter()
                .all(|r| r.event_source_arn.as_deref() == Some(arn))
    })
}

/// `send-dispatch` and `sms-failover` on their dead-letter queues: each job's message ends
/// `failed` ([`crate::messaging::dispatch::give_up`]).
pub async fn dead_letter_batch(
    event: SqsEvent,
    sms: &SmsDispatcher,
    email: Option<&EmailDispatcher>,
) -> SqsBatchResponse {
    run_batch(event, |d: Delivery<SendJob>| async move {
        let result = match (d.job.channel, email) {
            (Channel::Email, Some(email)) => {
                crate::messaging::dispatch::give_up(
                    email.log.as_ref(),
                    &email.events,
                    email.clock.now(),
                    &d.job,
                )
                .await
            }
            _ => {
                crate::messaging::dispatch::give_up(
                    sms.log.as_ref(),
                    &sms.events,
                    sms.clock.now(),
                    &d.job,
                )
                .await
            }
        };
        handled(&d.job, result)
    })
    .await
}

/// `send-dispatch`: each job through the account's primary SMS provider, or its email route.
pub async fn send_batch(
    event: SqsEvent,
    sms: &SmsDispatcher,
    email: &EmailDispatcher,
) -> SqsBatchResponse {
    run_batch(event, |d: Delivery<SendJob>| async move {
        let result = match d.job.channel {
            Channel::Sms => sms.dispatch(&d.job, Leg::Primary, d.receive_count).await,
            Channel::Email => email.dispatch(&d.job, d.receive_count).await,
        };
        handled(&d.job, result)
    })
    .await
}

/// `sms-failover`: each job through the account's secondary SMS provider.
pub async fn failover_batch(event: SqsEvent, sms: &SmsDispatcher) -> SqsBatchResponse {
    run_batch(event, |d: Delivery<SendJob>| async move {
        let result = sms.dispatch(&d.job, Leg::Secondary, d.receive_count).await;
        handled(&d.job, result)
    })
    .await
}
