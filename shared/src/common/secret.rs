//! Secrets in the clear (short-lived, never logged) and sealed (safe to store).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// What the API shows in place of a stored secret; sending it back keeps the stored secret.
pub const PLACEHOLDER: &str = "********";

/// A secret in the clear. Its `Debug` never shows the value, and its memory is wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidSecret {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control characters")]
    Control,
}

impl Secret {
    pub const MAX_LEN: usize = 4096;

    pub fn parse(s: &str) -> Result<Self, InvalidSecret> {
        if s.is_empty() {
            return Err(InvalidSecret::Empty);
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(InvalidSecret::TooLong(Self::MAX_LEN));
        }
        if s.chars().any(char::is_control) {
            return Err(InvalidSecret::Control);
        }
        Ok(Self(Zeroizing::new(s.to_owned())))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(********)")
    }
}

/// A secret as a write request gives it: a new value, or the placeholder meaning "keep the
/// secret that is stored".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretInput {
    Keep,
    New(Secret),
}

impl SecretInput {
    pub fn parse(s: &str) -> Result<Self, InvalidSecret> {
        if s == PLACEHOLDER {
            Ok(Self::Keep)
        } else {
            Secret::parse(s).map(Self::New)
        }
    }
}

/// Stands for a stored secret in what the API shows: serializes as [`PLACEHOLDER`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redacted;

impl Serialize for Redacted {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(PLACEHOLDER)
    }
}

/// A sealed secret: opaque bytes only the sealer that made them can open. Stored as base64.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SealedSecret(Vec<u8>);

impl SealedSecret {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedSecret({} bytes)", self.0.len())
    }
}

impl TryFrom<String> for SealedSecret {
    type Error = base64::DecodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        STANDARD.decode(s).map(Self)
    }
}

impl From<SealedSecret> for String {
    fn from(s: SealedSecret) -> String {
        STANDARD.encode(s.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug() {
        let s = Secret::parse("hunter2").expect("valid");
        assert_eq!(format!("{s:?}"), "Secret(********)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn placeholder_means_keep() {
        assert_eq!(SecretInput::parse(PLACEHOLDER), Ok(SecretInput::Keep));
        assert!(matches!(
            SecretInput::parse("p4ss"),
            Ok(SecretInput::New(_))
        ));
        assert_eq!(SecretInput::parse(""), Err(InvalidSecret::Empty));
        assert_eq!(SecretInput::parse("a\nb"), Err(InvalidSecret::Control));
    }
}
