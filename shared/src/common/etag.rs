//! Entity tags for optimistic concurrency: `GET` hands one out, `PUT`/`DELETE` with `If-Match`
//! succeed only while it is current, so two administrators never overwrite each other unknowingly.

use sha2::{Digest, Sha256};

/// An opaque version token. It is derived from the stored content, so content that comes back
/// (a reset, then the same save) gets its old tag back, and a counter can never repeat for
/// different content.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ETag(String);

const DEFAULTS: &str = "defaults";

impl ETag {
    /// The tag of settings never saved (the operator's defaults).
    pub fn defaults() -> Self {
        Self(DEFAULTS.to_owned())
    }

    pub fn is_defaults(&self) -> bool {
        self.0 == DEFAULTS
    }

    /// The tag of a stored document: a digest of its canonical JSON (serde_json sorts keys).
    pub fn of(document: &serde_json::Value) -> Self {
        let digest = Sha256::digest(document.to_string().as_bytes());
        Self(format!("{digest:x}")[..32].to_owned())
    }

    /// Rebuilds a tag read back from storage.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `ETag` header value: the token in double quotes (a strong tag).
    pub fn header_value(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

/// What a write requires of the current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// No `If-Match`, or `If-Match: *` (settings always exist, as defaults at least).
    Any,
    /// The current tag must be one of these.
    OneOf(Vec<ETag>),
}

impl Precondition {
    /// Parses an `If-Match` header (RFC 9110 §13.1.1). Weak tags never match, as the RFC's
    /// strong comparison requires, so they are kept only to fail the comparison. An item that
    /// is not a quoted entity tag names no version either: the write fails its precondition
    /// (412) rather than being refused as malformed (400), since any text is a string the
    /// document allows, and a write is never let through on a precondition Herald cannot read.
    pub fn from_if_match(header: Option<&str>) -> Self {
        let Some(header) = header.map(str::trim) else {
            return Self::Any;
        };
        if header == "*" {
            return Self::Any;
        }
        let mut tags = Vec::new();
        for item in header.split(',').map(str::trim) {
            let (weak, quoted) = match item.strip_prefix("W/") {
                Some(rest) => (true, rest),
                None => (false, item),
            };
            let inner = quoted
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .filter(|s| !s.contains('"'));
            if let (Some(inner), false) = (inner, weak) {
                tags.push(ETag(inner.to_owned()));
            }
        }
        Self::OneOf(tags)
    }

    /// Whether a resource whose current tag is `current` satisfies this precondition.
    pub fn allows(&self, current: &ETag) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(tags) => tags.contains(current),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_follow_content() {
        let a = ETag::of(&json!({"a": 1, "b": 2}));
        assert_eq!(a, ETag::of(&json!({"b": 2, "a": 1})));
        assert_ne!(a, ETag::of(&json!({"a": 1, "b": 3})));
        assert_ne!(a, ETag::defaults());
        assert_eq!(a.header_value(), format!("\"{}\"", a.as_str()));
    }

    #[test]
    fn if_match_parsing() {
        assert_eq!(Precondition::from_if_match(None), Precondition::Any);
        assert_eq!(Precondition::from_if_match(Some("*")), Precondition::Any);
        let p = Precondition::from_if_match(Some("\"abc\", W/\"def\", \"ghi\""));
        assert!(p.allows(&ETag::from_stored("abc".into())));
        assert!(p.allows(&ETag::from_stored("ghi".into())));
        assert!(
            !p.allows(&ETag::from_stored("def".into())),
            "weak tags never match"
        );
        // Not quoted tags: they name no version, so nothing satisfies them.
        let abc = ETag::from_stored("abc".into());
        for unreadable in ["abc", "\"a\"b\"", "0", ""] {
            let p = Precondition::from_if_match(Some(unreadable));
            assert_eq!(p, Precondition::OneOf(Vec::new()), "{unreadable:?}");
            assert!(!p.allows(&abc));
        }
        // A readable tag beside an unreadable one still counts.
        assert!(Precondition::from_if_match(Some("abc, \"abc\"")).allows(&abc));
    }
}
