//! The providers' secrets (see [`crate::messaging::provider_secrets`]) read from one AWS
//! Secrets Manager secret.

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::adapters::aws::Clients;
use crate::messaging::provider_secrets::{ProviderSecrets, ProviderSecretsSource, SecretsError};

/// The providers' secrets in Secrets Manager, read once on first use; a failed read is not
/// kept, so the next use tries again.
pub struct SecretsManagerSource {
    clients: Arc<Clients>,
    secret_id: String,
    read: OnceCell<Arc<ProviderSecrets>>,
}

impl SecretsManagerSource {
    /// The secret named `secret_id` (its ARN or name).
    pub fn new(clients: Arc<Clients>, secret_id: impl Into<String>) -> Self {
        Self {
            clients,
            secret_id: secret_id.into(),
            read: OnceCell::new(),
        }
    }
}

#[async_trait::async_trait]
impl ProviderSecretsSource for SecretsManagerSource {
    async fn get(&self) -> Result<Arc<ProviderSecrets>, SecretsError> {
        self.read
            .get_or_try_init(|| async {
                let out = self
                    .clients
                    .secrets_manager()
                    .get_secret_value()
                    .secret_id(&self.secret_id)
                    .send()
                    .await
                    .map_err(|e| {
                        SecretsError::Unavailable(Box::new(aws_sdk_secretsmanager::Error::from(e)))
                    })?;
                let text = out
                    .secret_string()
                    .ok_or_else(|| SecretsError::Malformed("the secret holds no string".into()))?;
                Ok(Arc::new(ProviderSecrets::parse(text)?))
            })
            .await
            .cloned()
    }
}
