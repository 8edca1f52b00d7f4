//! The signatures on a webhook request, so that a receiver can tell Herald's requests from
//! forgeries and altered bodies. Two schemes are sent side by side:
//!
//! - `X-Herald-Signature` (the reference's scheme; the header name is operator-configurable):
//!   HMAC-SHA256 of the exact body bytes, uppercase hex. Its key is the secret string exactly as
//!   the integrator was given it, `whsec_` prefix included: the reference's Node.js example,
//!   `crypto.createHmac('sha256', secret)`, keys the HMAC with the string as given, so an
//!   integrator following it verifies Herald's requests unchanged.
//! - Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), which its
//!   libraries verify: `v1,` and the base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed
//!   by the base64-decoded part of the secret after `whsec_`.
//!
//! While a secret is being rotated, the old one keeps signing beside the new one for a while
//! (24 hours): `webhook-signature` then holds one signature per secret, separated by a space, and
//! a receiver accepts the request if any of them verifies. `X-Herald-Signature` holds a single
//! value and is made with the newest secret only, so integrators on the reference's scheme must
//! switch to the new secret when they rotate it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::events::webhook::secret::WebhookSecret;

type HmacSha256 = Hmac<Sha256>;

/// The default name of the reference-scheme signature header.
pub const HERALD_SIGNATURE_HEADER: &str = "X-Herald-Signature";

fn mac(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC hashes long keys and pads short ones: it refuses no key length.
        Err(_) => unreachable!("HMAC-SHA256 accepts keys of any length"),
    }
}

/// The reference's signature: HMAC-SHA256 of the exact `body` bytes keyed by `secret`, in
/// uppercase hex.
pub fn herald_signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(body);
    hex::encode_upper(mac.finalize().into_bytes())
}

/// The Standard Webhooks content to sign: `{id}.{timestamp}.{body}`.
fn standard_mac(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = mac(secret.key());
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// One Standard Webhooks signature: `v1,<base64>`.
pub fn standard_signature(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = standard_mac(secret, id, timestamp, body)
        .finalize()
        .into_bytes();
    format!("v1,{}", STANDARD.encode(tag))
}

/// Whether a `webhook-signature` header value holds a valid `v1` signature of this request by
/// `secret`: what a receiver (or a test standing in for one) checks. The comparison takes
/// constant time. The timestamp's freshness is the receiver's own rule and not checked here.
pub fn verify_standard(
    secret: &WebhookSecret,
    id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
) -> bool {
    header.split(' ').any(|sig| {
        let Some(encoded) = sig.strip_prefix("v1,") else {
            return false;
        };
        let Ok(tag) = STANDARD.decode(encoded) else {
            return false;
        };
        standard_mac(secret, id, timestamp, body)
            .verify_slice(&tag)
            .is_ok()
    })
}

/// The headers that identify and sign one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `webhook-id`: the delivery's id (one per event and subscription), the same on every
    /// attempt, for the receiver's deduplication.
    pub webhook_id: String,
    /// `webhook-timestamp`: this attempt's time in Unix seconds. Receivers refuse stale
    /// timestamps (five minutes, typically), so it is the attempt's time, not the event's.
    pub webhook_timestamp: String,
    /// `webhook-signature`, when the subscription has a secret.
    pub webhook_signature: Option<String>,
    /// `X-Herald-Signature` (or the operator's name for it), when the subscription has a secret.
    pub herald_signature: Option<String>,
}

impl SignedHeaders {
    /// The headers as (name, value) pairs, the reference-scheme signature under `herald_header`.
    pub fn pairs<'a>(&'a self, herald_header: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut pairs = vec![
            ("webhook-id", self.webhook_id.as_str()),
            ("webhook-timestamp", self.webhook_timestamp.as_str()),
        ];
        if let Some(sig) = &self.webhook_signature {
            pairs.push(("webhook-signature", sig));
        }
        if let Some(sig) = &self.herald_signature {
            pairs.push((herald_header, sig));
        }
        pairs
    }
}

/// Signs one attempt to deliver `body`. `secrets` are the subscription's current secrets,
/// **newest first**: every one signs `webhook-signature`, the first alone `X-Herald-Signature`.
/// With no secret the request is unsigned but still carries `webhook-id` and
/// `webhook-timestamp`.
pub fn sign(secrets: &[&WebhookSecret], id: &str, timestamp: i64, body: &[u8]) -> SignedHeaders {
    let webhook_signature = (!secrets.is_empty()).then(|| {
        secrets
            .iter()
            .map(|s| standard_signature(s, id, timestamp, body))
            .collect::<Vec<_>>()
            .join(" ")
    });
    let herald_signature = secrets
        .first()
        .map(|newest| herald_signature(newest.expose().as_bytes(), body));
    SignedHeaders {
        webhook_id: id.to_owned(),
        webhook_timestamp: timestamp.to_string(),
        webhook_signature,
        herald_signature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's example.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1_614_265_330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn secret(s: &str) -> WebhookSecret {
        WebhookSecret::parse(s).expect("valid secret")
    }

    #[test]
    fn herald_signature_of_the_reference_example() {
        // The reference prints DF31B9F7D1645BD532F1F1C8F3EA80E3271DCD3C2A4D015115F9E20E5982FEE9
        // for this example, but its own snippet, run with Node.js, prints the value below, as
        // do Python's hmac and `openssl dgst -sha256 -hmac`: the printed value does not belong
        // to this secret and payload. Herald follows the algorithm, which integrators run.
        let body = br#"{"message":"Hello, world"}"#;
        assert_eq!(
            herald_signature(b"your-secret-token", body),
            "DEF564B8DF06AE55C788493CB414068B2CF017385D96ECB39AA3E844FDBBCDEA"
        );
    }

    #[test]
    fn herald_signature_is_hmac_sha256_per_rfc_4231() {
        // RFC 4231, test case 2.
        assert_eq!(
            herald_signature(b"Jefe", b"what do ya want for nothing?"),
            "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843"
        );
        // Test case 6: a key longer than the block size is hashed first.
        assert_eq!(
            herald_signature(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60E431591EE0B67F0D8A26AACBF5B77F8E0BC6213728C5140546040F0EE37F54"
        );
    }

    #[test]
    fn herald_signature_covers_the_exact_bytes() {
        let a = herald_signature(b"k", br#"{"a":1}"#);
        let b = herald_signature(b"k", br#"{"a": 1}"#);
        assert_ne!(a, b, "whitespace changes the signature");
        assert_eq!(a.len(), 64);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
    }

    #[test]
    fn standard_signature_of_the_spec_example() {
        let s = secret(SPEC_SECRET);
        assert_eq!(
            standard_signature(&s, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY),
            SPEC_SIGNATURE
        );
        assert!(verify_standard(
            &s,
            SPEC_ID,
            SPEC_TIMESTAMP,
            SPEC_BODY,
            SPEC_SIGNATURE
        ));
    }

    #[test]
    fn verification_fails_on_any_change() {
        let s = secret(SPEC_SECRET);
        let other = WebhookSecret::generate();
        assert!(!verify_standard(
            &other,
            SPEC_ID,
            SPEC_TIMESTAMP,
            SPEC_BODY,
            SPEC_SIGNATURE
        ));
        assert!(!verify_standard(
            &s,
            "msg_other",
            SPEC_TIMESTAMP,
            SPEC_BODY,
            SPEC_SIGNATURE
        ));
        assert!(!verify_standard(
            &s,
            SPEC_ID,
            SPEC_TIMESTAMP + 1,
            SPEC_BODY,
            SPEC_SIGNATURE
        ));
        assert!(!verify_standard(
            &s,
            SPEC_ID,
            SPEC_TIMESTAMP,
            b"{}",
            SPEC_SIGNATURE
        ));
        for bad_header in [
            "",
            "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "v1,not-base64",
            "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ] {
            assert!(
                !verify_standard(&s, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, bad_header),
                "{bad_header:?}"
            );
        }
    }

    #[test]
    fn signs_with_one_secret() {
        let s = secret(SPEC_SECRET);
        let h = sign(&[&s], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY);
        assert_eq!(h.webhook_id, SPEC_ID);
        assert_eq!(h.webhook_timestamp, "1614265330");
        assert_eq!(h.webhook_signature.as_deref(), Some(SPEC_SIGNATURE));
        assert_eq!(
            h.herald_signature,
            Some(herald_signature(SPEC_SECRET.as_bytes(), SPEC_BODY)),
            "keyed by the whole whsec_ string"
        );
        assert_ne!(
            h.herald_signature,
            Some(herald_signature(s.key(), SPEC_BODY))
        );
        assert_eq!(
            h.pairs(HERALD_SIGNATURE_HEADER),
            [
                ("webhook-id", SPEC_ID),
                ("webhook-timestamp", "1614265330"),
                ("webhook-signature", SPEC_SIGNATURE),
                (
                    "X-Herald-Signature",
                    h.herald_signature.as_deref().unwrap_or_default()
                ),
            ]
        );
    }

    #[test]
    fn during_rotation_every_secret_signs_and_the_newest_signs_alone_for_herald() {
        let newest = WebhookSecret::generate();
        let old = secret(SPEC_SECRET);
        let h = sign(&[&newest, &old], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY);
        let header = h.webhook_signature.clone().unwrap_or_default();
        let parts: Vec<_> = header.split(' ').collect();
        assert_eq!(parts.len(), 2, "{header}");
        assert_eq!(parts[1], SPEC_SIGNATURE);
        assert!(verify_standard(
            &newest,
            SPEC_ID,
            SPEC_TIMESTAMP,
            SPEC_BODY,
            &header
        ));
        assert!(verify_standard(
            &old,
            SPEC_ID,
            SPEC_TIMESTAMP,
            SPEC_BODY,
            &header
        ));
        assert_eq!(
            h.herald_signature,
            Some(herald_signature(newest.expose().as_bytes(), SPEC_BODY))
        );
    }

    #[test]
    fn without_a_secret_only_id_and_timestamp_are_sent() {
        let h = sign(&[], "01HF0000000000000000000000", 1_700_000_000, b"{}");
        assert_eq!(h.webhook_signature, None);
        assert_eq!(h.herald_signature, None);
        assert_eq!(
            h.pairs("X-Custom"),
            [
                ("webhook-id", "01HF0000000000000000000000"),
                ("webhook-timestamp", "1700000000")
            ]
        );
    }

    #[test]
    fn the_herald_header_name_is_configurable() {
        let s = WebhookSecret::generate();
        let h = sign(&[&s], "id", 1, b"{}");
        let names: Vec<_> = h
            .pairs("X-Acme-Signature")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            [
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "X-Acme-Signature"
            ]
        );
    }
}
