//! The DNS records a customer publishes for a sending domain, each with what it is for.

use serde::{Deserialize, Serialize};

use crate::domains::dkim::DkimPublicKey;
use crate::domains::name::SendingDomain;
use crate::domains::selector::DkimSelector;

/// The label of the custom MAIL FROM domain under the sending domain: bounces and complaints
/// come back to `bounce.<domain>`, and SPF is checked against it.
///
/// `bounce` rather than `mail`: SES requires a MAIL FROM domain that is used for nothing else
/// (its MX must point at SES), and `mail.<domain>` is very often the customer's own mail host
/// already, with MX records of its own.
pub const MAIL_FROM_LABEL: &str = "bounce";

/// The SPF record of the MAIL FROM domain, as SES documents it: SES's senders may send for it.
pub const MAIL_FROM_SPF: &str = "v=spf1 include:amazonses.com ~all";

/// The DMARC record Herald recommends: monitoring only (`p=none`), so that publishing it can
/// never make mail undeliverable, and no `rua=`: Herald runs no mailbox for aggregate reports,
/// and pointing them at a mailbox of the customer's that may not exist helps nobody. Customers
/// who want reports or enforcement write their own; any valid DMARC record satisfies the
/// check.
pub const DMARC_RECOMMENDED: &str = "v=DMARC1; p=none;";

/// The preference of the MAIL FROM MX record, as SES documents it.
pub const MAIL_FROM_MX_PREFERENCE: u16 = 10;

/// A DNS TXT record carries strings of at most 255 bytes; longer values are split.
pub const TXT_STRING_MAX: usize = 255;

/// The AWS region SES sends from, which names the feedback host of the MAIL FROM MX record
/// (`feedback-smtp.<region>.amazonses.com`): a DNS label of lowercase letters, digits and
/// hyphens, such as `eu-west-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SesRegion(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be an AWS region such as eu-west-1")]
pub struct InvalidSesRegion;

impl SesRegion {
    pub fn parse(s: &str) -> Result<Self, InvalidSesRegion> {
        let ok = (2..=32).contains(&s.len())
            && s.contains('-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidSesRegion)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host that receives the MAIL FROM domain's bounces and complaints.
    pub fn feedback_host(&self) -> String {
        format!("feedback-smtp.{}.amazonses.com", self.0)
    }
}

impl TryFrom<String> for SesRegion {
    type Error = InvalidSesRegion;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<SesRegion> for String {
    fn from(v: SesRegion) -> String {
        v.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    Txt,
    Mx,
}

/// What a record is for; also how a record found in DNS is compared with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RecordPurpose {
    /// The DKIM public key SES's signatures are checked against.
    Dkim,
    /// Routes bounces and complaints for the custom MAIL FROM domain to SES.
    MailFromMx,
    /// Authorises SES to send with the custom MAIL FROM domain (SPF).
    MailFromSpf,
    /// A DMARC policy for the domain: recommended, not required.
    Dmarc,
}

/// One record to publish. Names are fully qualified, in ASCII, without the trailing dot. An MX
/// record's value is `<preference> <host>`, as DNS providers' forms and zone files write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsRecord {
    #[serde(rename = "type")]
    pub record_type: RecordType,
    pub name: String,
    pub value: String,
    pub purpose: RecordPurpose,
    /// Whether the domain is verified only once this record is published.
    pub required: bool,
}

impl DnsRecord {
    /// The value as the character-strings of a TXT record: cut into pieces of at most
    /// [`TXT_STRING_MAX`] bytes (a DKIM record of a 2048-bit key needs two), as a zone file
    /// writes it: `"v=DKIM1; k=rsa; p=MIIB..." "...IDAQAB"`.
    pub fn txt_strings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = self.value.as_str();
        while !rest.is_empty() {
            let mut cut = rest.len().min(TXT_STRING_MAX);
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            let (head, tail) = rest.split_at(cut);
            out.push(head.to_owned());
            rest = tail;
        }
        out
    }

    /// The value in the quoted form of zone files (RFC 1035 §5.1), each of
    /// [`DnsRecord::txt_strings`] in double quotes, separated by a space, `"` and `\\` escaped:
    /// `"v=DKIM1; k=rsa; p=MIIB..." "...IDAQAB"`. Route 53, BIND and the DNS hosts whose forms
    /// refuse a string over 255 characters take it so; DNS joins the strings back.
    pub fn quoted_txt(&self) -> String {
        let quoted: Vec<String> = self
            .txt_strings()
            .iter()
            .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        if quoted.is_empty() {
            "\"\"".to_owned()
        } else {
            quoted.join(" ")
        }
    }

    /// For a TXT value too long for one DNS string: how to publish it, shown beside the record.
    pub fn publishing_note(&self) -> Option<String> {
        let strings = self.txt_strings().len();
        (self.record_type == RecordType::Txt && strings > 1).then(|| {
            format!(
                "This value is {} characters long; one DNS TXT string holds at most \
                 {TXT_STRING_MAX}, so it is published as {strings} strings, which DNS joins back \
                 into one value. Where your DNS host takes the value as one text and splits it \
                 itself (most web forms), paste `value`. Where it wants the \
                 strings (Route 53, BIND zone files, forms that refuse over {TXT_STRING_MAX} \
                 characters), paste `quotedValue`, quotes included.",
                self.value.len()
            )
        })
    }
}

/// The name of the DKIM record: `<selector>._domainkey.<domain>`.
pub fn dkim_record_name(domain: &SendingDomain, selector: &DkimSelector) -> String {
    format!("{selector}._domainkey.{domain}")
}

/// The value of the DKIM record (RFC 6376 §3.6.1).
pub fn dkim_record_value(public_key: &DkimPublicKey) -> String {
    format!("v=DKIM1; k=rsa; p={public_key}")
}

/// The custom MAIL FROM domain: `bounce.<domain>`.
pub fn mail_from_domain(domain: &SendingDomain) -> String {
    format!("{MAIL_FROM_LABEL}.{domain}")
}

/// The records an account publishes for `domain`, in the order they are shown: the DKIM key,
/// the MAIL FROM domain's MX and SPF records (all three required), and the recommended DMARC
/// record.
pub fn dns_records(
    domain: &SendingDomain,
    selector: &DkimSelector,
    public_key: &DkimPublicKey,
    region: &SesRegion,
) -> Vec<DnsRecord> {
    let mail_from = mail_from_domain(domain);
    vec![
        DnsRecord {
            record_type: RecordType::Txt,
            name: dkim_record_name(domain, selector),
            value: dkim_record_value(public_key),
            purpose: RecordPurpose::Dkim,
            required: true,
        },
        DnsRecord {
            record_type: RecordType::Mx,
            name: mail_from.clone(),
            value: format!("{MAIL_FROM_MX_PREFERENCE} {}", region.feedback_host()),
            purpose: RecordPurpose::MailFromMx,
            required: true,
        },
        DnsRecord {
            record_type: RecordType::Txt,
            name: mail_from,
            value: MAIL_FROM_SPF.to_owned(),
            purpose: RecordPurpose::MailFromSpf,
            required: true,
        },
        DnsRecord {
            record_type: RecordType::Txt,
            name: format!("_dmarc.{domain}"),
            value: DMARC_RECOMMENDED.to_owned(),
            purpose: RecordPurpose::Dmarc,
            required: false,
        },
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domains::dkim::test_key_pair;

    fn domain(s: &str) -> SendingDomain {
        SendingDomain::parse(s).expect("valid domain")
    }

    fn selector(s: &str) -> DkimSelector {
        DkimSelector::parse(s).expect("valid selector")
    }

    fn region() -> SesRegion {
        SesRegion::parse("eu-west-1").expect("valid region")
    }

    #[test]
    fn the_four_records_with_their_purposes() {
        let key = test_key_pair().public_key();
        let records = dns_records(&domain("Example.COM"), &selector("herald"), key, &region());
        let summary: Vec<_> = records
            .iter()
            .map(|r| (r.record_type, r.name.as_str(), r.purpose, r.required))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    RecordType::Txt,
                    "herald._domainkey.example.com",
                    RecordPurpose::Dkim,
                    true
                ),
                (
                    RecordType::Mx,
                    "bounce.example.com",
                    RecordPurpose::MailFromMx,
                    true
                ),
                (
                    RecordType::Txt,
                    "bounce.example.com",
                    RecordPurpose::MailFromSpf,
                    true
                ),
                (
                    RecordType::Txt,
                    "_dmarc.example.com",
                    RecordPurpose::Dmarc,
                    false
                ),
            ]
        );
        assert_eq!(
            records[0].value,
            format!("v=DKIM1; k=rsa; p={}", key.as_str())
        );
        assert_eq!(records[1].value, "10 feedback-smtp.eu-west-1.amazonses.com");
        assert_eq!(records[2].value, "v=spf1 include:amazonses.com ~all");
        assert_eq!(records[3].value, "v=DMARC1; p=none;");
    }

    #[test]
    fn internationalised_domains_get_punycode_record_names() {
        let key = test_key_pair().public_key();
        let records = dns_records(&domain("bücher.de"), &selector("hdabc"), key, &region());
        assert_eq!(records[0].name, "hdabc._domainkey.xn--bcher-kva.de");
        assert_eq!(records[1].name, "bounce.xn--bcher-kva.de");
        assert_eq!(records[3].name, "_dmarc.xn--bcher-kva.de");
    }

    #[test]
    fn the_longest_record_name_fits_dns() {
        let label63 = "a".repeat(63);
        let d = domain(&format!(
            "{label63}.{label63}.{label63}.{}.com",
            "b".repeat(34)
        ));
        let key = test_key_pair().public_key();
        let records = dns_records(&d, &selector("abcdefghijk"), key, &region());
        assert_eq!(records[0].name.len(), 253);
        assert!(records.iter().all(|r| r.name.len() <= 253));
    }

    #[test]
    fn serializes_camel_case_with_uppercase_types() {
        let key = test_key_pair().public_key();
        let records = dns_records(&domain("example.com"), &selector("herald"), key, &region());
        assert_eq!(
            serde_json::to_value(&records[1]).expect("json"),
            json!({
                "type": "MX",
                "name": "bounce.example.com",
                "value": "10 feedback-smtp.eu-west-1.amazonses.com",
                "purpose": "mailFromMx",
                "required": true
            })
        );
        let purposes: Vec<_> = records
            .iter()
            .map(|r| serde_json::to_value(r).expect("json")["purpose"].clone())
            .collect();
        assert_eq!(
            purposes,
            [
                json!("dkim"),
                json!("mailFromMx"),
                json!("mailFromSpf"),
                json!("dmarc")
            ]
        );
        let back: DnsRecord =
            serde_json::from_value(serde_json::to_value(&records[0]).expect("json")).expect("back");
        assert_eq!(back, records[0]);
    }

    #[test]
    fn long_txt_values_split_into_255_byte_strings() {
        let key = test_key_pair().public_key();
        let records = dns_records(&domain("example.com"), &selector("herald"), key, &region());
        let dkim = records[0].txt_strings();
        assert_eq!(dkim.len(), 2, "a 2048-bit key needs two strings");
        assert_eq!(dkim[0].len(), 255);
        assert_eq!(dkim.concat(), records[0].value);
        assert_eq!(records[2].txt_strings(), [MAIL_FROM_SPF]);

        let r = DnsRecord {
            value: "é".repeat(200),
            ..records[2].clone()
        };
        let parts = r.txt_strings();
        assert!(parts.iter().all(|p| p.len() <= 255));
        assert_eq!(parts.concat(), r.value, "cut on character boundaries");
        assert!(
            DnsRecord {
                value: String::new(),
                ..r
            }
            .txt_strings()
            .is_empty()
        );
    }

    #[test]
    fn long_txt_values_come_quoted_with_a_note() {
        let key = test_key_pair().public_key();
        let records = dns_records(
            &domain("example.com"),
            &selector("selector1"),
            key,
            &region(),
        );
        let dkim = &records[0];
        let value = dkim.value.as_str();
        assert!(value.len() > 255);
        assert_eq!(
            dkim.quoted_txt(),
            format!("\"{}\" \"{}\"", &value[..255], &value[255..])
        );
        let note = dkim
            .publishing_note()
            .expect("a note for a two-string value");
        assert!(
            note.contains("2 strings") && note.contains("quotedValue"),
            "{note}"
        );

        assert_eq!(records[2].quoted_txt(), format!("\"{MAIL_FROM_SPF}\""));
        assert_eq!(
            records[2].publishing_note(),
            None,
            "one string: nothing to say"
        );
        assert_eq!(records[1].publishing_note(), None, "MX");

        let escaped = DnsRecord {
            value: r#"say "hi" \o/"#.to_owned(),
            ..records[2].clone()
        };
        assert_eq!(escaped.quoted_txt(), r#""say \"hi\" \\o/""#);
    }

    #[test]
    fn ses_regions() {
        for ok in [
            "eu-west-1",
            "us-east-1",
            "ap-southeast-2",
            "us-gov-west-1",
            "il-central-1",
        ] {
            let r = SesRegion::parse(ok).expect(ok);
            assert_eq!(
                r.feedback_host(),
                format!("feedback-smtp.{ok}.amazonses.com")
            );
        }
        for bad in [
            "",
            "eu",
            "EU-WEST-1",
            "-eu-west-1",
            "eu-west-1-",
            "eu.west.1",
            "eu west 1",
            "eu_west_1",
        ] {
            assert_eq!(SesRegion::parse(bad), Err(InvalidSesRegion), "{bad:?}");
        }
    }
}
