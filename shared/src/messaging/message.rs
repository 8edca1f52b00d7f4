//! Messages internal services hand Herald to send: their recipients, content and tags, and the
//! statuses a message moves through.

use serde::{Deserialize, Serialize};

use crate::messaging::email::EmailAddress;

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sms" => Some(Self::Sms),
            "email" => Some(Self::Email),
            _ => None,
        }
    }
}

/// Where a message stands. It only moves forward: queued → sent → delivered → opened; failed
/// is final unless a later provider attempt succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Queued,
    Sent,
    Delivered,
    Opened,
    Failed,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Opened => "opened",
            Self::Failed => "failed",
        }
    }

    /// The statuses a message of `channel` can have (SMS has no `opened`).
    pub fn of(channel: Channel) -> &'static [MessageStatus] {
        match channel {
            Channel::Sms => &[Self::Queued, Self::Sent, Self::Delivered, Self::Failed],
            Channel::Email => &[
                Self::Queued,
                Self::Sent,
                Self::Delivered,
                Self::Opened,
                Self::Failed,
            ],
        }
    }

    pub fn parse(s: &str, channel: Channel) -> Option<Self> {
        Self::of(channel)
            .iter()
            .copied()
            .find(|st| st.as_str() == s)
    }
}

/// A phone number in E.164 form: `+`, a country code not starting with 0, at most 15 digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be an E.164 phone number: + and 8 to 15 digits, such as +4712345678")]
pub struct InvalidPhoneNumber;

impl PhoneNumber {
    pub fn parse(s: &str) -> Result<Self, InvalidPhoneNumber> {
        let digits = s.strip_prefix('+').ok_or(InvalidPhoneNumber)?;
        let ok = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidPhoneNumber)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = InvalidPhoneNumber;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<PhoneNumber> for String {
    fn from(v: PhoneNumber) -> String {
        v.0
    }
}

/// Text of bounded length with no control characters other than line breaks and tabs.
fn bounded_text(s: &str, max: usize) -> Result<(), String> {
    let len = s.chars().count();
    if s.trim().is_empty() {
        Err("must not be blank".into())
    } else if len > max {
        Err(format!("must be at most {max} characters (it has {len})"))
    } else if s
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        Err("must not contain control characters".into())
    } else {
        Ok(())
    }
}

/// An SMS body: at most 1600 characters, the most any supported provider sends as one
/// (concatenated) message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SmsText(String);

impl SmsText {
    pub const MAX: usize = 1600;

    pub fn parse(s: &str) -> Result<Self, String> {
        bounded_text(s, Self::MAX).map(|()| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How an SMS text travels: GSM 03.38's 7-bit alphabet when every character is in it (the
/// extension table's characters count twice), otherwise UCS-2; a text longer than one
/// message is split into parts that each lose room to the concatenation header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsShape {
    pub encoding: &'static str,
    pub characters: usize,
    pub segments: usize,
}

const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION: &str = "^{}\\[~]|€\u{c}";

impl SmsShape {
    pub fn of(text: &str) -> Self {
        let characters = text.chars().count();
        let gsm: Option<usize> = text.chars().try_fold(0usize, |units, c| {
            if GSM_BASIC.contains(c) {
                Some(units + 1)
            } else if GSM_EXTENSION.contains(c) {
                Some(units + 2)
            } else {
                None
            }
        });
        let (encoding, units, single, part) = match gsm {
            Some(units) => ("GSM-7", units, 160, 153),
            None => ("UCS-2", text.encode_utf16().count(), 70, 67),
        };
        let segments = if units == 0 {
            0
        } else if units <= single {
            1
        } else {
            units.div_ceil(part)
        };
        Self {
            encoding,
            characters,
            segments,
        }
    }
}

impl TryFrom<String> for SmsText {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<SmsText> for String {
    fn from(v: SmsText) -> String {
        v.0
    }
}

/// An email subject: one line of at most 998 characters (RFC 5322's line limit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Subject(String);

impl Subject {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.contains(['\r', '\n']) {
            return Err("must be one line".into());
        }
        bounded_text(s, 998).map(|()| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Subject {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Subject> for String {
    fn from(v: Subject) -> String {
        v.0
    }
}

/// An email body part (text or HTML): at most 200,000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BodyPart(String);

impl BodyPart {
    pub const MAX: usize = 200_000;

    pub fn parse(s: &str) -> Result<Self, String> {
        bounded_text(s, Self::MAX).map(|()| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BodyPart {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<BodyPart> for String {
    fn from(v: BodyPart) -> String {
        v.0
    }
}

/// A tag on a message or event: 1 to 64 of letters, digits and `-_.:/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

impl Tag {
    pub const MAX_PER_ITEM: usize = 20;

    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err("a tag is 1 to 64 of letters, digits and - _ . : /".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Tag {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Tag> for String {
    fn from(v: Tag) -> String {
        v.0
    }
}

/// An SMS as requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsMessage {
    pub to: PhoneNumber,
    pub text: SmsText,
}

/// An email as requested. At least one of `text` and `html` is present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailMessage {
    pub to: Vec<EmailAddress>,
    pub subject: Subject,
    pub text: Option<BodyPart>,
    pub html: Option<BodyPart>,
    pub from: Option<EmailAddress>,
    pub reply_to: Option<EmailAddress>,
    /// RFC 8058 one-click unsubscribe: sent as `List-Unsubscribe: <url>` with
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`. Set by notifications of types a
    /// recipient may turn off; the send API does not take it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_unsubscribe: Option<String>,
}

impl EmailMessage {
    /// At most this many recipients per message.
    pub const MAX_RECIPIENTS: usize = 50;
}

/// What a provider reports about a message, as the log's receipts show it (`{"type":
/// "failed", "reason": ..., "code": ...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Receipt {
    Delivered,
    Opened,
    Failed {
        reason: String,
        /// Shown as `null` when the provider gave none.
        code: Option<String>,
    },
    /// Worth recording, but no change of status: a transient bounce, a delivery delay.
    #[serde(untagged)]
    Note {
        #[serde(rename = "type")]
        kind: NoteKind,
        detail: String,
    },
}

/// What a [`Receipt::Note`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NoteKind {
    /// SES: a soft bounce; SES keeps trying.
    TransientBounce,
    /// SES: delivery is delayed.
    DeliveryDelay,
    /// An SMS provider's step before the end (queued, sending, buffered, ...).
    ProviderStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_segments_follow_the_encoding() {
        let gsm = SmsShape::of(&"a".repeat(160));
        assert_eq!((gsm.encoding, gsm.segments), ("GSM-7", 1));
        assert_eq!(SmsShape::of(&"a".repeat(161)).segments, 2);
        assert_eq!(SmsShape::of(&"a".repeat(306)).segments, 2);
        assert_eq!(SmsShape::of(&"a".repeat(307)).segments, 3);
        // The euro sign is GSM-7, but from the extension table: two units.
        assert_eq!(SmsShape::of(&"€".repeat(80)).segments, 1);
        assert_eq!(SmsShape::of(&"€".repeat(81)).segments, 2);
        let ucs = SmsShape::of(&"ł".repeat(70));
        assert_eq!(
            (ucs.encoding, ucs.segments, ucs.characters),
            ("UCS-2", 1, 70)
        );
        assert_eq!(SmsShape::of(&"ł".repeat(71)).segments, 2);
        assert_eq!(SmsShape::of("").segments, 0);
    }

    #[test]
    fn phone_numbers_are_e164() {
        for ok in ["+4712345678", "+14155550100", "+861234567890123"] {
            assert!(PhoneNumber::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "4712345678",
            "+047123456",
            "+47 123 45 678",
            "+1234567",
            "+1234567890123456",
            "+47abc45678",
            "",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn text_limits() {
        assert!(SmsText::parse("Your code is 1234").is_ok());
        assert!(SmsText::parse("line 1\nline 2").is_ok());
        assert!(SmsText::parse(&"x".repeat(1600)).is_ok());
        assert!(SmsText::parse(&"x".repeat(1601)).is_err());
        assert!(SmsText::parse("  ").is_err());
        assert!(SmsText::parse("a\u{0}b").is_err());
        assert!(Subject::parse("Please sign").is_ok());
        assert!(Subject::parse("Please\r\nBcc: x@example.com").is_err());
    }

    #[test]
    fn statuses_per_channel() {
        assert_eq!(
            MessageStatus::parse("opened", Channel::Email),
            Some(MessageStatus::Opened)
        );
        assert_eq!(MessageStatus::parse("opened", Channel::Sms), None);
        assert_eq!(
            MessageStatus::parse("delivered", Channel::Sms),
            Some(MessageStatus::Delivered)
        );
    }

    #[test]
    fn tags() {
        assert!(Tag::parse("order:123").is_ok());
        assert!(Tag::parse("test-tag").is_ok());
        assert!(Tag::parse("").is_err());
        assert!(Tag::parse("a b").is_err());
        assert!(Tag::parse(&"a".repeat(65)).is_err());
    }
}
