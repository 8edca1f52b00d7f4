//! The secret a subscription's webhooks are signed with.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::CryptoRng;
use zeroize::Zeroizing;

/// A webhook signing secret in the Standard Webhooks format: `whsec_` followed by the standard
/// base64 (with padding) of the key bytes. The integrator is shown this one string, once, and
/// verifies both of Herald's signatures with it (see [`crate::events::webhook::signature`]).
///
/// `Debug` never shows it, there is no `Display` or `Serialize` (it is sealed before it is
/// stored, through [`WebhookSecret::expose`]), and its memory is wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    text: Zeroizing<String>,
    key: Zeroizing<Vec<u8>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidWebhookSecret {
    #[error("a webhook secret starts with whsec_")]
    Prefix,
    #[error("a webhook secret is whsec_ followed by base64")]
    Base64,
    #[error("a webhook secret's key is 24 to 64 bytes (this one has {0})")]
    Length(usize),
}

impl WebhookSecret {
    pub const PREFIX: &'static str = "whsec_";

    /// Herald's secrets are 24 random bytes (192 bits), as the Standard Webhooks reference
    /// implementation makes them: well beyond guessing, and a multiple of 3, so the base64 has
    /// no `=` padding that a copy-paste could lose.
    pub const GENERATED_BYTES: usize = 24;

    /// The key lengths Standard Webhooks allows.
    pub const MIN_BYTES: usize = 24;
    pub const MAX_BYTES: usize = 64;

    /// A new secret from the operating system's randomness (through the thread's CSPRNG).
    pub fn generate() -> Self {
        Self::generate_with(&mut rand::rng())
    }

    /// A new secret from `rng`, which must be cryptographically secure.
    pub fn generate_with<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut key = Zeroizing::new(vec![0u8; Self::GENERATED_BYTES]);
        rng.fill_bytes(&mut key);
        let text = Zeroizing::new(format!("{}{}", Self::PREFIX, STANDARD.encode(&*key)));
        Self { text, key }
    }

    /// Reads a secret back (after unsealing it).
    pub fn parse(s: &str) -> Result<Self, InvalidWebhookSecret> {
        let encoded = s
            .strip_prefix(Self::PREFIX)
            .ok_or(InvalidWebhookSecret::Prefix)?;
        let key = Zeroizing::new(
            STANDARD
                .decode(encoded)
                .map_err(|_| InvalidWebhookSecret::Base64)?,
        );
        if !(Self::MIN_BYTES..=Self::MAX_BYTES).contains(&key.len()) {
            return Err(InvalidWebhookSecret::Length(key.len()));
        }
        Ok(Self {
            text: Zeroizing::new(s.to_owned()),
            key,
        })
    }

    /// The whole `whsec_...` string: to show the integrator once, to seal for storage, and the
    /// key of the `X-Herald-Signature` HMAC.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// The decoded key bytes: the key of the Standard Webhooks HMAC.
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(whsec_********)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn generated_secrets_are_whsec_and_24_random_bytes() {
        let a = WebhookSecret::generate();
        let b = WebhookSecret::generate();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("whsec_"));
        assert_eq!(a.key().len(), 24);
        assert_eq!(a.expose().len(), "whsec_".len() + 32);
        assert!(!a.expose().ends_with('='));
        assert_eq!(WebhookSecret::parse(a.expose()), Ok(a.clone()));
    }

    #[test]
    fn generation_draws_from_the_given_rng() {
        let a = WebhookSecret::generate_with(&mut StdRng::seed_from_u64(7));
        let b = WebhookSecret::generate_with(&mut StdRng::seed_from_u64(7));
        let c = WebhookSecret::generate_with(&mut StdRng::seed_from_u64(8));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn parses_the_standard_webhooks_example_secret() {
        let s = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid");
        assert_eq!(s.key().len(), 24);
        assert_eq!(s.expose(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    }

    #[test]
    fn refuses_malformed_secrets() {
        assert_eq!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(InvalidWebhookSecret::Prefix)
        );
        assert_eq!(
            WebhookSecret::parse("whsec_not base64!"),
            Err(InvalidWebhookSecret::Base64)
        );
        let short = format!("whsec_{}", STANDARD.encode([1u8; 23]));
        assert_eq!(
            WebhookSecret::parse(&short),
            Err(InvalidWebhookSecret::Length(23))
        );
        let long = format!("whsec_{}", STANDARD.encode([1u8; 65]));
        assert_eq!(
            WebhookSecret::parse(&long),
            Err(InvalidWebhookSecret::Length(65))
        );
        let longest = format!("whsec_{}", STANDARD.encode([1u8; 64]));
        assert!(WebhookSecret::parse(&longest).is_ok());
        assert_eq!(
            WebhookSecret::parse("whsec_"),
            Err(InvalidWebhookSecret::Length(0))
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid");
        let shown = format!("{s:?} {:?}", Some(&s));
        assert!(!shown.contains("MfKQ"), "{shown}");
        assert!(shown.contains("********"), "{shown}");
    }
}
