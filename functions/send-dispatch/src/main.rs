//! The `send-dispatch` Lambda: sends each message of the `send` queue through the account's
//! primary provider and records the outcome in the delivery log; on the send queue's
//! dead-letter queue, ends each message there `failed`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use herald::lambda::dispatch::handler::{dead_letter_batch, from_queue, send_batch};
use herald::lambda::dispatch::setup::DispatchConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = DispatchConfig::from_env()?;
    let aws = std::sync::Arc::new(herald::adapters::aws::clients().await);
    let sms = config.sms_dispatcher(&aws)?;
    let email = config.email_dispatcher(&aws)?;
    let (sms, email) = (&sms, &email);
    let dead_letters = config.dead_letter_queue_arn.as_deref();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(if from_queue(&event.payload, dead_letters) {
            dead_letter_batch(event.payload, sms, Some(email)).await
        } else {
            send_batch(event.payload, sms, email).await
        })
    }))
    .await
}
