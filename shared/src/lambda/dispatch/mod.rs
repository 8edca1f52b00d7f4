//! `send-dispatch` and `sms-failover`.

pub mod handler;
pub mod setup;

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use crate::lambda::Error;
use crate::lambda::dispatch::handler::{dead_letter_batch, failover_batch, from_queue, send_batch};
use crate::lambda::dispatch::setup::DispatchConfig;
use crate::messaging::dispatch::email::EmailDispatcher;
use crate::messaging::dispatch::sms::SmsDispatcher;

/// `send-dispatch`: the send queue's jobs through the account's primary SMS provider or its
/// email route; on the send queue's dead-letter queue, each job's message ends `failed`.
pub struct SendDispatch {
    sms: SmsDispatcher,
    email: EmailDispatcher,
    dead_letter_queue_arn: Option<String>,
}

impl SendDispatch {
    pub async fn from_env() -> Result<Self, Error> {
        let config = DispatchConfig::from_env()?;
        let aws = Arc::new(crate::adapters::aws::clients().await);
        Ok(Self {
            sms: config.sms_dispatcher(&aws)?,
            email: config.email_dispatcher(&aws)?,
            dead_letter_queue_arn: config.dead_letter_queue_arn,
        })
    }

    pub async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, Error> {
        Ok(
            if from_queue(&event, self.dead_letter_queue_arn.as_deref()) {
                dead_letter_batch(event, &self.sms, Some(&self.email)).await
            } else {
                send_batch(event, &self.sms, &self.email).await
            },
        )
    }
}

/// `sms-failover`: SMS that failed temporarily through the primary provider, through the
/// secondary; on the failover queue's dead-letter queue, each job's message ends `failed`.
pub struct SmsFailover {
    sms: SmsDispatcher,
    dead_letter_queue_arn: Option<String>,
}

impl SmsFailover {
    pub async fn from_env() -> Result<Self, Error> {
        let config = DispatchConfig::from_env()?;
        let aws = Arc::new(crate::adapters::aws::clients().await);
        Ok(Self {
            sms: config.sms_dispatcher(&aws)?,
            dead_letter_queue_arn: config.dead_letter_queue_arn,
        })
    }

    pub async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, Error> {
        Ok(
            if from_queue(&event, self.dead_letter_queue_arn.as_deref()) {
                dead_letter_batch(event, &self.sms, None).await
            } else {
                failover_batch(event, &self.sms).await
            },
        )
    }
}
