//! Twilio status callbacks: Twilio POSTs a message's status (form-encoded) to the
//! `StatusCallback` URL Herald gave with the message, signed in `X-Twilio-Signature`: the
//! base64 HMAC-SHA1, keyed by the account's auth token, of the full URL Twilio called followed
//! by every POST parameter, sorted by name, as name then value.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::messaging::message::{NoteKind, Receipt};

fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(auth_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The `X-Twilio-Signature` of a request to `url` with these POST parameters.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    STANDARD.encode(mac(auth_token, url, params).finalize().into_bytes())
}

/// Whether `header` is Twilio's signature of the request (compared in constant time).
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], header: &str) -> bool {
    STANDARD
        .decode(header.trim())
        .is_ok_and(|given| mac(auth_token, url, params).verify_slice(&given).is_ok())
}

/// The Twilio message a callback is about (`MessageSid`).
pub fn message_id(params: &[(String, String)]) -> Option<&str> {
    param(params, "MessageSid").filter(|id| !id.is_empty())
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// What a status callback reports: `delivered` (and WhatsApp's `read`) is a delivery,
/// `failed` and `undelivered` a failure with Twilio's error code; the steps before (queued,
/// sending, sent) are notes.
pub fn receipt(params: &[(String, String)]) -> Option<Receipt> {
    let status = param(params, "MessageStatus").or_else(|| param(params, "SmsStatus"))?;
    let code = param(params, "ErrorCode")
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    Some(match status {
        "delivered" | "read" => Receipt::Delivered,
        "failed" | "undelivered" => Receipt::Failed {
            reason: match &code {
                Some(c) => format!("Twilio reports the message {status} (error {c})"),
                None => format!("Twilio reports the message {status}"),
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

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// Twilio's documented example: https://mycompany.com/myapp.php?foo=1&bar=2 with these
    /// parameters and the auth token 12345.
    #[test]
    fn twilios_published_example() {
        let p = params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(signature("12345", url, &p), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify("12345", url, &p, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!verify("12346", url, &p, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!verify("12345", url, &p, "not base64!"));
    }

    #[test]
    fn statuses_map() {
        assert_eq!(
            receipt(&params(&[("MessageStatus", "delivered")])),
            Some(Receipt::Delivered)
        );
        assert_eq!(
            receipt(&params(&[
                ("MessageStatus", "undelivered"),
                ("ErrorCode", "30003")
            ])),
            Some(Receipt::Failed {
                reason: "Twilio reports the message undelivered (error 30003)".into(),
                code: Some("30003".into())
            })
        );
        assert!(matches!(
            receipt(&params(&[("MessageStatus", "sent")])),
            Some(Receipt::Note { .. })
        ));
        assert_eq!(receipt(&params(&[])), None);
    }
}
