//! The `sms-failover` Lambda: sends each SMS of the `sms-failover` queue (its primary provider
//! failed temporarily) through the account's secondary provider.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use herald::dispatch::handler::failover_batch;
use herald::dispatch::setup::DispatchConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = DispatchConfig::from_env()?;
    let aws = std::sync::Arc::new(herald::aws::clients().await);
    let sms = config.sms_dispatcher(&aws)?;
    let sms = &sms;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(failover_batch(event.payload, sms).await)
    }))
    .await
}
