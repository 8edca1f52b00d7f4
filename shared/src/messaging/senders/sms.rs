//! Sending an SMS. The port is [`SmsSender`]; `adapters` speak Amazon SNS (Publish), Twilio (the
//! Messages API) and Vonage (the SMS API), each sorting its failures by the rules of
//! [`crate::messaging::senders`].

use async_trait::async_trait;

use crate::messaging::message::{PhoneNumber, SmsText};
use crate::messaging::senders::{Accepted, Failure, Settled};
use crate::messaging::sms::{SenderName, SmsProvider};

/// One SMS to hand to a provider.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingSms<'a> {
    /// Herald's ids of the message, for the provider's delivery receipt to name it.
    pub account_id: &'a str,
    pub message_id: &'a str,
    pub from: &'a SenderName,
    pub to: &'a PhoneNumber,
    pub text: &'a SmsText,
}

#[async_trait]
pub trait SmsSender: Send + Sync {
    fn provider(&self) -> SmsProvider;
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<Accepted, Failure>;

    /// Looks `sms` up in the provider's own records, among messages created since `since`.
    /// Only providers with such a lookup override this.
    async fn settle(&self, _sms: OutgoingSms<'_>, _since: time::OffsetDateTime) -> Settled {
        Settled::CannotTell
    }
}
