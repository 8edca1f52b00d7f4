//! DKIM keys for Bring Your Own DKIM: Herald makes the RSA key pair, hands the private key to
//! SES (which signs every message sent from the domain) and asks the customer to publish the
//! public key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::common::secret::Secret;

/// The key size Herald generates: the largest SES accepts for BYODKIM (1024 to 2048 bits), and
/// what RFC 8301 recommends.
pub const KEY_BITS: usize = 2048;

/// The smallest key Herald accepts when reading one back: RFC 8301 forbids verifiers to accept
/// shorter ones.
pub const MIN_KEY_BITS: usize = 1024;

/// A freshly generated DKIM key pair.
///
/// The private key is the base64 of its PKCS#8 DER (`PrivateKeyInfo`), on one line without PEM
/// armour: exactly what SES v2's `DkimSigningAttributes.DomainSigningPrivateKey` takes. SES
/// accepts PKCS#1 or PKCS#8 (its pattern is `^[a-zA-Z0-9+/]+={0,2}$`, so no header lines and no
/// line breaks); PKCS#8 is what `openssl genrsa` (OpenSSL 3) writes and what AWS's BYODKIM guide
/// shows (`-----BEGIN PRIVATE KEY-----`), and it names its algorithm.
///
/// It is held as a [`Secret`]: never in `Debug` output, wiped from memory on drop, and meant to
/// be sealed ([`crate::common::seal::SecretSealer`]) before it is stored. This type is deliberately not
/// `Serialize`.
#[derive(Debug, Clone)]
pub struct DkimKeyPair {
    private_key: Secret,
    public_key: DkimPublicKey,
}

#[derive(Debug, thiserror::Error)]
pub enum DkimKeyError {
    #[error("generating the RSA key failed")]
    Generate(#[source] rsa::Error),
    #[error("encoding the RSA key failed: {0}")]
    Encode(String),
    #[error("the key generation task failed")]
    Task(#[source] tokio::task::JoinError),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "must be the base64 of an RSA private key of at least {MIN_KEY_BITS} bits in PKCS#8 DER form"
)]
pub struct InvalidDkimPrivateKey;

impl DkimKeyPair {
    /// Generates an RSA-2048 key pair from the operating system's random source.
    ///
    /// This is CPU-bound: about 0.1 to 1 s in a release build, far longer in a debug build. In
    /// async code use [`DkimKeyPair::generate_off_thread`], which keeps the runtime responsive.
    pub fn generate() -> Result<Self, DkimKeyError> {
        let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS)
            .map_err(DkimKeyError::Generate)?;
        Self::from_rsa(&key)
    }

    /// [`DkimKeyPair::generate`] on tokio's blocking thread pool.
    pub async fn generate_off_thread() -> Result<Self, DkimKeyError> {
        tokio::task::spawn_blocking(Self::generate)
            .await
            .map_err(DkimKeyError::Task)?
    }

    /// The key pair of a private key as [`DkimKeyPair::private_key`] gives it (after opening
    /// the sealed copy, say), so that its public key can be derived again.
    pub fn from_private_key(private_key: &Secret) -> Result<Self, InvalidDkimPrivateKey> {
        let der = Zeroizing::new(
            STANDARD
                .decode(private_key.expose())
                .map_err(|_| InvalidDkimPrivateKey)?,
        );
        let key = RsaPrivateKey::from_pkcs8_der(&der).map_err(|_| InvalidDkimPrivateKey)?;
        if key.n().bits() < MIN_KEY_BITS {
            return Err(InvalidDkimPrivateKey);
        }
        Self::from_rsa(&key).map_err(|_| InvalidDkimPrivateKey)
    }

    fn from_rsa(key: &RsaPrivateKey) -> Result<Self, DkimKeyError> {
        // `SecretDocument` and `Zeroizing` wipe the intermediate copies of the private key.
        let der = key
            .to_pkcs8_der()
            .map_err(|e| DkimKeyError::Encode(e.to_string()))?;
        let b64 = Zeroizing::new(STANDARD.encode(der.as_bytes()));
        let private_key = Secret::parse(&b64).map_err(|e| DkimKeyError::Encode(e.to_string()))?;
        let public_key = DkimPublicKey::from_rsa(&RsaPublicKey::from(key))?;
        Ok(Self {
            private_key,
            public_key,
        })
    }

    /// The private key: base64 PKCS#8 DER, for SES's `DomainSigningPrivateKey` and for sealing.
    pub fn private_key(&self) -> &Secret {
        &self.private_key
    }

    pub fn public_key(&self) -> &DkimPublicKey {
        &self.public_key
    }

    pub fn into_parts(self) -> (Secret, DkimPublicKey) {
        (self.private_key, self.public_key)
    }
}

/// A DKIM public key as the `p=` tag of the DKIM DNS record carries it: the base64 of the DER
/// `SubjectPublicKeyInfo` of an RSA key of at least [`MIN_KEY_BITS`] bits (what
/// `openssl rsa -pubout` writes, what AWS's BYODKIM guide publishes, and what every verifier
/// accepts), on one line without whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DkimPublicKey(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "must be the base64 of an RSA public key of at least {MIN_KEY_BITS} bits \
     (DER SubjectPublicKeyInfo)"
)]
pub struct InvalidDkimPublicKey;

impl DkimPublicKey {
    pub fn parse(s: &str) -> Result<Self, InvalidDkimPublicKey> {
        let der = STANDARD.decode(s).map_err(|_| InvalidDkimPublicKey)?;
        let key = RsaPublicKey::from_public_key_der(&der).map_err(|_| InvalidDkimPublicKey)?;
        if key.n().bits() < MIN_KEY_BITS {
            return Err(InvalidDkimPublicKey);
        }
        // Re-encoded, so the stored form is canonical whatever padding quirks the input had.
        Ok(Self(STANDARD.encode(der)))
    }

    fn from_rsa(key: &RsaPublicKey) -> Result<Self, DkimKeyError> {
        let der = key
            .to_public_key_der()
            .map_err(|e| DkimKeyError::Encode(e.to_string()))?;
        Ok(Self(STANDARD.encode(der.as_bytes())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DkimPublicKey {
    type Error = InvalidDkimPublicKey;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DkimPublicKey> for String {
    fn from(v: DkimPublicKey) -> String {
        v.0
    }
}

impl std::fmt::Display for DkimPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One key pair per test binary: RSA key generation is slow, and most tests only need a key.
#[cfg(test)]
pub(crate) fn test_key_pair() -> &'static DkimKeyPair {
    static KEY: std::sync::OnceLock<DkimKeyPair> = std::sync::OnceLock::new();
    KEY.get_or_init(|| DkimKeyPair::generate().expect("an RSA key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_an_rsa_2048_key_pair_in_the_formats_ses_and_dns_want() {
        let pair = test_key_pair();

        // The private key: one line of base64 (SES's pattern), PKCS#8 DER of a 2048-bit key.
        let b64 = pair.private_key().expose();
        assert!(
            b64.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='),
            "SES's ^[a-zA-Z0-9+/]+={{0,2}}$"
        );
        assert!(b64.len() <= 20480, "SES's length limit");
        let der = STANDARD.decode(b64).expect("base64");
        let private = RsaPrivateKey::from_pkcs8_der(&der).expect("PKCS#8 DER");
        assert_eq!(private.n().bits(), 2048);
        private.validate().expect("a consistent RSA key");
        // PKCS#8 starts with a SEQUENCE holding version 0 and the rsaEncryption identifier.
        assert!(b64.starts_with("MII"), "{}", &b64[..8]);

        // The public key: SPKI DER of the same key.
        let spki = STANDARD.decode(pair.public_key().as_str()).expect("base64");
        let public = RsaPublicKey::from_public_key_der(&spki).expect("SPKI DER");
        assert_eq!(public, RsaPublicKey::from(&private));
        assert_eq!(
            DkimPublicKey::parse(pair.public_key().as_str()).as_ref(),
            Ok(pair.public_key())
        );
    }

    #[test]
    fn the_private_key_never_shows_in_debug_output() {
        let pair = test_key_pair();
        let shown = format!("{pair:?}");
        assert!(shown.contains("Secret(********)"), "{shown}");
        assert!(!shown.contains(pair.private_key().expose()));
        assert!(!shown.contains(&pair.private_key().expose()[..40]));
    }

    #[test]
    fn the_public_key_is_derived_again_from_the_private_key() {
        let pair = test_key_pair();
        let again = DkimKeyPair::from_private_key(pair.private_key()).expect("valid");
        assert_eq!(again.public_key(), pair.public_key());
        assert_eq!(again.private_key(), pair.private_key());

        for bad in ["", "not base64!", "AAAA", pair.public_key().as_str()] {
            let secret = Secret::parse(if bad.is_empty() { "x" } else { bad }).expect("secret");
            assert_eq!(
                DkimKeyPair::from_private_key(&secret).map(|_| ()),
                Err(InvalidDkimPrivateKey),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn public_keys_must_be_rsa_spki_of_at_least_1024_bits() {
        for bad in [
            "",
            "AAAA",
            "not base64",
            "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
        ] {
            assert_eq!(
                DkimPublicKey::parse(bad),
                Err(InvalidDkimPublicKey),
                "{bad:?}"
            );
        }
        // A 512-bit key, valid SPKI but too short (RFC 8301).
        let short = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBANgG/Vq44sMhncD3M6IJnnl8MrRCj3tw0AdJU25dKlJM\
                     3a+W1Ux/Y3A8Ry6xRHWsfsBOPuTLsjHsThdEluzbQiECAwEAAQ==";
        let der = STANDARD.decode(short).expect("base64");
        assert!(
            RsaPublicKey::from_public_key_der(&der).is_ok(),
            "a real SPKI"
        );
        assert_eq!(DkimPublicKey::parse(short), Err(InvalidDkimPublicKey));
    }
}
