//! The notification log: one entry per occurrence of a rule, recipient and channel, with what
//! became of it. Every occurrence is kept, sent or not, for audit.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::events::ids::EventId;
use crate::events::name::EventName;
use crate::messaging::log::MessageId;
use crate::messaging::message::Channel;
use crate::notify::recipients::RecipientId;
use crate::notify::rules::RuleId;
use crate::notify::types::TypeKey;

/// An entry's id: the event's time in milliseconds, then a digest of the event, rule,
/// recipient and channel. The same occurrence always gets the same id, which is how an event
/// processed twice is recognised; and ids sort by the event's time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NotificationId(String);

impl NotificationId {
    pub fn of(
        at: OffsetDateTime,
        event: &EventId,
        rule: &RuleId,
        recipient: &str,
        channel: Channel,
    ) -> Self {
        let ms = (at.unix_timestamp_nanos() / 1_000_000).max(0);
        let digest = Sha256::new()
            .chain_update(event.as_str())
            .chain_update([0])
            .chain_update(rule.as_str())
            .chain_update([0])
            .chain_update(recipient)
            .chain_update([0])
            .chain_update(channel.as_str())
            .finalize();
        Self(format!("n{ms:013}{}", &hex::encode(digest)[..20]))
    }

    /// The lowest id of an entry at `at` or later, for time ranges.
    pub fn lowest_at(at: OffsetDateTime) -> Self {
        let ms = (at.unix_timestamp_nanos() / 1_000_000).max(0);
        Self(format!("n{ms:013}"))
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = s.len() == 34
            && s.starts_with('n')
            && s[1..14].bytes().all(|b| b.is_ascii_digit())
            && s[14..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err("is not a notification id".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NotificationId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<NotificationId> for String {
    fn from(v: NotificationId) -> String {
        v.0
    }
}

impl std::fmt::Display for NotificationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What became of an occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Being processed: a crash leaves it so, and the event's redelivery finishes it.
    Pending,
    /// Handed to Herald's dispatch: the message id names it in the message log.
    Sent,
    /// The recipient turned the type off on this channel (or the event's `send_to` did).
    SuppressedPreference,
    /// A `first` rule's key was seen before for this recipient.
    SuppressedRepeat,
    /// The recipient has no address or number for the channel, or not a valid one.
    NoContact,
    /// The template did not render: the detail says where.
    TemplateError,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Pending,
        Outcome::Sent,
        Outcome::SuppressedPreference,
        Outcome::SuppressedRepeat,
        Outcome::NoContact,
        Outcome::TemplateError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::SuppressedPreference => "suppressed_preference",
            Self::SuppressedRepeat => "suppressed_repeat",
            Self::NoContact => "no_contact",
            Self::TemplateError => "template_error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Sent => "Sent",
            Self::SuppressedPreference => "Turned off by the recipient",
            Self::SuppressedRepeat => "Repeat, not sent",
            Self::NoContact => "No contact point",
            Self::TemplateError => "Template error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub account_id: AccountId,
    pub rule_id: RuleId,
    #[serde(rename = "type")]
    pub type_key: TypeKey,
    pub event_id: EventId,
    pub event_name: EventName,
    /// The recipient's id; `null` when the event gave none.
    pub recipient_id: Option<RecipientId>,
    pub channel: Channel,
    pub outcome: Outcome,
    pub detail: Option<String>,
    pub message_id: Option<MessageId>,
    /// A `first` rule's key, as rendered.
    pub first_key: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    /// When the entry is deleted (the message log's retention).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A page of the log: newest first, filtered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub rule: Option<RuleId>,
    pub recipient: Option<RecipientId>,
    pub outcome: Option<Outcome>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub limit: usize,
    /// Continue after this id (the previous page's last).
    pub after: Option<NotificationId>,
}

impl LogQuery {
    pub const MAX_LIMIT: usize = 100;
    pub const DEFAULT_LIMIT: usize = 25;

    pub fn matches(&self, r: &NotificationRecord) -> bool {
        self.rule.as_ref().is_none_or(|x| &r.rule_id == x)
            && self
                .recipient
                .as_ref()
                .is_none_or(|x| r.recipient_id.as_ref() == Some(x))
            && self.outcome.is_none_or(|x| r.outcome == x)
            && self.from.is_none_or(|t| r.occurred_at >= t)
            && self.to.is_none_or(|t| r.occurred_at < t)
            && self.after.as_ref().is_none_or(|a| &r.id < a)
    }

    /// What a cursor is bound to: the filters, so it cannot be replayed against others.
    pub fn fingerprint(&self) -> String {
        format!(
            "{};{};{};{};{}",
            self.rule.as_ref().map_or("", |r| r.as_str()),
            self.recipient.as_ref().map_or("", |r| r.as_str()),
            self.outcome.map_or("", Outcome::as_str),
            self.from.map_or(0, |t| t.unix_timestamp()),
            self.to.map_or(0, |t| t.unix_timestamp()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_sortable_and_parse_back() {
        let at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let event = EventId::new(at);
        let rule = RuleId::new(at);
        let a = NotificationId::of(at, &event, &rule, "ann", Channel::Email);
        assert_eq!(
            a,
            NotificationId::of(at, &event, &rule, "ann", Channel::Email)
        );
        assert_ne!(
            a,
            NotificationId::of(at, &event, &rule, "ann", Channel::Sms)
        );
        assert_ne!(
            a,
            NotificationId::of(at, &event, &rule, "bob", Channel::Email)
        );
        assert_eq!(NotificationId::parse(a.as_str()), Ok(a.clone()));
        let later = NotificationId::of(
            at + time::Duration::milliseconds(1),
            &event,
            &rule,
            "ann",
            Channel::Email,
        );
        assert!(later > a && later > NotificationId::lowest_at(at));
        assert!(NotificationId::parse("n123").is_err());
    }

    #[test]
    fn outcomes_round_trip() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
    }
}
