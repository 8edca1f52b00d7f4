//! Where a webhook may be sent. A subscriber chooses the URL, and Herald's functions run inside
//! AWS next to an instance metadata service and private networks: without these rules a
//! subscription could make Herald request `http://169.254.169.254/` and show the response in the
//! deliveries API (server-side request forgery).
//!
//! The URL is checked when a subscription is saved ([`WebhookUrl::parse`]) and, because a public
//! name may resolve to a private address later (DNS rebinding), every address it resolves to is
//! checked again when delivering ([`WebhookUrl::check_resolved`], [`check_addr`]), and the
//! connection made to that checked address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::Serialize;
use url::{Host, Url};

/// The operator's rules for webhook URLs. The default is the strict one: https only, and no
/// address or name from the refused ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    /// Whether plain `http` is accepted (local development, test receivers).
    pub allow_http: bool,
    /// Networks allowed even when they are loopback, private, link-local ...: an address in any
    /// of them passes. An IPv4 network also admits the IPv6 forms that embed its addresses
    /// (`::ffff:127.0.0.1` under `127.0.0.0/8`).
    pub allowed: Vec<IpNet>,
    /// Host names allowed even when their form is refused (`localhost`, `receiver.internal`),
    /// matched exactly, ignoring case and a trailing dot. The addresses such a name resolves to
    /// are trusted as well: the operator vouched for the name.
    pub allowed_hosts: Vec<String>,
}

impl UrlPolicy {
    /// Whether the operator's allow-list admits `ip`.
    pub fn allows_addr(&self, ip: IpAddr) -> bool {
        let embedded = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.allowed
            .iter()
            .any(|net| net.contains(&ip) || embedded.is_some_and(|v4| net.contains(&v4)))
    }

    /// Whether the operator's allow-list admits the host name `host`.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = normalize_host(host);
        self.allowed_hosts
            .iter()
            .any(|h| normalize_host(h).eq_ignore_ascii_case(host))
    }
}

fn normalize_host(host: &str) -> &str {
    host.strip_suffix('.').unwrap_or(host)
}

/// Why an address is not somewhere a webhook may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressKind {
    /// `0.0.0.0/8` ("this network", which Linux connects to as the local machine) and `::`.
    Unspecified,
    /// `127.0.0.0/8` and `::1`.
    Loopback,
    /// `10/8`, `172.16/12`, `192.168/16`, IPv6 unique local `fc00::/7` (AWS's metadata service
    /// answers on `fd00:ec2::254`), the deprecated site-local `fec0::/10`, and the local-use
    /// NAT64 prefix `64:ff9b:1::/48`, which by definition translates into a private network.
    Private,
    /// The carrier-grade NAT range `100.64.0.0/10` (Alibaba Cloud's metadata service lives at
    /// `100.100.100.200`).
    SharedAddressSpace,
    /// `169.254.0.0/16`, home of the cloud metadata services (`169.254.169.254`), and
    /// `fe80::/10`.
    LinkLocal,
    /// `224.0.0.0/4` and `ff00::/8`: not one receiver.
    Multicast,
    /// Not a receiver on the internet: `240.0.0.0/4` with the broadcast address
    /// `255.255.255.255`, the IETF protocol assignments `192.0.0.0/24` (DS-Lite and NAT64
    /// gateways live there), the benchmarking networks `198.18.0.0/15`, the IPv6 discard prefix
    /// `100::/64`, and Teredo `2001::/32`, whose addresses hide the IPv4 address of the client
    /// they tunnel to.
    Reserved,
}

impl AddressKind {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Unspecified => "an unspecified",
            Self::Loopback => "a loopback",
            Self::Private => "a private",
            Self::SharedAddressSpace => "a carrier-grade NAT",
            Self::LinkLocal => "a link-local (cloud metadata)",
            Self::Multicast => "a multicast",
            Self::Reserved => "a reserved",
        }
    }
}

impl std::fmt::Display for AddressKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// Why a webhook URL, or an address it resolved to, is refused. The messages complete the
/// sentence "url ...", as the API's field errors read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("is not a valid URL ({0})")]
    Malformed(String),
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must use https, not {0}")]
    NotHttps(String),
    #[error("must use https or http, not {0}")]
    Scheme(String),
    #[error("must not hold a user name or password")]
    UserInfo,
    #[error("must name a host")]
    NoHost,
    #[error("must not point at {kind} address ({addr})")]
    Address { addr: IpAddr, kind: AddressKind },
    #[error("must not point at {host}: {why}")]
    Host { host: String, why: &'static str },
}

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
    pub fn parse(s: &str, policy: &UrlPolicy) -> Result<Self, Refusal> {
        if s.len() > Self::MAX_LEN {
            return Err(Refusal::TooLong(Self::MAX_LEN));
        }
        let url = Url::parse(s).map_err(|e| Refusal::Malformed(e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" if policy.allow_http => {}
            other if policy.allow_http => return Err(Refusal::Scheme(other.to_owned())),
            other => return Err(Refusal::NotHttps(other.to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::UserInfo);
        }
        match url.host() {
            None => return Err(Refusal::NoHost),
            Some(Host::Ipv4(ip)) => check_addr(IpAddr::V4(ip), policy)?,
            Some(Host::Ipv6(ip)) => check_addr(IpAddr::V6(ip), policy)?,
            Some(Host::Domain(name)) => check_name(name, policy)?,
        }
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
    pub fn check_resolved(&self, ip: IpAddr, policy: &UrlPolicy) -> Result<(), Refusal> {
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

/// Checks one address, from the URL or from resolving its host: refused when it is in one of
/// the [`AddressKind`] ranges (IPv6 addresses that embed an IPv4 one, such as
/// `::ffff:127.0.0.1`, are judged by the IPv4 address) unless the policy's allow-list admits it.
pub fn check_addr(ip: IpAddr, policy: &UrlPolicy) -> Result<(), Refusal> {
    if policy.allows_addr(ip) {
        return Ok(());
    }
    match classify(ip) {
        None => Ok(()),
        Some(kind) => Err(Refusal::Address { addr: ip, kind }),
    }
}

/// The refused range `ip` falls in, if any.
pub fn classify(ip: IpAddr) -> Option<AddressKind> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => V6_RANGES
            .iter()
            .find(|(net, _)| net.contains(&v6))
            .map(|(_, kind)| *kind)
            .or_else(|| embedded_v4(v6).and_then(classify_v4)),
    }
}

const V4_RANGES: [(Ipv4Net, AddressKind); 12] = [
    (v4net(0, 0, 0, 0, 8), AddressKind::Unspecified),
    (v4net(10, 0, 0, 0, 8), AddressKind::Private),
    (v4net(100, 64, 0, 0, 10), AddressKind::SharedAddressSpace),
    (v4net(127, 0, 0, 0, 8), AddressKind::Loopback),
    (v4net(169, 254, 0, 0, 16), AddressKind::LinkLocal),
    (v4net(172, 16, 0, 0, 12), AddressKind::Private),
    (v4net(192, 0, 0, 0, 24), AddressKind::Reserved),
    (v4net(192, 168, 0, 0, 16), AddressKind::Private),
    (v4net(198, 18, 0, 0, 15), AddressKind::Reserved),
    (v4net(224, 0, 0, 0, 4), AddressKind::Multicast),
    (v4net(240, 0, 0, 0, 4), AddressKind::Reserved),
    // 255.255.255.255 is in 240/4; listed for the reader.
    (v4net(255, 255, 255, 255, 32), AddressKind::Reserved),
];

const V6_RANGES: [(Ipv6Net, AddressKind); 9] = [
    (v6net(Ipv6Addr::UNSPECIFIED, 128), AddressKind::Unspecified),
    (v6net(Ipv6Addr::LOCALHOST, 128), AddressKind::Loopback),
    (v6net(v6(0x100, 0, 0), 64), AddressKind::Reserved),
    (v6net(v6(0x2001, 0, 0), 32), AddressKind::Reserved),
    (v6net(v6(0x64, 0xff9b, 1), 48), AddressKind::Private),
    (v6net(v6(0xfc00, 0, 0), 7), AddressKind::Private),
    (v6net(v6(0xfec0, 0, 0), 10), AddressKind::Private),
    (v6net(v6(0xfe80, 0, 0), 10), AddressKind::LinkLocal),
    (v6net(v6(0xff00, 0, 0), 8), AddressKind::Multicast),
];

const fn v4net(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

const fn v6net(addr: Ipv6Addr, prefix: u8) -> Ipv6Net {
    Ipv6Net::new_assert(addr, prefix)
}

/// An IPv6 prefix from its first three 16-bit groups (all the table needs).
const fn v6(a: u16, b: u16, c: u16) -> Ipv6Addr {
    Ipv6Addr::new(a, b, c, 0, 0, 0, 0, 0)
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressKind> {
    V4_RANGES
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, kind)| *kind)
}

/// The IPv4 address an IPv6 address stands for, in the forms that reach it: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated but still parsed), the NAT64
/// well-known prefix (`64:ff9b::a.b.c.d`) and 6to4 (`2002:AABB:CCDD::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _]
        | [0, 0, 0, 0, 0, 0, _, _]
        | [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

/// Names that lead inside: the local machine, single-label names that resolve through the
/// search domains of the network Herald runs in (`metadata`, `instance-data`, `kubernetes`),
/// and the suffixes reserved for private use. `.internal` covers `metadata.google.internal`
/// and AWS's `*.ec2.internal` / `*.compute.internal`.
fn check_name(name: &str, policy: &UrlPolicy) -> Result<(), Refusal> {
    if policy.allows_host(name) {
        return Ok(());
    }
    let host = normalize_host(name).to_ascii_lowercase();
    let why = if host == "localhost" || host.ends_with(".localhost") {
        Some("a name of the local machine")
    } else if host.is_empty() || !host.contains('.') {
        Some("a single-label name resolves inside Herald's own network")
    } else if METADATA_NAMES.contains(&host.as_str()) {
        Some("a cloud metadata service")
    } else if PRIVATE_SUFFIXES.iter().any(|s| host.ends_with(s)) {
        Some("a name reserved for private networks")
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Refusal::Host {
            host: name.to_owned(),
            why,
        }),
    }
}

const METADATA_NAMES: [&str; 2] = ["metadata.google.internal", "metadata.goog"];

const PRIVATE_SUFFIXES: [&str; 4] = [".internal", ".local", ".localdomain", ".home.arpa"];

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> UrlPolicy {
        UrlPolicy::default()
    }

    fn dev() -> UrlPolicy {
        UrlPolicy {
            allow_http: true,
            ..UrlPolicy::default()
        }
    }

    fn refused_address(url: &str, policy: &UrlPolicy) -> AddressKind {
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
            "https://[2001:db8::1]/",
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
        let policy = UrlPolicy {
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
        let policy = UrlPolicy {
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
