//! Who is calling. In AWS, API Gateway's JWT authorizer verifies the bearer token and hands its
//! claims over in the request context; locally (no authorizer) the function verifies the token
//! itself with the development key, and without that key refuses it.
//!
//! Claims Herald reads:
//! - `sub`: the caller, for logs;
//! - `herald:accounts`: the accounts the caller administers, space-separated (or a JSON array
//!   in a self-verified token); `*` grants every account;
//! - `scope`: space-separated; `herald:internal` marks an internal service, which may send
//!   messages and publish events.

use std::collections::{HashMap, HashSet};

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use herald::account::AccountId;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lambda_http::request::RequestContext;
use serde::Deserialize;

use crate::AppState;
use crate::config::AuthConfig;
use crate::problem::ApiError;

pub const ACCOUNTS_CLAIM: &str = "herald:accounts";
pub const INTERNAL_SCOPE: &str = "herald:internal";

/// The authenticated caller, available to handlers as an extension.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: String,
    accounts: Grant,
    pub internal: bool,
}

#[derive(Debug, Clone)]
enum Grant {
    All,
    Some(HashSet<String>),
}

impl Caller {
    /// The account named in a path, if this caller may see it. An account the caller may not
    /// see is answered exactly like one that does not exist.
    pub fn account(&self, raw: &str) -> Result<AccountId, ApiError> {
        let id = AccountId::parse(raw).map_err(|_| ApiError::NotFound)?;
        let allowed = match &self.accounts {
            Grant::All => true,
            Grant::Some(set) => set.contains(id.as_str()),
        };
        if allowed {
            Ok(id)
        } else {
            Err(ApiError::NotFound)
        }
    }

    fn from_parts(subject: Option<String>, accounts: Vec<String>, scopes: &[String]) -> Self {
        let accounts = if accounts.iter().any(|a| a == "*") {
            Grant::All
        } else {
            Grant::Some(accounts.into_iter().collect())
        };
        Self {
            subject: subject.unwrap_or_else(|| "unknown".to_owned()),
            accounts,
            internal: scopes.iter().any(|s| s == INTERNAL_SCOPE),
        }
    }
}

/// Splits a list claim: `a b`, or API Gateway's flattening of an array, `[a b]`.
fn split_list(s: &str) -> Vec<String> {
    let inner = s
        .trim()
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s);
    inner
        .split([' ', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Claims verified by API Gateway's authorizer arrive as strings.
fn from_authorizer(claims: &HashMap<String, String>, scopes: Option<&Vec<String>>) -> Caller {
    let accounts = claims
        .get(ACCOUNTS_CLAIM)
        .map(|s| split_list(s))
        .unwrap_or_default();
    let mut all_scopes: Vec<String> = scopes.cloned().unwrap_or_default();
    if let Some(s) = claims.get("scope") {
        all_scopes.extend(split_list(s));
    }
    Caller::from_parts(claims.get("sub").cloned(), accounts, &all_scopes)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListClaim {
    One(String),
    Many(Vec<String>),
}

impl ListClaim {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(s) => split_list(&s),
            Self::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
struct TokenClaims {
    sub: Option<String>,
    #[serde(rename = "herald:accounts")]
    accounts: Option<ListClaim>,
    scope: Option<String>,
}

fn verify_token(config: &AuthConfig, token: &str) -> Result<Caller, ApiError> {
    let Some(secret) = &config.dev_jwt_secret else {
        return Err(ApiError::Unauthorized(
            "the token was not verified by the API's authorizer",
        ));
    };
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[&config.issuer]);
    validation.set_audience(&[&config.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let data = jsonwebtoken::decode::<TokenClaims>(
        token,
        &DecodingKey::from_secret(secret.expose().as_bytes()),
        &validation,
    )
    .map_err(|e| {
        tracing::info!(error = %e, "bearer token refused");
        ApiError::Unauthorized("the bearer token is invalid or expired")
    })?;
    let claims = data.claims;
    let scopes = claims.scope.as_deref().map(split_list).unwrap_or_default();
    Ok(Caller::from_parts(
        claims.sub,
        claims.accounts.map(ListClaim::into_vec).unwrap_or_default(),
        &scopes,
    ))
}

fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Middleware: resolves the caller or answers 401.
pub async fn authenticate(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let verified = match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .filter(|jwt| !jwt.claims.is_empty())
            .map(|jwt| from_authorizer(&jwt.claims, jwt.scopes.as_ref())),
        _ => None,
    };
    let caller = match verified {
        Some(caller) => caller,
        None => {
            let token =
                bearer(&req).ok_or(ApiError::Unauthorized("send Authorization: Bearer <token>"))?;
            verify_token(&state.config.auth, token)?
        }
    };
    tracing::debug!(caller = %caller.subject, internal = caller.internal, "authenticated");
    req.extensions_mut().insert(caller);
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_claims() {
        assert_eq!(split_list("a b"), ["a", "b"]);
        assert_eq!(split_list("[a b]"), ["a", "b"]);
        assert_eq!(split_list("  "), Vec::<String>::new());
    }

    #[test]
    fn authorizer_claims_grant_accounts() {
        let claims = HashMap::from([
            ("sub".to_owned(), "svc".to_owned()),
            (ACCOUNTS_CLAIM.to_owned(), "[acme globex]".to_owned()),
        ]);
        let caller = from_authorizer(&claims, Some(&vec![INTERNAL_SCOPE.to_owned()]));
        assert!(caller.internal);
        assert!(caller.account("acme").is_ok());
        assert!(caller.account("globex").is_ok());
        assert!(matches!(caller.account("initech"), Err(ApiError::NotFound)));
        assert!(matches!(caller.account("../x"), Err(ApiError::NotFound)));

        let everyone = Caller::from_parts(None, vec!["*".into()], &[]);
        assert!(everyone.account("anything").is_ok());
        assert!(!everyone.internal);
    }
}
