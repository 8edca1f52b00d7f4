//! Where a webhook may be sent. A subscriber chooses the URL, and Herald's functions run inside
//! AWS next to an instance metadata service and private networks: without these rules a
//! subscription could make Herald request `http://169.254.169.254/` and show the response in the
//! deliveries API (server-side request forgery).
//!
//! The URL is checked when a subscription is saved ([`WebhookUrl::parse`]) and, because a public
//! name may resolve to a private address later (DNS rebinding), every address it resolves to is
//! checked again when delivering ([`WebhookUrl::check_resolved`], [`check_addr`]), and the
//! connection made to that checked address.

use std::net::IpAddr;

use serde::Serialize;
use url::{Host, Url};

pub use crate::common::destination::{AddressKind, AddressPolicy, Refusal, check_addr};

/// A URL a webhook may be sent to, under the policy it was parsed with.
///
/// There is no `Deserialize`: a stored URL is parsed again with the operator's current policy,
/// so that tightening the policy applies to existing subscriptions too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    /// Longer URLs are refused: browsers and proxies cap around 2,000 characters, and no
    /// receiver needs more.
    pub const MAX_LEN: usize = 2048;

    /// Checks a URL as a subscription gives it: https (http only if the policy allows it), no
    /// user name or password, a host, and that host neither an address in a refused range nor a
    /// refused name (see [`check_addr`] and [`WebhookUrl`]'s module), unless the policy's
    /// allow-list admits it.
    ///
    /// Hosts are judged as the URL parser reads them, which is how the HTTP client will read
    /// them too: `http://2130706433/`, `http://0x7f.1/` and `http://0177.0.0.1/` are all
    /// `127.0.0.1`, and international names are in their ASCII form.
    pub fn parse(s: &str, policy: &AddressPolicy) -> Result<Self, Refusal> {
        if s.len() > Self::MAX_LEN {
            return Err(Refusal::TooLong(Self::MAX_LEN));
        }
        let url = Url::parse(s).map_err(|e| Refusal::Malformed(e.to_string()))?;
        crate::common::destination::check_url(&url, policy)?;
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    /// The host as written in the URL: a name, or an address (IPv6 in brackets).
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// Checks an address the URL's host resolved to, just before connecting to it. Addresses
    /// of a host name the operator allowed are trusted; any other goes through [`check_addr`].
    pub fn check_resolved(&self, ip: IpAddr, policy: &AddressPolicy) -> Result<(), Refusal> {
        match self.0.host() {
            Some(Host::Domain(name)) if policy.allows_host(name) => Ok(()),
            _ => check_addr(ip, policy),
        }
    }
}

impl From<WebhookUrl> for String {
    fn from(u: WebhookUrl) -> String {
        u.0.into()
    }
}

impl std::fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn strict() -> AddressPolicy {
        AddressPolicy::default()
    }

    fn dev() -> AddressPolicy {
        AddressPolicy {
            allow_http: true,
            ..AddressPolicy::default()
        }
    }

    fn refused_address(url: &str, policy: &AddressPolicy) -> AddressKind {
        match WebhookUrl::parse(url, policy) {
            Err(Refusal::Address { kind, .. }) => kind,
            other => panic!("{url}: expected an address refusal, got {other:?}"),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an IP address")
    }

    #[test]
    fn public_https_urls_pass() {
        for ok in [
            "https://example.com/hooks/herald",
            "https://hooks.example.com:8443/a?b=c",
            "https://93.184.215.14/hook",
            "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook",
            "https://bücher.example/hook",
            "  https://example.com/padded  ",
        ] {
            let url = WebhookUrl::parse(ok, &strict()).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(url.as_str().starts_with("https://"), "{url}");
        }
        let url = WebhookUrl::parse("https://bücher.example/hook", &strict()).expect("valid");
        assert_eq!(url.host(), "xn--bcher-kva.example");
    }

    #[test]
    fn https_only_unless_http_is_allowed() {
        assert_eq!(
            WebhookUrl::parse("http://example.com/", &strict()),
            Err(Refusal::NotHttps("http".into()))
        );
        assert!(WebhookUrl::parse("http://example.com/", &dev()).is_ok());
        for other in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://example.com/",
        ] {
            assert!(
                matches!(
                    WebhookUrl::parse(other, &strict()),
                    Err(Refusal::NotHttps(_))
                ),
                "{other}"
            );
            assert!(
                matches!(WebhookUrl::parse(other, &dev()), Err(Refusal::Scheme(_))),
                "{other}"
            );
        }
    }

    #[test]
    fn malformed_long_hostless_and_credentialed_urls_are_refused() {
        assert!(matches!(
            WebhookUrl::parse("not a url", &strict()),
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            WebhookUrl::parse("https://", &strict()),
            Err(Refusal::Malformed(_))
        ));
        assert!(matches!(
            WebhookUrl::parse("data:text/plain,hi", &dev()),
            Err(Refusal::Scheme(_))
        ));
        let long = format!("https://example.com/{}", "a".repeat(WebhookUrl::MAX_LEN));
        assert_eq!(
            WebhookUrl::parse(&long, &strict()),
            Err(Refusal::TooLong(WebhookUrl::MAX_LEN))
        );
        for creds in [
            "https://user:pass@example.com/",
            "https://user@example.com/",
            "https://:pass@example.com/",
        ] {
            assert_eq!(
                WebhookUrl::parse(creds, &strict()),
                Err(Refusal::UserInfo),
                "{creds}"
            );
        }
    }

    #[test]
    fn loopback_private_link_local_and_metadata_addresses_are_refused() {
        for (url, kind) in [
            ("https://127.0.0.1/", AddressKind::Loopback),
            ("https://127.255.0.9:8080/", AddressKind::Loopback),
            ("https://10.1.2.3/", AddressKind::Private),
            ("https://172.16.0.1/", AddressKind::Private),
            ("https://172.31.255.255/", AddressKind::Private),
            ("https://192.168.1.1/", AddressKind::Private),
            (
                "https://169.254.169.254/latest/meta-data/",
                AddressKind::LinkLocal,
            ),
            ("https://169.254.0.1/", AddressKind::LinkLocal),
            ("https://100.64.0.1/", AddressKind::SharedAddressSpace),
            ("https://100.100.100.200/", AddressKind::SharedAddressSpace),
            ("https://0.0.0.0/", AddressKind::Unspecified),
            ("https://0.1.2.3/", AddressKind::Unspecified),
            ("https://224.0.0.1/", AddressKind::Multicast),
            ("https://255.255.255.255/", AddressKind::Reserved),
            ("https://240.0.0.1/", AddressKind::Reserved),
            ("https://[::1]/", AddressKind::Loopback),
            ("https://[::]/", AddressKind::Unspecified),
            ("https://[fc00::1]/", AddressKind::Private),
            ("https://[fd00:ec2::254]/", AddressKind::Private),
            ("https://[fec0::1]/", AddressKind::Private),
            ("https://[fe80::1]/", AddressKind::LinkLocal),
            ("https://[ff02::1]/", AddressKind::Multicast),
            ("https://192.0.0.170/", AddressKind::Reserved),
            ("https://192.0.0.1/", AddressKind::Reserved),
            ("https://198.18.0.1/", AddressKind::Reserved),
            ("https://198.19.255.254/", AddressKind::Reserved),
            ("https://[100::1]/", AddressKind::Reserved),
            (
                "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
                AddressKind::Reserved,
            ),
            ("https://[64:ff9b:1::a00:1]/", AddressKind::Private),
            ("https://[64:ff9b:1:ffff::1]/", AddressKind::Private),
            ("https://[2001:db8::1]/", AddressKind::Documentation),
            ("https://192.0.2.10/", AddressKind::Documentation),
            ("https://[::ffff:0:7f00:1]/", AddressKind::Loopback),
        ] {
            assert_eq!(refused_address(url, &strict()), kind, "{url}");
        }
        // Just outside the ranges.
        for ok in [
            "https://172.15.255.255/",
            "https://172.32.0.0/",
            "https://100.63.255.255/",
            "https://100.128.0.0/",
            "https://169.253.255.255/",
            "https://11.0.0.1/",
            "https://[fbff::1]/",
            "https://[2001:1::1]/",
            "https://[100:0:0:1::1]/",
            "https://[64:ff9b:2::1]/",
            "https://191.255.255.255/",
            "https://192.0.1.1/",
            "https://198.17.255.255/",
            "https://198.20.0.0/",
        ] {
            assert!(WebhookUrl::parse(ok, &strict()).is_ok(), "{ok}");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_addresses_are_judged_by_the_ipv4_address() {
        for (url, kind) in [
            ("https://[::ffff:127.0.0.1]/", AddressKind::Loopback),
            ("https://[::ffff:7f00:1]/", AddressKind::Loopback),
            ("https://[::ffff:10.0.0.1]/", AddressKind::Private),
            ("https://[::ffff:169.254.169.254]/", AddressKind::LinkLocal),
            ("https://[::127.0.0.1]/", AddressKind::Loopback),
            ("https://[::10.0.0.1]/", AddressKind::Private),
            ("https://[64:ff9b::a9fe:a9fe]/", AddressKind::LinkLocal),
            ("https://[2002:7f00:1::]/", AddressKind::Loopback),
            ("https://[2002:a00:1::1]/", AddressKind::Private),
        ] {
            assert_eq!(refused_address(url, &strict()), kind, "{url}");
        }
        assert!(WebhookUrl::parse("https://[::ffff:93.184.215.14]/", &strict()).is_ok());
        assert!(WebhookUrl::parse("https://[2002:5db8:d70e::1]/", &strict()).is_ok());
    }

    #[test]
    fn numeric_host_spellings_are_read_as_the_parser_reads_them() {
        for url in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://017700000001/",
            "http://127.1/",
            "http://127.0.0.1./",
        ] {
            let parsed = Url::parse(url).expect("parses");
            assert_eq!(
                parsed.host(),
                Some(Host::Ipv4(Ipv4Addr::LOCALHOST)),
                "{url} is 127.0.0.1 to the parser"
            );
            assert_eq!(refused_address(url, &dev()), AddressKind::Loopback, "{url}");
        }
        assert_eq!(
            refused_address("http://0xa9fea9fe/", &dev()),
            AddressKind::LinkLocal,
            "169.254.169.254 in hex"
        );
        assert_eq!(
            refused_address("http://167772161/", &dev()),
            AddressKind::Private,
            "10.0.0.1 in decimal"
        );
    }

    #[test]
    fn local_and_private_names_are_refused() {
        for url in [
            "https://localhost/",
            "https://LOCALHOST:8443/",
            "https://localhost./",
            "https://localhost../",
            "https://api.localhost/",
            "https://ｌｏｃａｌｈｏｓｔ/",
            "https://metadata/computeMetadata/v1/",
            "https://metadata.google.internal/computeMetadata/v1/",
            "https://METADATA.GOOGLE.INTERNAL./",
            "https://metadata.goog/",
            "https://instance-data/",
            "https://instance-data.ec2.internal/",
            "https://ip-10-0-0-1.eu-west-1.compute.internal/",
            "https://host.docker.internal/",
            "https://printer.local/",
            "https://nas.home.arpa/",
            "https://box.localdomain/",
        ] {
            assert!(
                matches!(WebhookUrl::parse(url, &strict()), Err(Refusal::Host { .. })),
                "{url}: {:?}",
                WebhookUrl::parse(url, &strict())
            );
        }
        for ok in [
            "https://internal.example.com/",
            "https://localhost.example.com/",
            "https://example.local.example.com/",
        ] {
            assert!(WebhookUrl::parse(ok, &strict()).is_ok(), "{ok}");
        }
    }

    #[test]
    fn the_allow_list_admits_what_the_operator_names() {
        let policy = AddressPolicy {
            allow_http: true,
            allowed: vec![
                "127.0.0.0/8".parse().expect("net"),
                "10.20.0.0/16".parse().expect("net"),
                "fd00::/8".parse().expect("net"),
            ],
            allowed_hosts: vec!["LocalHost.".into(), "receiver.internal".into()],
        };
        for ok in [
            "http://127.0.0.1:3000/hook",
            "http://2130706433/",
            "http://[::ffff:127.0.0.1]/",
            "http://10.20.1.2/",
            "http://[fd00::5]/",
            "http://localhost:3000/",
            "http://receiver.internal/",
        ] {
            assert!(WebhookUrl::parse(ok, &policy).is_ok(), "{ok}");
        }
        for (url, kind) in [
            ("http://10.21.0.1/", AddressKind::Private),
            ("http://169.254.169.254/", AddressKind::LinkLocal),
            ("http://[::1]/", AddressKind::Loopback),
            ("http://[fc00::1]/", AddressKind::Private),
        ] {
            assert_eq!(refused_address(url, &policy), kind, "{url}");
        }
        assert!(WebhookUrl::parse("http://api.localhost/", &policy).is_err());
    }

    #[test]
    fn resolved_addresses_are_checked_again() {
        let policy = AddressPolicy {
            allowed: vec!["192.168.50.0/24".parse().expect("net")],
            allowed_hosts: vec!["hooks.corp.example".into()],
            ..strict()
        };
        let public = WebhookUrl::parse("https://hooks.example.com/", &policy).expect("valid");
        assert!(public.check_resolved(ip("93.184.215.14"), &policy).is_ok());
        assert!(
            public
                .check_resolved(ip("2606:2800:21f::1"), &policy)
                .is_ok()
        );
        // DNS rebinding: the public name now resolves inside.
        for (addr, kind) in [
            ("127.0.0.1", AddressKind::Loopback),
            ("169.254.169.254", AddressKind::LinkLocal),
            ("10.0.0.7", AddressKind::Private),
            ("::ffff:10.0.0.1", AddressKind::Private),
            ("::1", AddressKind::Loopback),
        ] {
            assert_eq!(
                public.check_resolved(ip(addr), &policy),
                Err(Refusal::Address {
                    addr: ip(addr),
                    kind
                }),
                "{addr}"
            );
        }
        assert!(public.check_resolved(ip("192.168.50.9"), &policy).is_ok());

        let trusted = WebhookUrl::parse("https://hooks.corp.example/", &policy).expect("valid");
        assert!(trusted.check_resolved(ip("10.0.0.7"), &policy).is_ok());

        assert!(check_addr(ip("8.8.8.8"), &strict()).is_ok());
        assert!(check_addr(ip("10.0.0.1"), &strict()).is_err());
    }

    #[test]
    fn refusals_read_as_field_errors() {
        let err = WebhookUrl::parse("https://169.254.169.254/", &strict()).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "must not point at a link-local (cloud metadata) address (169.254.169.254)"
        );
        let err = WebhookUrl::parse("https://localhost/", &strict()).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "must not point at localhost: a name of the local machine"
        );
    }

    #[test]
    fn serializes_as_the_normalised_string() {
        let url = WebhookUrl::parse("HTTPS://Example.COM:443/a/../b", &strict()).expect("valid");
        assert_eq!(url.as_str(), "https://example.com/b");
        assert_eq!(
            serde_json::to_value(&url).expect("serializes"),
            serde_json::json!("https://example.com/b")
        );
        assert_eq!(String::from(url.clone()), url.to_string());
    }
}
