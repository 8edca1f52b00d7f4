//! Notification types: what an account notifies its people about ("a signature request was
//! sent to you", "your message was retrieved"), on which channels, on or off by default, and
//! whether a recipient may turn it off.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::common::json_fields::{ObjectReader, boolean, kind, string};
use crate::common::validation::FieldErrors;
use crate::messaging::message::Channel;

/// A slug that names something an account defines: `[a-z][a-z0-9._-]{0,63}`. Stable across
/// renames, so rules and preferences can name it.
macro_rules! slug {
    ($name:ident, $what:literal, $max:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, String> {
                let mut bytes = s.bytes();
                let ok = (1..=$max).contains(&s.len())
                    && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
                    && bytes.all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'.' | b'_' | b'-')
                    });
                if ok {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(format!(
                        concat!(
                            "must be a ",
                            $what,
                            ": 1 to {} characters of a-z, 0-9, '.', '_' and '-', starting with a letter"
                        ),
                        $max
                    ))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug!(TypeKey, "type key", 64);
slug!(RecipientRole, "role", 40);

/// A channel of a type: that the type uses it, and whether it is on for a recipient who chose
/// nothing. `None` leaves it to the operator's default (`HERALD_NOTIFICATIONS_DEFAULT_ON`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelDefault {
    pub default: Option<bool>,
}

/// The channels a type uses. At least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeChannels {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<ChannelDefault>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<ChannelDefault>,
}

impl TypeChannels {
    pub fn get(&self, channel: Channel) -> Option<ChannelDefault> {
        match channel {
            Channel::Email => self.email,
            Channel::Sms => self.sms,
        }
    }

    pub fn used(&self) -> impl Iterator<Item = Channel> + '_ {
        [Channel::Email, Channel::Sms]
            .into_iter()
            .filter(|c| self.get(*c).is_some())
    }
}

/// A notification type, as the account defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationType {
    pub key: TypeKey,
    pub name: String,
    pub description: String,
    pub channels: TypeChannels,
    /// Sent whatever the recipient chose: preferences cannot turn it off.
    pub mandatory: bool,
    /// The recipient roles that may turn it off or on; empty: every role.
    pub changeable_by: Vec<RecipientRole>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What a request gives for a type: everything but its key and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeInput {
    pub name: String,
    pub description: String,
    pub channels: TypeChannels,
    pub mandatory: bool,
    pub changeable_by: Vec<RecipientRole>,
}

impl NotificationType {
    pub const MAX_NAME: usize = 100;
    pub const MAX_DESCRIPTION: usize = 500;
    /// An account defines at most this many types.
    pub const MAX_PER_ACCOUNT: usize = 100;

    pub fn new(key: TypeKey, input: TypeInput, now: OffsetDateTime) -> Self {
        Self {
            key,
            name: input.name,
            description: input.description,
            channels: input.channels,
            mandatory: input.mandatory,
            changeable_by: input.changeable_by,
            created_at: now,
            updated_at: now,
        }
    }

    /// The type with `input` in place of what it held.
    pub fn replaced(&self, input: TypeInput, now: OffsetDateTime) -> Self {
        Self {
            created_at: self.created_at,
            ..Self::new(self.key.clone(), input, now)
        }
    }

    /// Whether a recipient of `role` may change this type on `channel`.
    pub fn changeable(&self, channel: Channel, role: Option<&RecipientRole>) -> bool {
        !self.mandatory
            && self.channels.get(channel).is_some()
            && (self.changeable_by.is_empty()
                || role.is_some_and(|r| self.changeable_by.contains(r)))
    }
}

fn text(max: usize, required: bool) -> impl Fn(Value) -> Result<String, String> {
    move |v| {
        let s = string(v)?;
        let s = s.trim().to_owned();
        if required && s.is_empty() {
            Err("must not be empty".into())
        } else if s.chars().count() > max {
            Err(format!("must be at most {max} characters"))
        } else if s.chars().any(char::is_control) {
            Err("must be one line of text".into())
        } else {
            Ok(s)
        }
    }
}

fn channel_default(r: &mut ObjectReader<'_>, name: &str) -> Option<Option<ChannelDefault>> {
    r.nested(name, |mut c| {
        let default = c.nullable("default", boolean);
        c.finish();
        Some(ChannelDefault { default: default? })
    })
}

fn roles(value: Value) -> Result<Vec<RecipientRole>, String> {
    let Value::Array(items) = value else {
        return Err(format!("must be an array of roles, not {}", kind(&value)));
    };
    if items.len() > 20 {
        return Err("must name at most 20 roles".into());
    }
    let mut out: Vec<RecipientRole> = Vec::new();
    for (i, v) in items.into_iter().enumerate() {
        let role = string(v)
            .and_then(|s| RecipientRole::parse(&s))
            .map_err(|e| format!("item {i} {e}"))?;
        if !out.contains(&role) {
            out.push(role);
        }
    }
    Ok(out)
}

/// Reads a type from a request body, naming every bad field.
pub fn read_type(body: Value) -> Result<TypeInput, FieldErrors> {
    let mut errors = FieldErrors::new();
    let input = ObjectReader::new(body, "", &mut errors).and_then(|mut r| {
        let name = r.required("name", text(NotificationType::MAX_NAME, true));
        let description = r.optional(
            "description",
            text(NotificationType::MAX_DESCRIPTION, false),
        );
        let channels = r.required("channels", Ok);
        let mandatory = r.optional("mandatory", boolean);
        let changeable_by = r.optional("changeableBy", roles);
        let channels = channels.and_then(|v| {
            let path = r.path("channels");
            let mut inner = ObjectReader::new(v, &path, r.errors())?;
            let email = channel_default(&mut inner, "email");
            let sms = channel_default(&mut inner, "sms");
            inner.finish();
            let channels = TypeChannels {
                email: email?,
                sms: sms?,
            };
            if channels.email.is_none() && channels.sms.is_none() {
                r.errors()
                    .push("channels", "must name at least one channel: email, sms");
                return None;
            }
            Some(channels)
        });
        r.finish();
        Some(TypeInput {
            name: name?,
            description: description?.unwrap_or_default(),
            channels: channels?,
            mandatory: mandatory?.unwrap_or(false),
            changeable_by: changeable_by?.unwrap_or_default(),
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

    fn fields(body: Value) -> Vec<String> {
        read_type(body)
            .expect_err("invalid")
            .iter()
            .map(|e| e.field.clone())
            .collect()
    }

    #[test]
    fn types_read_with_every_bad_field_named() {
        let t = read_type(json!({
            "name": "Request sent",
            "channels": {"email": {"default": true}, "sms": {}},
            "mandatory": false,
            "changeableBy": ["signer", "signer"]
        }))
        .expect("valid");
        assert_eq!(
            t.channels.email,
            Some(ChannelDefault {
                default: Some(true)
            })
        );
        assert_eq!(t.channels.sms, Some(ChannelDefault { default: None }));
        assert_eq!(t.changeable_by.len(), 1);
        assert_eq!(
            fields(json!({"name": "", "channels": {"fax": {}}, "changeableBy": ["Bad Role"]})),
            ["name", "changeableBy", "channels.fax", "channels"]
        );
        assert_eq!(fields(json!({"name": "x", "channels": {}})), ["channels"]);
        assert_eq!(
            fields(json!({"name": "x", "channels": {"email": {"default": "yes"}}})),
            ["channels.email.default"]
        );
    }

    #[test]
    fn keys_are_slugs() {
        assert!(TypeKey::parse("request.sent").is_ok());
        for bad in ["", "Request", "1st", "a b", &"a".repeat(65)] {
            assert!(TypeKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mandatory_types_and_roles_limit_who_may_change() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut t = NotificationType::new(
            TypeKey::parse("new-message").unwrap(),
            TypeInput {
                name: "New message".into(),
                description: String::new(),
                channels: TypeChannels {
                    email: Some(ChannelDefault { default: None }),
                    sms: None,
                },
                mandatory: false,
                changeable_by: vec![RecipientRole::parse("professional").unwrap()],
            },
            now,
        );
        let pro = RecipientRole::parse("professional").unwrap();
        let guest = RecipientRole::parse("guest").unwrap();
        assert!(t.changeable(Channel::Email, Some(&pro)));
        assert!(!t.changeable(Channel::Email, Some(&guest)));
        assert!(!t.changeable(Channel::Email, None));
        assert!(
            !t.changeable(Channel::Sms, Some(&pro)),
            "a channel it does not use"
        );
        t.mandatory = true;
        assert!(!t.changeable(Channel::Email, Some(&pro)));
    }
}
