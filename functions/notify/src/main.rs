//! The `notify` Lambda: each event of the `notifications` queue becomes the notifications its
//! account's rules make of it, sent as messages through the `send` queue.

use herald::lambda::notify::Notify;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let handler = Notify::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<_>| {
        handler.handle(event.payload)
    }))
    .await
}
