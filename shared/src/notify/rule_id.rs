//! A notification rule's id, apart from the rule so that what a rule holds (its reminders)
//! can name rules without depending on them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A rule's id: `nr_` and a ULID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RuleId(String);

impl RuleId {
    pub fn new(at: OffsetDateTime) -> Self {
        let ms = u64::try_from((at.unix_timestamp_nanos() / 1_000_000).max(0)).unwrap_or(0);
        Self(format!(
            "nr_{}",
            ulid::Ulid::from_parts(ms, rand::random())
                .to_string()
                .to_lowercase()
        ))
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = s
            .strip_prefix("nr_")
            .is_some_and(|u| u.len() == 26 && u.bytes().all(|b| b.is_ascii_alphanumeric()));
        if ok {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err("is not a notification rule id".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RuleId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<RuleId> for String {
    fn from(v: RuleId) -> String {
        v.0
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
