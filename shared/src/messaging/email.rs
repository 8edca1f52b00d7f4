//! Email settings: the default sender (from-address prefix and display name) and the account's
//! own SMTP server.

use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::common::destination::{AddressPolicy, Refusal, check_host, check_url};
use crate::common::secret::SealedSecret;
use crate::messaging::custom::CustomProvider;

/// Rejects characters that could break out of a header line or hide in one.
fn has_line_break_or_control(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
}

/// The part of an address before the `@`: an RFC 5322 dot-atom of at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalPart(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "must be a valid email local part: 1 to 64 of letters, digits and !#$%&'*+-/=?^_`{{|}}~, \
     with single dots between them"
)]
pub struct InvalidLocalPart;

impl LocalPart {
    pub fn parse(s: &str) -> Result<Self, InvalidLocalPart> {
        // Quoted local parts are valid RFC 5322 but rejected here: no sender needs one, and
        // many receivers mishandle them.
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
        let ok = (1..=64).contains(&s.len())
            && s.split('.')
                .all(|atom| !atom.is_empty() && atom.chars().all(atext));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidLocalPart)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LocalPart {
    type Error = InvalidLocalPart;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<LocalPart> for String {
    fn from(v: LocalPart) -> String {
        v.0
    }
}

/// A name shown to people (an email's display name): 1 to 100 characters, not blank, and no
/// control characters or line breaks, so it can never inject a header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidDisplayName {
    #[error("must not be blank")]
    Blank,
    #[error("must be at most 100 characters")]
    TooLong,
    #[error("must not contain line breaks or control characters")]
    Control,
}

impl DisplayName {
    pub fn parse(s: &str) -> Result<Self, InvalidDisplayName> {
        if has_line_break_or_control(s) {
            Err(InvalidDisplayName::Control)
        } else if s.trim().is_empty() {
            Err(InvalidDisplayName::Blank)
        } else if s.chars().count() > 100 {
            Err(InvalidDisplayName::TooLong)
        } else {
            Ok(Self(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = InvalidDisplayName;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DisplayName> for String {
    fn from(v: DisplayName) -> String {
        v.0
    }
}

/// A DNS domain name in its ASCII (punycode) form, lowercased: labels of 1 to 63 letters, digits
/// and hyphens (not at either end), at least two labels, at most 253 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be a domain name such as mail.example.com")]
pub struct InvalidDomainName;

impl DomainName {
    pub fn parse(s: &str) -> Result<Self, InvalidDomainName> {
        let s = s.strip_suffix('.').unwrap_or(s);
        // url's host parser applies IDNA (UTS #46), turning "bücher.de" into "xn--bcher-kva.de".
        let ascii = match url::Host::parse(s) {
            Ok(url::Host::Domain(d)) => d,
            _ => return Err(InvalidDomainName),
        };
        let labels: Vec<&str> = ascii.split('.').collect();
        let ldh = |l: &&str| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        let tld_ok = labels
            .last()
            .is_some_and(|t| !t.bytes().all(|b| b.is_ascii_digit()));
        if ascii.len() <= 253 && labels.len() >= 2 && labels.iter().all(ldh) && tld_ok {
            Ok(Self(ascii))
        } else {
            Err(InvalidDomainName)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DomainName {
    type Error = InvalidDomainName;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DomainName> for String {
    fn from(v: DomainName) -> String {
        v.0
    }
}

impl std::fmt::Display for DomainName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A plain `local@domain` mailbox address (no display name, no domain literal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress {
    local: LocalPart,
    domain: DomainName,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be an email address such as noreply@example.com")]
pub struct InvalidEmailAddress;

impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, InvalidEmailAddress> {
        // The email_address crate checks the RFC 5322 grammar; Herald narrows it to the plain
        // dot-atom form that every SMTP server and header parser accepts.
        if email_address::EmailAddress::from_str(s).is_err() {
            return Err(InvalidEmailAddress);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(InvalidEmailAddress)?;
        Ok(Self {
            local: LocalPart::parse(local).map_err(|_| InvalidEmailAddress)?,
            domain: DomainName::parse(domain).map_err(|_| InvalidEmailAddress)?,
        })
    }

    pub fn new(local: LocalPart, domain: DomainName) -> Self {
        Self { local, domain }
    }

    pub fn local(&self) -> &LocalPart {
        &self.local
    }

    pub fn domain(&self) -> &DomainName {
        &self.domain
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.local.as_str(), self.domain.as_str())
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = InvalidEmailAddress;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(v: EmailAddress) -> String {
        v.to_string()
    }
}

/// An SMTP server's host: a domain name or an IP address.
///
/// An account's SMTP host is a destination it controls: [`SmtpHost::parse_for`] holds it to the
/// [`AddressPolicy`] when it is saved, and the mailer checks every address it resolves to again
/// when connecting. [`SmtpHost::parse`] checks the form only, for stored values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SmtpHost(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidSmtpHost {
    #[error("must be a host name such as smtp.example.com, or an IP address")]
    Form,
    #[error("{0}")]
    Refused(#[from] Refusal),
}

impl SmtpHost {
    /// A host as an account gives it: the form, then the address policy.
    pub fn parse_for(s: &str, policy: &AddressPolicy) -> Result<Self, InvalidSmtpHost> {
        let host = Self::parse(s)?;
        check_host(host.as_str(), policy)?;
        Ok(host)
    }

    pub fn parse(s: &str) -> Result<Self, InvalidSmtpHost> {
        // ASCII only, as the contract says: an international name comes in its xn-- form.
        if !s.is_ascii() {
            return Err(InvalidSmtpHost::Form);
        }
        if let Ok(ip) = IpAddr::from_str(s) {
            return Ok(Self(ip.to_string()));
        }
        // A single-label name ("localhost", "mailhog") is a fair SMTP host on a private network.
        let as_domain = if s.contains('.') {
            DomainName::parse(s).ok().map(String::from)
        } else {
            DomainName::parse(&format!("{s}.invalid"))
                .ok()
                .map(|d| d.as_str().trim_end_matches(".invalid").to_owned())
        };
        as_domain.map(Self).ok_or(InvalidSmtpHost::Form)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SmtpHost {
    type Error = InvalidSmtpHost;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<SmtpHost> for String {
    fn from(v: SmtpHost) -> String {
        v.0
    }
}

/// The SMTP ports Herald connects to, each with its TLS mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(try_from = "u16", into = "u16")]
pub enum SmtpPort {
    /// Plain SMTP, upgraded with STARTTLS when the server offers it.
    #[default]
    P25,
    /// Submission: STARTTLS required.
    P587,
    /// Submission over implicit TLS.
    P465,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be 25, 587 or 465")]
pub struct InvalidSmtpPort;

impl SmtpPort {
    pub fn parse(n: i64) -> Result<Self, InvalidSmtpPort> {
        match n {
            25 => Ok(Self::P25),
            587 => Ok(Self::P587),
            465 => Ok(Self::P465),
            _ => Err(InvalidSmtpPort),
        }
    }

    pub fn number(self) -> u16 {
        match self {
            Self::P25 => 25,
            Self::P587 => 587,
            Self::P465 => 465,
        }
    }
}

impl TryFrom<u16> for SmtpPort {
    type Error = InvalidSmtpPort;
    fn try_from(n: u16) -> Result<Self, Self::Error> {
        Self::parse(i64::from(n))
    }
}

impl From<SmtpPort> for u16 {
    fn from(p: SmtpPort) -> u16 {
        p.number()
    }
}

/// A short identifier (SMTP username, OAuth client id): 1 to 256 characters, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Credential(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be 1 to 256 characters with no control characters")]
pub struct InvalidCredential;

impl Credential {
    pub fn parse(s: &str) -> Result<Self, InvalidCredential> {
        if (1..=256).contains(&s.chars().count()) && !has_line_break_or_control(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidCredential)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Credential {
    type Error = InvalidCredential;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Credential> for String {
    fn from(v: Credential) -> String {
        v.0
    }
}

/// An OAuth 2.0 scope token (RFC 6749 §3.3): printable ASCII, no spaces, quotes or backslashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OAuthScope(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be 1 to 256 printable ASCII characters without spaces, '\"' or '\\'")]
pub struct InvalidOAuthScope;

impl OAuthScope {
    pub fn parse(s: &str) -> Result<Self, InvalidOAuthScope> {
        let ok = (1..=256).contains(&s.len())
            && s.bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidOAuthScope)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OAuthScope {
    type Error = InvalidOAuthScope;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<OAuthScope> for String {
    fn from(v: OAuthScope) -> String {
        v.0
    }
}

/// Where an OAuth access token is fetched: an absolute https URL (http only where the operator
/// allows it, for local development) without credentials or a fragment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TokenEndpoint(url::Url);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidTokenEndpoint {
    #[error("must be an absolute URL such as https://login.example.com/oauth2/token")]
    NotUrl,
    #[error("must not hold a fragment")]
    Fragment,
    #[error("{0}")]
    Refused(#[from] Refusal),
}

impl TokenEndpoint {
    /// An endpoint as an account gives it: an absolute URL without a fragment that passes the
    /// address policy (https unless the operator allows http, no credentials, no address or
    /// name that leads inside).
    pub fn parse(s: &str, policy: &AddressPolicy) -> Result<Self, InvalidTokenEndpoint> {
        let url = url::Url::parse(s).map_err(|_| InvalidTokenEndpoint::NotUrl)?;
        check_url(&url, policy)?;
        if url.fragment().is_some() {
            return Err(InvalidTokenEndpoint::Fragment);
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &url::Url {
        &self.0
    }
}

impl TryFrom<String> for TokenEndpoint {
    type Error = InvalidTokenEndpoint;
    /// A stored endpoint, checked for its form only: the policy it is held to is the one in
    /// force when it is used, which the token client applies before every request.
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let url = url::Url::parse(&s).map_err(|_| InvalidTokenEndpoint::NotUrl)?;
        Ok(Self(url))
    }
}

impl From<TokenEndpoint> for String {
    fn from(v: TokenEndpoint) -> String {
        v.0.into()
    }
}

/// How Herald authenticates to an account's SMTP server. `S` is how secrets are held: sealed
/// when stored, as [`crate::common::secret::SecretInput`] in a write request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
pub enum SmtpAuth<S = SealedSecret> {
    None,
    Basic {
        username: Credential,
        password: S,
    },
    Xoauth2 {
        client_id: Credential,
        client_secret: S,
        scopes: Vec<OAuthScope>,
        token_endpoint: TokenEndpoint,
    },
}

impl<S> SmtpAuth<S> {
    /// The secret this variant holds, if any.
    pub fn secret(&self) -> Option<&S> {
        match self {
            Self::None => None,
            Self::Basic { password, .. } => Some(password),
            Self::Xoauth2 { client_secret, .. } => Some(client_secret),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Basic { .. } => "basic",
            Self::Xoauth2 { .. } => "xoauth2",
        }
    }

    /// The same auth with its secret replaced by `secret` (which `None` ignores).
    pub fn with_secret<T>(self, secret: Option<T>) -> Option<SmtpAuth<T>> {
        Some(match self {
            Self::None => SmtpAuth::None,
            Self::Basic { username, .. } => SmtpAuth::Basic {
                username,
                password: secret?,
            },
            Self::Xoauth2 {
                client_id,
                scopes,
                token_endpoint,
                ..
            } => SmtpAuth::Xoauth2 {
                client_id,
                client_secret: secret?,
                scopes,
                token_endpoint,
            },
        })
    }
}

impl<S> SmtpAuth<S> {
    /// The same auth with its secret transformed by `f`.
    pub fn map_secret<T>(self, f: impl FnOnce(S) -> T) -> SmtpAuth<T> {
        match self {
            Self::None => SmtpAuth::None,
            Self::Basic { username, password } => SmtpAuth::Basic {
                username,
                password: f(password),
            },
            Self::Xoauth2 {
                client_id,
                client_secret,
                scopes,
                token_endpoint,
            } => SmtpAuth::Xoauth2 {
                client_id,
                client_secret: f(client_secret),
                scopes,
                token_endpoint,
            },
        }
    }
}

/// An account's own SMTP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmtpSettings<S = SealedSecret> {
    pub host: SmtpHost,
    pub port: SmtpPort,
    pub sender_address: EmailAddress,
    /// The sender address is always used; a send request's `from` is ignored.
    pub sender_locked: bool,
    pub auth: SmtpAuth<S>,
    pub disable_certificate_validation: bool,
}

impl<S> SmtpSettings<S> {
    pub fn map_secret<T>(self, f: impl FnOnce(S) -> T) -> SmtpSettings<T> {
        SmtpSettings {
            host: self.host,
            port: self.port,
            sender_address: self.sender_address,
            sender_locked: self.sender_locked,
            auth: self.auth.map_secret(f),
            disable_certificate_validation: self.disable_certificate_validation,
        }
    }
}

/// How an account's email goes out when not through Herald's own sending (SES): its own SMTP
/// server, or its own provider (see [`crate::messaging::custom`]). One or the other, never
/// both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailRoute<S = SealedSecret> {
    Smtp(SmtpSettings<S>),
    Custom(CustomProvider<S>),
}

impl<S> EmailRoute<S> {
    pub fn map_secret<T>(self, f: impl FnOnce(S) -> T) -> EmailRoute<T> {
        match self {
            Self::Smtp(smtp) => EmailRoute::Smtp(smtp.map_secret(f)),
            Self::Custom(custom) => EmailRoute::Custom(custom.map_secret(f)),
        }
    }
}

/// An account's email settings. Stored and shown with `smtp` (null when not used) and
/// `customProvider` (absent when not used) beside the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings<S = SealedSecret> {
    pub from_address_prefix: LocalPart,
    pub sender_name: DisplayName,
    /// None: Herald's own sending.
    pub route: Option<EmailRoute<S>>,
}

impl<S> EmailSettings<S> {
    pub fn map_secret<T>(self, f: impl FnOnce(S) -> T) -> EmailSettings<T> {
        EmailSettings {
            from_address_prefix: self.from_address_prefix,
            sender_name: self.sender_name,
            route: self.route.map(|r| r.map_secret(f)),
        }
    }

    /// The account's SMTP server, when its email goes there.
    pub fn smtp(&self) -> Option<&SmtpSettings<S>> {
        match &self.route {
            Some(EmailRoute::Smtp(smtp)) => Some(smtp),
            _ => None,
        }
    }

    /// The account's own provider, when its email goes there.
    pub fn custom_provider(&self) -> Option<&CustomProvider<S>> {
        match &self.route {
            Some(EmailRoute::Custom(custom)) => Some(custom),
            _ => None,
        }
    }
}

/// The settings' fields as stored and shown (`smtp` null when not used, `customProvider` left
/// out, as documents written before it were).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailSettingsFields<P, N, M, C> {
    from_address_prefix: P,
    sender_name: N,
    #[serde(default = "Option::default")]
    smtp: Option<M>,
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    custom_provider: Option<C>,
}

impl<S: Serialize> Serialize for EmailSettings<S> {
    fn serialize<Z: serde::Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        EmailSettingsFields {
            from_address_prefix: &self.from_address_prefix,
            sender_name: &self.sender_name,
            smtp: self.smtp(),
            custom_provider: self.custom_provider(),
        }
        .serialize(serializer)
    }
}

impl<'de, S: Deserialize<'de>> Deserialize<'de> for EmailSettings<S> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let f = EmailSettingsFields::<LocalPart, DisplayName, SmtpSettings<S>, CustomProvider<S>>::deserialize(deserializer)?;
        let route = match (f.smtp, f.custom_provider) {
            (Some(_), Some(_)) => {
                return Err(serde::de::Error::custom(
                    "email settings name both an SMTP server and a custom provider",
                ));
            }
            (Some(smtp), None) => Some(EmailRoute::Smtp(smtp)),
            (None, Some(custom)) => Some(EmailRoute::Custom(custom)),
            (None, None) => None,
        };
        Ok(Self {
            from_address_prefix: f.from_address_prefix,
            sender_name: f.sender_name,
            route,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_parts() {
        for ok in ["noreply", "no.reply", "a+b", "x_y-z", "o'brien"] {
            assert!(LocalPart::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".a",
            "a.",
            "a..b",
            "a b",
            "a@b",
            "\"q\"",
            "a\r\nBcc:",
            &"a".repeat(65),
        ] {
            assert!(LocalPart::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn display_names_cannot_inject_headers() {
        assert!(DisplayName::parse("Acme Support").is_ok());
        assert!(DisplayName::parse("Ærøskøbing Kommune").is_ok());
        for bad in [
            "Acme\r\nBcc: victim@example.com",
            "Acme\nX",
            "Acme\rX",
            "A\u{0}",
            "A\u{2028}B",
            "A\tB",
        ] {
            assert_eq!(
                DisplayName::parse(bad),
                Err(InvalidDisplayName::Control),
                "{bad:?}"
            );
        }
        assert_eq!(DisplayName::parse("   "), Err(InvalidDisplayName::Blank));
        assert_eq!(
            DisplayName::parse(&"a".repeat(101)),
            Err(InvalidDisplayName::TooLong)
        );
    }

    #[test]
    fn domain_names() {
        assert_eq!(
            DomainName::parse("Mail.Example.COM").map(String::from),
            Ok("mail.example.com".into())
        );
        assert_eq!(
            DomainName::parse("bücher.de").map(String::from),
            Ok("xn--bcher-kva.de".into())
        );
        for bad in [
            "",
            "localhost",
            "-a.com",
            "a-.com",
            "a..com",
            "a_b.com",
            "1.2.3.4",
            "a.com/x",
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn email_addresses() {
        let a = EmailAddress::parse("noreply@Mail.Example.com").expect("valid");
        assert_eq!(a.to_string(), "noreply@mail.example.com");
        for bad in [
            "",
            "noreply",
            "@example.com",
            "a@b",
            "a b@example.com",
            "Name <a@example.com>",
            "a@[127.0.0.1]",
            "a@example.com\r\nBcc: x@y.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn smtp_hosts() {
        for ok in ["smtp.example.com", "localhost", "127.0.0.1", "::1"] {
            assert!(SmtpHost::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "smtp example.com",
            "smtp.example.com:25",
            "smtp.example.com\r\n",
            "a/b",
            "×",
            "bücher.example",
        ] {
            assert!(SmtpHost::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn smtp_ports_are_25_587_465() {
        assert_eq!(SmtpPort::parse(25), Ok(SmtpPort::P25));
        assert_eq!(SmtpPort::parse(587), Ok(SmtpPort::P587));
        assert_eq!(SmtpPort::parse(465), Ok(SmtpPort::P465));
        for bad in [0, 24, 26, 2525, 588, 443, -25, 65561] {
            assert_eq!(SmtpPort::parse(bad), Err(InvalidSmtpPort), "{bad}");
        }
        assert_eq!(SmtpPort::default(), SmtpPort::P25);
    }

    #[test]
    fn token_endpoints() {
        let strict = AddressPolicy::default();
        let local = AddressPolicy {
            allow_http: true,
            allowed: vec!["127.0.0.0/8".parse().expect("net")],
            ..AddressPolicy::default()
        };
        assert!(TokenEndpoint::parse("https://login.example.com/token", &strict).is_ok());
        assert!(matches!(
            TokenEndpoint::parse("http://login.example.com/token", &strict),
            Err(InvalidTokenEndpoint::Refused(Refusal::NotHttps(_)))
        ));
        assert!(TokenEndpoint::parse("http://127.0.0.1:8080/token", &local).is_ok());
        assert!(matches!(
            TokenEndpoint::parse("ftp://x.example.com/", &local),
            Err(InvalidTokenEndpoint::Refused(Refusal::Scheme(_)))
        ));
        assert!(matches!(
            TokenEndpoint::parse("https://u:p@x.example.com/", &strict),
            Err(InvalidTokenEndpoint::Refused(Refusal::UserInfo))
        ));
        assert_eq!(
            TokenEndpoint::parse("https://x.example.com/t#frag", &strict),
            Err(InvalidTokenEndpoint::Fragment)
        );
        assert_eq!(
            TokenEndpoint::parse("/token", &strict),
            Err(InvalidTokenEndpoint::NotUrl)
        );
    }

    #[test]
    fn token_endpoints_and_smtp_hosts_inside_herald_are_refused() {
        let strict = AddressPolicy::default();
        for inside in [
            "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
            "https://10.0.0.5/token",
            "https://[::1]/token",
            "https://localhost/token",
            "https://localhost../token",
            "https://[::ffff:0:a00:5]/token",
            "https://192.0.2.1/token",
        ] {
            assert!(
                matches!(
                    TokenEndpoint::parse(inside, &strict),
                    Err(InvalidTokenEndpoint::Refused(
                        Refusal::Address { .. } | Refusal::Host { .. }
                    ))
                ),
                "{inside}: {:?}",
                TokenEndpoint::parse(inside, &strict)
            );
        }
        for inside in [
            "169.254.169.254",
            "10.0.0.5",
            "::1",
            "localhost",
            "mailhog",
            "::ffff:127.0.0.1",
            "203.0.113.9",
        ] {
            assert!(
                matches!(
                    SmtpHost::parse_for(inside, &strict),
                    Err(InvalidSmtpHost::Refused(_))
                ),
                "{inside}"
            );
        }
        assert!(SmtpHost::parse_for("smtp.example.com", &strict).is_ok());
        let err = SmtpHost::parse_for("169.254.169.254", &strict).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "must not point at a link-local (cloud metadata) address (169.254.169.254)"
        );
    }

    #[test]
    fn settings_keep_their_stored_shape_and_take_one_route() {
        let stored = serde_json::json!({
            "fromAddressPrefix": "hello", "senderName": "Acme",
            "smtp": {"host": "smtp.acme.example", "port": 587, "senderAddress": "hello@acme.example",
                     "senderLocked": false, "auth": {"type": "none"},
                     "disableCertificateValidation": false}
        });
        let read: EmailSettings = serde_json::from_value(stored.clone()).expect("an SMTP route");
        assert!(read.smtp().is_some() && read.custom_provider().is_none());
        assert_eq!(serde_json::to_value(&read).expect("json"), stored);

        let custom = serde_json::json!({
            "fromAddressPrefix": "hello", "senderName": "Acme", "smtp": null,
            "customProvider": {"url": "https://mail.acme.example/herald", "signingSecret": "AAAA"}
        });
        let read: EmailSettings = serde_json::from_value(custom.clone()).expect("a custom route");
        assert!(read.custom_provider().is_some() && read.smtp().is_none());
        assert_eq!(serde_json::to_value(&read).expect("json"), custom);

        // Written before custom providers: no customProvider, and none shown.
        let herald =
            serde_json::json!({"fromAddressPrefix": "hello", "senderName": "Acme", "smtp": null});
        let read: EmailSettings = serde_json::from_value(herald.clone()).expect("Herald's route");
        assert_eq!(read.route, None);
        assert_eq!(serde_json::to_value(&read).expect("json"), herald);

        let mut both = stored;
        both["customProvider"] = custom["customProvider"].clone();
        assert!(serde_json::from_value::<EmailSettings>(both).is_err());
    }

    #[test]
    fn scopes_and_credentials() {
        assert!(OAuthScope::parse("https://outlook.office.com/SMTP.Send").is_ok());
        assert!(OAuthScope::parse("a b").is_err());
        assert!(OAuthScope::parse("").is_err());
        assert!(Credential::parse("user@example.com").is_ok());
        assert!(Credential::parse("").is_err());
        assert!(Credential::parse("a\r\nb").is_err());
    }
}
