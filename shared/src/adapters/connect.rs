//! The check at connect time. A name is resolved once, every address it resolves to goes
//! through the [`AddressPolicy`], and the connection is made to an address that passed, so a
//! public name that resolves to a private or metadata address (DNS rebinding) is never connected
//! to. Names the operator allowed are trusted with whatever they resolve to.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::common::destination::policy::{AddressPolicy, check_addr, unbracketed};

/// Resolves a host name to addresses (the system resolver by default; tests substitute one).
pub type Lookup = dyn Fn(String) -> BoxFuture<'static, std::io::Result<Vec<IpAddr>>> + Send + Sync;

/// The system resolver, through tokio.
pub fn system_lookup() -> Arc<Lookup> {
    Arc::new(|host: String| {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    })
}

/// Every address of a name is refused by the policy (or it has none).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host} resolves only to addresses Herald may not reach ({detail})")]
pub struct Blocked {
    pub host: String,
    pub detail: String,
}

/// Why a host could not be resolved to an address Herald may connect to.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Blocked(#[from] Blocked),
    #[error("could not resolve {host}: {source}")]
    Lookup {
        host: String,
        source: std::io::Error,
    },
}

/// The addresses of `host` (a name or an address) that the policy admits, in the resolver's
/// order.
pub async fn resolve(
    host: &str,
    policy: &AddressPolicy,
    lookup: &Lookup,
) -> Result<Vec<IpAddr>, ResolveError> {
    let bare = unbracketed(host);
    let (found, trusted) = match bare.parse::<IpAddr>() {
        Ok(ip) => (vec![ip], false),
        Err(_) => {
            let found = lookup(bare.to_owned())
                .await
                .map_err(|source| ResolveError::Lookup {
                    host: bare.to_owned(),
                    source,
                })?;
            // The operator vouched for an allow-listed name and what it resolves to.
            (found, policy.allows_host(bare))
        }
    };
    let mut refused = Vec::new();
    let allowed: Vec<IpAddr> = found
        .into_iter()
        .filter(|ip| match check_addr(*ip, policy) {
            _ if trusted => true,
            Ok(()) => true,
            Err(e) => {
                refused.push(e.to_string());
                false
            }
        })
        .collect();
    if allowed.is_empty() {
        let detail = if refused.is_empty() {
            "no address".to_owned()
        } else {
            refused.join("; ")
        };
        return Err(Blocked {
            host: bare.to_owned(),
            detail,
        }
        .into());
    }
    Ok(allowed)
}

/// reqwest's resolver hook, through [`resolve`].
struct PolicyResolver {
    policy: AddressPolicy,
    lookup: Arc<Lookup>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let policy = self.policy.clone();
        let lookup = self.lookup.clone();
        Box::pin(async move {
            match resolve(&host, &policy, &*lookup).await {
                Ok(ips) => Ok(Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0))) as Addrs),
                Err(ResolveError::Blocked(b)) => Err(Box::new(b) as _),
                Err(ResolveError::Lookup { source, .. }) => Err(Box::new(source) as _),
            }
        })
    }
}

/// An HTTP client for account-controlled URLs: every name through the policy, no redirects
/// (a redirect could lead anywhere, and is followed past the check on the first URL), no proxy
/// (a proxy would resolve the name itself), and `timeout` on the whole exchange.
///
/// A URL given as an address literal does not go through the resolver, so callers check it
/// with [`crate::common::destination::check_url`] before each request; every account-controlled URL type does that
/// when it is parsed from storage.
pub fn http_client(
    policy: AddressPolicy,
    lookup: Arc<Lookup>,
    timeout: Duration,
    user_agent: &str,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(user_agent)
        .dns_resolver(Arc::new(PolicyResolver { policy, lookup }))
        .build()
}

/// The [`Blocked`] refusal somewhere in an error's chain, if that is why a request failed.
pub fn blocked_in<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Blocked> {
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(blocked) = s.downcast_ref::<Blocked>() {
            return Some(blocked);
        }
        source = s.source();
    }
    None
}

/// How many bytes of a reply body are read at most: enough for any OAuth or provider answer,
/// and a bound on the memory a hostile endpoint can make Herald use.
pub const MAX_BODY_READ: usize = 64 * 1024;

/// Reads at most [`MAX_BODY_READ`] bytes of a response body; `true` with them when there was
/// more.
pub async fn read_bounded(mut response: reqwest::Response) -> reqwest::Result<(Vec<u8>, bool)> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY_READ - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok((bytes, true));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok((bytes, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup_to(ips: &'static [&'static str]) -> Arc<Lookup> {
        Arc::new(move |_host: String| {
            Box::pin(async move { Ok(ips.iter().map(|s| s.parse().expect("ip")).collect()) })
        })
    }

    #[tokio::test]
    async fn only_admitted_addresses_are_returned() {
        let strict = AddressPolicy::default();
        let mixed = lookup_to(&["10.0.0.5", "93.184.215.14"]);
        assert_eq!(
            resolve("smtp.example.com", &strict, &*mixed)
                .await
                .expect("one public address"),
            vec!["93.184.215.14".parse::<IpAddr>().expect("ip")]
        );
        let inside = lookup_to(&["169.254.169.254", "::ffff:0:127.0.0.1"]);
        match resolve("rebound.example.com", &strict, &*inside).await {
            Err(ResolveError::Blocked(b)) => {
                assert!(b.detail.contains("link-local"), "{b}");
                assert!(b.detail.contains("loopback"), "{b}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // Literal addresses are checked without a lookup.
        assert!(matches!(
            resolve("[::1]", &strict, &*mixed).await,
            Err(ResolveError::Blocked(_))
        ));
        let trusting = AddressPolicy {
            allowed_hosts: vec!["rebound.example.com".into()],
            ..strict
        };
        assert_eq!(
            resolve("rebound.example.com", &trusting, &*inside)
                .await
                .expect("trusted")
                .len(),
            2
        );
    }
}
