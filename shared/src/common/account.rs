//! Account identifiers.

use serde::{Deserialize, Serialize};

/// An account's id: 1 to 64 characters of `A-Za-z0-9`, `-` and `_`. Ids are opaque to Herald (the
/// platform assigns them); the charset keeps them safe in keys, paths and log lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an account id is 1 to 64 characters of A-Z, a-z, 0-9, '-' and '_'")]
pub struct InvalidAccountId;

impl AccountId {
    pub fn parse(s: &str) -> Result<Self, InvalidAccountId> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidAccountId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountId {
    type Error = InvalidAccountId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids() {
        assert!(AccountId::parse("a-spge-IL9J9flqic18sh4TsUAo").is_ok());
        assert!(AccountId::parse("").is_err());
        assert!(AccountId::parse(&"a".repeat(65)).is_err());
        assert!(AccountId::parse("a/b").is_err());
        assert!(AccountId::parse("a b").is_err());
    }
}
