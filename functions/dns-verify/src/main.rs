//! The `dns-verify` Lambda: on its schedule, checks the DNS records of sending domains.

use herald::lambda::domains::DnsVerify;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let handler = DnsVerify::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<_>| {
        handler.handle(event.payload)
    }))
    .await
}
