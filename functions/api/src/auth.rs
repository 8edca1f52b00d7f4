//! Who is calling. API Gateway's JWT authorizer verifies the bearer token (issuer, audience,
//! signature against the issuer's keys, expiry) and hands its claims over in the request
//! context; the function trusts those claims and nothing else, in AWS and on the local stack
//! alike (whose gateway does the same). A request that reaches it without them did not pass
//! the authorizer, and is refused: the function never reads a token itself.
//!
//! Claims Herald reads:
//! - `sub`: the caller, for logs;
//! - `herald:accounts`: the accounts the caller administers, space-separated (an array reaches
//!   the function flattened as `[a b]`); `*` grants every account;
//! - `scope`: space-separated; `herald:internal` marks an internal service, which may send
//!   messages and publish events.

use std::collections::{HashMap, HashSet};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use herald::common::account::AccountId;
use lambda_http::request::RequestContext;

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

    /// A person signed in to the dashboard: `accounts` and nothing internal.
    pub fn person(
        subject: impl Into<String>,
        accounts: impl IntoIterator<Item = AccountId>,
    ) -> Self {
        Self {
            subject: subject.into(),
            accounts: Grant::Some(accounts.into_iter().map(|a| a.to_string()).collect()),
            internal: false,
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

/// Middleware: resolves the caller from the authorizer's claims, or answers 401.
pub async fn authenticate(mut req: Request, next: Next) -> Result<Response, ApiError> {
    let claims = match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .filter(|jwt| !jwt.claims.is_empty()),
        _ => None,
    };
    let Some(jwt) = claims else {
        tracing::warn!("a request without the authorizer's claims refused");
        return Err(ApiError::Unauthorized(
            "the request did not pass the API's authorizer",
        ));
    };
    let caller = from_authorizer(&jwt.claims, jwt.scopes.as_ref());
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
