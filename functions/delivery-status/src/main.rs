//! The `delivery-status` Lambda: SES event notifications (through SNS and the status queue)
//! move message logs to delivered, opened or failed, and publish the matching events.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use herald::status::{StatusConfig, handle_batch};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = StatusConfig::from_env()?;
    let aws = herald::aws::load().await;
    let tracker = config.tracker(&aws);
    let tracker = &tracker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(handle_batch(event.payload, tracker).await)
    }))
    .await
}
