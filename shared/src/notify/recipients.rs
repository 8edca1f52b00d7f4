//! Who a rule notifies: the items an event names (`eventData.signers[*]`), each giving an id,
//! an email address, a phone number, a locale, a role and per-channel flags (reference 001's
//! `send_to`), at paths the rule names.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::common::json_fields::{ObjectReader, string};
use crate::messaging::message::Channel;
use crate::notify::types::RecipientRole;

/// A recipient's id, as the account knows them (a user id; an email address when the event
/// gives nothing else): 1 to 128 characters, none of them a control character, space, `/`,
/// `?`, `#`, `%` or `\`, so that it sits in a URL path as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecipientId(String);

impl RecipientId {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = (1..=128).contains(&s.chars().count())
            && !s
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || "/?#%\\".contains(c));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err("must be 1 to 128 characters without spaces, '/', '?', '#', '%' or '\\'".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RecipientId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<RecipientId> for String {
    fn from(v: RecipientId) -> String {
        v.0
    }
}

impl std::fmt::Display for RecipientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(String),
    Index(usize),
    Each,
}

/// A path into JSON: fields separated by dots, each optionally followed by `[n]` or `[*]`
/// (every item): `eventData.signers[*]`, `signer.mobile_number`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DataPath {
    source: String,
    steps: Vec<Step>,
}

impl DataPath {
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{s:?} is not a path: fields joined by '.', each optionally followed by [n] or [*], as in eventData.signers[*]"
            )
        };
        if s.is_empty() || s.len() > 200 {
            return Err(bad());
        }
        let mut steps = Vec::new();
        for segment in s.split('.') {
            let (name, mut rest) = segment
                .find('[')
                .map_or((segment, ""), |i| segment.split_at(i));
            let name_ok = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !name_ok {
                return Err(bad());
            }
            steps.push(Step::Field(name.to_owned()));
            // Each remaining piece is `[n]` or `[*]`.
            while !rest.is_empty() {
                let inner = rest.strip_prefix('[').ok_or_else(bad)?;
                let (index, after) = inner.split_once(']').ok_or_else(bad)?;
                steps.push(match index {
                    "*" => Step::Each,
                    n => Step::Index(n.parse().map_err(|_| bad())?),
                });
                rest = after;
            }
        }
        Ok(Self {
            source: s.to_owned(),
            steps,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    fn has_each(&self) -> bool {
        self.steps.contains(&Step::Each)
    }

    /// Every value the path reaches in `root`, in order; `[*]` of a non-array reaches nothing.
    pub fn select<'v>(&self, root: &'v Value) -> Vec<&'v Value> {
        let mut current = vec![root];
        for step in &self.steps {
            current = current
                .into_iter()
                .flat_map(|v| -> Vec<&'v Value> {
                    match (step, v) {
                        (Step::Field(f), Value::Object(m)) => m.get(f).into_iter().collect(),
                        (Step::Index(i), Value::Array(a)) => a.get(*i).into_iter().collect(),
                        (Step::Each, Value::Array(a)) => a.iter().collect(),
                        _ => Vec::new(),
                    }
                })
                .collect();
        }
        current
    }

    /// The one value the path reaches, if any (paths within an item have no `[*]`).
    pub fn get<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        self.select(root).into_iter().next()
    }
}

impl TryFrom<String> for DataPath {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<DataPath> for String {
    fn from(v: DataPath) -> String {
        v.source
    }
}

fn path(s: &str) -> DataPath {
    DataPath::parse(s).expect("a default path is valid")
}

/// Where each of an item's details sits, relative to the item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipientFields {
    pub id: DataPath,
    pub email: DataPath,
    pub phone: DataPath,
    pub locale: DataPath,
    pub role: DataPath,
    pub send_to_email: DataPath,
    pub send_to_sms: DataPath,
}

impl Default for RecipientFields {
    fn default() -> Self {
        Self {
            id: path("id"),
            email: path("email"),
            phone: path("phone"),
            locale: path("locale"),
            role: path("role"),
            send_to_email: path("sendTo.email"),
            send_to_sms: path("sendTo.sms"),
        }
    }
}

/// A rule's recipients: the items at `path` of the event (the envelope: `eventData.…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipientSource {
    pub path: DataPath,
    pub fields: RecipientFields,
}

/// One recipient, as an event names them.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipient {
    /// `None` when the item gives no usable id, email or phone.
    pub id: Option<RecipientId>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub locale: Option<String>,
    pub role: Option<RecipientRole>,
    pub send_to_email: bool,
    pub send_to_sms: bool,
    /// The item itself, as templates see it (`recipient`).
    pub item: Value,
}

impl Recipient {
    /// Whether the event asks for `channel` (its `send_to` flag; true when it has none).
    pub fn requested(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.send_to_email,
            Channel::Sms => self.send_to_sms,
        }
    }
}

/// At most this many recipients per event and rule: the rest are not notified, and the log
/// says so.
pub const MAX_RECIPIENTS: usize = 1_000;

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl RecipientSource {
    /// The recipients of `event` (as JSON).
    pub fn recipients(&self, event: &Value) -> Vec<Recipient> {
        self.path
            .select(event)
            .into_iter()
            .map(|item| self.recipient(item))
            .collect()
    }

    fn recipient(&self, item: &Value) -> Recipient {
        let f = &self.fields;
        let email = text(f.email.get(item));
        let phone = text(f.phone.get(item));
        let id = text(f.id.get(item))
            .or_else(|| email.clone())
            .or_else(|| phone.clone())
            .and_then(|s| RecipientId::parse(&s).ok());
        let flag = |p: &DataPath| !matches!(p.get(item), Some(Value::Bool(false)));
        Recipient {
            id,
            email,
            phone,
            locale: text(f.locale.get(item)),
            role: text(f.role.get(item))
                .and_then(|s| RecipientRole::parse(&s.to_ascii_lowercase()).ok()),
            send_to_email: flag(&f.send_to_email),
            send_to_sms: flag(&f.send_to_sms),
            item: item.clone(),
        }
    }

    /// Reads `recipients` from a rule's body.
    pub fn read(r: &mut ObjectReader<'_>) -> Option<Self> {
        let read_path = |v: Value| string(v).and_then(|s| DataPath::parse(&s));
        let source = r.nested("recipients", |mut s| {
            let p = s.required("path", read_path);
            let fields = s.nested("fields", |mut f| {
                let mut out = RecipientFields::default();
                let mut ok = true;
                for (name, slot) in [
                    ("id", &mut out.id),
                    ("email", &mut out.email),
                    ("phone", &mut out.phone),
                    ("locale", &mut out.locale),
                    ("role", &mut out.role),
                    ("sendToEmail", &mut out.send_to_email),
                    ("sendToSms", &mut out.send_to_sms),
                ] {
                    match f.optional(name, |v| {
                        let p = read_path(v)?;
                        if p.has_each() {
                            return Err("must reach one value of the item: no [*]".into());
                        }
                        Ok(p)
                    }) {
                        Some(Some(p)) => *slot = p,
                        Some(None) => {}
                        None => ok = false,
                    }
                }
                f.finish();
                ok.then_some(out)
            });
            s.finish();
            Some(Self {
                path: p?,
                fields: fields?.unwrap_or_default(),
            })
        });
        match source {
            Some(Some(s)) => Some(s),
            Some(None) => {
                r.errors().push("recipients", "is required");
                None
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_select_items() {
        let event = json!({"eventData": {"signers": [
            {"send_to": {"email": true, "mobile_number": false},
             "signer": {"email": "ann@example.com", "mobile_number": "+4712345678"}},
            {"signer": {"id": 7, "email": "bob@example.com"}, "locale": "nb-NO", "role": "Guest"}
        ]}});
        let source = RecipientSource {
            path: DataPath::parse("eventData.signers[*]").unwrap(),
            fields: RecipientFields {
                id: path("signer.id"),
                email: path("signer.email"),
                phone: path("signer.mobile_number"),
                send_to_email: path("send_to.email"),
                send_to_sms: path("send_to.mobile_number"),
                ..RecipientFields::default()
            },
        };
        let r = source.recipients(&event);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].id.as_ref().unwrap().as_str(), "ann@example.com");
        assert!(r[0].requested(Channel::Email) && !r[0].requested(Channel::Sms));
        assert_eq!(r[1].id.as_ref().unwrap().as_str(), "7");
        assert_eq!(r[1].phone, None);
        assert_eq!(r[1].locale.as_deref(), Some("nb-NO"));
        assert_eq!(r[1].role.as_ref().unwrap().as_str(), "guest");
        assert!(r[1].requested(Channel::Sms), "no flag: asked for");
        assert_eq!(
            DataPath::parse("eventData.signers[1].signer.email")
                .unwrap()
                .get(&event),
            Some(&json!("bob@example.com"))
        );
        assert!(
            DataPath::parse("eventData.sender")
                .unwrap()
                .select(&event)
                .is_empty()
        );
    }

    #[test]
    fn bad_paths_are_refused() {
        for bad in ["", "a..b", "a[", "a[x]", "a]b", ".a", "a b", "a[1]x"] {
            assert!(DataPath::parse(bad).is_err(), "{bad}");
        }
        for ok in ["a", "a[0]", "a[*][*]", "eventData.signers[*].signer"] {
            assert!(DataPath::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn recipient_ids_fit_a_path() {
        assert!(RecipientId::parse("ann+1@example.com").is_ok());
        for bad in ["", "a/b", "a b", "50%", &"x".repeat(129)] {
            assert!(RecipientId::parse(bad).is_err(), "{bad}");
        }
    }
}
