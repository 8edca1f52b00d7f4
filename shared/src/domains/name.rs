//! The name of a customer's sending domain.

use serde::{Deserialize, Serialize};

use crate::messaging::email::DomainName;

/// A domain an account sends from: a [`DomainName`] (lowercase ASCII, internationalised names in
/// punycode, at least two LDH labels, no trailing dot) that can also carry every record Herald
/// asks the customer to publish beneath it.
///
/// On top of [`DomainName`]'s rules:
/// - at most [`SendingDomain::MAX_LEN`] characters, so that the longest record name Herald
///   derives from it (`<11-character selector>._domainkey.<domain>`) still fits DNS's 253;
/// - not under a special-use top-level name (`localhost`, `test`, `invalid`, `example`, `local`,
///   `onion`, `arpa`, `internal`, `corp`, `home`): nobody can publish public DNS records there, so SES could
///   never verify it, and refusing it at once beats 72 hours of `pending`;
/// - no `%`: the URL host parser [`DomainName`] relies on would percent-decode it, and what the
///   customer typed should be what Herald stores, apart from case and punycode.
///
/// IP literals (`1.2.3.4`, `[::1]`) are refused by [`DomainName`] already.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SendingDomain(DomainName);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidSendingDomain {
    #[error("must be a domain name such as mail.example.com")]
    NotADomain,
    #[error("must be at most {max} characters long in its ASCII (punycode) form")]
    TooLong { max: usize },
    #[error("must be a public domain name: .{0} names cannot be published in public DNS")]
    SpecialUse(String),
}

/// Top-level names under which no customer can publish public records: special-use names
/// (RFC 2606, RFC 6761, RFC 6762, RFC 7686), ICANN's private-use `.internal`, the ones ICANN
/// resolved never to delegate (`.corp`, `.home`), and `.arpa`, which is infrastructure.
const SPECIAL_USE_TLDS: &[&str] = &[
    "arpa",
    "corp",
    "example",
    "home",
    "internal",
    "invalid",
    "local",
    "localhost",
    "onion",
    "test",
];

impl SendingDomain {
    /// 253 less the longest prefix Herald puts in front: an 11-character selector and
    /// `._domainkey.` (12).
    pub const MAX_LEN: usize = 253 - 11 - 12;

    pub fn parse(s: &str) -> Result<Self, InvalidSendingDomain> {
        if s.contains('%') {
            return Err(InvalidSendingDomain::NotADomain);
        }
        let name = DomainName::parse(s).map_err(|_| InvalidSendingDomain::NotADomain)?;
        if name.as_str().len() > Self::MAX_LEN {
            return Err(InvalidSendingDomain::TooLong { max: Self::MAX_LEN });
        }
        let tld = name.as_str().rsplit('.').next().unwrap_or_default();
        if SPECIAL_USE_TLDS.contains(&tld) {
            return Err(InvalidSendingDomain::SpecialUse(tld.to_owned()));
        }
        Ok(Self(name))
    }

    /// The ASCII form (`xn--bcher-kva.de`): what DNS, SES and Herald's store use.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn as_domain_name(&self) -> &DomainName {
        &self.0
    }

    /// The Unicode form (`bücher.de`) for showing to people; the ASCII form when a label does
    /// not decode.
    pub fn to_unicode(&self) -> String {
        let (unicode, result) = idna::domain_to_unicode(self.as_str());
        if result.is_ok() {
            unicode
        } else {
            self.as_str().to_owned()
        }
    }

    /// Whether `confirm` names this domain (in either form, any case): the guard a deletion
    /// needs, so that a typo or a stale page never deletes the wrong domain.
    pub fn is_confirmed_by(&self, confirm: &str) -> bool {
        Self::parse(confirm).is_ok_and(|c| c == *self)
    }
}

impl TryFrom<String> for SendingDomain {
    type Error = InvalidSendingDomain;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<SendingDomain> for String {
    fn from(v: SendingDomain) -> String {
        v.0.into()
    }
}

impl From<SendingDomain> for DomainName {
    fn from(v: SendingDomain) -> DomainName {
        v.0
    }
}

impl std::fmt::Display for SendingDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<String, InvalidSendingDomain> {
        SendingDomain::parse(s).map(String::from)
    }

    #[test]
    fn lowercases_and_drops_the_trailing_dot() {
        assert_eq!(parse("Mail.Example.COM"), Ok("mail.example.com".into()));
        assert_eq!(parse("example.com."), Ok("example.com".into()));
        assert_eq!(parse("my.domain.com"), Ok("my.domain.com".into()));
    }

    #[test]
    fn internationalised_names_become_punycode_and_display_as_unicode() {
        let d = SendingDomain::parse("Bücher.de").expect("valid");
        assert_eq!(d.as_str(), "xn--bcher-kva.de");
        assert_eq!(d.to_unicode(), "bücher.de");
        assert_eq!(
            parse("пример.рф"),
            Ok("xn--e1afmkfd.xn--p1ai".into()),
            "Cyrillic labels and TLD"
        );
        // Already-punycode input is kept and still displays as Unicode.
        let p = SendingDomain::parse("xn--bcher-kva.de").expect("valid");
        assert_eq!(p, d);
        assert_eq!(p.to_unicode(), "bücher.de");
        assert_eq!(
            SendingDomain::parse("example.com")
                .expect("valid")
                .to_unicode(),
            "example.com"
        );
    }

    #[test]
    fn needs_two_ldh_labels() {
        for bad in [
            "",
            ".",
            "com",
            "localhost.",
            "-a.com",
            "a-.com",
            "a..com",
            ".a.com",
            "a.com..",
            "a_b.com",
            "a b.com",
            "a.com/x",
            "user@a.com",
            "a.com:25",
            "exa%6Dple.com",
            "*.example.com",
        ] {
            assert_eq!(parse(bad), Err(InvalidSendingDomain::NotADomain), "{bad:?}");
        }
    }

    #[test]
    fn label_and_total_lengths() {
        let label63 = "a".repeat(63);
        assert!(parse(&format!("{label63}.com")).is_ok());
        assert_eq!(
            parse(&format!("a{label63}.com")),
            Err(InvalidSendingDomain::NotADomain),
            "a 64-character label"
        );
        // 3 labels of 63, one of 36 and ".com": 63*3 + 36 + 4 dots + 3 = 232 > 230.
        let long = format!("{label63}.{label63}.{label63}.{}.com", "b".repeat(36));
        assert_eq!(long.len(), 232);
        assert_eq!(
            parse(&long),
            Err(InvalidSendingDomain::TooLong { max: 230 })
        );
        let fits = format!("{label63}.{label63}.{label63}.{}.com", "b".repeat(34));
        assert_eq!(fits.len(), SendingDomain::MAX_LEN);
        assert!(parse(&fits).is_ok());
    }

    #[test]
    fn refuses_ip_literals() {
        for bad in [
            "1.2.3.4",
            "1.2.3.4.",
            "[::1]",
            "::1",
            "127.1",
            "0x7f.0.0.1",
            "10",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            parse("1.2.3.com").is_ok(),
            "numeric labels below a real TLD"
        );
    }

    #[test]
    fn refuses_special_use_names() {
        for (bad, tld) in [
            ("mail.localhost", "localhost"),
            ("example.test", "test"),
            ("a.invalid", "invalid"),
            ("www.example", "example"),
            ("printer.local", "local"),
            ("abc.onion", "onion"),
            ("4.3.2.1.in-addr.arpa", "arpa"),
            ("corp.internal", "internal"),
        ] {
            assert_eq!(
                parse(bad),
                Err(InvalidSendingDomain::SpecialUse(tld.into())),
                "{bad}"
            );
        }
        assert!(
            parse("example.com").is_ok(),
            "RFC 2606 second-level names are public DNS"
        );
    }

    #[test]
    fn confirmation_must_name_the_same_domain() {
        let d = SendingDomain::parse("bücher.de").expect("valid");
        assert!(d.is_confirmed_by("bücher.de"));
        assert!(d.is_confirmed_by("XN--BCHER-KVA.DE"));
        assert!(d.is_confirmed_by("bücher.de."));
        assert!(!d.is_confirmed_by(""));
        assert!(!d.is_confirmed_by("bucher.de"));
        assert!(!d.is_confirmed_by("mail.bücher.de"));
    }

    #[test]
    fn serde_round_trip_validates() {
        let d: SendingDomain = serde_json::from_str("\"Example.COM\"").expect("valid");
        assert_eq!(serde_json::to_string(&d).expect("json"), "\"example.com\"");
        assert!(serde_json::from_str::<SendingDomain>("\"1.2.3.4\"").is_err());
    }
}
