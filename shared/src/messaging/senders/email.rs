//! Sending an email: through the platform's sending ([`EmailSender`], SES v2 in `adapters`), or
//! through the account's own SMTP server ([`SmtpSender`]), with the failure rules of
//! [`crate::messaging::senders`].

use async_trait::async_trait;

use crate::common::secret::{SealedSecret, Secret};
use crate::messaging::email::EmailAddress;
use crate::messaging::email::SmtpSettings;
use crate::messaging::senders::{Accepted, Failure};

/// The SES message tags that name Herald's message: the sender sets them, and SES's event
/// notifications carry them back with each receipt.
pub const ACCOUNT_TAG: &str = "herald-account";
pub const MESSAGE_TAG: &str = "herald-message";

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
    /// RFC 8058's one-click unsubscribe URL, sent with `List-Unsubscribe-Post`.
    pub list_unsubscribe: Option<String>,
}

impl OutgoingEmail {
    /// The RFC 8058 headers, when the message has an unsubscribe URL.
    pub fn unsubscribe_headers(&self) -> Vec<(&'static str, String)> {
        self.list_unsubscribe.as_ref().map_or_else(Vec::new, |url| {
            vec![
                ("List-Unsubscribe", format!("<{url}>")),
                (
                    "List-Unsubscribe-Post",
                    "List-Unsubscribe=One-Click".to_owned(),
                ),
            ]
        })
    }
}

#[async_trait]
pub trait EmailSender: Send + Sync {
    async fn send(&self, email: &OutgoingEmail) -> Result<Accepted, Failure>;
}

/// The account's own SMTP server.
#[async_trait]
pub trait SmtpSender: Send + Sync {
    /// Sends through the server of `settings`; `secret` is its auth's secret, opened.
    async fn send(
        &self,
        settings: &SmtpSettings<SealedSecret>,
        secret: Option<&Secret>,
        email: &OutgoingEmail,
    ) -> Result<Accepted, Failure>;
}
