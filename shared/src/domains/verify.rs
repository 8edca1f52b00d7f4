//! Verifying a sending domain's DNS records: the [`DnsLookup`] port, the pure rules that turn
//! what DNS answered into a status per record and a decision for the domain, and
//! [`verify_domain`], which the scheduled run and "verify now" both call.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domains::records::{DnsRecord, RecordPurpose, RecordType};

/// Why a lookup gave no records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// DNS answered that there is no such record: NXDOMAIN, or the name exists without records
    /// of that type. The record is missing.
    #[error("no such record")]
    NotFound,
    /// DNS did not answer usefully (timeout, SERVFAIL, REFUSED, network error): nothing is known
    /// about the record, and no decision may rest on it.
    #[error("DNS did not answer: {0}")]
    Unavailable(String),
}

/// Looks records up in public DNS. Names are fully qualified, with or without the final dot.
#[async_trait]
pub trait DnsLookup: Send + Sync {
    /// The TXT records at `name`, one string each: a record's character-strings are joined
    /// without separator (RFC 7208 §3.3, RFC 6376 §3.6.2.2), since values longer than 255 bytes
    /// are published in pieces.
    async fn txt(&self, name: &str) -> Result<Vec<String>, LookupError>;

    /// The MX records at `name`: preference and exchange host.
    async fn mx(&self, name: &str) -> Result<Vec<(u16, String)>, LookupError>;
}

/// What one lookup found, by record type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Txt(Vec<String>),
    Mx(Vec<(u16, String)>),
}

/// Where one record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordStatus {
    /// Not checked yet: the domain was just added.
    Pending,
    /// Published as expected.
    Verified,
    /// DNS says there is no such record.
    Missing,
    /// Records are published at that name, but none is the expected one.
    Mismatch,
    /// DNS did not answer: the record may or may not be there.
    Unknown,
}

/// A record to publish, with what the last check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckedRecord {
    #[serde(flatten)]
    pub record: DnsRecord,
    pub status: RecordStatus,
    /// The values found at the record's name and type (TXT strings joined; MX as
    /// `<preference> <host>`), so that a customer sees what to fix. Empty unless
    /// [`RecordStatus::Verified`] or [`RecordStatus::Mismatch`].
    #[serde(default)]
    pub found: Vec<String>,
}

impl CheckedRecord {
    /// A record not checked yet.
    pub fn pending(record: DnsRecord) -> Self {
        Self {
            record,
            status: RecordStatus::Pending,
            found: Vec::new(),
        }
    }
}

/// Where a domain stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainStatus {
    /// Added, its required records not (yet) all found.
    Pending,
    /// Every required record was found: the account may send from it.
    Verified,
    /// Not verified within [`FAIL_AFTER`] of being added.
    Failed,
}

/// How long a domain may stay pending before it fails: SES gives up on a BYODKIM identity's
/// DNS after 72 hours, and so does Herald.
pub const FAIL_AFTER: time::Duration = time::Duration::hours(72);

/// The event a status change publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainEvent {
    Verified,
    Failed,
}

impl DomainEvent {
    /// The event's name, as subscriptions select it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Verified => "domain.verified",
            Self::Failed => "domain.failed",
        }
    }
}

/// The outcome of one verification: each record's status and the domain's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub status: DomainStatus,
    pub records: Vec<CheckedRecord>,
}

impl Verification {
    /// The event to publish when the domain was `previous` before this verification: one per
    /// change into `verified` or `failed`, none when nothing changed.
    pub fn event(&self, previous: DomainStatus) -> Option<DomainEvent> {
        match (previous, self.status) {
            (p, s) if p == s => None,
            (_, DomainStatus::Verified) => Some(DomainEvent::Verified),
            (_, DomainStatus::Failed) => Some(DomainEvent::Failed),
            (_, DomainStatus::Pending) => None,
        }
    }
}

/// Looks up every record of a domain (all at once) and decides, as [`assess`] does. The
/// scheduled run and "verify now" both call this, so they can never disagree.
pub async fn verify_domain(
    dns: &dyn DnsLookup,
    records: &[DnsRecord],
    previous: DomainStatus,
    added_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Verification {
    let lookups = records.iter().map(|r| async move {
        let answer = match r.record_type {
            RecordType::Txt => dns.txt(&r.name).await.map(Answer::Txt),
            RecordType::Mx => dns.mx(&r.name).await.map(Answer::Mx),
        };
        if let Err(LookupError::Unavailable(why)) = &answer {
            tracing::warn!(name = %r.name, record_type = ?r.record_type, %why, "DNS lookup failed");
        }
        (r.clone(), answer)
    });
    let checks = futures::future::join_all(lookups).await;
    assess(checks, previous, added_at, now)
}

/// The pure part of a verification: each record's status from what its lookup returned, then
/// the domain's ([`decide`]).
pub fn assess(
    checks: impl IntoIterator<Item = (DnsRecord, Result<Answer, LookupError>)>,
    previous: DomainStatus,
    added_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Verification {
    let records: Vec<CheckedRecord> = checks
        .into_iter()
        .map(|(record, answer)| check_record(record, answer))
        .collect();
    Verification {
        status: decide(&records, previous, added_at, now),
        records,
    }
}

/// The domain's status after a check:
///
/// - `verified` once every required record is verified (at least one being required). A
///   verified domain stays verified: whether it still may send is SES's call from then on, and
///   a record that went missing, or one flaky answer, must not stop an account's mail; the
///   per-record statuses still show the problem.
/// - otherwise, when any required record is `unknown` (or not checked), nothing changes: a DNS
///   outage never fails a domain, even past [`FAIL_AFTER`]; failure waits for a run in which
///   DNS actually answered for every required record.
/// - otherwise `failed` from [`FAIL_AFTER`] after `added_at` on, `pending` before. A failed
///   domain whose records appear later still becomes verified ("verify now" after a fix).
pub fn decide(
    records: &[CheckedRecord],
    previous: DomainStatus,
    added_at: OffsetDateTime,
    now: OffsetDateTime,
) -> DomainStatus {
    if previous == DomainStatus::Verified {
        return DomainStatus::Verified;
    }
    let mut required = records.iter().filter(|r| r.record.required).peekable();
    if required.peek().is_none() {
        return previous;
    }
    let statuses: Vec<RecordStatus> = required.map(|r| r.status).collect();
    if statuses.iter().all(|s| *s == RecordStatus::Verified) {
        DomainStatus::Verified
    } else if statuses
        .iter()
        .any(|s| matches!(s, RecordStatus::Unknown | RecordStatus::Pending))
    {
        previous
    } else if now - added_at >= FAIL_AFTER {
        DomainStatus::Failed
    } else {
        DomainStatus::Pending
    }
}

/// One record's status from its lookup.
pub fn check_record(record: DnsRecord, answer: Result<Answer, LookupError>) -> CheckedRecord {
    let (status, found) = match answer {
        Err(LookupError::NotFound) => (RecordStatus::Missing, Vec::new()),
        Err(LookupError::Unavailable(_)) => (RecordStatus::Unknown, Vec::new()),
        Ok(answer) => match (record.record_type, answer) {
            (RecordType::Txt, Answer::Txt(found)) => {
                let ok = match record.purpose {
                    RecordPurpose::Dkim => dkim_matches(&record.value, &found),
                    RecordPurpose::MailFromSpf => spf_includes_ses(&record.value, &found),
                    RecordPurpose::Dmarc => has_one_dmarc_record(&found),
                    // An MX purpose on a TXT record cannot come from `dns_records`.
                    RecordPurpose::MailFromMx => false,
                };
                (status_of(ok, &found), found)
            }
            (RecordType::Mx, Answer::Mx(found)) => {
                let ok = mx_matches(&record.value, &found);
                let found: Vec<String> = found
                    .into_iter()
                    .map(|(pref, host)| format!("{pref} {}", normalize_host(&host)))
                    .collect();
                (status_of(ok, &found), found)
            }
            // An answer of another type than asked for: nothing is known about this record.
            _ => (RecordStatus::Unknown, Vec::new()),
        },
    };
    CheckedRecord {
        record,
        status,
        found,
    }
}

fn status_of(matches: bool, found: &[String]) -> RecordStatus {
    if matches {
        RecordStatus::Verified
    } else if found.is_empty() {
        RecordStatus::Missing
    } else {
        RecordStatus::Mismatch
    }
}

/// A DKIM key record's tags (RFC 6376 §3.2): `name=value` separated by `;`, whitespace around
/// either ignored.
fn tag<'a>(record: &'a str, name: &str) -> Option<&'a str> {
    record.split(';').find_map(|t| {
        let (k, v) = t.split_once('=')?;
        (k.trim() == name).then(|| v.trim())
    })
}

fn without_whitespace(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Any record found carries the expected public key (`p=`, compared without whitespace, which
/// RFC 6376 allows inside it), and is not of another version (`v=DKIM1`, case-sensitive) or key
/// type (`k=rsa`, the default).
fn dkim_matches(expected: &str, found: &[String]) -> bool {
    let Some(want) = tag(expected, "p").map(without_whitespace) else {
        return false;
    };
    if want.is_empty() {
        return false;
    }
    found.iter().any(|f| {
        tag(f, "v").is_none_or(|v| v == "DKIM1")
            && tag(f, "k").is_none_or(|k| k.eq_ignore_ascii_case("rsa"))
            && tag(f, "p").is_some_and(|p| without_whitespace(p) == want)
    })
}

/// `v=spf1` followed by a space or nothing (RFC 7208 §4.5), in any case.
fn is_spf(record: &str) -> bool {
    let r = record.as_bytes();
    r.len() >= 6 && r[..6].eq_ignore_ascii_case(b"v=spf1") && r.get(6).is_none_or(|b| *b == b' ')
}

/// Exactly one SPF record (two make SPF fail with a permerror, RFC 7208 §4.5), and it includes
/// the expected record's `include:` (the `+` qualifier allowed). Other mechanisms and the `all`
/// qualifier are the customer's choice.
fn spf_includes_ses(expected: &str, found: &[String]) -> bool {
    let Some(include) = expected
        .split_whitespace()
        .find(|t| t.to_ascii_lowercase().starts_with("include:"))
    else {
        return false;
    };
    let spf: Vec<&String> = found.iter().filter(|f| is_spf(f)).collect();
    match spf.as_slice() {
        [only] => only.split_whitespace().any(|term| {
            term.strip_prefix('+')
                .unwrap_or(term)
                .eq_ignore_ascii_case(include)
        }),
        _ => false,
    }
}

/// Exactly one record starting with `v=DMARC1` (RFC 7489 §6.6.3: with two, no policy applies;
/// the version is case-sensitive, §6.4).
/// Its policy is the customer's choice: any DMARC record satisfies the recommendation.
fn has_one_dmarc_record(found: &[String]) -> bool {
    let is_dmarc = |record: &String| {
        let first = record.split(';').next().unwrap_or_default();
        first
            .split_once('=')
            .is_some_and(|(k, v)| k.trim() == "v" && v.trim() == "DMARC1")
    };
    found.iter().filter(|f| is_dmarc(f)).count() == 1
}

/// Host names compare without case and without the final dot.
fn normalize_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Some MX record points at the expected host; the preference does not matter (bounces reach
/// SES whatever it is).
fn mx_matches(expected: &str, found: &[(u16, String)]) -> bool {
    let Some(want) = expected.split_whitespace().nth(1).map(normalize_host) else {
        return false;
    };
    found.iter().any(|(_, host)| normalize_host(host) == want)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::domains::memory::MemoryDns;
    use crate::domains::records::{DMARC_RECOMMENDED, MAIL_FROM_SPF, SesRegion, dns_records};
    use crate::domains::{DkimPublicKey, DkimSelector, SendingDomain};

    // A real 2048-bit SPKI, so these tests need no key generation.
    const KEY: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA7C1vCi1+ayk+QftKm5oXHfrSXycL3fNPczVq2+b/\
        88C4R5yXk0XzBYqMRPFDeXaMKgZCNnkParQC+BYnaXGZzM7Migd2BO1W5dO4f6kcrGkc7mPX5eT1HNomImmC\
        K+fPA1WCulSucR08x633q9cm7Qo33uead1FvVB46MCWECHuaBHH5SNjBSG7VbIATRGQBQQrHqXuyyrCrZDtq\
        3LPjhK6DkU9oNuwSB4shcuo9YPqYyX9RjoFFDlMqHYAXEXkCb8D3FaFMHwxRo3q5hoWBUMqwuNAleM3imJlq\
        jtsWyDD/DpJ5t3HlxcsiDXWsIW6pRiV0FKyKDjSvEwrYmykKVwIDAQAB";

    const ADDED: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);

    fn records() -> Vec<DnsRecord> {
        dns_records(
            &SendingDomain::parse("example.com").expect("domain"),
            &DkimSelector::parse("herald").expect("selector"),
            &DkimPublicKey::parse(KEY).expect("key"),
            &SesRegion::parse("eu-west-1").expect("region"),
        )
    }

    fn dkim() -> DnsRecord {
        records().swap_remove(0)
    }
    fn mx() -> DnsRecord {
        records().swap_remove(1)
    }
    fn spf() -> DnsRecord {
        records().swap_remove(2)
    }
    fn dmarc() -> DnsRecord {
        records().swap_remove(3)
    }

    fn txt(values: &[&str]) -> Result<Answer, LookupError> {
        Ok(Answer::Txt(
            values.iter().map(|v| (*v).to_owned()).collect(),
        ))
    }

    fn status(record: DnsRecord, answer: Result<Answer, LookupError>) -> RecordStatus {
        check_record(record, answer).status
    }

    fn unavailable() -> Result<Answer, LookupError> {
        Err(LookupError::Unavailable("request timed out".into()))
    }

    #[test]
    fn dkim_compares_the_public_key_ignoring_whitespace() {
        let value = format!("v=DKIM1; k=rsa; p={KEY}");
        assert_eq!(status(dkim(), txt(&[&value])), RecordStatus::Verified);
        // Whitespace inside p= and around tags, no v= or k= (both optional), other tags added.
        let (a, b) = KEY.split_at(100);
        for ok in [
            format!("v=DKIM1;k=rsa;p={a} {b}"),
            format!("  v = DKIM1 ;  k = rsa ; p = {a}\t{b} ;"),
            format!("p={KEY}"),
            format!("v=DKIM1; k=RSA; p={KEY}"),
            format!("v=DKIM1; h=sha256; k=rsa; s=email; t=s; p={KEY}"),
        ] {
            assert_eq!(status(dkim(), txt(&[&ok])), RecordStatus::Verified, "{ok}");
        }
        // One matching record among others at the same name is enough.
        assert_eq!(
            status(dkim(), txt(&["google-site-verification=abc", &value])),
            RecordStatus::Verified
        );
    }

    #[test]
    fn dkim_with_another_key_version_or_type_is_a_mismatch_showing_what_was_found() {
        let other_key = KEY.replace("AQAB", "AQAC");
        for bad in [
            format!("v=DKIM1; k=rsa; p={other_key}"),
            format!("v=DKIM1; k=rsa; p={}", &KEY[..200]),
            format!("v=DKIM2; k=rsa; p={KEY}"),
            format!("v=DKIM1; k=ed25519; p={KEY}"),
            "v=DKIM1; k=rsa; p=".to_owned(),
            format!("\"v=DKIM1; k=rsa; p={KEY}\""),
        ] {
            let checked = check_record(dkim(), txt(&[&bad]));
            assert_eq!(checked.status, RecordStatus::Mismatch, "{bad}");
            assert_eq!(checked.found, [bad]);
        }
    }

    #[test]
    fn not_found_is_missing_and_unavailable_is_unknown() {
        for r in records() {
            let checked = check_record(r.clone(), Err(LookupError::NotFound));
            assert_eq!(
                (checked.status, checked.found.len()),
                (RecordStatus::Missing, 0)
            );
            assert_eq!(status(r.clone(), unavailable()), RecordStatus::Unknown);
        }
        // An empty answer is no record either.
        assert_eq!(status(dkim(), txt(&[])), RecordStatus::Missing);
        assert_eq!(status(mx(), Ok(Answer::Mx(vec![]))), RecordStatus::Missing);
        // An answer of the wrong type tells nothing.
        assert_eq!(status(mx(), txt(&["x"])), RecordStatus::Unknown);
        assert_eq!(
            status(dkim(), Ok(Answer::Mx(vec![]))),
            RecordStatus::Unknown
        );
    }

    #[test]
    fn mx_compares_the_host_without_case_or_final_dot() {
        for host in [
            "feedback-smtp.eu-west-1.amazonses.com",
            "feedback-smtp.eu-west-1.amazonses.com.",
            "Feedback-SMTP.EU-West-1.AmazonSES.com.",
        ] {
            let checked = check_record(mx(), Ok(Answer::Mx(vec![(10, host.into())])));
            assert_eq!(checked.status, RecordStatus::Verified, "{host}");
            assert_eq!(checked.found, ["10 feedback-smtp.eu-west-1.amazonses.com"]);
        }
        // Any preference; other MX records beside it do not matter.
        assert_eq!(
            status(
                mx(),
                Ok(Answer::Mx(vec![
                    (5, "mx.example.com.".into()),
                    (20, "feedback-smtp.eu-west-1.amazonses.com.".into())
                ]))
            ),
            RecordStatus::Verified
        );
        let wrong = check_record(
            mx(),
            Ok(Answer::Mx(vec![(
                10,
                "feedback-smtp.us-east-1.amazonses.com.".into(),
            )])),
        );
        assert_eq!(wrong.status, RecordStatus::Mismatch);
        assert_eq!(wrong.found, ["10 feedback-smtp.us-east-1.amazonses.com"]);
    }

    #[test]
    fn spf_needs_one_record_including_ses() {
        for ok in [
            MAIL_FROM_SPF,
            "v=spf1 include:amazonses.com -all",
            "V=SPF1 +include:AmazonSES.com ~all",
            "v=spf1 ip4:192.0.2.1 include:amazonses.com include:_spf.google.com ~all",
        ] {
            assert_eq!(status(spf(), txt(&[ok])), RecordStatus::Verified, "{ok}");
        }
        assert_eq!(
            status(spf(), txt(&["some-verification=1", MAIL_FROM_SPF])),
            RecordStatus::Verified,
            "other TXT records beside the SPF record"
        );
        for bad in [
            &["v=spf1 include:_spf.google.com ~all"][..],
            &["v=spf1 -include:amazonses.com ~all"],
            &["v=spf1 include:amazonses.com.evil.com ~all"],
            &["v=spf10 include:amazonses.com ~all"],
            &["spf1 include:amazonses.com"],
            &[MAIL_FROM_SPF, "v=spf1 include:other.com ~all"],
        ] {
            let checked = check_record(spf(), txt(bad));
            assert_eq!(checked.status, RecordStatus::Mismatch, "{bad:?}");
            assert_eq!(checked.found, bad);
        }
    }

    #[test]
    fn dmarc_needs_exactly_one_dmarc_record_of_any_policy() {
        for ok in [
            DMARC_RECOMMENDED,
            "v=DMARC1; p=reject; rua=mailto:dmarc@example.com",
            "v = DMARC1 ; p=quarantine",
        ] {
            assert_eq!(status(dmarc(), txt(&[ok])), RecordStatus::Verified, "{ok}");
        }
        for bad in [
            &["p=none; v=DMARC1"][..],
            &["v=dmarc1; p=none"],
            &["v=spf1 -all"],
            &["v=DMARC1; p=none", "v=DMARC1; p=reject"],
        ] {
            assert_eq!(status(dmarc(), txt(bad)), RecordStatus::Mismatch, "{bad:?}");
        }
    }

    fn all_verified() -> Vec<(DnsRecord, Result<Answer, LookupError>)> {
        let dkim_value = format!("v=DKIM1; k=rsa; p={KEY}");
        vec![
            (dkim(), txt(&[&dkim_value])),
            (
                mx(),
                Ok(Answer::Mx(vec![(
                    10,
                    "feedback-smtp.eu-west-1.amazonses.com.".into(),
                )])),
            ),
            (spf(), txt(&[MAIL_FROM_SPF])),
            (dmarc(), txt(&[DMARC_RECOMMENDED])),
        ]
    }

    fn with(
        i: usize,
        answer: Result<Answer, LookupError>,
    ) -> Vec<(DnsRecord, Result<Answer, LookupError>)> {
        let mut checks = all_verified();
        checks[i].1 = answer;
        checks
    }

    const SOON: OffsetDateTime = datetime!(2025-03-01 13:00 UTC);
    const JUST_BEFORE: OffsetDateTime = datetime!(2025-03-04 11:59:59 UTC);
    const AT_72H: OffsetDateTime = datetime!(2025-03-04 12:00 UTC);
    const LATE: OffsetDateTime = datetime!(2025-03-10 12:00 UTC);

    #[test]
    fn verified_when_every_required_record_is() {
        let v = assess(all_verified(), DomainStatus::Pending, ADDED, SOON);
        assert_eq!(v.status, DomainStatus::Verified);
        assert!(v.records.iter().all(|r| r.status == RecordStatus::Verified));
        // DMARC is recommended only: missing, unknown or wrong, the domain is still verified.
        for answer in [
            Err(LookupError::NotFound),
            unavailable(),
            txt(&["v=spf1 -all"]),
        ] {
            let v = assess(with(3, answer), DomainStatus::Pending, ADDED, SOON);
            assert_eq!(v.status, DomainStatus::Verified);
        }
        // Past 72 hours, and from failed, matching records still verify the domain.
        let v = assess(all_verified(), DomainStatus::Failed, ADDED, LATE);
        assert_eq!(v.status, DomainStatus::Verified);
    }

    #[test]
    fn pending_until_72_hours_then_failed() {
        for i in 0..3 {
            let wrong = if i == 1 {
                Ok(Answer::Mx(vec![(10, "mx.example.com.".into())]))
            } else {
                txt(&["v=DKIM1; p=x"])
            };
            for answer in [Err(LookupError::NotFound), wrong] {
                let checks = || with(i, answer.clone());
                assert_eq!(
                    assess(checks(), DomainStatus::Pending, ADDED, SOON).status,
                    DomainStatus::Pending
                );
                assert_eq!(
                    assess(checks(), DomainStatus::Pending, ADDED, JUST_BEFORE).status,
                    DomainStatus::Pending
                );
                assert_eq!(
                    assess(checks(), DomainStatus::Pending, ADDED, AT_72H).status,
                    DomainStatus::Failed
                );
                assert_eq!(
                    assess(checks(), DomainStatus::Failed, ADDED, LATE).status,
                    DomainStatus::Failed
                );
            }
        }
    }

    #[test]
    fn a_dns_outage_never_fails_a_domain() {
        for i in 0..3 {
            let v = assess(with(i, unavailable()), DomainStatus::Pending, ADDED, LATE);
            assert_eq!(v.status, DomainStatus::Pending, "record {i} unknown");
            assert_eq!(v.records[i].status, RecordStatus::Unknown);
        }
        // Even when another required record is definitely missing.
        let mut checks = with(0, Err(LookupError::NotFound));
        checks[1].1 = unavailable();
        assert_eq!(
            assess(checks, DomainStatus::Pending, ADDED, LATE).status,
            DomainStatus::Pending
        );
        // And everything unknown, long after: still pending; the next run that gets answers
        // decides.
        let all_unknown: Vec<_> = records().into_iter().map(|r| (r, unavailable())).collect();
        let v = assess(all_unknown, DomainStatus::Pending, ADDED, LATE);
        assert_eq!(v.status, DomainStatus::Pending);
        assert_eq!(v.event(DomainStatus::Pending), None);
        let v = assess(
            with(0, Err(LookupError::NotFound)),
            DomainStatus::Pending,
            ADDED,
            LATE,
        );
        assert_eq!(v.status, DomainStatus::Failed);
    }

    #[test]
    fn a_verified_domain_stays_verified() {
        let v = assess(
            with(0, Err(LookupError::NotFound)),
            DomainStatus::Verified,
            ADDED,
            LATE,
        );
        assert_eq!(v.status, DomainStatus::Verified);
        assert_eq!(
            v.records[0].status,
            RecordStatus::Missing,
            "the record still tells"
        );
        assert_eq!(v.event(DomainStatus::Verified), None);
    }

    #[test]
    fn not_checked_records_decide_nothing() {
        let pending: Vec<CheckedRecord> =
            records().into_iter().map(CheckedRecord::pending).collect();
        assert_eq!(
            decide(&pending, DomainStatus::Pending, ADDED, LATE),
            DomainStatus::Pending
        );
        let optional_only: Vec<CheckedRecord> = vec![CheckedRecord {
            status: RecordStatus::Verified,
            ..CheckedRecord::pending(dmarc())
        }];
        assert_eq!(
            decide(&optional_only, DomainStatus::Pending, ADDED, SOON),
            DomainStatus::Pending,
            "no required record: never verified"
        );
        assert_eq!(
            decide(&[], DomainStatus::Pending, ADDED, LATE),
            DomainStatus::Pending
        );
    }

    #[test]
    fn each_status_change_publishes_one_event() {
        let verified = assess(all_verified(), DomainStatus::Pending, ADDED, SOON);
        assert_eq!(
            verified.event(DomainStatus::Pending),
            Some(DomainEvent::Verified)
        );
        assert_eq!(
            verified.event(DomainStatus::Failed),
            Some(DomainEvent::Verified)
        );
        let failed = assess(
            with(0, Err(LookupError::NotFound)),
            DomainStatus::Pending,
            ADDED,
            LATE,
        );
        assert_eq!(
            failed.event(DomainStatus::Pending),
            Some(DomainEvent::Failed)
        );
        assert_eq!(failed.event(DomainStatus::Failed), None);
        let pending = assess(
            with(0, Err(LookupError::NotFound)),
            DomainStatus::Pending,
            ADDED,
            SOON,
        );
        assert_eq!(pending.event(DomainStatus::Pending), None);

        for e in [DomainEvent::Verified, DomainEvent::Failed] {
            assert!(crate::events::name::EventName::parse(e.name()).is_ok());
        }
        assert_eq!(DomainEvent::Failed.name(), "domain.failed");
    }

    #[test]
    fn serializes_camel_case_with_lowercase_statuses() {
        let v = assess(
            with(1, Err(LookupError::NotFound)),
            DomainStatus::Pending,
            ADDED,
            SOON,
        );
        let j = serde_json::to_value(&v).expect("json");
        assert_eq!(j["status"], json!("pending"));
        assert_eq!(
            j["records"][1],
            json!({
                "type": "MX",
                "name": "bounce.example.com",
                "value": "10 feedback-smtp.eu-west-1.amazonses.com",
                "purpose": "mailFromMx",
                "required": true,
                "status": "missing",
                "found": []
            })
        );
        assert_eq!(j["records"][2]["found"], json!([MAIL_FROM_SPF]));
        let back: Verification = serde_json::from_value(j).expect("back");
        assert_eq!(back, v);
    }

    #[tokio::test]
    async fn verify_domain_looks_every_record_up() {
        let dns = MemoryDns::new();
        let dkim_value = format!("v=DKIM1; k=rsa; p={KEY}");
        dns.set_txt("herald._domainkey.example.com", [dkim_value.as_str()]);
        dns.set_mx(
            "bounce.example.com.",
            [(10, "feedback-smtp.eu-west-1.amazonses.com.")],
        );
        dns.set_unavailable("_dmarc.example.com");

        let v = verify_domain(&dns, &records(), DomainStatus::Pending, ADDED, SOON).await;
        let statuses: Vec<_> = v.records.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [
                RecordStatus::Verified,
                RecordStatus::Verified,
                RecordStatus::Missing,
                RecordStatus::Unknown
            ]
        );
        assert_eq!(v.status, DomainStatus::Pending);

        dns.set_txt("bounce.example.com", [MAIL_FROM_SPF]);
        let v = verify_domain(&dns, &records(), DomainStatus::Pending, ADDED, SOON).await;
        assert_eq!(v.status, DomainStatus::Verified);
        assert_eq!(v.event(DomainStatus::Pending), Some(DomainEvent::Verified));
    }
}
