//! Adapters built on first use. Most API requests never seal a secret or touch SES, and most
//! sends need only one of SES, SNS and KMS: a function's cold start does not build the SDK
//! clients it may not need (each brings its own HTTPS connector); the first request that
//! needs one builds it, once per warm instance.

use std::sync::{Arc, OnceLock};

use super::Clients;
use crate::account::AccountId;
use crate::email_sender::{Accepted, EmailSender, Failure, OutgoingEmail};
use crate::seal::{SealError, SecretSealer};
use crate::secret::{SealedSecret, Secret};
use crate::sending_domain::identity::{EmailIdentities, IdentityError};
use crate::sending_domain::{DkimSelector, SendingDomain};
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

    fn get(&self) -> &T {
        self.built.get_or_init(|| (self.make)(&self.clients))
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
