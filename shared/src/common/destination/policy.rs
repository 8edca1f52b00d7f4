//! The one address policy for every destination an account controls: which schemes, addresses
//! and names Herald may connect to, and which the operator allowed although they lead inside.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use url::{Host, Url};

/// The operator's rules. The default is the strict one: https only, and no address or name from
/// the refused ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Whether plain `http` is accepted for URLs (local development, test receivers).
    pub allow_http: bool,
    /// Networks allowed even when they are loopback, private, link-local ...: an address in any
    /// of them passes. An IPv4 network also admits the IPv6 forms that embed its addresses
    /// (`::ffff:127.0.0.1` under `127.0.0.0/8`).
    pub allowed: Vec<IpNet>,
    /// Host names allowed even when their form is refused (`localhost`, `receiver.internal`),
    /// matched exactly, ignoring case and trailing dots. The addresses such a name resolves to
    /// are trusted as well: the operator vouched for the name.
    pub allowed_hosts: Vec<String>,
}

impl AddressPolicy {
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

    /// Reads the operator's rules: `HERALD_DESTINATION_ALLOW_HTTP`,
    /// `HERALD_DESTINATION_ALLOWED_NETWORKS` (`10.20.0.0/16,fd00::/8`; a bare address is its own
    /// network) and `HERALD_DESTINATION_ALLOWED_HOSTS` (`receiver.internal`).
    pub fn read<F: Fn(&str) -> Option<String>>(
        env: &mut crate::common::config::EnvReader<F>,
    ) -> Option<Self> {
        let allow_http = env.flag("HERALD_DESTINATION_ALLOW_HTTP");
        let allowed = env.parsed("HERALD_DESTINATION_ALLOWED_NETWORKS", "", |s| {
            list(s)
                .map(|n| {
                    n.parse::<IpNet>()
                        .or_else(|_| n.parse::<IpAddr>().map(IpNet::from))
                        .map_err(|_| format!("has {n:?}, which is not a network like 10.0.0.0/8"))
                })
                .collect::<Result<Vec<_>, _>>()
        });
        let allowed_hosts = env
            .optional("HERALD_DESTINATION_ALLOWED_HOSTS")
            .map(|s| list(&s).map(str::to_owned).collect())
            .unwrap_or_default();
        Some(Self {
            allow_http,
            allowed: allowed?,
            allowed_hosts,
        })
    }
}

fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty())
}

/// A host name without its trailing dots: `localhost.` and `localhost..` are `localhost` to a
/// resolver, so they are to the policy too.
fn normalize_host(host: &str) -> &str {
    host.trim_end_matches('.')
}

/// Why an address is not somewhere Herald may connect for an account.
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
    /// The documentation ranges `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24` and
    /// `2001:db8::/32` (RFC 5737, RFC 3849): never routed on the internet, so an address there
    /// reaches only whatever a private network put on it.
    Documentation,
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
            Self::Documentation => "a documentation",
            Self::Reserved => "a reserved",
        }
    }
}

impl std::fmt::Display for AddressKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// Why a destination, or an address it resolved to, is refused. The messages complete the
/// sentence "url ..." or "host ...", as the API's field errors read.
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

/// Checks a URL an account gives: https (http only if the policy allows it), no user name or
/// password, a host, and that host neither an address in a refused range nor a refused name,
/// unless the policy's allow-list admits it.
///
/// Hosts are judged as the URL parser reads them, which is how the HTTP client will read them
/// too: `http://2130706433/`, `http://0x7f.1/` and `http://0177.0.0.1/` are all `127.0.0.1`,
/// and international names are in their ASCII form.
pub fn check_url(url: &Url, policy: &AddressPolicy) -> Result<(), Refusal> {
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
        None => Err(Refusal::NoHost),
        Some(Host::Ipv4(ip)) => check_addr(IpAddr::V4(ip), policy),
        Some(Host::Ipv6(ip)) => check_addr(IpAddr::V6(ip), policy),
        Some(Host::Domain(name)) => check_name(name, policy),
    }
}

/// Checks a bare host an account gives (an SMTP server): an address, bracketed or not, or a
/// name, under the same rules as a URL's host.
pub fn check_host(host: &str, policy: &AddressPolicy) -> Result<(), Refusal> {
    let bare = unbracketed(host);
    match bare.parse::<IpAddr>() {
        Ok(ip) => check_addr(ip, policy),
        // The URL parser's reading of the name, so that `0x7f.1` is judged as 127.0.0.1 here
        // as well.
        Err(_) => match Host::parse(bare) {
            Ok(Host::Ipv4(ip)) => check_addr(IpAddr::V4(ip), policy),
            Ok(Host::Ipv6(ip)) => check_addr(IpAddr::V6(ip), policy),
            Ok(Host::Domain(name)) => check_name(&name, policy),
            Err(e) => Err(Refusal::Malformed(e.to_string())),
        },
    }
}

/// A host without the brackets an IPv6 address may come in (`[::1]`).
pub(crate) fn unbracketed(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Checks one address, given or resolved: refused when it is in one of the [`AddressKind`]
/// ranges (IPv6 addresses that embed an IPv4 one, such as `::ffff:127.0.0.1`, are judged by the
/// IPv4 address) unless the policy's allow-list admits it.
pub fn check_addr(ip: IpAddr, policy: &AddressPolicy) -> Result<(), Refusal> {
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

const V4_RANGES: [(Ipv4Net, AddressKind); 15] = [
    (v4net(0, 0, 0, 0, 8), AddressKind::Unspecified),
    (v4net(10, 0, 0, 0, 8), AddressKind::Private),
    (v4net(100, 64, 0, 0, 10), AddressKind::SharedAddressSpace),
    (v4net(127, 0, 0, 0, 8), AddressKind::Loopback),
    (v4net(169, 254, 0, 0, 16), AddressKind::LinkLocal),
    (v4net(172, 16, 0, 0, 12), AddressKind::Private),
    (v4net(192, 0, 0, 0, 24), AddressKind::Reserved),
    (v4net(192, 0, 2, 0, 24), AddressKind::Documentation),
    (v4net(192, 168, 0, 0, 16), AddressKind::Private),
    (v4net(198, 18, 0, 0, 15), AddressKind::Reserved),
    (v4net(198, 51, 100, 0, 24), AddressKind::Documentation),
    (v4net(203, 0, 113, 0, 24), AddressKind::Documentation),
    (v4net(224, 0, 0, 0, 4), AddressKind::Multicast),
    (v4net(240, 0, 0, 0, 4), AddressKind::Reserved),
    // 255.255.255.255 is in 240/4; listed for the reader.
    (v4net(255, 255, 255, 255, 32), AddressKind::Reserved),
];

const V6_RANGES: [(Ipv6Net, AddressKind); 10] = [
    (v6net(Ipv6Addr::UNSPECIFIED, 128), AddressKind::Unspecified),
    (v6net(Ipv6Addr::LOCALHOST, 128), AddressKind::Loopback),
    (v6net(v6(0x100, 0, 0), 64), AddressKind::Reserved),
    (v6net(v6(0x2001, 0, 0), 32), AddressKind::Reserved),
    (v6net(v6(0x2001, 0xdb8, 0), 32), AddressKind::Documentation),
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
/// (`::ffff:a.b.c.d`), IPv4-translated (`::ffff:0:a.b.c.d`, RFC 2765's SIIT form),
/// IPv4-compatible (`::a.b.c.d`, deprecated but still parsed), the NAT64 well-known prefix
/// (`64:ff9b::a.b.c.d`) and 6to4 (`2002:AABB:CCDD::`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _]
        | [0, 0, 0, 0, 0xffff, 0, _, _]
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
fn check_name(name: &str, policy: &AddressPolicy) -> Result<(), Refusal> {
    if policy.allows_host(name) {
        return Ok(());
    }
    let host = normalize_host(name).to_ascii_lowercase();
    let why = if host == "localhost" || host.ends_with(".localhost") {
        Some("a name of the local machine")
    } else if host.is_empty() || !host.contains('.') {
        Some("a single-label name resolves inside Herald's own network")
    } else if host.split('.').any(str::is_empty) {
        Some("a name with an empty label is not a host on the internet")
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

    fn strict() -> AddressPolicy {
        AddressPolicy::default()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an IP address")
    }

    fn url_kind(s: &str) -> Option<AddressKind> {
        match check_url(&Url::parse(s).expect("a URL"), &strict()) {
            Err(Refusal::Address { kind, .. }) => Some(kind),
            _ => None,
        }
    }

    #[test]
    fn documentation_ranges_are_refused() {
        for (addr, kind) in [
            ("192.0.2.1", AddressKind::Documentation),
            ("198.51.100.7", AddressKind::Documentation),
            ("203.0.113.254", AddressKind::Documentation),
            ("2001:db8::1", AddressKind::Documentation),
            ("2001:db8:ffff::1", AddressKind::Documentation),
        ] {
            assert_eq!(classify(ip(addr)), Some(kind), "{addr}");
            let host = if addr.contains(':') {
                format!("[{addr}]")
            } else {
                addr.to_owned()
            };
            assert_eq!(
                url_kind(&format!("https://{host}/")),
                Some(kind),
                "{addr} in a URL"
            );
        }
        for ok in ["192.0.3.1", "198.51.101.1", "203.0.112.1", "2001:db9::1"] {
            assert_eq!(classify(ip(ok)), None, "{ok}");
        }
    }

    #[test]
    fn ipv4_translated_addresses_are_judged_by_the_ipv4_address() {
        for (addr, kind) in [
            ("::ffff:0:127.0.0.1", AddressKind::Loopback),
            ("::ffff:0:169.254.169.254", AddressKind::LinkLocal),
            ("::ffff:0:a00:5", AddressKind::Private),
        ] {
            assert_eq!(classify(ip(addr)), Some(kind), "{addr}");
            assert_eq!(
                url_kind(&format!("https://[{addr}]/")),
                Some(kind),
                "{addr}"
            );
        }
        assert_eq!(classify(ip("::ffff:0:93.184.215.14")), None);
    }

    #[test]
    fn names_with_extra_dots_are_the_names_they_resolve_as() {
        for name in [
            "localhost..",
            "localhost...",
            "LOCALHOST..",
            "metadata.google.internal..",
        ] {
            assert!(
                matches!(check_host(name, &strict()), Err(Refusal::Host { .. })),
                "{name}: {:?}",
                check_host(name, &strict())
            );
            let url = format!("https://{name}/");
            if let Ok(parsed) = Url::parse(&url) {
                assert!(check_url(&parsed, &strict()).is_err(), "{url}");
            }
        }
        assert!(matches!(
            check_host("smtp..example.com", &strict()),
            Err(Refusal::Host { .. })
        ));
        let policy = AddressPolicy {
            allowed_hosts: vec!["localhost".into()],
            ..strict()
        };
        assert!(check_host("localhost..", &policy).is_ok());
    }

    #[test]
    fn bare_hosts_follow_the_same_rules_as_url_hosts() {
        for (host, kind) in [
            ("127.0.0.1", AddressKind::Loopback),
            ("10.0.0.5", AddressKind::Private),
            ("169.254.169.254", AddressKind::LinkLocal),
            ("::1", AddressKind::Loopback),
            ("[::1]", AddressKind::Loopback),
            ("::ffff:10.0.0.1", AddressKind::Private),
            ("0x7f.1", AddressKind::Loopback),
            ("2130706433", AddressKind::Loopback),
        ] {
            assert_eq!(
                check_host(host, &strict()),
                Err(Refusal::Address {
                    addr: match host.trim_matches(['[', ']']).parse::<IpAddr>() {
                        Ok(ip) => ip,
                        Err(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                    },
                    kind
                }),
                "{host}"
            );
        }
        for host in ["localhost", "mailhog", "smtp.internal", "printer.local"] {
            assert!(
                matches!(check_host(host, &strict()), Err(Refusal::Host { .. })),
                "{host}"
            );
        }
        for ok in ["smtp.example.com", "93.184.215.14", "2606:2800:21f::1"] {
            assert_eq!(check_host(ok, &strict()), Ok(()), "{ok}");
        }
        let local = AddressPolicy {
            allowed: vec!["127.0.0.0/8".parse().expect("net")],
            allowed_hosts: vec!["mailhog".into()],
            ..strict()
        };
        assert_eq!(check_host("127.0.0.1", &local), Ok(()));
        assert_eq!(check_host("mailhog", &local), Ok(()));
    }

    #[test]
    fn reads_the_operators_rules() {
        let vars = [
            ("HERALD_DESTINATION_ALLOW_HTTP", "true"),
            ("HERALD_DESTINATION_ALLOWED_NETWORKS", "127.0.0.0/8, ::1"),
            ("HERALD_DESTINATION_ALLOWED_HOSTS", "receiver.internal"),
        ];
        let mut env = crate::common::config::EnvReader::new(|name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        });
        let policy = AddressPolicy::read(&mut env);
        let policy = env.finish(policy).expect("valid");
        assert!(policy.allow_http);
        assert_eq!(policy.allowed.len(), 2);
        assert_eq!(policy.allowed_hosts, ["receiver.internal"]);

        let mut env = crate::common::config::EnvReader::new(|name: &str| {
            (name == "HERALD_DESTINATION_ALLOWED_NETWORKS").then(|| "10.0.0.0/33".to_owned())
        });
        let policy = AddressPolicy::read(&mut env);
        let err = env.finish(policy).expect_err("invalid");
        assert!(
            err.to_string()
                .contains("HERALD_DESTINATION_ALLOWED_NETWORKS"),
            "{err}"
        );
    }
}
