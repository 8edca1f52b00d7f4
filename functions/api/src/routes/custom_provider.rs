//! `customProvider` in SMS and email settings: `{url, signingSecret}`, where an account's own
//! provider takes messages and the secret Herald signs them with. The URL passes the address
//! policy. The secret is write-only: given (`whsec_...`), kept (`"********"` or left out), or
//! made by Herald when none is stored, and then shown once, in the answer to that write.

use herald::common::account::AccountId;
use herald::common::destination::AddressPolicy;
use herald::common::json_fields::{ObjectReader, parsed, string};
use herald::common::secret::{PLACEHOLDER, Secret, SecretInput};
use herald::events::webhook::WebhookSecret;
use herald::messaging::custom::{CustomEndpoint, CustomProvider};
use serde_json::{Value, json};

use crate::AppState;
use crate::problem::ApiError;

/// Reads a `customProvider` object; `None` (with the errors recorded) when a field is bad.
pub fn read(
    mut r: ObjectReader<'_>,
    policy: &AddressPolicy,
) -> Option<CustomProvider<SecretInput>> {
    let url = r.required("url", parsed(|s: &str| CustomEndpoint::parse(s, policy)));
    let secret = r.optional("signingSecret", |value| {
        let s = string(value)?;
        if s == PLACEHOLDER {
            return Ok(SecretInput::Keep);
        }
        let given = WebhookSecret::parse(&s).map_err(|e| {
            format!(
                "must be a Standard Webhooks secret, whsec_ and the base64 of 24 to 64 random \
                 bytes ({e}); leave it out and Herald makes one"
            )
        })?;
        Secret::parse(given.expose())
            .map(SecretInput::New)
            .map_err(|e| e.to_string())
    });
    r.finish();
    Some(CustomProvider {
        url: url?,
        signing_secret: secret?.unwrap_or(SecretInput::Keep),
    })
}

/// Seals the provider's secret: the one given, the one `stored` (kept), or, when none is
/// stored, one Herald makes, returned to be shown this once.
pub async fn seal(
    state: &AppState,
    account: &AccountId,
    input: &CustomProvider<SecretInput>,
    stored: Option<&CustomProvider>,
) -> Result<(CustomProvider, Option<WebhookSecret>), ApiError> {
    let (sealed, made) = match (&input.signing_secret, stored) {
        (SecretInput::New(secret), _) => (state.sealer.seal(account, secret).await?, None),
        (SecretInput::Keep, Some(stored)) => (stored.signing_secret.clone(), None),
        (SecretInput::Keep, None) => {
            let (made, sealed) = super::signing::new_secret(state, account).await?;
            (sealed, Some(made))
        }
    };
    let provider = CustomProvider {
        url: input.url.clone(),
        signing_secret: sealed,
    };
    Ok((provider, made))
}

/// Shows the secret Herald made for this write in place of its placeholder: the one time it
/// is shown.
pub fn reveal(shown: &mut Value, made: Option<&WebhookSecret>) {
    let provider = shown
        .get_mut("customProvider")
        .and_then(Value::as_object_mut);
    if let (Some(provider), Some(made)) = (provider, made) {
        provider.insert("signingSecret".into(), json!(made.expose()));
    }
}
