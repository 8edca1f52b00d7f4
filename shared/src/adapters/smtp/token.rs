//! OAuth 2.0 access tokens for XOAUTH2, fetched from the account's token endpoint with the
//! client-credentials grant and cached per warm instance until shortly before they expire.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::adapters::connect::read_bounded;
use crate::adapters::connect::{self, Lookup};
use crate::adapters::provider_http::transport_failure;
use crate::common::destination::excerpt::excerpt;
use crate::common::destination::{AddressPolicy, check_url};
use crate::common::secret::Secret;
use crate::messaging::email::{Credential, OAuthScope, TokenEndpoint};
use crate::messaging::senders::Failure;

/// The whole token request, connection included.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(10);

/// A token is not reused in its last minute, so it cannot expire mid-session.
const MARGIN: Duration = Duration::from_secs(60);

type Key = (String, String, String);

/// The token endpoint is the account's: requests go through the address policy (the URL
/// checked before each request, every resolved address at connect), and what is kept of an
/// error reply is its status and a short excerpt.
pub struct TokenCache {
    http: reqwest::Client,
    policy: AddressPolicy,
    tokens: Mutex<HashMap<Key, (Secret, Instant)>>,
}

fn endpoint_failure(e: &reqwest::Error) -> Failure {
    if let Some(blocked) = connect::blocked_in(e) {
        // The policy refuses where the name leads now: no retry will change that soon.
        return Failure::permanent(format!("token endpoint: {blocked}"), None, Value::Null);
    }
    let mut f = transport_failure(e);
    f.reason = format!("token endpoint: {}", f.reason);
    f
}

impl TokenCache {
    pub fn new(policy: AddressPolicy, lookup: Arc<Lookup>) -> reqwest::Result<Self> {
        let http = connect::http_client(
            policy.clone(),
            lookup,
            TOKEN_TIMEOUT,
            concat!("Herald/", env!("CARGO_PKG_VERSION")),
        )?;
        Ok(Self {
            http,
            policy,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    pub async fn token(
        &self,
        endpoint: &TokenEndpoint,
        client_id: &Credential,
        client_secret: &Secret,
        scopes: &[OAuthScope],
    ) -> Result<Secret, Failure> {
        let scope = scopes
            .iter()
            .map(OAuthScope::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        let key = (
            endpoint.as_str().to_owned(),
            client_id.as_str().to_owned(),
            scope.clone(),
        );
        let cached = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .filter(|(_, until)| *until > Instant::now() + MARGIN)
            .map(|(t, _)| t.clone());
        if let Some(token) = cached {
            return Ok(token);
        }
        // An address literal does not go through the resolver: the URL itself is checked.
        check_url(endpoint.url(), &self.policy)
            .map_err(|e| Failure::permanent(format!("token endpoint {e}"), None, Value::Null))?;
        let resp = self
            .http
            .post(endpoint.as_str())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", client_secret.expose()),
                ("scope", scope.as_str()),
            ])
            .send()
            .await
            .map_err(|e| endpoint_failure(&e))?;
        let status = resp.status().as_u16();
        let (bytes, _) = read_bounded(resp).await.map_err(|e| endpoint_failure(&e))?;
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let token = body.get("access_token").and_then(Value::as_str);
        match token {
            Some(token) if (200..300).contains(&status) => {
                let token = Secret::parse(token).map_err(|e| {
                    Failure::permanent(
                        format!("token endpoint: access_token {e}"),
                        None,
                        Value::Null,
                    )
                })?;
                let lifetime = body
                    .get("expires_in")
                    .and_then(Value::as_u64)
                    .unwrap_or(3600);
                self.tokens
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(
                        key,
                        (
                            token.clone(),
                            Instant::now() + Duration::from_secs(lifetime),
                        ),
                    );
                Ok(token)
            }
            _ => {
                // RFC 6749 §5.2's error and description, cut short: the endpoint is the
                // account's, and whatever answers there must not be readable through Herald.
                let field = |name: &str| body.get(name).and_then(Value::as_str).map(excerpt);
                let error = field("error");
                let description = field("error_description");
                let said = match (&error, &description) {
                    (Some(e), Some(d)) => format!("{e} {d}"),
                    (Some(e), None) => e.clone(),
                    (None, _) if (200..300).contains(&status) => "no access_token".to_owned(),
                    (None, _) => "no OAuth error in the reply".to_owned(),
                };
                Err(Failure::from_status(
                    if (200..300).contains(&status) {
                        502
                    } else {
                        status
                    },
                    format!("token endpoint answered {status}: {said}"),
                    error.clone(),
                    json!({"status": status, "error": error, "errorDescription": description}),
                ))
            }
        }
    }
}
