//! The local token issuer: an RSA key, its public half published as an OpenID Connect discovery
//! document and a JWKS (as an identity provider publishes them for API Gateway's JWT
//! authorizer), and RS256 development tokens signed with it.
//!
//! The key is kept in `.herald/dev-issuer-key.der`, so that a token printed by one
//! `cargo xtask dev` still works after a restart. It signs for the local stack only.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::routing::get;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use serde_json::{Value, json};

use crate::Result;

/// Where the issuer lives under the local services' address.
pub const PATH: &str = "/issuer";

#[derive(Clone)]
pub struct Issuer {
    /// The `iss` of its tokens: `{services}/issuer`.
    pub url: String,
    pub kid: String,
    key: EncodingKey,
    /// The private key (PKCS#1 DER), for tests that sign their own tokens.
    pub key_file: std::path::PathBuf,
    jwks: JwkSet,
}

impl Issuer {
    /// The issuer at `services_url`, with the key in `key_file` (made when missing).
    pub fn load(services_url: &str, key_file: &Path) -> Result<Self> {
        let der = match std::fs::read(key_file) {
            Ok(der) if rsa::RsaPrivateKey::from_pkcs1_der(&der).is_ok() => der,
            _ => {
                let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)?;
                let der = key.to_pkcs1_der()?.as_bytes().to_vec();
                if let Some(dir) = key_file.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(key_file, &der)?;
                der
            }
        };
        let key = EncodingKey::from_rsa_der(&der);
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256)?;
        // A key id derived from the key: a new key gets a new id, as at a real issuer's rotation.
        let kid = {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(&der);
            digest[..8].iter().map(|b| format!("{b:02x}")).collect()
        };
        jwk.common.key_id = Some(kid);
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
        Ok(Self {
            url: format!("{}{PATH}", services_url.trim_end_matches('/')),
            kid: jwk.common.key_id.clone().unwrap_or_default(),
            key,
            key_file: key_file.to_owned(),
            jwks: JwkSet { keys: vec![jwk] },
        })
    }

    /// A token for `accounts` (space-separated, `*` for all), valid for `valid_for`.
    pub fn mint(
        &self,
        audience: &str,
        accounts: &str,
        internal: bool,
        valid_for: Duration,
    ) -> Result<String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let mut claims = json!({
            "sub": "developer",
            "iss": self.url,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + valid_for.as_secs(),
            "herald:accounts": accounts,
        });
        if internal {
            claims["scope"] = "herald:internal".into();
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.key)?)
    }

    /// The discovery document and the key set, at `/issuer/.well-known/...`.
    pub fn router(&self) -> Router {
        let discovery = json!({
            "issuer": self.url,
            "jwks_uri": format!("{}/.well-known/jwks.json", self.url),
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
        });
        let jwks: Value = serde_json::to_value(&self.jwks).unwrap_or(Value::Null);
        Router::new()
            .route(
                &format!("{PATH}/.well-known/openid-configuration"),
                get(move || async move { Json(discovery) }),
            )
            .route(
                &format!("{PATH}/.well-known/jwks.json"),
                get(move || async move { Json(jwks) }),
            )
    }
}
