//! What the dispatch functions (`send-dispatch`, `sms-failover`) read from the environment at
//! cold start, and the dispatcher built from it.

use std::sync::Arc;

use crate::clock::SystemClock;
use crate::config::{ConfigError, EnvReader, PlatformConfig, ProviderCredentials};
use crate::message_log::dynamo::DynamoMessageLog;
use crate::queue::SqsQueue;
use crate::settings::Settings;
use crate::settings::dynamo::DynamoSettingsStore;
use crate::sms::SmsProvider;

use super::sms::SmsDispatcher;

#[derive(Debug, Clone)]
pub struct DispatchConfig {
    pub platform: PlatformConfig,
    pub credentials: ProviderCredentials,
    pub settings_table: String,
    pub messages_table: String,
    pub failover_queue_url: String,
    pub max_receives: u32,
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
        let max_receives = env.parsed("HERALD_MAX_SEND_ATTEMPTS", "3", |s| {
            s.parse::<u32>()
                .ok()
                .filter(|n| (1..=20).contains(n))
                .ok_or("must be a number from 1 to 20")
        });
        let config = match (platform, credentials, max_receives) {
            (Some(platform), Some(credentials), Some(max_receives)) => Some(Self {
                platform,
                credentials,
                settings_table,
                messages_table,
                failover_queue_url,
                max_receives,
            }),
            _ => None,
        };
        env.finish(config)
    }

    /// Builds the SMS dispatcher and its adapters (once per cold start).
    pub fn sms_dispatcher(
        &self,
        aws: &aws_config::SdkConfig,
    ) -> Result<SmsDispatcher, reqwest::Error> {
        let dynamo = aws_sdk_dynamodb::Client::new(aws);
        Ok(SmsDispatcher {
            log: Arc::new(DynamoMessageLog::new(dynamo.clone(), &self.messages_table)),
            settings: Settings::new(Arc::new(DynamoSettingsStore::new(
                dynamo,
                &self.settings_table,
            ))),
            providers: crate::sms_provider::senders(
                &self.platform.sms_providers,
                &self.credentials,
                aws,
            )?,
            failover: Arc::new(SqsQueue::new(
                aws_sdk_sqs::Client::new(aws),
                &self.failover_queue_url,
            )),
            clock: Arc::new(SystemClock),
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
