//! Envelope encryption under a KMS key: each seal asks KMS for a fresh AES-256 data key
//! (GenerateDataKey), encrypts locally with it, and keeps only the KMS-wrapped copy of the key.
//! Opening asks KMS to unwrap it (Decrypt), which KMS allows only with the same encryption
//! context, that is for the same account.

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use zeroize::Zeroizing;

use crate::common::account::AccountId;
use crate::common::seal::envelope::{self, Kind};
use crate::common::seal::{SealError, SecretSealer};
use crate::common::secret::{SealedSecret, Secret};

const CONTEXT_KEY: &str = "herald:accountId";

pub struct KmsSealer {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl KmsSealer {
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }
}

fn key_service<E: std::error::Error + Send + Sync + 'static>(e: E) -> SealError {
    SealError::KeyService(Box::new(e))
}

#[async_trait]
impl SecretSealer for KmsSealer {
    async fn seal(&self, account: &AccountId, secret: &Secret) -> Result<SealedSecret, SealError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(CONTEXT_KEY, account.as_str())
            .send()
            .await
            .map_err(|e| key_service(aws_sdk_kms::Error::from(e)))?;
        let plain = Zeroizing::new(out.plaintext.ok_or(SealError::Unreadable)?.into_inner());
        let wrapped = out.ciphertext_blob.ok_or(SealError::Unreadable)?;
        envelope::seal(
            Kind::Kms,
            &plain,
            wrapped.as_ref(),
            account.as_str().as_bytes(),
            secret,
        )
    }

    async fn open(&self, account: &AccountId, sealed: &SealedSecret) -> Result<Secret, SealError> {
        let parts = envelope::parse(Kind::Kms, sealed)?;
        let out = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(parts.wrapped_key))
            .encryption_context(CONTEXT_KEY, account.as_str())
            .send()
            .await
            .map_err(|e| match e.into_service_error() {
                // The wrapped key is not one this key and context unwrap: a sealed value moved
                // between accounts, or damaged.
                aws_sdk_kms::operation::decrypt::DecryptError::InvalidCiphertextException(_) => {
                    SealError::Unreadable
                }
                other => key_service(other),
            })?;
        let plain = Zeroizing::new(out.plaintext.ok_or(SealError::Unreadable)?.into_inner());
        envelope::open(&parts, &plain, account.as_str().as_bytes())
    }
}
