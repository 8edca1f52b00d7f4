//! The SMS providers' credentials that must stay secret (Twilio's auth token, Vonage's API and
//! signature secrets), kept in one AWS Secrets Manager secret rather than in the functions'
//! environment, where anyone allowed to read a function's configuration would see them.
//!
//! The secret is a JSON object, `{"twilioAuthToken": ..., "vonageApiSecret": ...,
//! "vonageSignatureSecret": ...}`; a field left empty or out means the provider's credential
//! is not set. Functions name the secret in `HERALD_PROVIDER_SECRETS` and read it at first use,
//! once per warm instance: a function that never sends through Twilio or Vonage, or never
//! receives their receipts, never calls Secrets Manager. A changed secret reaches instances
//! started after the change.

use std::sync::Arc;

use serde::Deserialize;

use crate::common::secret::Secret;

/// The providers' secrets; each one set or not.
#[derive(Debug, Clone, Default)]
pub struct ProviderSecrets {
    pub twilio_auth_token: Option<Secret>,
    pub vonage_api_secret: Option<Secret>,
    pub vonage_signature_secret: Option<Secret>,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("Secrets Manager failed")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the provider secret is unreadable: {0}")]
    Malformed(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Stored {
    #[serde(default)]
    twilio_auth_token: String,
    #[serde(default)]
    vonage_api_secret: String,
    #[serde(default)]
    vonage_signature_secret: String,
}

impl ProviderSecrets {
    /// The secret's JSON; an unknown field is refused, so that a misspelt name is not taken for
    /// a credential left unset.
    pub fn parse(json: &str) -> Result<Self, SecretsError> {
        let stored: Stored =
            serde_json::from_str(json).map_err(|e| SecretsError::Malformed(e.to_string()))?;
        let field = |name: &str, value: &str| {
            if value.is_empty() {
                return Ok(None);
            }
            Secret::parse(value)
                .map(Some)
                .map_err(|e| SecretsError::Malformed(format!("{name} {e}")))
        };
        Ok(Self {
            twilio_auth_token: field("twilioAuthToken", &stored.twilio_auth_token)?,
            vonage_api_secret: field("vonageApiSecret", &stored.vonage_api_secret)?,
            vonage_signature_secret: field(
                "vonageSignatureSecret",
                &stored.vonage_signature_secret,
            )?,
        })
    }
}

/// Where the providers' secrets are read from (Secrets Manager, in `adapters`).
#[async_trait::async_trait]
pub trait ProviderSecretsSource: Send + Sync {
    async fn get(&self) -> Result<Arc<ProviderSecrets>, SecretsError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_missing_fields_are_unset() {
        let s = ProviderSecrets::parse(r#"{"twilioAuthToken": "tok", "vonageApiSecret": ""}"#)
            .expect("valid");
        assert_eq!(
            s.twilio_auth_token.as_ref().map(Secret::expose),
            Some("tok")
        );
        assert!(s.vonage_api_secret.is_none());
        assert!(s.vonage_signature_secret.is_none());
    }

    #[test]
    fn misspelt_fields_and_other_shapes_are_refused() {
        assert!(ProviderSecrets::parse(r#"{"twilioToken": "tok"}"#).is_err());
        assert!(ProviderSecrets::parse("tok").is_err());
        assert!(ProviderSecrets::parse(r#"{"twilioAuthToken": "a\u0000b"}"#).is_err());
    }
}
