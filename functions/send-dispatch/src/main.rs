//! The `send-dispatch` Lambda: sends each message of the `send` queue through the account's
//! primary provider and records the outcome in the message log; on the send queue's
//! dead-letter queue, ends each message there `failed`.

use herald::lambda::dispatch::SendDispatch;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let handler = SendDispatch::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<_>| {
        handler.handle(event.payload)
    }))
    .await
}
