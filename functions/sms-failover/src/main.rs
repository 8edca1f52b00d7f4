//! The `sms-failover` Lambda: sends each SMS of the `failover` queue through the account's
//! secondary provider; on the failover queue's dead-letter queue, ends each message there
//! `failed`.

use herald::lambda::dispatch::SmsFailover;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let handler = SmsFailover::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<_>| {
        handler.handle(event.payload)
    }))
    .await
}
