//! `/accounts/{accountId}/sms-settings`: read, replace and reset an account's SMS settings.
//! Either provider may be `custom`, the account's own (see [`super::custom_provider`]).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use herald::common::config::PlatformConfig;
use herald::common::json_fields::{ObjectReader, parsed, string};
use herald::common::secret::{Redacted, SecretInput};
use herald::common::validation::FieldErrors;
use herald::messaging::custom::CustomProvider;
use herald::messaging::settings::SettingsKind;
use herald::messaging::sms::{SenderName, SmsProvider, SmsSettings};
use serde::Serialize;
use serde_json::Value;

use super::{Account, custom_provider, etag_header, precondition};
use crate::AppState;
use crate::body::JsonBody;
use crate::problem::ApiError;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsSettingsView {
    sender_name: String,
    primary_provider: SmsProvider,
    secondary_provider: Option<SmsProvider>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_provider: Option<CustomProvider<Redacted>>,
}

fn view(settings: Option<SmsSettings>, platform: &PlatformConfig) -> SmsSettingsView {
    match settings {
        Some(s) => SmsSettingsView {
            sender_name: s.sender_name().as_str().to_owned(),
            primary_provider: s.primary_provider(),
            secondary_provider: s.secondary_provider(),
            custom_provider: s.custom_provider().map(|c| CustomProvider {
                url: c.url.clone(),
                signing_secret: Redacted,
            }),
        },
        None => SmsSettingsView {
            sender_name: platform.default_sms_sender.as_str().to_owned(),
            primary_provider: platform
                .sms_providers
                .first()
                .copied()
                .unwrap_or(SmsProvider::Sns),
            secondary_provider: None,
            custom_provider: None,
        },
    }
}

/// A provider id that the operator offers, or `custom`, every account's own.
fn offered(platform: &PlatformConfig) -> impl Fn(Value) -> Result<SmsProvider, String> + '_ {
    move |value| {
        let id = string(value)?;
        let provider = SmsProvider::parse(&id).ok();
        match provider.filter(|p| *p == SmsProvider::Custom || platform.sms_providers.contains(p)) {
            Some(p) => Ok(p),
            None => Err(format!(
                "'{id}' is not an available provider; choose custom (your own provider, with \
                 customProvider) or one of {} (GET /sms-providers)",
                platform
                    .sms_providers
                    .iter()
                    .map(|p| p.id())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// Validates a `PUT` body into settings, reporting every invalid field. The custom provider's
/// secret stays as given until it is sealed.
pub fn parse(
    body: Value,
    platform: &PlatformConfig,
) -> Result<SmsSettings<SecretInput>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let policy = &platform.destinations;
    let fields = ObjectReader::new(body, "", &mut errors).and_then(|mut r| {
        let sender = r.required("senderName", parsed(SenderName::parse));
        let primary = r.required("primaryProvider", offered(platform));
        let secondary = r.nullable("secondaryProvider", offered(platform));
        let custom = r.nullable_nested("customProvider", |c| custom_provider::read(c, policy));
        r.finish();
        Some((sender?, primary?, secondary?, custom?))
    });
    match fields {
        Some((sender, primary, secondary, custom)) if errors.is_empty() => {
            SmsSettings::with_custom_provider(sender, primary, secondary, custom)
        }
        _ => Err(errors),
    }
}

pub async fn get(
    State(state): State<AppState>,
    Account(account): Account,
) -> Result<impl IntoResponse, ApiError> {
    let current = state.settings.sms(&account).await?;
    Ok((
        etag_header(&current.etag),
        Json(view(current.settings, &state.config.platform)),
    ))
}

pub async fn put(
    State(state): State<AppState>,
    Account(account): Account,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let precondition = precondition(&headers)?;
    let input = parse(body, &state.config.platform).map_err(ApiError::Validation)?;
    let (custom, made) = match input.custom_provider() {
        None => (None, None),
        Some(given) => {
            // Its secret may be the stored one, kept.
            let current = state.settings.sms(&account).await?;
            // Checked here as well as by the store's conditional write, so a stale request
            // costs no sealing.
            if !precondition.allows(&current.etag) {
                return Err(ApiError::PreconditionFailed);
            }
            let stored = current
                .settings
                .as_ref()
                .and_then(SmsSettings::custom_provider);
            let (sealed, made) = custom_provider::seal(&state, &account, given, stored).await?;
            (Some(sealed), made)
        }
    };
    let settings = SmsSettings::with_custom_provider(
        input.sender_name().clone(),
        input.primary_provider(),
        input.secondary_provider(),
        custom,
    )
    .map_err(ApiError::Validation)?;
    let etag = state
        .settings
        .save_sms(&account, &settings, &precondition)
        .await?;
    tracing::info!(account = %account, "sms settings saved");
    let mut shown = serde_json::to_value(view(Some(settings), &state.config.platform))
        .map_err(ApiError::internal)?;
    custom_provider::reveal(&mut shown, made.as_ref());
    Ok((etag_header(&etag), Json(shown)))
}

pub async fn delete(
    State(state): State<AppState>,
    Account(account): Account,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let precondition = precondition(&headers)?;
    let etag = state
        .settings
        .reset(&account, SettingsKind::Sms, &precondition)
        .await?;
    tracing::info!(account = %account, "sms settings reset to defaults");
    Ok((etag_header(&etag), Json(view(None, &state.config.platform))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald::messaging::email::{DisplayName, DomainName, LocalPart};
    use serde_json::json;

    fn platform(providers: &[SmsProvider]) -> PlatformConfig {
        PlatformConfig {
            sms_providers: providers.to_vec(),
            default_sms_sender: SenderName::parse("Herald").expect("valid"),
            default_email_sender_name: DisplayName::parse("Herald").expect("valid"),
            default_from_address_prefix: LocalPart::parse("noreply").expect("valid"),
            default_email_domain: DomainName::parse("mail.example.com").expect("valid"),
            destinations: Default::default(),
        }
    }

    #[test]
    fn only_offered_providers() {
        let p = platform(&[SmsProvider::Twilio, SmsProvider::Vonage]);
        assert!(
            parse(
                json!({"senderName": "Acme", "primaryProvider": "twilio"}),
                &p
            )
            .is_ok()
        );
        let err = parse(json!({"senderName": "Acme", "primaryProvider": "sns"}), &p)
            .expect_err("sns not offered");
        assert!(err.to_string().contains("twilio, vonage"), "{err}");
    }

    #[test]
    fn secondary_defaults_to_none() {
        let p = platform(&SmsProvider::ALL);
        let s = parse(
            json!({"senderName": "Acme", "primaryProvider": "vonage"}),
            &p,
        )
        .expect("valid");
        assert_eq!(s.secondary_provider(), None);
    }

    #[test]
    fn required_fields() {
        let err = parse(json!({}), &platform(&SmsProvider::ALL)).expect_err("empty");
        let fields: Vec<_> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["senderName", "primaryProvider"]);
    }
}
