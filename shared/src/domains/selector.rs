//! The DKIM selector: which of a domain's DKIM keys signed a message (`s=` in the signature,
//! the first label of `<selector>._domainkey.<domain>`).

use rand::Rng;
use serde::{Deserialize, Serialize};

/// A DKIM selector: 2 to 11 lowercase letters `a-z` and digits `0-9`.
///
/// The reference's rule is "all characters must be lowercase, with an allowed length of between
/// 2 and 11 characters". Digits are allowed because the selectors customers already use have
/// them: `selector1` and `selector2` are Microsoft 365's, and `s1`, `k1` or `2024` are common
/// elsewhere. Uppercase is refused rather than lowercased, so the selector in the DNS records is
/// exactly the one the customer typed. Hyphens, dots and underscores stay out: the reference
/// does not mention them, and a rule relaxed later keeps every stored selector valid, whereas
/// one tightened later would strand them. Any such selector is a valid DNS label and satisfies
/// SES's `DomainSigningSelector` pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DkimSelector(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidDkimSelector {
    #[error("must be 2 to 11 characters long (it has {0})")]
    Length(usize),
    #[error("must hold only lowercase letters a-z and digits 0-9")]
    Charset,
}

impl DkimSelector {
    pub const MIN_LEN: usize = 2;
    pub const MAX_LEN: usize = 11;
    /// What every generated selector starts with, so that Herald's keys are recognisable in a
    /// zone ("hd" for Herald).
    pub const GENERATED_PREFIX: &'static str = "hd";
    /// Random letters after the prefix: 26^6 (about 3 * 10^8) possibilities, plenty for keys
    /// that only need to differ from the other selectors of the same domain.
    const GENERATED_RANDOM_LEN: usize = 6;

    pub fn parse(s: &str) -> Result<Self, InvalidDkimSelector> {
        // The charset first, so that "é" is reported as a bad character rather than a length.
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(InvalidDkimSelector::Charset);
        }
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&s.len()) {
            return Err(InvalidDkimSelector::Length(s.len()));
        }
        Ok(Self(s.to_owned()))
    }

    /// A fresh selector for an account that did not choose one: `hd` and six random letters.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut s =
            String::with_capacity(Self::GENERATED_PREFIX.len() + Self::GENERATED_RANDOM_LEN);
        s.push_str(Self::GENERATED_PREFIX);
        for _ in 0..Self::GENERATED_RANDOM_LEN {
            s.push(char::from(rng.random_range(b'a'..=b'z')));
        }
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DkimSelector {
    type Error = InvalidDkimSelector;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DkimSelector> for String {
    fn from(v: DkimSelector) -> String {
        v.0
    }
}

impl std::fmt::Display for DkimSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_to_eleven_characters() {
        assert!(DkimSelector::parse("ab").is_ok());
        assert!(DkimSelector::parse("abcdefghijk").is_ok());
        assert_eq!(DkimSelector::parse(""), Err(InvalidDkimSelector::Length(0)));
        assert_eq!(
            DkimSelector::parse("a"),
            Err(InvalidDkimSelector::Length(1))
        );
        assert_eq!(
            DkimSelector::parse("abcdefghijkl"),
            Err(InvalidDkimSelector::Length(12))
        );
    }

    #[test]
    fn lowercase_letters_and_digits() {
        for good in [
            "selector1",
            "selector2",
            "s1",
            "k1",
            "2024",
            "herald",
            "ab",
            "0123456789a",
        ] {
            assert_eq!(
                DkimSelector::parse(good).map(String::from),
                Ok(good.to_owned()),
                "{good:?}"
            );
        }
        for bad in [
            "Ab",
            "AB",
            "aB",
            "S1",
            "Selector1",
            "my-key",
            "my_key",
            "a.b",
            "a b",
            "sé",
            "ß",
            "١٢",
        ] {
            assert_eq!(
                DkimSelector::parse(bad),
                Err(InvalidDkimSelector::Charset),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn generated_selectors_follow_the_rule() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let s = DkimSelector::generate();
            assert_eq!(DkimSelector::parse(s.as_str()).as_ref(), Ok(&s));
            assert!(s.as_str().starts_with("hd"));
            assert_eq!(s.as_str().len(), 8);
            seen.insert(s);
        }
        assert!(seen.len() > 190, "random enough: {} distinct", seen.len());
    }

    #[test]
    fn serde_validates() {
        let s: DkimSelector = serde_json::from_str("\"herald\"").expect("valid");
        assert_eq!(serde_json::to_string(&s).expect("json"), "\"herald\"");
        assert!(serde_json::from_str::<DkimSelector>("\"Herald\"").is_err());
    }
}
