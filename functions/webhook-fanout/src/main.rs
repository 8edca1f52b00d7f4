//! The `webhook-fanout` Lambda: each event of the `events` queue becomes one delivery job per
//! matching active subscription of its account; an account's subscriptions are read once per
//! batch.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use herald::events::webhook::Event;
use herald::lambda::sqs_batch::{Delivery, run_batch};
use herald::lambda::webhooks::WebhookConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = WebhookConfig::from_env()?;
    let aws = herald::adapters::aws::clients().await;
    let fanout = config.fanout(&aws);
    let fanout = &fanout;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<SqsEvent>| async move {
            // Taken now, after every event of the batch was published: the batch's events
            // share its reads, and no read outlives the batch.
            let batch = fanout.batch();
            let batch = &batch;
            Ok::<SqsBatchResponse, Error>(
                run_batch(event.payload, |d: Delivery<Event>| async move {
                    let now = time::OffsetDateTime::now_utc();
                    match batch.fan_out(&d.job, now).await {
                        Ok(_) => true,
                        Err(e) => {
                            tracing::error!(event = %d.job.id(), error = %e, "fan-out failed; will retry");
                            false
                        }
                    }
                })
                .await,
            )
        },
    ))
    .await
}
