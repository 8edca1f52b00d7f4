//! The `webhook-deliver` Lambda: each job of the `deliveries` queue one signed POST, retried on
//! the webhook schedule.

use herald::lambda::webhooks::WebhookDeliver;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let handler = WebhookDeliver::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<_>| {
        handler.handle(event.payload)
    }))
    .await
}
