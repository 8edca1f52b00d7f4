//! Verifying a sending domain against a real DNS server: an authoritative hickory-server on
//! loopback serving an in-memory zone whose records each test changes between runs, queried by
//! `HickoryLookup` over UDP exactly as in production. Also a server that never answers and one
//! that refuses, which must leave the domain pending, not failed.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::rr::rdata::{MX, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordType, RrKey};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::net::{TcpListener, UdpSocket};

use herald::adapters::dns::HickoryLookup;
use herald::domains::records::DnsRecord;
use herald::domains::{
    DkimKeyPair, DkimSelector, DnsLookup, DomainEvent, DomainStatus, LookupError, RecordStatus,
    SendingDomain, SesRegion, dns_records, verify_domain,
};

const ADDED: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);
const AN_HOUR_LATER: OffsetDateTime = datetime!(2025-03-01 13:00 UTC);
const A_WEEK_LATER: OffsetDateTime = datetime!(2025-03-08 12:00 UTC);

/// A long TTL on every record and on negative answers (the SOA minimum), so that a resolver
/// that cached anything would miss the records published between two runs.
const TTL: u32 = 86_400;

/// One key per test binary: RSA key generation is the slowest step.
fn key() -> &'static DkimKeyPair {
    static KEY: OnceLock<DkimKeyPair> = OnceLock::new();
    KEY.get_or_init(|| DkimKeyPair::generate().expect("an RSA key"))
}

fn records() -> Vec<DnsRecord> {
    dns_records(
        &SendingDomain::parse("example.com").expect("domain"),
        &DkimSelector::parse("herald").expect("selector"),
        key().public_key(),
        &SesRegion::parse("eu-west-1").expect("region"),
    )
}

fn name(s: &str) -> Name {
    Name::from_ascii(format!("{}.", s.trim_end_matches('.'))).expect("a DNS name")
}

/// An authoritative DNS server for one zone on 127.0.0.1 (UDP, and TCP on the same port).
struct TestDns {
    zone: Arc<InMemoryZoneHandler<TokioRuntimeProvider>>,
    addr: SocketAddr,
    _server: Server<Catalog>,
}

impl TestDns {
    async fn start(zone_name: &str) -> Self {
        let origin = name(zone_name);
        let zone = Arc::new(InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
            origin.clone(),
            ZoneType::Primary,
            AxfrPolicy::Deny,
        ));
        let soa = SOA::new(
            name(&format!("ns.{zone_name}")),
            name(&format!("hostmaster.{zone_name}")),
            1,
            3600,
            600,
            604_800,
            TTL,
        );
        assert!(
            zone.upsert(Record::from_rdata(origin.clone(), TTL, RData::SOA(soa)), 1)
                .await
        );
        let mut catalog = Catalog::new();
        let handler: Arc<dyn ZoneHandler> = zone.clone();
        catalog.upsert(LowerName::from(&origin), vec![handler]);

        let (udp, tcp) = bind_udp_and_tcp().await;
        let addr = udp.local_addr().expect("address");
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 64);
        Self {
            zone,
            addr,
            _server: server,
        }
    }

    async fn publish_txt(&self, at: &str, strings: Vec<String>) {
        let record = Record::from_rdata(name(at), TTL, RData::TXT(TXT::new(strings)));
        assert!(self.zone.upsert(record, 1).await, "published {at}");
    }

    async fn publish_txt_bytes(&self, at: &str, strings: Vec<&[u8]>) {
        let record = Record::from_rdata(name(at), TTL, RData::TXT(TXT::from_bytes(strings)));
        assert!(self.zone.upsert(record, 1).await, "published {at}");
    }

    async fn publish_mx(&self, at: &str, preference: u16, host: &str) {
        let record = Record::from_rdata(name(at), TTL, RData::MX(MX::new(preference, name(host))));
        assert!(self.zone.upsert(record, 1).await, "published {at}");
    }

    async fn unpublish(&self, at: &str, record_type: RecordType) {
        let key = RrKey::new(LowerName::from(&name(at)), record_type);
        assert!(
            self.zone.records_mut().await.remove(&key).is_some(),
            "had {at}"
        );
    }

    /// Publishes `record` as the customer would: TXT values cut into 255-byte strings.
    async fn publish(&self, record: &DnsRecord) {
        match record.record_type {
            herald::domains::RecordType::Txt => {
                self.publish_txt(&record.name, record.txt_strings()).await;
            }
            herald::domains::RecordType::Mx => {
                let (pref, host) = record.value.split_once(' ').expect("`pref host`");
                self.publish_mx(&record.name, pref.parse().expect("a preference"), host)
                    .await;
            }
        }
    }

    fn lookup(&self) -> HickoryLookup {
        HickoryLookup::new(&[self.addr], Duration::from_secs(2)).expect("a resolver")
    }
}

/// A UDP socket and a TCP listener on the same free loopback port.
async fn bind_udp_and_tcp() -> (UdpSocket, TcpListener) {
    for _ in 0..20 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("a UDP port");
        let addr = udp.local_addr().expect("address");
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("no loopback port free for both UDP and TCP");
}

fn statuses(v: &herald::domains::Verification) -> Vec<RecordStatus> {
    v.records.iter().map(|r| r.status).collect()
}

#[tokio::test]
async fn correct_records_verify_the_domain() {
    let dns = TestDns::start("example.com").await;
    for r in records() {
        dns.publish(&r).await;
    }
    let v = verify_domain(
        &dns.lookup(),
        &records(),
        DomainStatus::Pending,
        ADDED,
        AN_HOUR_LATER,
    )
    .await;
    assert_eq!(statuses(&v), [RecordStatus::Verified; 4]);
    assert_eq!(v.status, DomainStatus::Verified);
    assert_eq!(v.event(DomainStatus::Pending), Some(DomainEvent::Verified));
    // What was found is shown as published: the DKIM record's two strings joined again.
    assert_eq!(v.records[0].found, [records()[0].value.clone()]);
    assert_eq!(
        v.records[1].found,
        ["10 feedback-smtp.eu-west-1.amazonses.com"]
    );
}

#[tokio::test]
async fn multi_string_txt_records_are_joined_before_decoding() {
    let dns = TestDns::start("example.com").await;
    // A DNS host cuts a long value every 255 bytes, here in the middle of a two-byte "é".
    let value = format!("v=DMARC1; p=none; {}", "é".repeat(200));
    let bytes = value.as_bytes();
    assert!(
        !value.is_char_boundary(255),
        "the cut falls inside a character"
    );
    dns.publish_txt_bytes("_dmarc.example.com", bytes.chunks(255).collect())
        .await;
    assert_eq!(
        dns.lookup().txt("_dmarc.example.com").await,
        Ok(vec![value]),
        "one record, its strings joined whole"
    );
}

#[tokio::test]
async fn wrong_and_missing_records_then_published_later() {
    let dns = TestDns::start("example.com").await;
    let expected = records();
    let (dkim, mx, spf, dmarc) = (&expected[0], &expected[1], &expected[2], &expected[3]);

    // A stale key at the selector (split in two strings, as long values are), the MX record,
    // no SPF record, and the customer's own DMARC policy.
    let stale = format!(
        "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA{}",
        "x".repeat(300)
    );
    dns.publish_txt(
        &dkim.name,
        vec![stale[..255].to_owned(), stale[255..].to_owned()],
    )
    .await;
    dns.publish(mx).await;
    dns.publish_txt(&dmarc.name, vec!["v=DMARC1; p=quarantine; pct=100".into()])
        .await;
    // Something else lives at the DKIM name's parent, which must not confuse anything.
    dns.publish_txt("example.com", vec!["google-site-verification=abc".into()])
        .await;

    let lookup = dns.lookup();
    let first = verify_domain(
        &lookup,
        &expected,
        DomainStatus::Pending,
        ADDED,
        AN_HOUR_LATER,
    )
    .await;
    assert_eq!(
        statuses(&first),
        [
            RecordStatus::Mismatch,
            RecordStatus::Verified,
            RecordStatus::Missing,
            RecordStatus::Verified
        ]
    );
    assert_eq!(first.records[0].found, [stale], "the wrong value, joined");
    assert!(first.records[2].found.is_empty());
    assert_eq!(first.status, DomainStatus::Pending);
    assert_eq!(first.event(DomainStatus::Pending), None);

    // The customer fixes the DKIM record and adds the SPF record; the same resolver, kept warm
    // as a Lambda keeps it, sees both on the next run despite the day-long TTLs.
    dns.unpublish(&dkim.name, RecordType::TXT).await;
    dns.publish(dkim).await;
    dns.publish(spf).await;
    let second = verify_domain(&lookup, &expected, first.status, ADDED, AN_HOUR_LATER).await;
    assert_eq!(statuses(&second), [RecordStatus::Verified; 4]);
    assert_eq!(second.status, DomainStatus::Verified);
    assert_eq!(second.event(first.status), Some(DomainEvent::Verified));
}

#[tokio::test]
async fn records_still_missing_after_72_hours_fail_the_domain() {
    let dns = TestDns::start("example.com").await;
    let expected = records();
    dns.publish(&expected[0]).await;

    let v = verify_domain(
        &dns.lookup(),
        &expected,
        DomainStatus::Pending,
        ADDED,
        A_WEEK_LATER,
    )
    .await;
    assert_eq!(
        statuses(&v),
        [
            RecordStatus::Verified,
            RecordStatus::Missing,
            RecordStatus::Missing,
            RecordStatus::Missing
        ]
    );
    assert_eq!(v.status, DomainStatus::Failed);
    assert_eq!(v.event(DomainStatus::Pending), Some(DomainEvent::Failed));
}

#[tokio::test]
async fn nxdomain_and_nodata_are_both_not_found() {
    let dns = TestDns::start("example.com").await;
    dns.publish_mx(
        "bounce.example.com",
        10,
        "feedback-smtp.eu-west-1.amazonses.com",
    )
    .await;
    let lookup = dns.lookup();
    // The name exists with an MX record only: NOERROR without TXT records.
    assert_eq!(
        lookup.txt("bounce.example.com").await,
        Err(LookupError::NotFound)
    );
    // No such name at all.
    assert_eq!(
        lookup.txt("nothing.example.com").await,
        Err(LookupError::NotFound)
    );
    assert_eq!(
        lookup.mx("bounce.example.com.").await,
        Ok(vec![(10, "feedback-smtp.eu-west-1.amazonses.com.".into())])
    );
}

/// A UDP socket that reads every query and never answers (and no TCP listener behind it).
async fn silent_server() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("a UDP port");
    let addr = socket.local_addr().expect("address");
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while socket.recv_from(&mut buf).await.is_ok() {}
    });
    addr
}

#[tokio::test]
async fn a_server_that_never_answers_leaves_the_domain_pending_even_past_72_hours() {
    let addr = silent_server().await;
    let timeout = Duration::from_millis(300);
    let lookup = HickoryLookup::new(&[addr], timeout).expect("a resolver");

    let started = Instant::now();
    let v = verify_domain(
        &lookup,
        &records(),
        DomainStatus::Pending,
        ADDED,
        A_WEEK_LATER,
    )
    .await;
    let took = started.elapsed();

    assert_eq!(statuses(&v), [RecordStatus::Unknown; 4]);
    assert!(v.records.iter().all(|r| r.found.is_empty()));
    assert_eq!(
        v.status,
        DomainStatus::Pending,
        "a DNS outage never fails a domain"
    );
    assert_eq!(v.event(DomainStatus::Pending), None);
    // The lookups run at once, each giving up after its timeout and one retry.
    assert!(took < Duration::from_secs(5), "took {took:?}");

    // A failed domain is not revived by an outage either.
    let v = verify_domain(
        &lookup,
        &records(),
        DomainStatus::Failed,
        ADDED,
        A_WEEK_LATER,
    )
    .await;
    assert_eq!(v.status, DomainStatus::Failed);
    assert_eq!(v.event(DomainStatus::Failed), None);
}

#[tokio::test]
async fn a_server_that_refuses_is_unknown_not_missing() {
    // Authoritative for another zone only: it answers REFUSED for example.com.
    let dns = TestDns::start("example.org").await;
    let lookup = dns.lookup();
    assert!(
        matches!(
            lookup.txt("herald._domainkey.example.com").await,
            Err(LookupError::Unavailable(_))
        ),
        "REFUSED tells nothing about the record"
    );
    let v = verify_domain(
        &lookup,
        &records(),
        DomainStatus::Pending,
        ADDED,
        A_WEEK_LATER,
    )
    .await;
    assert_eq!(statuses(&v), [RecordStatus::Unknown; 4]);
    assert_eq!(v.status, DomainStatus::Pending);
}
