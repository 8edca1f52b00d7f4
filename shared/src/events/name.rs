//! Event names (`sms.sent`, `domain.verified`) and which of them a subscription listens to.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::json_fields::kind;
use crate::common::validation::FieldErrors;

/// The name of an event: dot-separated words such as `sms.sent`, `domain.verified` or
/// `order.completed`. 3 to 100 characters; each word is lowercase letters `a-z`, digits, `-` and
/// `_`, and starts with a letter; at least two words.
///
/// Why so strict: names are matched exactly by subscriptions, shown in the event catalogue and
/// used as keys. One spelling per event (no `SMS.Sent` beside `sms.sent`) means a subscription
/// never misses an event over case. The first word names what the event is about (`sms`,
/// `domain`), which the catalogue groups by, hence at least two words.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidEventName {
    #[error("must be 3 to 100 characters long (it has {0})")]
    Length(usize),
    #[error("may hold only lowercase letters a-z, digits 0-9, '-', '_' and '.'")]
    Charset,
    #[error("must be dot-separated words, each starting with a letter, such as sms.sent")]
    Shape,
}

impl EventName {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 100;

    pub fn parse(s: &str) -> Result<Self, InvalidEventName> {
        // The charset first, so that "é" is reported as a bad character rather than a length.
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        {
            return Err(InvalidEventName::Charset);
        }
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&s.len()) {
            return Err(InvalidEventName::Length(s.len()));
        }
        let mut words = 0;
        for word in s.split('.') {
            if !word.starts_with(|c: char| c.is_ascii_lowercase()) {
                return Err(InvalidEventName::Shape);
            }
            words += 1;
        }
        if words < 2 {
            return Err(InvalidEventName::Shape);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first word: what the event is about (`sms` in `sms.sent`).
    pub fn subject(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }
}

crate::events::webhook::string_newtype_conversions!(EventName, InvalidEventName);

/// Which events a subscription listens to: `"all"`, or a list of names.
///
/// Names are checked for form here; whether Herald emits them at all is the API's business (it
/// knows the catalogue). A list is never empty (a subscription that wants nothing is made
/// inactive instead) and holds at most [`EventSelection::MAX_NAMES`] names. It is a set: a
/// repeated name is dropped, as it changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSelection {
    All,
    Only(Vec<EventName>),
}

impl EventSelection {
    pub const MAX_NAMES: usize = 100;

    /// Reads the API's `events` field: `"all"` or an array of event names. Errors name the field
    /// `events` or the item (`events[2]`).
    pub fn parse(value: &Value) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let items = match value {
            Value::String(s) if s == "all" => return Ok(Self::All),
            Value::Array(items) => items,
            other => {
                let got = match other {
                    Value::String(_) => "another string",
                    _ => kind(other),
                };
                errors.push(
                    "events",
                    format!("must be \"all\" or an array of event names, not {got}"),
                );
                return Err(errors);
            }
        };
        if items.is_empty() {
            errors.push(
                "events",
                "must name at least one event, or be \"all\" (deactivate a subscription to pause it)",
            );
        }
        if items.len() > Self::MAX_NAMES {
            errors.push(
                "events",
                format!("must name at most {} events", Self::MAX_NAMES),
            );
        }
        let mut names: Vec<EventName> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let field = format!("events[{i}]");
            match item {
                Value::String(s) => match EventName::parse(s) {
                    Ok(name) if names.contains(&name) => {}
                    Ok(name) => names.push(name),
                    Err(e) => errors.push(field, e.to_string()),
                },
                other => errors.push(field, format!("must be a string, not {}", kind(other))),
            }
        }
        errors.into_result(Self::Only(names))
    }

    pub fn matches(&self, name: &EventName) -> bool {
        match self {
            Self::All => true,
            Self::Only(names) => names.contains(name),
        }
    }

    /// The JSON the API shows and stores: `"all"` or the array of names.
    pub fn to_json(&self) -> Value {
        match self {
            Self::All => Value::String("all".into()),
            Self::Only(names) => Value::Array(
                names
                    .iter()
                    .map(|n| Value::String(n.as_str().to_owned()))
                    .collect(),
            ),
        }
    }
}

impl Serialize for EventSelection {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// Stored selections are checked again when read back.
impl<'de> Deserialize<'de> for EventSelection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn name(s: &str) -> EventName {
        EventName::parse(s).expect("valid event name")
    }

    #[test]
    fn event_names_are_lowercase_dotted_words() {
        for ok in [
            "sms.sent",
            "domain.verified",
            "order.completed",
            "email.opened",
            "sms.delivery-failed",
            "a.b",
            "signature.document_signed.v2",
            "x1.y2",
        ] {
            assert!(EventName::parse(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("SMS.sent", InvalidEventName::Charset),
            ("sms sent", InvalidEventName::Charset),
            ("sms/sent", InvalidEventName::Charset),
            ("sms.sént", InvalidEventName::Charset),
            ("", InvalidEventName::Length(0)),
            ("ab", InvalidEventName::Length(2)),
            ("smssent", InvalidEventName::Shape),
            ("sms.", InvalidEventName::Shape),
            (".sms", InvalidEventName::Shape),
            ("sms..sent", InvalidEventName::Shape),
            ("sms.1sent", InvalidEventName::Shape),
            ("sms.-sent", InvalidEventName::Shape),
            ("9sms.sent", InvalidEventName::Shape),
        ] {
            assert_eq!(EventName::parse(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn event_name_length_is_3_to_100() {
        let longest = format!("a.{}", "b".repeat(98));
        assert_eq!(longest.len(), 100);
        assert!(EventName::parse(&longest).is_ok());
        let too_long = format!("a.{}", "b".repeat(99));
        assert_eq!(
            EventName::parse(&too_long),
            Err(InvalidEventName::Length(101))
        );
        assert!(EventName::parse("a.b").is_ok());
    }

    #[test]
    fn event_name_subject_and_serde() {
        assert_eq!(name("sms.sent").subject(), "sms");
        assert_eq!(name("signature.document.signed").subject(), "signature");
        assert_eq!(
            serde_json::to_value(name("sms.sent")).expect("serializes"),
            json!("sms.sent")
        );
        assert!(serde_json::from_value::<EventName>(json!("SMS")).is_err());
        assert_eq!(name("sms.sent").to_string(), "sms.sent");
    }

    #[test]
    fn selection_all_or_names() {
        let all = EventSelection::parse(&json!("all")).expect("all");
        assert_eq!(all, EventSelection::All);
        assert!(all.matches(&name("anything.at-all")));

        let only = EventSelection::parse(&json!(["sms.sent", "domain.verified"])).expect("names");
        assert!(only.matches(&name("sms.sent")));
        assert!(only.matches(&name("domain.verified")));
        assert!(!only.matches(&name("sms.delivered")));
        assert_eq!(only.to_json(), json!(["sms.sent", "domain.verified"]));
    }

    #[test]
    fn selection_reports_every_bad_item() {
        let err =
            EventSelection::parse(&json!(["sms.sent", "SMS", 3, "a..b"])).expect_err("bad items");
        let fields: Vec<_> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["events[1]", "events[2]", "events[3]"]);
        assert!(
            err.to_string().contains("must be a string, not a number"),
            "{err}"
        );
    }

    #[test]
    fn selection_drops_repeated_names() {
        let s = EventSelection::parse(&json!(["sms.sent", "email.sent", "sms.sent"])).expect("ok");
        assert_eq!(
            s,
            EventSelection::Only(vec![name("sms.sent"), name("email.sent")])
        );
    }

    #[test]
    fn selection_refuses_other_shapes() {
        for bad in [
            json!("ALL"),
            json!("some"),
            json!(null),
            json!(1),
            json!({}),
        ] {
            let err = EventSelection::parse(&bad).expect_err("not a selection");
            assert!(err.has("events"), "{bad}");
        }
        let err = EventSelection::parse(&json!([])).expect_err("empty");
        assert!(err.has("events"));
        let many: Vec<String> = (0..=EventSelection::MAX_NAMES)
            .map(|i| format!("e.n{i}"))
            .collect();
        let err = EventSelection::parse(&json!(many)).expect_err("too many");
        assert!(err.has("events"));
    }

    #[test]
    fn selection_round_trips_and_is_checked_on_read() {
        for v in [json!("all"), json!(["sms.sent"])] {
            let s: EventSelection = serde_json::from_value(v.clone()).expect("valid");
            assert_eq!(serde_json::to_value(&s).expect("serializes"), v);
        }
        assert!(serde_json::from_value::<EventSelection>(json!(["Bad"])).is_err());
        assert!(serde_json::from_value::<EventSelection>(json!([])).is_err());
    }
}
