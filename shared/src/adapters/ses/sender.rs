//! Amazon SES v2 `SendEmail`, with simple content (SES builds the MIME).

use async_trait::async_trait;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageHeader};
use serde_json::json;

use crate::adapters::aws::send_failure;
use crate::adapters::mime::mailbox;
use crate::messaging::senders::email::{EmailSender, OutgoingEmail};
use crate::messaging::senders::{Accepted, Failure};

pub struct Ses {
    client: aws_sdk_sesv2::Client,
    configuration_set: Option<String>,
}

impl Ses {
    pub fn new(client: aws_sdk_sesv2::Client, configuration_set: Option<String>) -> Self {
        Self {
            client,
            configuration_set,
        }
    }
}

fn content(data: &str) -> Result<Content, Failure> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| Failure::permanent(e.to_string(), None, serde_json::Value::Null))
}

fn tag(name: &str, value: &str) -> Result<aws_sdk_sesv2::types::MessageTag, Failure> {
    aws_sdk_sesv2::types::MessageTag::builder()
        .name(name)
        .value(value)
        .build()
        .map_err(|e| Failure::permanent(e.to_string(), None, serde_json::Value::Null))
}

/// SES errors worth another try.
const TEMPORARY: [&str; 3] = [
    "TooManyRequestsException",
    "LimitExceededException",
    "InternalFailure",
];

#[async_trait]
impl EmailSender for Ses {
    async fn send(&self, email: &OutgoingEmail) -> Result<Accepted, Failure> {
        let mut body = Body::builder();
        if let Some(text) = &email.text {
            body = body.text(content(text)?);
        }
        if let Some(html) = &email.html {
            body = body.html(content(html)?);
        }
        let mut message = Message::builder()
            .subject(content(&email.subject)?)
            .body(body.build());
        for (name, value) in email.unsubscribe_headers() {
            message = message.headers(
                MessageHeader::builder()
                    .name(name)
                    .value(value)
                    .build()
                    .map_err(|e| {
                        Failure::permanent(format!("header {name}: {e}"), None, json!(null))
                    })?,
            );
        }
        let message = message.build();
        let result = self
            .client
            .send_email()
            .from_email_address(mailbox(email)?.to_string())
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(email.to.iter().map(ToString::to_string).collect()))
                    .build(),
            )
            .set_reply_to_addresses(email.reply_to.as_ref().map(|r| vec![r.to_string()]))
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            // Come back in every event notification's mail.tags: how a receipt finds its
            // message without an index on SES's message id.
            .email_tags(tag(
                crate::messaging::senders::email::ACCOUNT_TAG,
                &email.account_id,
            )?)
            .email_tags(tag(
                crate::messaging::senders::email::MESSAGE_TAG,
                &email.message_id,
            )?)
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
            Err(e) => Err(send_failure("Amazon SES", e, &TEMPORARY)),
        }
    }
}
