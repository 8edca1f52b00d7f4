//! Sending domains' email identities in SES v2: Bring Your Own DKIM with Herald's key, and the
//! custom MAIL FROM subdomain.

use async_trait::async_trait;
use aws_sdk_sesv2::types::{BehaviorOnMxFailure, DkimSigningAttributes};

use crate::common::secret::Secret;
use crate::domains::identity::{EmailIdentities, IdentityError};
use crate::domains::records::mail_from_domain;
use crate::domains::{DkimSelector, SendingDomain};

pub struct SesIdentities {
    client: aws_sdk_sesv2::Client,
}

impl SesIdentities {
    pub fn new(client: aws_sdk_sesv2::Client) -> Self {
        Self { client }
    }
}

fn refused<E: std::error::Error>(e: E) -> IdentityError {
    // The whole chain: SES's own message sits below the SDK's summary.
    IdentityError(aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string())
}

/// Whether SES took the request though its answer could not be read: Herald reads nothing
/// of these calls' output, so a 2xx status is all that matters. (Seen with emulators that
/// write timestamps in another format than the service's.)
fn accepted<E>(
    e: &aws_sdk_sesv2::error::SdkError<E, aws_sdk_sesv2::config::http::HttpResponse>,
) -> bool {
    e.raw_response().is_some_and(|r| r.status().is_success())
}

fn signing(selector: &DkimSelector, private_key: &Secret) -> DkimSigningAttributes {
    DkimSigningAttributes::builder()
        .domain_signing_selector(selector.as_str())
        .domain_signing_private_key(private_key.expose())
        .build()
}

#[async_trait]
impl EmailIdentities for SesIdentities {
    async fn create(
        &self,
        domain: &SendingDomain,
        selector: &DkimSelector,
        private_key: &Secret,
    ) -> Result<(), IdentityError> {
        let created = self
            .client
            .create_email_identity()
            .email_identity(domain.as_str())
            .dkim_signing_attributes(signing(selector, private_key))
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if accepted(&e) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_already_exists_exception()) =>
            {
                self.client
                    .put_email_identity_dkim_signing_attributes()
                    .email_identity(domain.as_str())
                    .signing_attributes_origin(
                        aws_sdk_sesv2::types::DkimSigningAttributesOrigin::External,
                    )
                    .signing_attributes(signing(selector, private_key))
                    .send()
                    .await
                    .map_err(|e| refused(aws_sdk_sesv2::Error::from(e)))?;
                Ok(())
            }
            Err(e) => Err(refused(aws_sdk_sesv2::Error::from(e))),
        }
    }

    async fn configure_mail_from(&self, domain: &SendingDomain) -> Result<(), IdentityError> {
        self.client
            .put_email_identity_mail_from_attributes()
            .email_identity(domain.as_str())
            .mail_from_domain(mail_from_domain(domain))
            // Until the MX record is published, SES falls back to its own MAIL FROM rather
            // than refusing to send.
            .behavior_on_mx_failure(BehaviorOnMxFailure::UseDefaultValue)
            .send()
            .await
            .map_err(|e| refused(aws_sdk_sesv2::Error::from(e)))?;
        Ok(())
    }

    async fn delete(&self, domain: &SendingDomain) -> Result<(), IdentityError> {
        match self
            .client
            .delete_email_identity()
            .email_identity(domain.as_str())
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(refused(aws_sdk_sesv2::Error::from(e))),
        }
    }
}
