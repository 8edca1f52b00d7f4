//! Adapters built on first use. Most API requests never seal a secret or touch SES, most
//! sends need only one of SES, SNS and KMS, and a webhook deliverer opens each subscription's
//! secret once per warm instance: a function's cold start does not build the SDK clients it
//! may not need (each parses its endpoint rules and brings its own HTTPS connector); the first
//! request that needs one builds it, once per warm instance.

use std::sync::{Arc, OnceLock};

use crate::adapters::aws::Clients;
use crate::common::account::AccountId;
use crate::common::seal::{SealError, SecretSealer};
use crate::common::secret::{SealedSecret, Secret};
use crate::domains::identity::{EmailIdentities, IdentityError};
use crate::domains::{DkimSelector, SendingDomain};
use crate::messaging::senders::email::{EmailSender, OutgoingEmail};
use crate::messaging::senders::{Accepted, Failure};
use async_trait::async_trait;

pub struct OnFirstUse<T> {
    clients: Arc<Clients>,
    make: Box<dyn Fn(&Clients) -> T + Send + Sync>,
    built: OnceLock<T>,
}

impl<T> OnFirstUse<T> {
    pub fn new(
        clients: Arc<Clients>,
        make: impl Fn(&Clients) -> T + Send + Sync + 'static,
    ) -> Self {
        Self {
            clients,
            make: Box::new(make),
            built: OnceLock::new(),
        }
    }

    pub fn get(&self) -> &T {
        self.built.get_or_init(|| (self.make)(&self.clients))
    }

    /// Whether the adapter was built yet.
    pub fn is_built(&self) -> bool {
        self.built.get().is_some()
    }
}

#[async_trait]
impl<T: SecretSealer> SecretSealer for OnFirstUse<T> {
    async fn seal(&self, account: &AccountId, secret: &Secret) -> Result<SealedSecret, SealError> {
        self.get().seal(account, secret).await
    }

    async fn open(&self, account: &AccountId, sealed: &SealedSecret) -> Result<Secret, SealError> {
        self.get().open(account, sealed).await
    }
}

#[async_trait]
impl<T: EmailIdentities> EmailIdentities for OnFirstUse<T> {
    async fn create(
        &self,
        domain: &SendingDomain,
        selector: &DkimSelector,
        private_key: &Secret,
    ) -> Result<(), IdentityError> {
        self.get().create(domain, selector, private_key).await
    }

    async fn configure_mail_from(&self, domain: &SendingDomain) -> Result<(), IdentityError> {
        self.get().configure_mail_from(domain).await
    }

    async fn delete(&self, domain: &SendingDomain) -> Result<(), IdentityError> {
        self.get().delete(domain).await
    }
}

#[async_trait]
impl<T: EmailSender> EmailSender for OnFirstUse<T> {
    async fn send(&self, email: &OutgoingEmail) -> Result<Accepted, Failure> {
        self.get().send(email).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn clients() -> Arc<Clients> {
        Arc::new(Clients::new(
            aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("eu-west-1"))
                .build(),
        ))
    }

    #[test]
    fn built_once_when_first_used() {
        let made = Arc::new(AtomicUsize::new(0));
        let counter = made.clone();
        let lazy = OnFirstUse::new(clients(), move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            "adapter"
        });
        assert_eq!(made.load(Ordering::SeqCst), 0, "nothing built up front");
        assert_eq!(*lazy.get(), "adapter");
        assert_eq!(*lazy.get(), "adapter");
        assert_eq!(made.load(Ordering::SeqCst), 1);
    }
}
