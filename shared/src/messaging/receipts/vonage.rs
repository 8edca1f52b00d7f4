//! Vonage delivery receipts: Vonage calls the `callback` URL Herald gave with each message
//! (GET with a query string, or POST as a form or JSON, as the operator's dashboard says) with
//! the message's status, signed when the operator turns on signed webhooks: `sig` is the hex
//! digest of every other parameter, sorted by name, as `&name=value` (with `&` and `=` in
//! values replaced by `_`), either MD5 over that text followed by the signature secret
//! ("MD5 hash") or an HMAC keyed by the secret.

use std::str::FromStr;

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::messaging::message::{NoteKind, Receipt};

/// The signature methods Vonage's dashboard offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    Md5Hash,
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl FromStr for SignatureMethod {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "md5hash" => Self::Md5Hash,
            "md5" => Self::Md5,
            "sha1" => Self::Sha1,
            "sha256" => Self::Sha256,
            "sha512" => Self::Sha512,
            _ => return Err("must be md5hash, md5, sha1, sha256 or sha512"),
        })
    }
}

/// The text Vonage signs: the parameters but `sig`, sorted, as `&name=value`.
fn signed_text(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().filter(|(k, _)| k != "sig").collect();
    sorted.sort();
    sorted
        .into_iter()
        .map(|(k, v)| format!("&{k}={}", v.replace(['&', '='], "_")))
        .collect()
}

fn hmac<M: Mac + hmac::digest::KeyInit>(secret: &str, text: &str) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = <M as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(text.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn digest(method: SignatureMethod, secret: &str, params: &[(String, String)]) -> Vec<u8> {
    let text = signed_text(params);
    match method {
        SignatureMethod::Md5Hash => {
            let mut md5 = Md5::new();
            md5.update(text.as_bytes());
            md5.update(secret.as_bytes());
            md5.finalize().to_vec()
        }
        SignatureMethod::Md5 => hmac::<Hmac<Md5>>(secret, &text),
        SignatureMethod::Sha1 => hmac::<Hmac<Sha1>>(secret, &text),
        SignatureMethod::Sha256 => hmac::<Hmac<Sha256>>(secret, &text),
        SignatureMethod::Sha512 => hmac::<Hmac<Sha512>>(secret, &text),
    }
}

/// The `sig` Vonage sends with these parameters (lower-case hex).
pub fn signature(method: SignatureMethod, secret: &str, params: &[(String, String)]) -> String {
    hex::encode(digest(method, secret, params))
}

/// Whether the parameters carry Vonage's signature of themselves (compared in constant time).
/// A parameter named twice is refused: Vonage never sends one, and which copy was signed
/// cannot be known.
pub fn verify(method: SignatureMethod, secret: &str, params: &[(String, String)]) -> bool {
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return false;
    }
    let Some(given) = param(params, "sig").and_then(|s| hex::decode(s.trim()).ok()) else {
        return false;
    };
    digest(method, secret, params).ct_eq(&given).into()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// What Vonage's `err-code` means, for the log and the failure event.
fn error_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "1" => "unknown",
        "2" => "absent subscriber (temporary)",
        "3" => "absent subscriber (permanent)",
        "4" => "call barred by user",
        "5" => "portability error",
        "6" => "anti-spam rejection",
        "7" => "handset busy",
        "8" => "network error",
        "9" => "illegal number",
        "10" => "illegal message",
        "11" => "unroutable",
        "12" => "destination unreachable",
        "13" => "subscriber age restriction",
        "14" => "number blocked by carrier",
        "15" => "prepaid insufficient funds",
        "16" => "gateway quota exceeded",
        "50" => "entity filter",
        "51" => "header filter",
        "52" => "content filter",
        "53" => "consent filter",
        "54" => "regulation error",
        "99" => "general error",
        _ => return None,
    })
}

/// The Vonage message id a receipt is about (`messageId`; one per part of a long SMS).
pub fn message_id(params: &[(String, String)]) -> Option<&str> {
    param(params, "messageId").filter(|id| !id.is_empty())
}

/// Whether a receipt names Herald's message `message_id` itself, in the `client-ref` Herald
/// sent (and the signature covers).
pub fn names_message(params: &[(String, String)], message_id: &str) -> bool {
    param(params, "client-ref") == Some(message_id)
}

/// How old a signed receipt may be. Vonage retries a callback that was not answered 2xx for up
/// to 24 hours (5 s at first, backing off to 15 minutes), and its signed `timestamp` is when
/// the request was signed; an hour more allows for clocks apart. Anything older is a replay.
pub const MAX_RECEIPT_AGE: time::Duration = time::Duration::hours(25);
/// How far ahead of Herald's clock a `timestamp` may be.
pub const MAX_CLOCK_AHEAD: time::Duration = time::Duration::minutes(5);

/// Whether a signed receipt is recent enough to apply at `now`: its signed `timestamp` (Unix
/// seconds) within [`MAX_RECEIPT_AGE`] before `now` and [`MAX_CLOCK_AHEAD`] after.
pub fn fresh(params: &[(String, String)], now: time::OffsetDateTime) -> Result<(), &'static str> {
    let at = param(params, "timestamp")
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .ok_or("the receipt has no signed timestamp")?;
    if at < now - MAX_RECEIPT_AGE {
        return Err("the receipt is older than Vonage's 24 hours of retries");
    }
    if at > now + MAX_CLOCK_AHEAD {
        return Err("the receipt's timestamp is in the future");
    }
    Ok(())
}

/// What a delivery receipt reports: `delivered` is a delivery; `failed`, `rejected` and
/// `expired` a failure with Vonage's `err-code`; `accepted`, `buffered` and `unknown` notes.
pub fn receipt(params: &[(String, String)]) -> Option<Receipt> {
    let status = param(params, "status")?;
    let code = param(params, "err-code")
        .filter(|c| !c.is_empty() && *c != "0")
        .map(str::to_owned);
    Some(match status {
        "delivered" => Receipt::Delivered,
        "failed" | "rejected" | "expired" => Receipt::Failed {
            reason: match code.as_deref() {
                Some(c) => match error_text(c) {
                    Some(text) => {
                        format!("Vonage reports the message {status} (error {c}: {text})")
                    }
                    None => format!("Vonage reports the message {status} (error {c})"),
                },
                None => format!("Vonage reports the message {status}"),
            },
            code,
        },
        other => Receipt::Note {
            kind: NoteKind::ProviderStatus,
            detail: other.to_owned(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "secret-of-32-characters-long-abc";

    #[test]
    fn receipts_are_fresh_within_vonages_retry_window() {
        let now = time::macros::datetime!(2030-01-01 12:00:00 UTC);
        let at = |t: time::OffsetDateTime| {
            vec![("timestamp".to_owned(), t.unix_timestamp().to_string())]
        };
        assert_eq!(fresh(&at(now), now), Ok(()));
        assert_eq!(fresh(&at(now - time::Duration::hours(24)), now), Ok(()));
        assert!(fresh(&at(now - time::Duration::days(7)), now).is_err());
        assert!(fresh(&at(now - time::Duration::hours(26)), now).is_err());
        assert!(fresh(&at(now + time::Duration::hours(1)), now).is_err());
        assert!(fresh(&[], now).is_err());
        assert!(fresh(&[("timestamp".into(), "soon".into())], now).is_err());
    }

    fn receipt_params() -> Vec<(String, String)> {
        [
            ("msisdn", "447700900000"),
            ("to", "Acme"),
            ("network-code", "23410"),
            ("messageId", "0A0000001234567B"),
            ("price", "0.03330000"),
            ("status", "delivered"),
            ("scts", "2001011400"),
            ("err-code", "0"),
            ("api-key", "abcd1234"),
            ("message-timestamp", "2020-01-01 12:00:00"),
            ("timestamp", "1582648280"),
            ("nonce", "ec11dd3e-1e7f-4db5-9467-82b02cd223b9"),
            ("client-ref", "a&b=c"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    /// Signatures of these parameters as Vonage's Python library (`vonage-http-client`,
    /// `Auth.sign_params`) computes them, and the MD5 hash as its earlier versions did.
    #[test]
    fn signatures_match_vonages_library() {
        let p = receipt_params();
        for (method, expected) in [
            (SignatureMethod::Md5Hash, "ed5d44a32d7390e98cb51379b46abc59"),
            (SignatureMethod::Md5, "8385520961d3017810bb98c0ae3fcf2e"),
            (
                SignatureMethod::Sha1,
                "c839dd628a3941ae653477b153a6810a5e451f1f",
            ),
            (
                SignatureMethod::Sha256,
                "c42a2c91600fe65e7009c8cf1bd40f3a856fb24e684ec0b24d8a7b7794bb5bc5",
            ),
            (
                SignatureMethod::Sha512,
                "97d4765012ccf991cc365b5348f5c0e95dc4ec4e6eeacf0b33749ffc32bf06e6bc73b5f40e9c0173049da99043424c058c37e0884dcda249e63eb077ac29470c",
            ),
        ] {
            assert_eq!(signature(method, SECRET, &p), expected, "{method:?}");
            let mut signed = p.clone();
            signed.push(("sig".into(), expected.to_uppercase()));
            assert!(verify(method, SECRET, &signed), "{method:?}");
            assert!(!verify(method, "another-secret", &signed), "{method:?}");
        }
    }

    #[test]
    fn tampered_unsigned_or_doubled_parameters_fail() {
        let method = SignatureMethod::Sha256;
        let mut p = receipt_params();
        p.push(("sig".into(), signature(method, SECRET, &p)));
        assert!(verify(method, SECRET, &p));
        let mut tampered = p.clone();
        tampered[5].1 = "failed".into();
        assert!(!verify(method, SECRET, &tampered));
        let mut doubled = p.clone();
        doubled.push(("status".into(), "failed".into()));
        assert!(!verify(method, SECRET, &doubled));
        assert!(!verify(method, SECRET, &receipt_params()));
        let mut garbage = receipt_params();
        garbage.push(("sig".into(), "not hex".into()));
        assert!(!verify(method, SECRET, &garbage));
    }

    #[test]
    fn methods_parse() {
        assert_eq!("sha256".parse(), Ok(SignatureMethod::Sha256));
        assert_eq!("md5hash".parse(), Ok(SignatureMethod::Md5Hash));
        assert!("SHA-256".parse::<SignatureMethod>().is_err());
    }

    #[test]
    fn statuses_map() {
        let with = |status: &str, code: &str| {
            receipt(&[
                ("status".to_owned(), status.to_owned()),
                ("err-code".to_owned(), code.to_owned()),
            ])
        };
        assert_eq!(with("delivered", "0"), Some(Receipt::Delivered));
        assert_eq!(
            with("failed", "6"),
            Some(Receipt::Failed {
                reason: "Vonage reports the message failed (error 6: anti-spam rejection)".into(),
                code: Some("6".into())
            })
        );
        assert_eq!(
            with("expired", "77"),
            Some(Receipt::Failed {
                reason: "Vonage reports the message expired (error 77)".into(),
                code: Some("77".into())
            })
        );
        assert!(matches!(with("buffered", "0"), Some(Receipt::Note { .. })));
        assert_eq!(receipt(&[]), None);
    }
}
