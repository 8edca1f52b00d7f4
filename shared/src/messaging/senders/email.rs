//! Email senders: SES v2 ([`crate::adapters::ses::sender::Ses`]) for accounts on the platform's sending, and the
//! account's own SMTP server ([`SmtpMailer`]), with the same failure rules as SMS providers.

use async_trait::async_trait;

pub use crate::adapters::smtp::SmtpMailer;
use crate::messaging::email::EmailAddress;
pub use crate::messaging::senders::sms::{Accepted, Failure, FailureKind};

/// One email, addressed and ready.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    /// Herald's ids of the message, which SES's event notifications carry back as tags.
    pub account_id: String,
    pub message_id: String,
    pub from_name: String,
    pub from: EmailAddress,
    pub to: Vec<EmailAddress>,
    pub reply_to: Option<EmailAddress>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl OutgoingEmail {
    /// `Name <address>`, the display name encoded as RFC 2047 needs.
    pub fn from_mailbox(&self) -> Result<lettre::message::Mailbox, Failure> {
        let address = self.from.to_string().parse().map_err(|e| {
            Failure::permanent(
                format!("sender address: {e}"),
                None,
                serde_json::Value::Null,
            )
        })?;
        Ok(lettre::message::Mailbox::new(
            Some(self.from_name.clone()),
            address,
        ))
    }

    /// The message as MIME: text, HTML, or both as alternatives.
    pub fn to_mime(&self) -> Result<lettre::Message, Failure> {
        use lettre::message::{MultiPart, SinglePart, header::ContentType};
        let bad = |e: &dyn std::fmt::Display| {
            Failure::permanent(
                format!("the message cannot be built: {e}"),
                None,
                serde_json::Value::Null,
            )
        };
        let mut builder = lettre::Message::builder()
            .from(self.from_mailbox()?)
            .subject(&self.subject);
        for to in &self.to {
            builder = builder.to(to.to_string().parse().map_err(|e| bad(&e))?);
        }
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.to_string().parse().map_err(|e| bad(&e))?);
        }
        let message = match (&self.text, &self.html) {
            (Some(text), Some(html)) => builder.multipart(MultiPart::alternative_plain_html(
                text.clone(),
                html.clone(),
            )),
            (None, Some(html)) => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(html.clone()),
            ),
            (text, None) => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(text.clone().unwrap_or_default()),
            ),
        };
        message.map_err(|e| bad(&e))
    }
}

#[async_trait]
pub trait EmailSender: Send + Sync {
    async fn send(&self, email: &OutgoingEmail) -> Result<Accepted, Failure>;
}
