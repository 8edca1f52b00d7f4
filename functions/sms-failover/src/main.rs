//! The `sms-failover` Lambda: sends each SMS of the `sms-failover` queue (its primary provider
//! failed temporarily) through the account's secondary provider; on the failover queue's
//! dead-letter queue, ends each message there `failed`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use herald::lambda::dispatch::handler::{dead_letter_batch, failover_batch, from_queue};
use herald::lambda::dispatch::setup::DispatchConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = DispatchConfig::from_env()?;
    let aws = std::sync::Arc::new(herald::adapters::aws::clients().await);
    let sms = config.sms_dispatcher(&aws)?;
    let sms = &sms;
    let dead_letters = config.dead_letter_queue_arn.as_deref();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(if from_queue(&event.payload, dead_letters) {
            dead_letter_batch(event.payload, sms, None).await
        } else {
            failover_batch(event.payload, sms).await
        })
    }))
    .await
}
