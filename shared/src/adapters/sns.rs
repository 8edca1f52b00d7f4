//! Amazon SNS: `Publish` straight to a phone number, as a transactional SMS with the sender id.

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::json;

use crate::adapters::aws::first_use::OnFirstUse;
use crate::adapters::aws::send_failure;
use crate::messaging::senders::sms::{OutgoingSms, SmsSender};
use crate::messaging::senders::{Accepted, Failure};
use crate::messaging::sms::SmsProvider;

/// SNS's error codes that are worth another try (or another provider).
const SNS_TEMPORARY: [&str; 4] = [
    "Throttling",
    "ThrottlingException",
    "InternalError",
    "KMSThrottling",
];

pub struct Sns {
    client: aws_sdk_sns::Client,
}

impl Sns {
    pub fn new(client: aws_sdk_sns::Client) -> Self {
        Self { client }
    }
}

fn attribute(value: &str) -> Result<MessageAttributeValue, Failure> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| Failure::permanent(e.to_string(), None, serde_json::Value::Null))
}

#[async_trait]
impl SmsSender for Sns {
    fn provider(&self) -> SmsProvider {
        SmsProvider::Sns
    }

    async fn send(&self, sms: OutgoingSms<'_>) -> Result<Accepted, Failure> {
        let result = self
            .client
            .publish()
            .phone_number(sms.to.as_str())
            .message(sms.text.as_str())
            .message_attributes("AWS.SNS.SMS.SenderID", attribute(sms.from.as_str())?)
            .message_attributes("AWS.SNS.SMS.SMSType", attribute("Transactional")?)
            .send()
            .await;
        match result {
            Ok(out) => {
                let id = out.message_id.unwrap_or_default();
                Ok(Accepted {
                    response: json!({"messageId": id}),
                    provider_message_id: id,
                })
            }
            Err(e) => Err(send_failure("Amazon SNS", e, &SNS_TEMPORARY)),
        }
    }
}

/// Amazon SNS, for an operator who offers it beside Twilio or Vonage: its client is built when
/// the first SMS goes out through it. Naming the provider builds nothing.
#[async_trait]
impl SmsSender for OnFirstUse<Sns> {
    fn provider(&self) -> SmsProvider {
        SmsProvider::Sns
    }

    async fn send(&self, sms: OutgoingSms<'_>) -> Result<Accepted, Failure> {
        self.get().send(sms).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::adapters::aws::Clients;

    #[test]
    fn naming_the_sns_provider_builds_no_client() {
        let clients = Arc::new(Clients::new(
            aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("eu-west-1"))
                .build(),
        ));
        let sns = OnFirstUse::new(clients, |aws| Sns::new(aws.sns()));
        assert_eq!(sns.provider(), SmsProvider::Sns);
        assert!(!sns.is_built());
    }
}
