//! The `delivery-status` Lambda: SES event notifications (through SNS and the status queue)
//! and Amazon SNS's SMS delivery status logs (through a subscription filter) move message logs
//! to delivered, opened or failed, and publish the matching events.

use herald::lambda::receipts::{StatusConfig, handle_invocation};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = StatusConfig::from_env()?;
    let aws = herald::adapters::aws::clients().await;
    let tracker = config.tracker(&aws);
    let tracker = &tracker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle_invocation(event.payload, tracker).await
    }))
    .await
}
