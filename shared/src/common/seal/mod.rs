//! Sealing secrets at rest. The port is [`SecretSealer`]; [`crate::adapters::kms::KmsSealer`] does envelope
//! encryption under a KMS key, [`crate::common::seal::local::LocalSealer`] uses a key held in memory (unit tests).
//!
//! Every sealed secret is bound to its account: the account id is the AES-GCM associated data
//! and the KMS encryption context, so a sealed value copied to another account will not open.

pub(crate) mod envelope;
pub mod local;

use async_trait::async_trait;

use crate::common::account::AccountId;
use crate::common::secret::{SealedSecret, Secret};

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the key service failed")]
    KeyService(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the sealed secret is damaged, was sealed by another sealer or for another account")]
    Unreadable,
}

#[async_trait]
pub trait SecretSealer: Send + Sync {
    async fn seal(&self, account: &AccountId, secret: &Secret) -> Result<SealedSecret, SealError>;
    async fn open(&self, account: &AccountId, sealed: &SealedSecret) -> Result<Secret, SealError>;
}
