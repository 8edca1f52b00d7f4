//! Vonage's SMS API: `POST /sms/json` with `api_key`, `api_secret`, `from`, `to` (digits, no
//! `+`) and `text`. It answers 200 even when a message fails: each entry of `messages` has a
//! `status`, "0" for success, else an error code with `error-text`. With `callback`, a message
//! names the URL its delivery receipt goes to.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::adapters::provider_http::{response_json, transport_failure};
use crate::common::secret::Secret;
use crate::messaging::senders::sms::{OutgoingSms, SmsSender};
use crate::messaging::senders::{Accepted, Failure};
use crate::messaging::sms::SmsProvider;

/// Vonage status codes worth another try: throttled, internal error, partner quota.
const TEMPORARY_STATUSES: [&str; 3] = ["1", "5", "9"];

pub struct Vonage {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    api_secret: Secret,
    /// Herald's public API URL: each message asks Vonage for its delivery receipt at
    /// `{url}/callbacks/vonage/{accountId}/{messageId}`.
    receipts: Option<String>,
}

impl Vonage {
    pub fn new(
        http: reqwest::Client,
        base_url: impl Into<String>,
        api_key: impl Into<String>,
        api_secret: Secret,
    ) -> Self {
        Self {
            http,
            base_url: base_url.into(),
            api_key: api_key.into(),
            api_secret,
            receipts: None,
        }
    }

    /// Asks Vonage for delivery receipts to Herald's API at `public_api_url`, if there is one.
    pub fn with_delivery_receipts(mut self, public_api_url: Option<&str>) -> Self {
        self.receipts = public_api_url.map(|u| u.trim_end_matches('/').to_owned());
        self
    }
}

#[async_trait]
impl SmsSender for Vonage {
    fn provider(&self) -> SmsProvider {
        SmsProvider::Vonage
    }

    async fn send(&self, sms: OutgoingSms<'_>) -> Result<Accepted, Failure> {
        let url = format!("{}/sms/json", self.base_url.trim_end_matches('/'));
        let to = sms.to.as_str().trim_start_matches('+');
        let callback = self.receipts.as_ref().map(|base| {
            format!(
                "{base}/callbacks/vonage/{}/{}",
                sms.account_id, sms.message_id
            )
        });
        let mut form = vec![
            ("api_key", self.api_key.as_str()),
            ("api_secret", self.api_secret.expose()),
            ("from", sms.from.as_str()),
            ("to", to),
            ("text", sms.text.as_str()),
            ("type", "unicode"),
            // Echoed in the delivery receipt, signed: what binds a receipt to this message
            // when Vonage's answer (with its message-id) never came.
            ("client-ref", sms.message_id),
        ];
        if let Some(cb) = &callback {
            form.extend([("callback", cb.as_str()), ("status-report-req", "1")]);
        }
        let resp = self
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_failure(&e))?;
        let (status, body) = response_json(resp).await?;
        let response = json!({"status": status, "body": body});
        if !(200..300).contains(&status) {
            return Err(Failure::from_status(
                status,
                format!("Vonage answered {status}"),
                None,
                response,
            ));
        }
        let first = body
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|m| m.first())
            .cloned()
            .unwrap_or(Value::Null);
        let code = first.get("status").and_then(Value::as_str).unwrap_or("");
        if code == "0" {
            return match first.get("message-id").and_then(Value::as_str) {
                Some(id) => Ok(Accepted {
                    provider_message_id: id.to_owned(),
                    response,
                }),
                None => Err(Failure::temporary(
                    "Vonage answered without a message-id",
                    None,
                    response,
                )),
            };
        }
        let text = first
            .get("error-text")
            .and_then(Value::as_str)
            .unwrap_or("no error text");
        let reason = format!("Vonage status {code}: {text}");
        if code.is_empty() || TEMPORARY_STATUSES.contains(&code) {
            Err(Failure::temporary(reason, Some(code.to_owned()), response))
        } else {
            Err(Failure::permanent(reason, Some(code.to_owned()), response))
        }
    }
}
