//! What the dispatch functions (`send-dispatch`, `sms-failover`) read from the environment at
//! cold start, and the dispatcher built from it.

use std::sync::Arc;

use crate::adapters::dynamo::message_log::DynamoMessageLog;
use crate::adapters::dynamo::settings::DynamoSettingsStore;
use crate::adapters::sqs::SqsQueue;
use crate::common::clock::SystemClock;
use crate::common::config::{ConfigError, EnvReader, PlatformConfig, ProviderCredentials};
use crate::messaging::settings::Settings;
use crate::messaging::sms::SmsProvider;

use crate::adapters::kms::KmsSealer;
use crate::adapters::ses::sender::Ses;
use crate::adapters::smtp::SmtpMailer;
use crate::messaging::dispatch::email::EmailDispatcher;
use crate::messaging::dispatch::sms::SmsDispatcher;

/// `25:2525,587:2587`: SMTP ports to connect to instead of the standard ones.
fn parse_port_map(s: &str) -> Result<Vec<(u16, u16)>, &'static str> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (from, to) = pair.split_once(':').ok_or("must be a list of port:port")?;
            Ok((
                from.trim()
                    .parse()
                    .map_err(|_| "must be a list of port:port")?,
                to.trim()
                    .parse()
                    .map_err(|_| "must be a list of port:port")?,
            ))
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct DispatchConfig {
    pub platform: PlatformConfig,
    pub credentials: ProviderCredentials,
    pub settings_table: String,
    pub messages_table: String,
    pub failover_queue_url: String,
    pub kms_key_id: String,
    pub max_receives: u32,
    pub smtp_port_map: Vec<(u16, u16)>,
    pub ses_configuration_set: Option<String>,
    pub domains_table: String,
    pub events_queue_url: String,
    /// Where SMS providers send delivery receipts (`HERALD_PUBLIC_API_URL`); none without it.
    pub public_api_url: Option<String>,
    /// The function's queue's dead-letter queue, whose jobs' messages end `failed`
    /// (`HERALD_DEAD_LETTER_QUEUE_ARN`).
    pub dead_letter_queue_arn: Option<String>,
}

impl DispatchConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut env = EnvReader::from_process();
        let platform = PlatformConfig::read(&mut env);
        let credentials = platform
            .as_ref()
            .map(|p| ProviderCredentials::read(&mut env, &p.sms_providers));
        let settings_table = env.required("HERALD_SETTINGS_TABLE");
        let messages_table = env.required("HERALD_MESSAGES_TABLE");
        let failover_queue_url = env.required("HERALD_FAILOVER_QUEUE_URL");
        let kms_key_id = env.required("HERALD_KMS_KEY_ID");
        let max_receives = env.parsed("HERALD_MAX_SEND_ATTEMPTS", "3", |s| {
            s.parse::<u32>()
                .ok()
                .filter(|n| (1..=20).contains(n))
                .ok_or("must be a number from 1 to 20")
        });
        let smtp_port_map = env.parsed("HERALD_SMTP_PORT_MAP", "", parse_port_map);
        let ses_configuration_set = env.optional("HERALD_SES_CONFIGURATION_SET");
        let domains_table = env.required("HERALD_DOMAINS_TABLE");
        let events_queue_url = env.required("HERALD_EVENTS_QUEUE_URL");
        let public_api_url = env.optional("HERALD_PUBLIC_API_URL");
        let dead_letter_queue_arn = env.optional("HERALD_DEAD_LETTER_QUEUE_ARN");
        let config = match (platform, credentials, max_receives, smtp_port_map) {
            (Some(platform), Some(credentials), Some(max_receives), Some(smtp_port_map)) => {
                Some(Self {
                    dead_letter_queue_arn,
                    domains_table,
                    events_queue_url,
                    public_api_url,
                    smtp_port_map,
                    ses_configuration_set,
                    platform,
                    credentials,
                    settings_table,
                    messages_table,
                    failover_queue_url,
                    kms_key_id,
                    max_receives,
                })
            }
            _ => None,
        };
        env.finish(config)
    }

    fn events(
        &self,
        aws: &crate::adapters::aws::Clients,
    ) -> crate::events::publish::EventPublisher {
        // Status events go out with the batch's others (a record handled again finds its
        // message settled and publishes nothing twice).
        crate::events::publish::EventPublisher::new(Arc::new(
            SqsQueue::new(aws.sqs(), &self.events_queue_url).batched(),
        ))
    }

    /// Accounts' own providers, through the operator's address policy.
    fn custom_providers(&self) -> Arc<crate::adapters::custom_provider::HttpCustomProvider> {
        Arc::new(crate::adapters::custom_provider::HttpCustomProvider::new(
            self.platform.destinations.clone(),
            crate::adapters::connect::system_lookup(),
        ))
    }

    /// The sealer of accounts' secrets, whose KMS client is built when a send first opens one.
    fn sealer(
        &self,
        aws: &Arc<crate::adapters::aws::Clients>,
    ) -> Arc<dyn crate::common::seal::SecretSealer> {
        use crate::adapters::aws::first_use::OnFirstUse;
        let kms_key_id = self.kms_key_id.clone();
        Arc::new(OnFirstUse::new(aws.clone(), move |aws| {
            KmsSealer::new(aws.kms(), &kms_key_id)
        }))
    }

    /// Builds the email dispatcher and its adapters (once per cold start).
    pub fn email_dispatcher(
        &self,
        aws: &Arc<crate::adapters::aws::Clients>,
    ) -> Result<EmailDispatcher, reqwest::Error> {
        use crate::adapters::aws::first_use::OnFirstUse;
        let dynamo = aws.dynamo();
        let configuration_set = self.ses_configuration_set.clone();
        Ok(EmailDispatcher {
            log: Arc::new(DynamoMessageLog::new(dynamo.clone(), &self.messages_table)),
            settings: Settings::new(Arc::new(DynamoSettingsStore::new(
                dynamo,
                &self.settings_table,
            ))),
            // KMS only for accounts' own SMTP servers and providers, SES only for the others:
            // each client is built when a send first needs it.
            sealer: self.sealer(aws),
            ses: Arc::new(OnFirstUse::new(aws.clone(), move |aws| {
                Ses::new(aws.sesv2(), configuration_set.clone())
            })),
            smtp: Arc::new(SmtpMailer::new(
                self.platform.destinations.clone(),
                crate::adapters::connect::system_lookup(),
                self.smtp_port_map.clone(),
            )?),
            custom: self.custom_providers(),
            domains: Arc::new(crate::adapters::dynamo::domains::DynamoDomainStore::new(
                aws.dynamo(),
                &self.domains_table,
            )),
            events: self.events(aws),
            clock: Arc::new(SystemClock),
            platform: self.platform.clone(),
            max_receives: self.max_receives,
        })
    }

    /// Builds the SMS dispatcher and its adapters (once per cold start).
    pub fn sms_dispatcher(
        &self,
        aws: &Arc<crate::adapters::aws::Clients>,
    ) -> Result<SmsDispatcher, reqwest::Error> {
        let dynamo = aws.dynamo();
        Ok(SmsDispatcher {
            log: Arc::new(DynamoMessageLog::new(dynamo.clone(), &self.messages_table)),
            settings: Settings::new(Arc::new(DynamoSettingsStore::new(
                dynamo,
                &self.settings_table,
            ))),
            providers: crate::adapters::sms_providers::senders(
                &self.platform.sms_providers,
                &self.credentials,
                aws,
                self.public_api_url.as_deref(),
            )?,
            custom: self.custom_providers(),
            sealer: self.sealer(aws),
            failover: Arc::new(SqsQueue::new(aws.sqs(), &self.failover_queue_url)),
            clock: Arc::new(SystemClock),
            events: self.events(aws),
            default_sender: self.platform.default_sms_sender.clone(),
            default_provider: self
                .platform
                .sms_providers
                .first()
                .copied()
                .unwrap_or(SmsProvider::Sns),
            max_receives: self.max_receives,
        })
    }
}
