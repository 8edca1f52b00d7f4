//! Twilio's Messages API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded
//! `To`, `From`, `Body`, HTTP basic auth with the account SID and auth token. Success is 201
//! with the message `sid`; errors carry Twilio's numeric `code` and `message`.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::adapters::provider_http::{response_json, transport_failure};
use crate::common::secret::Secret;
use crate::messaging::senders::sms::{OutgoingSms, SmsSender};
use crate::messaging::senders::{Accepted, Failure, Settled};
use crate::messaging::sms::SmsProvider;

/// Twilio error codes that are worth another try (or another provider).
const TEMPORARY_CODES: [i64; 3] = [
    20429, // too many requests
    20500, // internal server error
    20503, // service unavailable
];

pub struct Twilio {
    http: reqwest::Client,
    base_url: String,
    account_sid: String,
    auth_token: Secret,
    /// Herald's public API URL: each message asks Twilio to report its status to
    /// `{url}/callbacks/twilio/{accountId}/{messageId}`.
    status_callback: Option<String>,
}

impl Twilio {
    /// Asks Twilio for status callbacks to Herald's API at `public_api_url`, if there is one.
    pub fn with_status_callbacks(mut self, public_api_url: Option<&str>) -> Self {
        self.status_callback = public_api_url.map(|u| u.trim_end_matches('/').to_owned());
        self
    }

    pub fn new(
        http: reqwest::Client,
        base_url: impl Into<String>,
        account_sid: impl Into<String>,
        auth_token: Secret,
    ) -> Self {
        Self {
            http,
            base_url: base_url.into(),
            account_sid: account_sid.into(),
            auth_token,
            status_callback: None,
        }
    }
}

/// Whether a Twilio message resource (from the Messages list) is `sms`, created at or after
/// `since`: same recipient, sender and text.
fn is_the_message(m: &Value, sms: &OutgoingSms<'_>, since: time::OffsetDateTime) -> bool {
    let created = m.get("date_created").and_then(Value::as_str).and_then(|d| {
        time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc2822).ok()
    });
    m.get("to").and_then(Value::as_str) == Some(sms.to.as_str())
        && m.get("from").and_then(Value::as_str) == Some(sms.from.as_str())
        && m.get("body").and_then(Value::as_str) == Some(sms.text.as_str())
        // Twilio's dates are to the second.
        && created.is_some_and(|c| c >= since - time::Duration::seconds(1))
}

#[async_trait]
impl SmsSender for Twilio {
    fn provider(&self) -> SmsProvider {
        SmsProvider::Twilio
    }

    /// Twilio's Messages list, newest first, filtered by recipient and sender: the message is
    /// there if Twilio took it.
    async fn settle(&self, sms: OutgoingSms<'_>, since: time::OffsetDateTime) -> Settled {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url.trim_end_matches('/'),
            self.account_sid
        );
        let resp = self
            .http
            .get(&url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .query(&[
                ("To", sms.to.as_str()),
                ("From", sms.from.as_str()),
                ("PageSize", "50"),
            ])
            .send()
            .await;
        let Ok(resp) = resp else {
            return Settled::CannotTell;
        };
        let Ok((200, body)) = response_json(resp).await else {
            return Settled::CannotTell;
        };
        let Some(messages) = body.get("messages").and_then(Value::as_array) else {
            return Settled::CannotTell;
        };
        match messages.iter().find(|m| is_the_message(m, &sms, since)) {
            Some(m) => match m.get("sid").and_then(Value::as_str) {
                Some(sid) => Settled::Taken(Accepted {
                    provider_message_id: sid.to_owned(),
                    response: json!({"settledBy": "lookup", "status": m.get("status")}),
                }),
                None => Settled::CannotTell,
            },
            None => Settled::NotTaken,
        }
    }

    async fn send(&self, sms: OutgoingSms<'_>) -> Result<Accepted, Failure> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url.trim_end_matches('/'),
            self.account_sid
        );
        let mut form = vec![
            ("To", sms.to.as_str()),
            ("From", sms.from.as_str()),
            ("Body", sms.text.as_str()),
        ];
        let callback = self.status_callback.as_ref().map(|base| {
            format!(
                "{base}/callbacks/twilio/{}/{}",
                sms.account_id, sms.message_id
            )
        });
        if let Some(cb) = &callback {
            form.push(("StatusCallback", cb.as_str()));
        }
        let resp = self
            .http
            .post(&url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_failure(&e))?;
        let (status, body) = response_json(resp).await?;
        let response = json!({"status": status, "body": body});
        if (200..300).contains(&status) {
            return match body.get("sid").and_then(Value::as_str) {
                Some(sid) => Ok(Accepted {
                    provider_message_id: sid.to_owned(),
                    response,
                }),
                None => Err(Failure::temporary(
                    "Twilio answered without a message sid",
                    None,
                    response,
                )),
            };
        }
        let code = body.get("code").and_then(Value::as_i64);
        let message = body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        let reason = match code {
            Some(c) => format!("Twilio error {c}: {message}"),
            None => format!("Twilio answered {status}: {message}"),
        };
        let code_text = code.map(|c| c.to_string());
        if code.is_some_and(|c| TEMPORARY_CODES.contains(&c)) {
            Err(Failure::temporary(reason, code_text, response))
        } else {
            Err(Failure::from_status(status, reason, code_text, response))
        }
    }
}
