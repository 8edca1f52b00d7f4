//! OAuth 2.0 access tokens for XOAUTH2, fetched from the account's token endpoint with the
//! client-credentials grant and cached per warm instance until shortly before they expire.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Failure;
use crate::email::{Credential, OAuthScope, TokenEndpoint};
use crate::secret::Secret;

/// A token is not reused in its last minute, so it cannot expire mid-session.
const MARGIN: Duration = Duration::from_secs(60);

type Key = (String, String, String);

pub struct TokenCache {
    http: reqwest::Client,
    tokens: Mutex<HashMap<Key, (Secret, Instant)>>,
}

impl TokenCache {
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            tokens: Mutex::new(HashMap::new()),
        }
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
            .map_err(|e| {
                let mut f = Failure::transport(&e);
                f.reason = format!("token endpoint: {}", f.reason);
                f
            })?;
        let (status, body) = super::super::sms_provider::response_json(resp).await?;
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
                // The error body (RFC 6749 §5.2) never holds the secret; keep it for the log.
                let error = body
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("no token");
                let description = body
                    .get("error_description")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                Err(Failure::from_status(
                    if (200..300).contains(&status) {
                        502
                    } else {
                        status
                    },
                    format!("token endpoint answered {status}: {error} {description}")
                        .trim()
                        .to_owned(),
                    Some(error.to_owned()),
                    json!({"status": status, "body": body}),
                ))
            }
        }
    }
}
