//! Amazon SNS: `Publish` straight to a phone number, as a transactional SMS with the sender id.

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::json;

use crate::messaging::senders::sms::{OutgoingSms, SmsSender};
use crate::messaging::senders::{Accepted, Failure};
use crate::messaging::sms::SmsProvider;

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
        use aws_sdk_sns::error::ProvideErrorMetadata;
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
            // Sent, and no answer in time: SNS/SES may have taken it.
            Err(e @ aws_sdk_sns::error::SdkError::TimeoutError(_)) => Err(Failure::unknown(
                format!("Amazon SNS: no answer in time ({e})"),
                json!(null),
            )),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                let code = e.code().map(str::to_owned);
                let reason = format!(
                    "Amazon SNS: {}",
                    e.message().map_or_else(|| e.to_string(), str::to_owned)
                );
                let response = json!({"status": status, "code": code});
                match (code.as_deref(), status) {
                    (
                        Some(
                            "Throttling"
                            | "ThrottlingException"
                            | "InternalError"
                            | "KMSThrottling",
                        ),
                        _,
                    ) => Err(Failure::temporary(reason, code, response)),
                    (_, Some(s)) => Err(Failure::from_status(s, reason, code, response)),
                    // No answer at all: a timeout or a connection failure.
                    (_, None) => Err(Failure::temporary(reason, code, response)),
                }
            }
        }
    }
}
