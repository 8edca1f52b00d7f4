//! The SMS providers' adapters put together: every offered provider's sender built from the
//! operator's configuration (Twilio's and Vonage's at their first send, once their secrets are
//! read).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::adapters::aws::Clients;
use crate::adapters::aws::first_use::OnFirstUse;
use crate::adapters::secrets_manager::SecretsManagerSource;
use crate::adapters::sns::Sns;
use crate::adapters::twilio::Twilio;
use crate::adapters::vonage::Vonage;
use crate::common::config::ProviderCredentials;
use crate::messaging::provider_secrets::{ProviderSecrets, ProviderSecretsSource};
use crate::messaging::senders::sms::{OutgoingSms, SmsSender};
use crate::messaging::senders::{Accepted, Failure, Settled};
use crate::messaging::sms::SmsProvider;

/// The adapters of every provider the operator offers. Twilio's and Vonage's need their
/// secrets, which are read from Secrets Manager when the first message goes through either.
pub fn senders(
    offered: &[SmsProvider],
    credentials: &ProviderCredentials,
    aws: &Arc<Clients>,
    public_api_url: Option<&str>,
) -> Result<HashMap<SmsProvider, Arc<dyn SmsSender>>, reqwest::Error> {
    let http = aws.provider_http()?;
    let secrets = credentials.secrets.as_ref().map(|id| {
        Arc::new(SecretsManagerSource::new(aws.clone(), id)) as Arc<dyn ProviderSecretsSource>
    });
    let public_api_url = public_api_url.map(str::to_owned);
    let mut out: HashMap<SmsProvider, Arc<dyn SmsSender>> = HashMap::new();
    for provider in offered {
        match provider {
            SmsProvider::Sns => {
                out.insert(
                    SmsProvider::Sns,
                    Arc::new(OnFirstUse::new(aws.clone(), |aws| Sns::new(aws.sns()))),
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
                                    Twilio::new(http.clone(), &c.base_url, &c.account_sid, token)
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
                                    Vonage::new(http.clone(), &c.base_url, &c.api_key, api_secret)
                                        .with_delivery_receipts(
                                            receipts.as_deref().filter(|_| signed),
                                        ),
                                ))
                            },
                        )),
                    );
                }
            }
            // Each account's own, built per message from its settings by the dispatcher.
            SmsProvider::Custom => {}
        }
    }
    Ok(out)
}

type MakeSender =
    dyn Fn(&ProviderSecrets) -> Result<Arc<dyn SmsSender>, &'static str> + Send + Sync;

/// A provider's adapter built at its first send, from the providers' secrets read then, and
/// kept for the warm instance's later sends. Until it is built, a send fails temporarily
/// (Secrets Manager unavailable, the provider's secret missing), so the message is retried
/// or goes to the secondary provider rather than being lost.
struct WithSecrets {
    provider: SmsProvider,
    secrets: Arc<dyn ProviderSecretsSource>,
    make: Box<MakeSender>,
    built: OnceCell<Arc<dyn SmsSender>>,
}

impl WithSecrets {
    fn new(
        provider: SmsProvider,
        secrets: Arc<dyn ProviderSecretsSource>,
        make: impl Fn(&ProviderSecrets) -> Result<Arc<dyn SmsSender>, &'static str>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Self {
            provider,
            secrets,
            make: Box::new(make),
            built: OnceCell::new(),
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
    async fn sender(&self) -> Result<&Arc<dyn SmsSender>, Failure> {
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
