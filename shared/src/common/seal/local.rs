//! A sealer with its key in memory: for unit tests and in-memory runs, never for deployments.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{KeyInit, OsRng};
use async_trait::async_trait;
use zeroize::Zeroizing;

use crate::common::account::AccountId;
use crate::common::seal::envelope::{self, Kind};
use crate::common::seal::{SealError, SecretSealer};
use crate::common::secret::{SealedSecret, Secret};

pub struct LocalSealer {
    key: Zeroizing<Vec<u8>>,
}

impl LocalSealer {
    /// A sealer with a fresh random key: what it seals opens only with this instance.
    pub fn random() -> Self {
        Self {
            key: Zeroizing::new(Aes256Gcm::generate_key(OsRng).to_vec()),
        }
    }
}

#[async_trait]
impl SecretSealer for LocalSealer {
    async fn seal(&self, account: &AccountId, secret: &Secret) -> Result<SealedSecret, SealError> {
        envelope::seal(
            Kind::Local,
            &self.key,
            &[],
            account.as_str().as_bytes(),
            secret,
        )
    }

    async fn open(&self, account: &AccountId, sealed: &SealedSecret) -> Result<Secret, SealError> {
        let parts = envelope::parse(Kind::Local, sealed)?;
        envelope::open(&parts, &self.key, account.as_str().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(s: &str) -> AccountId {
        AccountId::parse(s).expect("valid account")
    }

    #[tokio::test]
    async fn round_trip_bound_to_account() {
        let sealer = LocalSealer::random();
        let secret = Secret::parse("s3cret!").expect("valid");
        let sealed = sealer.seal(&account("a1"), &secret).await.expect("sealed");
        assert!(!sealed.as_bytes().windows(7).any(|w| w == b"s3cret!"));
        let opened = sealer.open(&account("a1"), &sealed).await.expect("opened");
        assert_eq!(opened.expose(), "s3cret!");
        assert!(sealer.open(&account("a2"), &sealed).await.is_err());
        assert!(
            LocalSealer::random()
                .open(&account("a1"), &sealed)
                .await
                .is_err()
        );
        // Two seals of the same secret differ (fresh nonce), so equal secrets are not revealed.
        let again = sealer.seal(&account("a1"), &secret).await.expect("sealed");
        assert_ne!(sealed, again);
    }

    #[tokio::test]
    async fn damaged_envelopes_do_not_open() {
        let sealer = LocalSealer::random();
        let a = account("a1");
        let sealed = sealer
            .seal(&a, &Secret::parse("x").expect("valid"))
            .await
            .expect("sealed");
        let mut bytes = sealed.as_bytes().to_vec();
        if let Some(last) = bytes.last_mut() {
            *last ^= 1;
        }
        for bad in [vec![], vec![0x4c], bytes] {
            assert!(
                sealer
                    .open(&a, &SealedSecret::from_bytes(bad))
                    .await
                    .is_err()
            );
        }
    }
}
