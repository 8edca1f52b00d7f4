//! SMS providers. The port is [`SmsSender`]; adapters speak Amazon SNS (Publish), Twilio (the
//! Messages API) and Vonage (the SMS API). Each sorts its failures into temporary (worth
//! retrying, or failing over to the secondary provider) and permanent (the message can never
//! go through this way: failed at once, with the provider's reason).

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use crate::messaging::message::{PhoneNumber, SmsText};
use crate::messaging::sms::{SenderName, SmsProvider};

/// One SMS to hand to a provider.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingSms<'a> {
    /// Herald's ids of the message, for the provider's delivery receipt to name it.
    pub account_id: &'a str,
    pub message_id: &'a str,
    pub from: &'a SenderName,
    pub to: &'a PhoneNumber,
    pub text: &'a SmsText,
}

/// A provider took the message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub provider_message_id: String,
    /// What the provider answered, for the log.
    pub response: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    /// A timeout, a connection error, throttling, a server error: may succeed later or
    /// through another provider.
    Temporary,
    /// An invalid or opted-out number, a rejected sender: will not succeed.
    Permanent,
    /// The request went out and no answer came in time: the provider may have taken the
    /// message. Sending it again (or through another provider) could send it twice, so the
    /// outcome is settled first (a receipt, or the provider's own record of the message).
    Unknown,
}

/// A provider did not take the message.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{kind:?} failure: {reason}")]
pub struct Failure {
    pub kind: FailureKind,
    /// The provider's reason, in its words (with its error code where it gives one).
    pub reason: String,
    /// The provider's error code, if any.
    pub code: Option<String>,
    /// What the provider answered (status and body), when it answered at all.
    pub response: Value,
}

impl Failure {
    pub fn temporary(reason: impl Into<String>, code: Option<String>, response: Value) -> Self {
        Self {
            kind: FailureKind::Temporary,
            reason: reason.into(),
            code,
            response,
        }
    }

    pub fn permanent(reason: impl Into<String>, code: Option<String>, response: Value) -> Self {
        Self {
            kind: FailureKind::Permanent,
            reason: reason.into(),
            code,
            response,
        }
    }

    pub fn unknown(reason: impl Into<String>, response: Value) -> Self {
        Self {
            kind: FailureKind::Unknown,
            reason: reason.into(),
            code: None,
            response,
        }
    }

    /// A transport failure. A timeout once connected is an unknown outcome: the request may
    /// have been read and acted on. Anything else (no connection, a connect timeout, a broken
    /// body) is temporary.
    pub fn transport(e: &reqwest::Error) -> Self {
        if e.is_timeout() && !e.is_connect() {
            return Self::unknown(
                format!("no answer in time; the provider may have taken it: {e}"),
                Value::Null,
            );
        }
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "the request failed"
        };
        Self::temporary(format!("{what}: {e}"), None, Value::Null)
    }

    /// The usual HTTP rule: 408, 429 and 5xx are temporary; any other status is permanent.
    pub fn from_status(status: u16, reason: String, code: Option<String>, response: Value) -> Self {
        if status == 408 || status == 429 || status >= 500 {
            Self::temporary(reason, code, response)
        } else {
            Self::permanent(reason, code, response)
        }
    }
}

/// What a provider's own records say about a message it may have taken (after an
/// [`FailureKind::Unknown`] outcome).
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    /// It took the message, under this id.
    Taken(Accepted),
    /// It has no such message: sending it is safe.
    NotTaken,
    /// The provider offers no way to tell, or did not answer.
    CannotTell,
}

#[async_trait]
pub trait SmsSender: Send + Sync {
    fn provider(&self) -> SmsProvider;
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<Accepted, Failure>;

    /// Looks `sms` up in the provider's own records, among messages created since `since`.
    /// Only providers with such a lookup override this.
    async fn settle(&self, _sms: OutgoingSms<'_>, _since: time::OffsetDateTime) -> Settled {
        Settled::CannotTell
    }
}

/// The adapters of every provider the operator offers. Twilio's and Vonage's need their
/// secrets, which are read from Secrets Manager when the first message goes through either.
pub fn senders(
    offered: &[SmsProvider],
    credentials: &crate::common::config::ProviderCredentials,
    aws: &std::sync::Arc<crate::adapters::aws::Clients>,
    public_api_url: Option<&str>,
) -> Result<std::collections::HashMap<SmsProvider, std::sync::Arc<dyn SmsSender>>, reqwest::Error> {
    use crate::messaging::provider_secrets::ProviderSecretsSource;
    use std::sync::Arc;
    let http = aws.provider_http()?;
    let secrets = credentials
        .secrets
        .as_ref()
        .map(|id| Arc::new(ProviderSecretsSource::secrets_manager(aws.clone(), id)));
    let public_api_url = public_api_url.map(str::to_owned);
    let mut out: std::collections::HashMap<SmsProvider, Arc<dyn SmsSender>> =
        std::collections::HashMap::new();
    for provider in offered {
        match provider {
            SmsProvider::Sns => {
                out.insert(
                    SmsProvider::Sns,
                    Arc::new(crate::adapters::aws::first_use::OnFirstUse::new(
                        aws.clone(),
                        |aws| crate::adapters::sns::Sns::new(aws.sns()),
                    )),
                );
            }
            SmsProvider::Twilio => {
                if let (Some(c), Some(secrets)) = (credentials.twilio.clone(), &secrets) {
                    let (http, callbacks) = (http.clone(), public_api_url.clone());
                    out.insert(
                        SmsProvider::Twilio,
                        Arc::new(WithSecrets::new(
                            SmsProvider::Twilio,
                            secrets.clone(),
                            move |s| {
                                let token = s
                                    .twilio_auth_token
                                    .clone()
                                    .ok_or("the provider secret has no twilioAuthToken")?;
                                Ok(Arc::new(
                                    crate::adapters::twilio::Twilio::new(
                                        http.clone(),
                                        &c.base_url,
                                        &c.account_sid,
                                        token,
                                    )
                                    .with_status_callbacks(callbacks.as_deref()),
                                ))
                            },
                        )),
                    );
                }
            }
            SmsProvider::Vonage => {
                if let (Some(c), Some(secrets)) = (credentials.vonage.clone(), &secrets) {
                    let (http, receipts) = (http.clone(), public_api_url.clone());
                    out.insert(
                        SmsProvider::Vonage,
                        Arc::new(WithSecrets::new(
                            SmsProvider::Vonage,
                            secrets.clone(),
                            move |s| {
                                let api_secret = s
                                    .vonage_api_secret
                                    .clone()
                                    .ok_or("the provider secret has no vonageApiSecret")?;
                                // Receipts are asked for only when Herald can check their
                                // signatures: the operator turned on signed webhooks.
                                let signed = s.vonage_signature_secret.is_some();
                                Ok(Arc::new(
                                    crate::adapters::vonage::Vonage::new(
                                        http.clone(),
                                        &c.base_url,
                                        &c.api_key,
                                        api_secret,
                                    )
                                    .with_delivery_receipts(receipts.as_deref().filter(|_| signed)),
                                ))
                            },
                        )),
                    );
                }
            }
        }
    }
    Ok(out)
}

type MakeSender = dyn Fn(
        &crate::messaging::provider_secrets::ProviderSecrets,
    ) -> Result<std::sync::Arc<dyn SmsSender>, &'static str>
    + Send
    + Sync;

/// A provider's adapter built at its first send, from the providers' secrets read then, and
/// kept for the warm instance's later sends. Until it is built, a send fails temporarily
/// (Secrets Manager unavailable, the provider's secret missing), so the message is retried
/// or goes to the secondary provider rather than being lost.
struct WithSecrets {
    provider: SmsProvider,
    secrets: std::sync::Arc<crate::messaging::provider_secrets::ProviderSecretsSource>,
    make: Box<MakeSender>,
    built: tokio::sync::OnceCell<std::sync::Arc<dyn SmsSender>>,
}

impl WithSecrets {
    fn new(
        provider: SmsProvider,
        secrets: std::sync::Arc<crate::messaging::provider_secrets::ProviderSecretsSource>,
        make: impl Fn(
            &crate::messaging::provider_secrets::ProviderSecrets,
        ) -> Result<std::sync::Arc<dyn SmsSender>, &'static str>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Self {
            provider,
            secrets,
            make: Box::new(make),
            built: tokio::sync::OnceCell::new(),
        }
    }
}

#[async_trait]
impl SmsSender for WithSecrets {
    fn provider(&self) -> SmsProvider {
        self.provider
    }

    async fn send(&self, sms: OutgoingSms<'_>) -> Result<Accepted, Failure> {
        self.sender().await?.send(sms).await
    }

    async fn settle(&self, sms: OutgoingSms<'_>, since: time::OffsetDateTime) -> Settled {
        match self.sender().await {
            Ok(sender) => sender.settle(sms, since).await,
            Err(_) => Settled::CannotTell,
        }
    }
}

impl WithSecrets {
    async fn sender(&self) -> Result<&std::sync::Arc<dyn SmsSender>, Failure> {
        self
            .built
            .get_or_try_init(|| async {
                let secrets = self.secrets.get().await.map_err(|e| {
                    tracing::error!(provider = self.provider.id(), error = %crate::error_chain(&e), "provider secrets unreadable");
                    Failure::temporary(
                        format!("Herald could not read its provider credentials: {e}"),
                        None,
                        Value::Null,
                    )
                })?;
                (self.make)(&secrets).map_err(|why| {
                    tracing::error!(provider = self.provider.id(), why, "provider not configured");
                    Failure::temporary(why, None, Value::Null)
                })
            })
            .await
    }
}

/// How long a provider call may take before it counts as a temporary failure.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client provider adapters share: rustls, bounded time, no redirects.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(PROVIDER_TIMEOUT)
        .connect_timeout(Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Reads a provider's answer as JSON, keeping the raw text when it is not JSON.
pub async fn response_json(resp: reqwest::Response) -> Result<(u16, Value), Failure> {
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| Failure::transport(&e))?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, body))
}
