//! The SES side of a sending domain: an email identity whose DKIM signatures SES makes with
//! Herald's key (Bring Your Own DKIM), and its custom MAIL FROM subdomain. The port is
//! [`EmailIdentities`]; `adapters::ses::identities` speaks SES v2.

use async_trait::async_trait;

use crate::common::secret::Secret;
use crate::domains::{DkimSelector, SendingDomain};

#[derive(Debug, thiserror::Error)]
#[error("SES refused: {0}")]
pub struct IdentityError(pub String);

#[async_trait]
pub trait EmailIdentities: Send + Sync {
    /// Creates the identity signed with `private_key` under `selector`; an identity left from
    /// an earlier add of the same domain is given the new key.
    async fn create(
        &self,
        domain: &SendingDomain,
        selector: &DkimSelector,
        private_key: &Secret,
    ) -> Result<(), IdentityError>;
    /// Sets the identity's MAIL FROM to `bounce.{domain}`.
    async fn configure_mail_from(&self, domain: &SendingDomain) -> Result<(), IdentityError>;
    /// Removes the identity; one already gone is not an error.
    async fn delete(&self, domain: &SendingDomain) -> Result<(), IdentityError>;
}
