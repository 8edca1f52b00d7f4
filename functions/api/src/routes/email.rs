//! `/accounts/{accountId}/email-settings`: read, replace and reset an account's email settings.
//! Email goes through Herald's own sending, the account's SMTP server (`smtp`) or its own
//! provider (`customProvider`, see [`super::custom_provider`]), never both of the last two.
//! Secrets are write-only: they are sealed before they are stored, shown as a placeholder, and a
//! write that sends the placeholder back keeps the stored secret.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use herald::common::account::AccountId;
use herald::common::config::PlatformConfig;
use herald::common::destination::AddressPolicy;
use herald::common::json_fields::{ObjectReader, boolean, integer, kind, parsed, string};
use herald::common::secret::{Redacted, SecretInput};
use herald::common::validation::FieldErrors;
use herald::events::webhook::WebhookSecret;
use herald::messaging::email::{
    Credential, DisplayName, EmailAddress, EmailRoute, EmailSettings, LocalPart, OAuthScope,
    SmtpAuth, SmtpHost, SmtpPort, SmtpSettings, TokenEndpoint,
};
use herald::messaging::settings::{SettingsKind, Versioned};
use serde_json::Value;

use super::{Account, custom_provider, etag_header, precondition};
use crate::AppState;
use crate::body::JsonBody;
use crate::problem::ApiError;

/// At most this many OAuth scopes.
const MAX_SCOPES: usize = 20;

fn view(settings: Option<EmailSettings>, platform: &PlatformConfig) -> EmailSettings<Redacted> {
    settings.map_or_else(
        || EmailSettings {
            from_address_prefix: platform.default_from_address_prefix.clone(),
            sender_name: platform.default_email_sender_name.clone(),
            route: None,
        },
        |s| s.map_secret(|_| Redacted),
    )
}

fn port(value: Value) -> Result<SmtpPort, String> {
    SmtpPort::parse(integer(value)?).map_err(|e| e.to_string())
}

fn scopes(value: Value) -> Result<Vec<OAuthScope>, String> {
    let Value::Array(items) = value else {
        return Err(format!("must be an array of scopes, not {}", kind(&value)));
    };
    if items.is_empty() || items.len() > MAX_SCOPES {
        return Err(format!("must list 1 to {MAX_SCOPES} scopes"));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let s = string(item).map_err(|e| format!("item {i} {e}"))?;
            OAuthScope::parse(&s).map_err(|e| format!("item {i} {e}"))
        })
        .collect()
}

fn auth(mut r: ObjectReader<'_>, policy: &AddressPolicy) -> Option<SmtpAuth<SecretInput>> {
    let type_path = r.path("type");
    let ty = r.required("type", string)?;
    let auth = match ty.as_str() {
        "none" => Some(SmtpAuth::None),
        "basic" => {
            let username = r.required("username", parsed(Credential::parse));
            let password = r.required("password", parsed(SecretInput::parse));
            username
                .zip(password)
                .map(|(username, password)| SmtpAuth::Basic { username, password })
        }
        "xoauth2" => {
            let client_id = r.required("clientId", parsed(Credential::parse));
            let client_secret = r.required("clientSecret", parsed(SecretInput::parse));
            let scopes = r.required("scopes", scopes);
            let endpoint = r.required(
                "tokenEndpoint",
                parsed(|s: &str| TokenEndpoint::parse(s, policy)),
            );
            match (client_id, client_secret, scopes, endpoint) {
                (Some(client_id), Some(client_secret), Some(scopes), Some(token_endpoint)) => {
                    Some(SmtpAuth::Xoauth2 {
                        client_id,
                        client_secret,
                        scopes,
                        token_endpoint,
                    })
                }
                _ => None,
            }
        }
        other => {
            // The other fields depend on the type, so they cannot be judged: report the type
            // alone.
            r.errors().push(
                type_path,
                format!("'{other}' is not an auth type; use none, basic or xoauth2"),
            );
            return None;
        }
    };
    r.finish();
    auth
}

fn smtp(mut r: ObjectReader<'_>, policy: &AddressPolicy) -> Option<SmtpSettings<SecretInput>> {
    let host = r.required("host", parsed(|s: &str| SmtpHost::parse_for(s, policy)));
    let port = r.optional("port", port);
    let sender_address = r.required("senderAddress", parsed(EmailAddress::parse));
    let sender_locked = r.optional("senderLocked", boolean);
    let auth = r.nested("auth", |a| auth(a, policy));
    let disable_cert = r.optional("disableCertificateValidation", boolean);
    r.finish();
    Some(SmtpSettings {
        host: host?,
        port: port?.unwrap_or_default(),
        sender_address: sender_address?,
        sender_locked: sender_locked?.unwrap_or(false),
        auth: auth?.unwrap_or(SmtpAuth::None),
        disable_certificate_validation: disable_cert?.unwrap_or(false),
    })
}

/// Validates a `PUT` body, reporting every invalid field. Secrets stay as given (a new value
/// or the placeholder) until [`seal_secrets`].
pub fn parse(
    body: Value,
    platform: &PlatformConfig,
) -> Result<EmailSettings<SecretInput>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let policy = &platform.destinations;
    let settings = ObjectReader::new(body, "", &mut errors).and_then(|mut r| {
        let prefix = r.required("fromAddressPrefix", parsed(LocalPart::parse));
        let sender = r.required("senderName", parsed(DisplayName::parse));
        let smtp = r.nullable_nested("smtp", |s| smtp(s, policy));
        let custom = r.nullable_nested("customProvider", |c| custom_provider::read(c, policy));
        // Read-only: what GET shows is accepted back, and ignored.
        let _ = r.optional("defaultSender", |_| Ok::<(), String>(()));
        // Both given, valid or not: naming the clash beside their own errors.
        if !matches!(smtp, Some(None)) && !matches!(custom, Some(None)) {
            let path = r.path("customProvider");
            r.errors().push(
                path,
                "cannot be used together with smtp: email goes through your SMTP server or \
                 your own provider; set the other to null",
            );
        }
        r.finish();
        let route = match (smtp?, custom?) {
            (Some(_), Some(_)) => return None,
            (Some(smtp), None) => Some(EmailRoute::Smtp(smtp)),
            (None, Some(custom)) => Some(EmailRoute::Custom(custom)),
            (None, None) => None,
        };
        Some(EmailSettings {
            from_address_prefix: prefix?,
            sender_name: sender?,
            route,
        })
    });
    match settings {
        Some(s) if errors.is_empty() => Ok(s),
        _ => Err(errors),
    }
}

/// Seals the route's secret; with a custom provider, the secret Herald made for it, if it did,
/// to be shown once.
async fn seal_secrets(
    state: &AppState,
    account: &AccountId,
    input: EmailSettings<SecretInput>,
    current: Option<&EmailSettings>,
) -> Result<(EmailSettings, Option<WebhookSecret>), ApiError> {
    let EmailSettings {
        from_address_prefix,
        sender_name,
        route,
    } = input;
    let (route, made) = match route {
        None => (None, None),
        Some(EmailRoute::Smtp(smtp)) => {
            let stored = current.and_then(EmailSettings::smtp);
            let smtp = seal_smtp(state, account, smtp, stored).await?;
            (Some(EmailRoute::Smtp(smtp)), None)
        }
        Some(EmailRoute::Custom(custom)) => {
            let stored = current.and_then(EmailSettings::custom_provider);
            let (custom, made) = custom_provider::seal(state, account, &custom, stored).await?;
            (Some(EmailRoute::Custom(custom)), made)
        }
    };
    let settings = EmailSettings {
        from_address_prefix,
        sender_name,
        route,
    };
    Ok((settings, made))
}

/// Seals a new SMTP secret, or keeps the stored one when the placeholder was sent back.
async fn seal_smtp(
    state: &AppState,
    account: &AccountId,
    smtp: SmtpSettings<SecretInput>,
    current: Option<&SmtpSettings>,
) -> Result<SmtpSettings, ApiError> {
    let sealed = match smtp.auth.secret() {
        None => None,
        Some(SecretInput::New(secret)) => Some(state.sealer.seal(account, secret).await?),
        Some(SecretInput::Keep) => {
            // Only a secret of the same kind of auth is kept: a basic password never becomes
            // an OAuth client secret.
            let stored = current
                .map(|s| &s.auth)
                .filter(|a| a.type_name() == smtp.auth.type_name())
                .and_then(SmtpAuth::secret)
                .cloned();
            if stored.is_none() {
                let (field, what) = match smtp.auth {
                    SmtpAuth::Xoauth2 { .. } => ("smtp.auth.clientSecret", "client secret"),
                    _ => ("smtp.auth.password", "password"),
                };
                let mut errors = FieldErrors::new();
                errors.push(
                    field,
                    format!(
                        "is the placeholder that keeps the stored {what}, but no {what} is \
                         stored for this auth type; send the {what} itself"
                    ),
                );
                return Err(ApiError::Validation(errors));
            }
            stored
        }
    };
    let smtp = smtp.map_secret(|_| ());
    let auth = smtp
        .auth
        .with_secret(sealed)
        .ok_or_else(|| ApiError::Internal("auth secret missing after sealing".into()))?;
    Ok(SmtpSettings {
        host: smtp.host,
        port: smtp.port,
        sender_address: smtp.sender_address,
        sender_locked: smtp.sender_locked,
        auth,
        disable_certificate_validation: smtp.disable_certificate_validation,
    })
}

/// The settings as shown, with `defaultSender`: who a message without its own `from` comes
/// from, the account's SMTP sender, its domain in use or the platform's domain; and the secret
/// Herald `made` for its own provider, this once.
async fn shown(
    state: &AppState,
    account: &AccountId,
    settings: Option<EmailSettings>,
    made: Option<&WebhookSecret>,
) -> Result<Value, ApiError> {
    let view = view(settings, &state.config.platform);
    let address = match view.smtp() {
        Some(smtp) => smtp.sender_address.clone(),
        None => match state.domains.in_use(account).await? {
            Some(in_use) => {
                EmailAddress::new(in_use.prefix, in_use.domain.as_domain_name().clone())
            }
            None => EmailAddress::new(
                view.from_address_prefix.clone(),
                state.config.platform.default_email_domain.clone(),
            ),
        },
    };
    let sender = format!("{} <{address}>", view.sender_name.as_str());
    let mut shown = serde_json::to_value(&view).map_err(ApiError::internal)?;
    shown["defaultSender"] = Value::String(sender);
    custom_provider::reveal(&mut shown, made);
    Ok(shown)
}

pub async fn get(
    State(state): State<AppState>,
    Account(account): Account,
) -> Result<impl IntoResponse, ApiError> {
    let current = state.settings.email(&account).await?;
    Ok((
        etag_header(&current.etag),
        Json(shown(&state, &account, current.settings, None).await?),
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
    let Versioned { settings, etag } = state.settings.email(&account).await?;
    // Checked here as well as by the store's conditional write, so a stale request costs no
    // sealing; the conditional write still guards against a race after this point.
    if !precondition.allows(&etag) {
        return Err(ApiError::PreconditionFailed);
    }
    let (settings, made) = seal_secrets(&state, &account, input, settings.as_ref()).await?;
    let etag = state
        .settings
        .save_email(&account, &settings, &precondition)
        .await?;
    tracing::info!(account = %account, "email settings saved");
    Ok((
        etag_header(&etag),
        Json(shown(&state, &account, Some(settings), made.as_ref()).await?),
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    Account(account): Account,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let precondition = precondition(&headers)?;
    let etag = state
        .settings
        .reset(&account, SettingsKind::Email, &precondition)
        .await?;
    tracing::info!(account = %account, "email settings reset to defaults");
    Ok((
        etag_header(&etag),
        Json(shown(&state, &account, None, None).await?),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald::messaging::email::DomainName;
    use herald::messaging::sms::{SenderName, SmsProvider};
    use serde_json::json;

    /// The strict policy, or the local one: http and loopback allowed.
    fn platform(local: bool) -> PlatformConfig {
        PlatformConfig {
            sms_providers: vec![SmsProvider::Sns],
            default_sms_sender: SenderName::parse("Herald").expect("valid"),
            default_email_sender_name: DisplayName::parse("Herald").expect("valid"),
            default_from_address_prefix: LocalPart::parse("noreply").expect("valid"),
            default_email_domain: DomainName::parse("mail.example.com").expect("valid"),
            destinations: if local {
                AddressPolicy {
                    allow_http: true,
                    allowed: vec!["127.0.0.0/8".parse().expect("net")],
                    ..AddressPolicy::default()
                }
            } else {
                AddressPolicy::default()
            },
        }
    }

    fn fields(body: Value) -> Vec<String> {
        match parse(body, &platform(false)) {
            Ok(s) => panic!("accepted: {s:?}"),
            Err(e) => e.iter().map(|e| e.field.clone()).collect(),
        }
    }

    fn smtp_with(auth: Value) -> Value {
        json!({
            "fromAddressPrefix": "hello",
            "senderName": "Acme",
            "smtp": {"host": "smtp.acme.example", "senderAddress": "hello@acme.example", "auth": auth}
        })
    }

    #[test]
    fn minimal_smtp_takes_defaults() {
        let s = parse(
            json!({"fromAddressPrefix": "hello", "senderName": "Acme",
                   "smtp": {"host": "smtp.acme.example", "senderAddress": "hello@acme.example"}}),
            &platform(false),
        )
        .expect("valid");
        let smtp = s.smtp().expect("smtp");
        assert_eq!(smtp.port, SmtpPort::P25);
        assert_eq!(smtp.auth, SmtpAuth::None);
        assert!(!smtp.sender_locked);
        assert!(!smtp.disable_certificate_validation);
    }

    #[test]
    fn no_smtp_is_fine() {
        let s = parse(
            json!({"fromAddressPrefix": "hello", "senderName": "Acme", "smtp": null}),
            &platform(false),
        )
        .expect("valid");
        assert_eq!(s.route, None);
    }

    #[test]
    fn host_and_sender_address_are_required() {
        assert_eq!(
            fields(json!({"fromAddressPrefix": "a", "senderName": "A", "smtp": {}})),
            ["smtp.host", "smtp.senderAddress"]
        );
    }

    #[test]
    fn only_ports_25_587_465() {
        for (port, ok) in [
            (25, true),
            (587, true),
            (465, true),
            (2525, false),
            (0, false),
        ] {
            let body = json!({"fromAddressPrefix": "a", "senderName": "A",
                "smtp": {"host": "h.example", "senderAddress": "a@h.example", "port": port}});
            assert_eq!(parse(body, &platform(false)).is_ok(), ok, "{port}");
        }
        let text_port = json!({"fromAddressPrefix": "a", "senderName": "A",
            "smtp": {"host": "h.example", "senderAddress": "a@h.example", "port": "587"}});
        assert_eq!(fields(text_port), ["smtp.port"]);
    }

    #[test]
    fn each_auth_variant() {
        assert!(parse(smtp_with(json!({"type": "none"})), &platform(false)).is_ok());
        let basic = parse(
            smtp_with(json!({"type": "basic", "username": "u", "password": "p"})),
            &platform(false),
        )
        .expect("valid basic");
        assert!(matches!(
            &basic.smtp().expect("smtp").auth,
            SmtpAuth::Basic {
                password: SecretInput::New(_),
                ..
            }
        ));
        let xoauth2 = json!({"type": "xoauth2", "clientId": "c", "clientSecret": "s",
            "scopes": ["https://outlook.office.com/SMTP.Send"],
            "tokenEndpoint": "https://login.example.com/token"});
        assert!(parse(smtp_with(xoauth2), &platform(false)).is_ok());

        assert_eq!(
            fields(smtp_with(json!({"type": "basic"}))),
            ["smtp.auth.username", "smtp.auth.password"]
        );
        assert_eq!(
            fields(smtp_with(json!({"type": "xoauth2", "scopes": []}))),
            [
                "smtp.auth.clientId",
                "smtp.auth.clientSecret",
                "smtp.auth.scopes",
                "smtp.auth.tokenEndpoint"
            ]
        );
        // Fields of another auth type are unknown here.
        assert_eq!(
            fields(smtp_with(json!({"type": "none", "password": "p"}))),
            ["smtp.auth.password"]
        );
        assert_eq!(
            fields(smtp_with(json!({"type": "kerberos", "password": "p"}))),
            ["smtp.auth.type"]
        );
        assert_eq!(fields(smtp_with(json!({}))), ["smtp.auth.type"]);
    }

    #[test]
    fn http_token_endpoints_only_where_the_operator_allows() {
        let auth = json!({"type": "xoauth2", "clientId": "c", "clientSecret": "s",
            "scopes": ["x"], "tokenEndpoint": "http://127.0.0.1:8080/token"});
        assert_eq!(fields(smtp_with(auth.clone())), ["smtp.auth.tokenEndpoint"]);
        assert!(parse(smtp_with(auth), &platform(true)).is_ok());
    }

    #[test]
    fn token_endpoints_and_hosts_inside_herald_are_refused_with_the_reason() {
        for endpoint in [
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.5/token",
            "https://[::1]/token",
            "https://localhost/token",
        ] {
            let auth = json!({"type": "xoauth2", "clientId": "c", "clientSecret": "s",
                "scopes": ["x"], "tokenEndpoint": endpoint});
            assert_eq!(
                fields(smtp_with(auth)),
                ["smtp.auth.tokenEndpoint"],
                "{endpoint}"
            );
        }
        for host in [
            "169.254.169.254",
            "10.0.0.5",
            "::1",
            "localhost",
            "::ffff:10.0.0.1",
        ] {
            let body = json!({"fromAddressPrefix": "a", "senderName": "A",
                "smtp": {"host": host, "senderAddress": "a@acme.example"}});
            let err = parse(body, &platform(false)).expect_err("refused");
            let field = err.iter().next().expect("one error");
            assert_eq!(field.field, "smtp.host", "{host}");
            assert!(
                field.message.contains("must not point at"),
                "{host}: {}",
                field.message
            );
        }
    }

    #[test]
    fn header_injection_is_refused_everywhere() {
        let injected = "Acme\r\nBcc: victim@example.com";
        assert_eq!(
            fields(
                json!({"fromAddressPrefix": injected, "senderName": injected,
                "smtp": {"host": injected, "senderAddress": injected,
                         "auth": {"type": "basic", "username": injected, "password": injected}}})
            ),
            [
                "fromAddressPrefix",
                "senderName",
                "smtp.host",
                "smtp.senderAddress",
                "smtp.auth.username",
                "smtp.auth.password"
            ]
        );
    }
}
