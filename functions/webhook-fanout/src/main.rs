//! The `webhook-fanout` Lambda: each event of the `events` queue becomes one delivery job per
//! matching active subscription of its account.

use herald::lambda::webhooks::WebhookFanout;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let handler = WebhookFanout::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<_>| {
        handler.handle(event.payload)
    }))
    .await
}
