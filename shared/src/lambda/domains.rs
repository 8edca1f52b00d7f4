//! What the functions that handle sending domains (the API, `dns-verify`, `send-dispatch`)
//! read from the environment at cold start.

use std::net::SocketAddr;

use crate::common::config::EnvReader;
use crate::domains::SesRegion;

#[derive(Debug, Clone)]
pub struct DomainConfig {
    pub domains_table: String,
    /// Where DNS questions go; empty: the system's resolvers.
    pub nameservers: Vec<SocketAddr>,
    /// The SES region, for the MAIL FROM MX record.
    pub region: SesRegion,
}

fn nameservers(s: &str) -> Result<Vec<SocketAddr>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<SocketAddr>()
                .or_else(|_| {
                    p.parse::<std::net::IpAddr>()
                        .map(|ip| SocketAddr::new(ip, 53))
                })
                .map_err(|_| {
                    format!("has {p:?}, which is not an address like 10.0.0.2 or 10.0.0.2:53")
                })
        })
        .collect()
}

impl DomainConfig {
    pub fn read_into<F: Fn(&str) -> Option<String>>(env: &mut EnvReader<F>) -> Option<Self> {
        let domains_table = env.required("HERALD_DOMAINS_TABLE");
        let nameservers = env.parsed("HERALD_DNS_NAMESERVERS", "", nameservers);
        let region = env.parsed("AWS_REGION", "us-east-1", SesRegion::parse);
        Some(Self {
            domains_table,
            nameservers: nameservers?,
            region: region?,
        })
    }
}

/// `dns-verify`'s configuration: the domains, where DNS questions go, where events go.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    pub domains: DomainConfig,
    pub events_queue_url: String,
}

impl VerifyConfig {
    pub fn from_env() -> Result<Self, crate::common::config::ConfigError> {
        let mut env = EnvReader::from_process();
        let domains = DomainConfig::read_into(&mut env);
        let events_queue_url = env.required("HERALD_EVENTS_QUEUE_URL");
        let config = domains.map(|domains| Self {
            domains,
            events_queue_url,
        });
        env.finish(config)
    }

    /// The checker and its adapters, built once per cold start.
    pub fn checker(
        &self,
        aws: &crate::adapters::aws::Clients,
    ) -> Result<crate::domains::checker::DomainChecker, crate::adapters::dns::ResolverSetupError>
    {
        use std::sync::Arc;
        Ok(crate::domains::checker::DomainChecker {
            store: Arc::new(crate::adapters::dynamo::domains::DynamoDomainStore::new(
                aws.dynamo(),
                &self.domains.domains_table,
            )),
            dns: Arc::new(crate::adapters::dns::HickoryLookup::new(
                &self.domains.nameservers,
                crate::adapters::dns::HickoryLookup::DEFAULT_TIMEOUT,
            )?),
            events: crate::events::publish::EventPublisher::new(Arc::new(
                crate::adapters::sqs::SqsQueue::new(aws.sqs(), &self.events_queue_url),
            )),
            clock: Arc::new(crate::common::clock::SystemClock),
        })
    }
}

/// `dns-verify`: on its schedule, checks the DNS records of every domain due a check.
pub struct DnsVerify {
    checker: crate::domains::checker::DomainChecker,
}

impl DnsVerify {
    pub async fn from_env() -> Result<Self, crate::lambda::Error> {
        let config = VerifyConfig::from_env()?;
        let aws = crate::adapters::aws::clients().await;
        Ok(Self {
            checker: config.checker(&aws)?,
        })
    }

    /// The payload is EventBridge's scheduled event; nothing in it changes what a run does.
    pub async fn handle(
        &self,
        _scheduled: serde_json::Value,
    ) -> Result<serde_json::Value, crate::lambda::Error> {
        let checked = self.checker.run().await?;
        Ok(serde_json::json!({ "checked": checked }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_take_an_optional_port() {
        assert_eq!(
            nameservers("10.0.0.2, 127.0.0.1:5353").expect("valid"),
            [
                "10.0.0.2:53".parse::<SocketAddr>().expect("addr"),
                "127.0.0.1:5353".parse().expect("addr")
            ]
        );
        assert!(nameservers("").expect("valid").is_empty());
        assert!(nameservers("ns1.example.com").is_err());
    }
}
