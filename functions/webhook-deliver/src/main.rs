//! The `webhook-deliver` Lambda: makes one signed attempt per job of the `deliveries` queue and
//! queues the next attempt when a failure may be retried.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use herald::events::delivery::DeliveryJob;
use herald::events::delivery::deliverer::Handled;
use herald::lambda::sqs_batch::{Delivery, run_batch};
use herald::lambda::webhooks::WebhookConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = WebhookConfig::from_env()?;
    let aws = std::sync::Arc::new(herald::adapters::aws::clients().await);
    let deliverer = config.deliverer(&aws)?;
    let deliverer = &deliverer;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<SqsEvent>| async move {
            Ok::<SqsBatchResponse, Error>(
                run_batch(event.payload, |d: Delivery<DeliveryJob>| async move {
                    match deliverer.handle(&d.job).await {
                        Ok(handled) => handled != Handled::Retry,
                        Err(e) => {
                            tracing::error!(delivery = %d.job.delivery_id, error = %e, "delivery failed; will retry");
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
