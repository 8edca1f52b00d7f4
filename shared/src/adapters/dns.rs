//! The [`DnsLookup`] adapter over hickory-resolver.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};

use crate::domains::verify::{DnsLookup, LookupError};

/// Looks records up through hickory-resolver, over UDP (TCP when an answer is truncated), from
/// the nameservers given or, when none are, those of the system (`/etc/resolv.conf`: in
/// Lambda, the VPC's or AWS's resolver).
///
/// Nothing is cached: a record the customer publishes between two runs must be seen by the
/// second, even when the resolver is kept warm across Lambda invocations. A lookup waits at
/// most the timeout given and is tried once more after a timeout or a server failure, so
/// one lost UDP packet does not make a record `unknown`; no search domains or hosts file apply.
#[derive(Debug, Clone)]
pub struct HickoryLookup {
    resolver: TokioResolver,
}

#[derive(Debug, thiserror::Error)]
#[error("the DNS resolver could not be set up: {0}")]
pub struct ResolverSetupError(String);

impl HickoryLookup {
    /// Long enough for a distant authoritative server through a recursive resolver, short
    /// enough for "verify now" to answer within an API request even when DNS does not.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// How many times a failed query is sent again.
    const RETRIES: usize = 1;

    /// A resolver asking `nameservers` (each `ip:port`, UDP and TCP), or the system's when the
    /// list is empty.
    pub fn new(nameservers: &[SocketAddr], timeout: Duration) -> Result<Self, ResolverSetupError> {
        let mut builder = if nameservers.is_empty() {
            TokioResolver::builder_tokio().map_err(|e| ResolverSetupError(e.to_string()))?
        } else {
            let servers = nameservers
                .iter()
                .map(|addr| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = addr.port();
                    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
                })
                .collect();
            Resolver::builder_with_config(
                ResolverConfig::from_name_servers(servers),
                TokioRuntimeProvider::default(),
            )
        };
        let opts = builder.options_mut();
        opts.timeout = timeout;
        opts.attempts = Self::RETRIES;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.cache_size = 0;
        opts.positive_max_ttl = Some(Duration::ZERO);
        opts.negative_max_ttl = Some(Duration::ZERO);
        let resolver = builder
            .build()
            .map_err(|e| ResolverSetupError(e.to_string()))?;
        Ok(Self { resolver })
    }

    async fn lookup(&self, name: &str, record_type: RecordType) -> Result<Vec<RData>, LookupError> {
        // Fully qualified (final dot), so that no search domain is tried.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let name = Name::from_ascii(&fqdn)
            .map_err(|e| LookupError::Unavailable(format!("not a DNS name: {e}")))?;
        match self.resolver.lookup(name, record_type).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter(|r| r.record_type() == record_type)
                .map(|r| r.data.clone())
                .collect()),
            Err(e) => Err(classify(e)),
        }
    }
}

/// An authoritative "no such name" or "no such record" is [`LookupError::NotFound`]; every
/// other failure (timeout, SERVFAIL, REFUSED, network) is [`LookupError::Unavailable`].
fn classify(e: NetError) -> LookupError {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(no))
            if matches!(
                no.response_code,
                ResponseCode::NXDomain | ResponseCode::NoError
            ) =>
        {
            LookupError::NotFound
        }
        other => LookupError::Unavailable(other.to_string()),
    }
}

/// A [`HickoryLookup`] set up on first use: the API needs DNS only when an account asks to
/// verify a domain now, and its cold start need not read `/etc/resolv.conf` and build a
/// resolver for that. A setup failure is answered to each lookup as the DNS being unavailable.
pub struct LazyHickoryLookup {
    nameservers: Vec<SocketAddr>,
    timeout: Duration,
    resolver: OnceLock<Result<HickoryLookup, String>>,
}

impl LazyHickoryLookup {
    pub fn new(nameservers: &[SocketAddr], timeout: Duration) -> Self {
        Self {
            nameservers: nameservers.to_vec(),
            timeout,
            resolver: OnceLock::new(),
        }
    }

    fn resolver(&self) -> Result<&HickoryLookup, LookupError> {
        self.resolver
            .get_or_init(|| {
                HickoryLookup::new(&self.nameservers, self.timeout).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| LookupError::Unavailable(e.clone()))
    }
}

#[async_trait]
impl DnsLookup for LazyHickoryLookup {
    async fn txt(&self, name: &str) -> Result<Vec<String>, LookupError> {
        self.resolver()?.txt(name).await
    }

    async fn mx(&self, name: &str) -> Result<Vec<(u16, String)>, LookupError> {
        self.resolver()?.mx(name).await
    }
}

#[async_trait]
impl DnsLookup for HickoryLookup {
    async fn txt(&self, name: &str) -> Result<Vec<String>, LookupError> {
        let found = self.lookup(name, RecordType::TXT).await?;
        Ok(found
            .into_iter()
            .filter_map(|data| match data {
                // The strings' bytes are joined before decoding: DNS hosts cut long values
                // every 255 bytes, also in the middle of a multi-byte character.
                RData::TXT(txt) => {
                    Some(String::from_utf8_lossy(&txt.txt_data.concat()).into_owned())
                }
                _ => None,
            })
            .collect())
    }

    async fn mx(&self, name: &str) -> Result<Vec<(u16, String)>, LookupError> {
        let found = self.lookup(name, RecordType::MX).await?;
        Ok(found
            .into_iter()
            .filter_map(|data| match data {
                RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii())),
                _ => None,
            })
            .collect())
    }
}
