//! The `dns-verify` Lambda: on its schedule, checks the DNS records of every pending sending
//! domain, records what it found, and publishes `domain.verified` / `domain.failed`.

use herald::lambda::domains::VerifyConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = VerifyConfig::from_env()?;
    let aws = herald::adapters::aws::clients().await;
    let checker = config.checker(&aws)?;
    let checker = &checker;
    // The payload is EventBridge's scheduled event; nothing in it changes what a run does.
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let checked = checker.run().await?;
        Ok::<Value, Error>(json!({ "checked": checked }))
    }))
    .await
}
