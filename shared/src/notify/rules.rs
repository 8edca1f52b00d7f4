//! Notification rules: on an event (by name and tags, as subscriptions select them), a type of
//! notification, to the recipients the event names, through each channel that has a template;
//! every time, or only the first time for a recipient and key.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::common::json_fields::{ObjectReader, boolean, string};
use crate::common::validation::FieldErrors;
use crate::events::name::EventName;
use crate::events::tag_filter::TagFilter;
use crate::notify::recipients::RecipientSource;
use crate::notify::reminders::Reminders;
pub use crate::notify::rule_id::RuleId;
use crate::notify::template::{Templates, read_templates};
use crate::notify::types::TypeKey;

/// How often a rule notifies a recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "frequency", rename_all = "camelCase")]
pub enum Frequency {
    /// Every occurrence.
    Every,
    /// Only the first occurrence with the same rendered `first_key` for the recipient (for
    /// example `{{ data.messageId }}:printed`); later ones are logged as repeats.
    First {
        #[serde(rename = "firstKey")]
        first_key: String,
    },
}

impl Frequency {
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Every => None,
            Self::First { first_key } => Some(first_key),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRule {
    pub id: RuleId,
    pub name: String,
    pub event_name: EventName,
    pub tags: TagFilter,
    #[serde(rename = "type")]
    pub type_key: TypeKey,
    pub recipients: RecipientSource,
    #[serde(flatten)]
    pub frequency: Frequency,
    pub templates: Templates,
    /// Reminders after the event, until the recipients act or the matter closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminders: Option<Reminders>,
    pub enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What a request gives for a rule: everything but its id and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInput {
    pub name: String,
    pub event_name: EventName,
    pub tags: TagFilter,
    pub type_key: TypeKey,
    pub recipients: RecipientSource,
    pub frequency: Frequency,
    pub templates: Templates,
    pub reminders: Option<Reminders>,
    pub enabled: bool,
}

impl NotificationRule {
    pub const MAX_NAME: usize = 100;
    /// An account defines at most this many rules: every event reads them all.
    pub const MAX_PER_ACCOUNT: usize = 100;

    pub fn new(id: RuleId, input: RuleInput, now: OffsetDateTime) -> Self {
        Self {
            id,
            name: input.name,
            event_name: input.event_name,
            tags: input.tags,
            type_key: input.type_key,
            recipients: input.recipients,
            frequency: input.frequency,
            templates: input.templates,
            reminders: input.reminders,
            enabled: input.enabled,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn replaced(&self, input: RuleInput, now: OffsetDateTime) -> Self {
        Self {
            created_at: self.created_at,
            ..Self::new(self.id.clone(), input, now)
        }
    }

    /// Whether this rule's reminders listen to an event of `name` with `tags` (one that says a
    /// recipient acted, or that the matter closed).
    pub fn listens(&self, name: &EventName, tags: &[crate::messaging::message::Tag]) -> bool {
        self.enabled
            && self.tags.matches(tags)
            && self.reminders.as_ref().is_some_and(|r| r.listens(name))
    }

    /// Whether this rule fires for an event of `name` with `tags`.
    pub fn wants(&self, name: &EventName, tags: &[crate::messaging::message::Tag]) -> bool {
        self.enabled && &self.event_name == name && self.tags.matches(tags)
    }
}

/// Events a rule may not fire on: Herald's own notification events, which a rule's sends
/// cause, so that no rule can feed itself.
pub fn refused_event(name: &EventName) -> bool {
    name.as_str().starts_with("notification.")
}

fn name_text(value: Value) -> Result<String, String> {
    let s = string(value)?.trim().to_owned();
    if s.is_empty() {
        Err("must not be empty".into())
    } else if s.chars().count() > NotificationRule::MAX_NAME {
        Err(format!(
            "must be at most {} characters",
            NotificationRule::MAX_NAME
        ))
    } else {
        Ok(s)
    }
}

/// Reads a rule from a request body, naming every bad field. What depends on other records
/// (the type exists and uses the channels; the templates render for the event's sample) is
/// the caller's to check.
pub fn read_rule(body: Value) -> Result<RuleInput, FieldErrors> {
    let mut errors = FieldErrors::new();
    let input = ObjectReader::new(body, "", &mut errors).and_then(|mut r| {
        let name = r.required("name", name_text);
        let event_name = r.required("eventName", |v| {
            let name = string(v).and_then(|s| EventName::parse(&s).map_err(|e| e.to_string()))?;
            if refused_event(&name) {
                return Err(
                    "rules cannot fire on notification events: a rule's own sends cause them"
                        .into(),
                );
            }
            Ok(name)
        });
        let tags = r.optional("tags", |v| {
            TagFilter::read(v).map_err(|e| {
                e.iter()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        });
        let type_key = r.required("type", |v| string(v).and_then(|s| TypeKey::parse(&s)));
        let recipients = RecipientSource::read(&mut r);
        let frequency = r.optional("frequency", string);
        let first_key = r.optional("firstKey", string);
        let enabled = r.optional("enabled", boolean);
        let templates = read_templates(&mut r);
        let reminders = Reminders::read(&mut r);
        let frequency = match (frequency, first_key) {
            (Some(f), Some(key)) => match (f.as_deref(), key) {
                (None | Some("every"), None) => Some(Frequency::Every),
                (None | Some("every"), Some(_)) => {
                    r.errors()
                        .push("firstKey", "is only for rules with frequency first");
                    None
                }
                (Some("first"), Some(key)) if !key.trim().is_empty() => {
                    Some(Frequency::First { first_key: key })
                }
                (Some("first"), _) => {
                    r.errors().push(
                        "firstKey",
                        "is required with frequency first: a template such as {{ data.messageId }}:printed",
                    );
                    None
                }
                (Some(_), _) => {
                    r.errors().push("frequency", "must be every or first");
                    None
                }
            },
            _ => None,
        };
        r.finish();
        Some(RuleInput {
            name: name?,
            event_name: event_name?,
            tags: tags?.unwrap_or_else(TagFilter::any),
            type_key: type_key?,
            recipients: recipients?,
            frequency: frequency?,
            templates: templates?,
            reminders: reminders?,
            enabled: enabled?.unwrap_or(true),
        })
    });
    match input {
        Some(input) if errors.is_empty() => Ok(input),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> Value {
        json!({
            "name": "Tell signers",
            "eventName": "request.sent",
            "type": "request-sent",
            "recipients": {"path": "eventData.signers[*]"},
            "templates": {"sms": {"en": {"text": "Sign {{ recipient.url }}"}}}
        })
    }

    #[test]
    fn rules_read_with_defaults() {
        let r = read_rule(body()).expect("valid");
        assert_eq!(r.frequency, Frequency::Every);
        assert!(r.enabled);
        assert_eq!(r.templates.fallback_locale.as_str(), "en");
        let rule = NotificationRule::new(
            RuleId::new(OffsetDateTime::UNIX_EPOCH),
            r,
            OffsetDateTime::UNIX_EPOCH,
        );
        let json = serde_json::to_value(&rule).unwrap();
        assert_eq!(json["frequency"], "every");
        assert_eq!(json["type"], "request-sent");
        let back: NotificationRule = serde_json::from_value(json).unwrap();
        assert_eq!(back, rule);
    }

    #[test]
    fn first_needs_its_key() {
        let mut b = body();
        b["frequency"] = json!("first");
        let e = read_rule(b.clone()).expect_err("no key");
        assert!(e.has("firstKey"));
        b["firstKey"] = json!("{{ data.requestId }}");
        let r = read_rule(b).expect("valid");
        assert_eq!(r.frequency.key(), Some("{{ data.requestId }}"));
    }

    #[test]
    fn every_bad_field_is_named() {
        let e = read_rule(json!({
            "name": "",
            "eventName": "notification.sent",
            "type": "Bad",
            "recipients": {"path": "eventData..x", "fields": {"email": "a[x]"}},
            "frequency": "sometimes",
            "templates": {"fallbackLocale": "english", "email": {"en": {"subject": "x"}}},
            "colour": 1
        }))
        .expect_err("invalid");
        for field in [
            "name",
            "eventName",
            "type",
            "recipients.path",
            "recipients.fields.email",
            "frequency",
            "templates.fallbackLocale",
            "templates.email.en.text",
            "colour",
        ] {
            assert!(e.has(field), "{field} in {e}");
        }
    }
}
