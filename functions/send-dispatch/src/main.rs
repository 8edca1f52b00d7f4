//! The `send-dispatch` Lambda: sends each message of the `send` queue through the account's
//! primary provider and records the outcome in the delivery log.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use herald::dispatch::setup::DispatchConfig;
use herald::dispatch::{Leg, Outcome};
use herald::message::Channel;
use herald::queue::SendJob;
use herald::sqs_batch::{Delivery, run_batch};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = DispatchConfig::from_env()?;
    let aws = herald::aws::load().await;
    let sms = config.sms_dispatcher(&aws)?;
    let email = config.email_dispatcher(&aws)?;
    let (sms, email) = (&sms, &email);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<SqsEvent>| async move {
            Ok::<SqsBatchResponse, Error>(
                run_batch(event.payload, |d: Delivery<SendJob>| async move {
                    let result = match d.job.channel {
                        Channel::Sms => sms.dispatch(&d.job, Leg::Primary, d.receive_count).await,
                        Channel::Email => email.dispatch(&d.job, d.receive_count).await,
                    };
                    match result {
                        Ok(outcome) => outcome != Outcome::Retry,
                        Err(e) => {
                            tracing::error!(message = %d.job.message_id, error = %e, "dispatch failed; will retry");
                            false
                        }
                    }
                })
                .await,
            )
        },
    ))
    .await
}
