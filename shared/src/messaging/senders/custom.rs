//! Sending through an account's own provider ([`crate::messaging::custom`]): the JSON each
//! message goes out as, the Standard Webhooks signature, and what the answer means.

use async_trait::async_trait;
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;

use crate::common::account::AccountId;
use crate::common::destination::excerpt::excerpt;
use crate::common::seal::{SealError, SecretSealer};
use crate::events::webhook::{WebhookSecret, sign};
use crate::messaging::custom::{CustomEndpoint, CustomProvider};
use crate::messaging::senders::email::OutgoingEmail;
use crate::messaging::senders::sms::OutgoingSms;
use crate::messaging::senders::{Accepted, Failure};

/// The JSON an SMS goes out as.
pub fn sms_body(sms: &OutgoingSms<'_>) -> String {
    json!({
        "channel": "sms",
        "messageId": sms.message_id,
        "accountId": sms.account_id,
        "from": sms.from.as_str(),
        "to": sms.to.as_str(),
        "text": sms.text.as_str(),
    })
    .to_string()
}

/// The JSON an email goes out as: addressed and rendered, with the headers it must carry
/// (RFC 8058's one-click unsubscribe, when it has one).
pub fn email_body(email: &OutgoingEmail) -> String {
    let headers: serde_json::Map<String, Value> = email
        .unsubscribe_headers()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), Value::String(value)))
        .collect();
    json!({
        "channel": "email",
        "messageId": email.message_id,
        "accountId": email.account_id,
        "from": {"name": email.from_name, "address": email.from.to_string()},
        "to": email.to.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "replyTo": email.reply_to.as_ref().map(ToString::to_string),
        "subject": email.subject,
        "text": email.text,
        "html": email.html,
        "headers": headers,
    })
    .to_string()
}

/// One signed request to an account's provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRequest {
    pub url: Url,
    /// `webhook-id`, `webhook-timestamp` and `webhook-signature`.
    pub headers: Vec<(&'static str, String)>,
    /// The exact bytes signed.
    pub body: String,
}

impl CustomRequest {
    /// Signs `body` for `message_id` at `at`: `webhook-id` is the message id on every try.
    pub fn signed(
        url: &CustomEndpoint,
        secret: &WebhookSecret,
        message_id: &str,
        at: OffsetDateTime,
        body: String,
    ) -> Self {
        let signed = sign(&[secret], message_id, at.unix_timestamp(), body.as_bytes());
        let mut headers = vec![
            ("webhook-id", signed.webhook_id),
            ("webhook-timestamp", signed.webhook_timestamp),
        ];
        headers.extend(signed.webhook_signature.map(|s| ("webhook-signature", s)));
        Self {
            url: url.url().clone(),
            headers,
            body,
        }
    }
}

/// What the account's provider answered: its status and (the start of) its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// POSTs a signed request to an account's provider, through the address policy. A transport
/// failure is sorted by the senders' rules: no answer in time after sending is unknown, no
/// connection is temporary, a destination the policy refuses is permanent.
#[async_trait]
pub trait CustomProviderClient: Send + Sync {
    async fn post(&self, request: &CustomRequest) -> Result<Answer, Failure>;
}

/// The most characters of a provider's own message id Herald keeps.
const MAX_PROVIDER_ID: usize = 256;

/// What an answer means. 2xx: taken, under the id of its JSON `{"id": ...}` if it gives one,
/// else under Herald's message id. 408, 429 and 5xx: temporary. Any other status: permanent.
/// The log keeps the status and a short excerpt of the body: the endpoint is the account's.
pub fn outcome(answer: &Answer, message_id: &str) -> Result<Accepted, Failure> {
    let kept = excerpt(&answer.body);
    let response = json!({"status": answer.status, "body": kept});
    if (200..300).contains(&answer.status) {
        let id = serde_json::from_str::<Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned))
            .filter(|id| {
                (1..=MAX_PROVIDER_ID).contains(&id.chars().count())
                    && !id.chars().any(char::is_control)
            });
        return Ok(Accepted {
            provider_message_id: id.unwrap_or_else(|| message_id.to_owned()),
            response,
        });
    }
    let reason = if kept.trim().is_empty() {
        format!("the custom provider answered {}", answer.status)
    } else {
        format!("the custom provider answered {}: {kept}", answer.status)
    };
    Err(Failure::from_status(answer.status, reason, None, response))
}

/// Opens the provider's signing secret, signs `body` at `at` and POSTs it. `Err` is Herald's
/// own trouble (the secret would not open): the job comes back.
pub async fn deliver(
    client: &dyn CustomProviderClient,
    sealer: &dyn SecretSealer,
    account: &AccountId,
    provider: &CustomProvider,
    message_id: &str,
    body: String,
    at: OffsetDateTime,
) -> Result<Result<Accepted, Failure>, SealError> {
    let opened = sealer.open(account, &provider.signing_secret).await?;
    let secret = WebhookSecret::parse(opened.expose()).map_err(|_| SealError::Unreadable)?;
    let request = CustomRequest::signed(&provider.url, &secret, message_id, at, body);
    Ok(match client.post(&request).await {
        Ok(answer) => outcome(&answer, message_id),
        Err(failure) => Err(failure),
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::common::destination::AddressPolicy;
    use crate::events::webhook::verify_standard;
    use crate::messaging::email::EmailAddress;
    use crate::messaging::message::{PhoneNumber, SmsText};
    use crate::messaging::senders::FailureKind;
    use crate::messaging::sms::SenderName;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MESSAGE: &str = "01JD6ZK5Q2V7X8Y9Z0A1B2C3D4";

    fn endpoint() -> CustomEndpoint {
        CustomEndpoint::parse("https://sms.acme.example/herald", &AddressPolicy::default())
            .expect("valid")
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.to_owned(),
        }
    }

    fn email() -> OutgoingEmail {
        OutgoingEmail {
            account_id: "acme".into(),
            message_id: MESSAGE.into(),
            from_name: "Acme Support".into(),
            from: EmailAddress::parse("hello@acme.example").expect("valid"),
            to: vec![
                EmailAddress::parse("a@example.com").expect("valid"),
                EmailAddress::parse("b@example.com").expect("valid"),
            ],
            reply_to: None,
            subject: "Please sign".into(),
            text: Some("Sign here".into()),
            html: None,
            list_unsubscribe: Some("https://herald.example/u/1".into()),
        }
    }

    #[test]
    fn an_sms_goes_out_as_json_naming_the_message() {
        let from = SenderName::parse("Acme").expect("valid");
        let to = PhoneNumber::parse("+4712345678").expect("valid");
        let text = SmsText::parse("Your code is 1234").expect("valid");
        let body = sms_body(&OutgoingSms {
            account_id: "acme",
            message_id: MESSAGE,
            from: &from,
            to: &to,
            text: &text,
        });
        assert_eq!(
            serde_json::from_str::<Value>(&body).expect("JSON"),
            json!({"channel": "sms", "messageId": MESSAGE, "accountId": "acme",
                   "from": "Acme", "to": "+4712345678", "text": "Your code is 1234"})
        );
    }

    #[test]
    fn an_email_goes_out_rendered_with_its_headers() {
        let body: Value = serde_json::from_str(&email_body(&email())).expect("JSON");
        assert_eq!(
            body,
            json!({
                "channel": "email", "messageId": MESSAGE, "accountId": "acme",
                "from": {"name": "Acme Support", "address": "hello@acme.example"},
                "to": ["a@example.com", "b@example.com"], "replyTo": null,
                "subject": "Please sign", "text": "Sign here", "html": null,
                "headers": {"List-Unsubscribe": "<https://herald.example/u/1>",
                            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
            })
        );
        let plain = OutgoingEmail {
            list_unsubscribe: None,
            ..email()
        };
        let body: Value = serde_json::from_str(&email_body(&plain)).expect("JSON");
        assert_eq!(body["headers"], json!({}));
    }

    #[test]
    fn requests_are_signed_in_the_standard_webhooks_scheme_with_the_message_id() {
        let secret = WebhookSecret::parse(SECRET).expect("valid");
        let at = datetime!(2030-01-01 00:00:00 UTC);
        let request = CustomRequest::signed(&endpoint(), &secret, MESSAGE, at, "{}".into());
        assert_eq!(request.url.as_str(), "https://sms.acme.example/herald");
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(header("webhook-id"), MESSAGE);
        assert_eq!(header("webhook-timestamp"), at.unix_timestamp().to_string());
        assert!(verify_standard(
            &secret,
            MESSAGE,
            at.unix_timestamp(),
            b"{}",
            &header("webhook-signature")
        ));
        // A retry later: the same id, a fresh timestamp and signature.
        let later = CustomRequest::signed(
            &endpoint(),
            &secret,
            MESSAGE,
            at + time::Duration::minutes(3),
            "{}".into(),
        );
        assert_eq!(later.headers[0], request.headers[0]);
        assert_ne!(later.headers[2], request.headers[2]);
        // Nothing else rides along: no reference-scheme HMAC keyed by the whole secret.
        assert_eq!(request.headers.len(), 3);
    }

    #[test]
    fn a_2xx_takes_the_message_under_the_providers_id_or_heralds() {
        let taken = outcome(&answer(202, r#"{"id": "prov-42"}"#), MESSAGE).expect("taken");
        assert_eq!(taken.provider_message_id, "prov-42");
        assert_eq!(taken.response["status"], 202);
        for body in [
            "",
            "ok",
            r#"{"id": 42}"#,
            r#"{"id": ""}"#,
            r#"{"id": "a\nb"}"#,
        ] {
            let taken = outcome(&answer(200, body), MESSAGE).expect("taken");
            assert_eq!(taken.provider_message_id, MESSAGE, "{body:?}");
        }
        let long = format!(r#"{{"id": "{}"}}"#, "x".repeat(MAX_PROVIDER_ID + 1));
        assert_eq!(
            outcome(&answer(204, &long), MESSAGE)
                .expect("taken")
                .provider_message_id,
            MESSAGE
        );
    }

    #[test]
    fn failures_are_temporary_or_permanent_by_status() {
        for status in [408, 429, 500, 502, 503, 504] {
            let failure = outcome(&answer(status, "busy"), MESSAGE).expect_err("failed");
            assert_eq!(failure.kind, FailureKind::Temporary, "{status}");
        }
        for status in [301, 400, 401, 403, 404, 410, 422] {
            let failure = outcome(&answer(status, ""), MESSAGE).expect_err("failed");
            assert_eq!(failure.kind, FailureKind::Permanent, "{status}");
            assert_eq!(
                failure.reason,
                format!("the custom provider answered {status}")
            );
        }
        let refused =
            outcome(&answer(422, r#"{"error": "no such number"}"#), MESSAGE).expect_err("failed");
        assert_eq!(
            refused.reason,
            r#"the custom provider answered 422: {"error": "no such number"}"#
        );
    }

    #[test]
    fn only_an_excerpt_of_the_answer_is_kept() {
        let huge = "e".repeat(100_000);
        let failure = outcome(&answer(500, &huge), MESSAGE).expect_err("failed");
        let kept = failure.response["body"].as_str().expect("an excerpt");
        assert!(kept.chars().count() <= 257, "{}", kept.len());
        assert!(failure.reason.len() < 400);
    }

    #[tokio::test]
    async fn delivery_opens_the_sealed_secret_and_signs_with_it() {
        use crate::common::seal::local::LocalSealer;
        use crate::common::secret::Secret;
        use std::sync::Mutex;

        struct Recording(Mutex<Vec<CustomRequest>>);

        #[async_trait]
        impl CustomProviderClient for Recording {
            async fn post(&self, request: &CustomRequest) -> Result<Answer, Failure> {
                self.0.lock().expect("lock").push(request.clone());
                Ok(answer(503, "down for maintenance"))
            }
        }

        let sealer = LocalSealer::random();
        let account = AccountId::parse("acme").expect("valid");
        let sealed = sealer
            .seal(&account, &Secret::parse(SECRET).expect("valid"))
            .await
            .expect("sealed");
        let provider = CustomProvider {
            url: endpoint(),
            signing_secret: sealed,
        };
        let client = Recording(Mutex::new(Vec::new()));
        let at = datetime!(2030-01-01 00:00:00 UTC);
        let result = deliver(
            &client,
            &sealer,
            &account,
            &provider,
            MESSAGE,
            "{}".into(),
            at,
        )
        .await
        .expect("opened");
        assert_eq!(result.expect_err("503").kind, FailureKind::Temporary);
        let sent = client.0.lock().expect("lock").clone();
        let secret = WebhookSecret::parse(SECRET).expect("valid");
        assert_eq!(
            sent,
            [CustomRequest::signed(
                &endpoint(),
                &secret,
                MESSAGE,
                at,
                "{}".into()
            )]
        );

        // Sealed for another account, it does not open: Herald's trouble, not the message's.
        let other = AccountId::parse("globex").expect("valid");
        assert!(matches!(
            deliver(
                &client,
                &sealer,
                &other,
                &provider,
                MESSAGE,
                "{}".into(),
                at
            )
            .await,
            Err(SealError::Unreadable)
        ));
    }
}
