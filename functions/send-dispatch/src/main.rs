//! The `send-dispatch` Lambda: sends each message of the `send` queue through the account's
//! primary provider and records the outcome in the delivery log.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use herald::dispatch::handler::send_batch;
use herald::dispatch::setup::DispatchConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = DispatchConfig::from_env()?;
    let aws = std::sync::Arc::new(herald::aws::clients().await);
    let sms = config.sms_dispatcher(&aws)?;
    let email = config.email_dispatcher(&aws)?;
    let (sms, email) = (&sms, &email);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(send_batch(event.payload, sms, email).await)
    }))
    .await
}
