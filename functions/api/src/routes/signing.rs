//! Signing secrets Herald makes (`whsec_`, the Standard Webhooks form): shown once, to the
//! write that made them, and sealed before they are stored. Webhook subscriptions and
//! accounts' own providers are signed with them.

use herald::common::account::AccountId;
use herald::common::secret::{SealedSecret, Secret};
use herald::events::webhook::WebhookSecret;

use crate::AppState;
use crate::problem::ApiError;

/// A new secret, and its sealed form for storage.
pub async fn new_secret(
    state: &AppState,
    account: &AccountId,
) -> Result<(WebhookSecret, SealedSecret), ApiError> {
    let secret = WebhookSecret::generate();
    let plain = Secret::parse(secret.expose()).map_err(ApiError::internal)?;
    let sealed = state.sealer.seal(account, &plain).await?;
    Ok((secret, sealed))
}
