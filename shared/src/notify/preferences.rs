//! A recipient's choices, per type and channel, and how a choice, the account's default and
//! the operator's combine: the operator's default (on unless configured otherwise) gives way
//! to the type's, which gives way to the recipient's, except where the type is mandatory or the
//! recipient's role may not change it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::common::json_fields::{ObjectReader, boolean};
use crate::common::validation::FieldErrors;
use crate::messaging::message::Channel;
use crate::notify::recipients::RecipientId;
use crate::notify::types::{NotificationType, RecipientRole, TypeKey};

/// One type's choices; `None`: the recipient chose nothing for that channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelChoices {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<bool>,
}

impl ChannelChoices {
    pub fn get(&self, channel: Channel) -> Option<bool> {
        match channel {
            Channel::Email => self.email,
            Channel::Sms => self.sms,
        }
    }

    pub fn set(&mut self, channel: Channel, on: Option<bool>) {
        match channel {
            Channel::Email => self.email = on,
            Channel::Sms => self.sms = on,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preferences {
    pub recipient_id: RecipientId,
    pub types: BTreeMap<TypeKey, ChannelChoices>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

impl Preferences {
    /// A recipient who chose nothing.
    pub fn none(recipient_id: RecipientId) -> Self {
        Self {
            recipient_id,
            types: BTreeMap::new(),
            updated_at: None,
        }
    }

    pub fn choice(&self, key: &TypeKey, channel: Channel) -> Option<bool> {
        self.types.get(key).and_then(|c| c.get(channel))
    }
}

/// Why a channel of a type is on or off for a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Because {
    Mandatory,
    Recipient,
    Account,
    Operator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub on: bool,
    pub because: Because,
}

/// `HERALD_NOTIFICATIONS_DEFAULT_ON`, as the API (which shows decisions) and notify (which
/// makes them) both read it.
pub fn parse_default_on(s: &str) -> Result<bool, &'static str> {
    match s {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err("must be true or false"),
    }
}

/// Whether `channel` of `t` is on for a recipient of `role` who chose `prefs`.
pub fn decide(
    t: &NotificationType,
    channel: Channel,
    prefs: &Preferences,
    role: Option<&RecipientRole>,
    operator_default: bool,
) -> Decision {
    if t.mandatory {
        return Decision {
            on: true,
            because: Because::Mandatory,
        };
    }
    if t.changeable(channel, role)
        && let Some(on) = prefs.choice(&t.key, channel)
    {
        return Decision {
            on,
            because: Because::Recipient,
        };
    }
    match t.channels.get(channel).and_then(|c| c.default) {
        Some(on) => Decision {
            on,
            because: Because::Account,
        },
        None => Decision {
            on: operator_default,
            because: Because::Operator,
        },
    }
}

/// The body of `PUT …/preferences`: `{"types": {"<key>": {"email": false, "sms": null}}}`;
/// null clears a choice. Each named type must exist; a mandatory one, or a channel the type
/// does not use, is refused by name.
pub fn read_choices(
    body: Value,
    types: &[NotificationType],
) -> Result<BTreeMap<TypeKey, ChannelChoices>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut out = BTreeMap::new();
    if let Some(mut r) = ObjectReader::new(body, "", &mut errors) {
        let entries = r.nested("types", |mut t| Some(t.take_all()));
        if matches!(entries, Some(None)) {
            r.errors().push("types", "is required");
        }
        r.finish();
        for (key, value) in entries.flatten().unwrap_or_default() {
            let path = format!("types.{key}");
            let Some(t) = TypeKey::parse(&key)
                .ok()
                .and_then(|k| types.iter().find(|t| t.key == k))
            else {
                errors.push(path, "is not a notification type of this account");
                continue;
            };
            if t.mandatory {
                errors.push(
                    path,
                    format!("{} is mandatory: recipients cannot turn it off", t.name),
                );
                continue;
            }
            let Some(mut c) = ObjectReader::new(value, &path, &mut errors) else {
                continue;
            };
            let mut choices = ChannelChoices::default();
            for channel in [Channel::Email, Channel::Sms] {
                let name = channel.as_str();
                if let Some(Some(on)) = c.nullable(name, boolean) {
                    if t.channels.get(channel).is_none() {
                        let p = c.path(name);
                        c.errors()
                            .push(p, format!("{} does not use this channel", t.name));
                    } else {
                        choices.set(channel, Some(on));
                    }
                }
            }
            c.finish();
            out.insert(t.key.clone(), choices);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::types::{ChannelDefault, TypeChannels, TypeInput};
    use serde_json::json;

    fn t(key: &str, mandatory: bool, email_default: Option<bool>) -> NotificationType {
        NotificationType::new(
            TypeKey::parse(key).unwrap(),
            TypeInput {
                name: key.into(),
                description: String::new(),
                channels: TypeChannels {
                    email: Some(ChannelDefault {
                        default: email_default,
                    }),
                    sms: Some(ChannelDefault { default: None }),
                },
                mandatory,
                changeable_by: Vec::new(),
            },
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn recipient_over_account_over_operator_unless_mandatory() {
        let sent = t("sent", false, Some(false));
        let mut p = Preferences::none(RecipientId::parse("ann").unwrap());
        let d = decide(&sent, Channel::Email, &p, None, true);
        assert_eq!((d.on, d.because), (false, Because::Account));
        let d = decide(&sent, Channel::Sms, &p, None, false);
        assert_eq!((d.on, d.because), (false, Because::Operator));
        p.types.insert(
            sent.key.clone(),
            ChannelChoices {
                email: Some(true),
                sms: Some(false),
            },
        );
        assert_eq!(
            decide(&sent, Channel::Email, &p, None, true).because,
            Because::Recipient
        );
        assert!(!decide(&sent, Channel::Sms, &p, None, true).on);
        let mut must = t("sent", true, Some(false));
        let d = decide(&must, Channel::Sms, &p, None, false);
        assert_eq!((d.on, d.because), (true, Because::Mandatory));
        must.mandatory = false;
        must.changeable_by = vec![RecipientRole::parse("pro").unwrap()];
        let guest = RecipientRole::parse("guest").unwrap();
        assert_eq!(
            decide(&must, Channel::Sms, &p, Some(&guest), true).because,
            Because::Operator,
            "a role that may not change the type keeps its default"
        );
    }

    #[test]
    fn choices_name_mandatory_and_unknown_types() {
        let types = [t("sent", false, None), t("new-message", true, None)];
        let ok = read_choices(
            json!({"types": {"sent": {"email": false, "sms": null}}}),
            &types,
        )
        .expect("valid");
        assert_eq!(ok[&types[0].key].email, Some(false));
        assert_eq!(ok[&types[0].key].sms, None);
        let e = read_choices(
            json!({"types": {"new-message": {"email": false}, "nope": {}, "sent": {"fax": true}}}),
            &types,
        )
        .expect_err("invalid");
        for f in ["types.new-message", "types.nope", "types.sent.fax"] {
            assert!(e.has(f), "{f}: {e}");
        }
        assert!(
            read_choices(json!({}), &types)
                .expect_err("no types")
                .has("types")
        );
    }
}
