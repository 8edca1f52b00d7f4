//! Development bearer tokens, signed with the development key the api function verifies locally.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};

use crate::Result;

/// The development signing key unless `HERALD_DEV_JWT_SECRET` sets another. It signs tokens for
/// the local stack only: deployments never set it, and their authorizer verifies tokens.
pub const DEFAULT_DEV_SECRET: &str = "herald-local-development-signing-key";

pub fn dev_secret() -> String {
    std::env::var("HERALD_DEV_JWT_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_DEV_SECRET.to_owned())
}

pub fn mint(
    secret: &str,
    issuer: &str,
    audience: &str,
    accounts: &str,
    internal: bool,
    valid_for: Duration,
) -> Result<String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut claims = serde_json::json!({
        "sub": "developer",
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + valid_for.as_secs(),
        "herald:accounts": accounts,
    });
    if internal {
        claims["scope"] = "herald:internal".into();
    }
    Ok(jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )?)
}
