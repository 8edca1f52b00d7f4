//! The api function's configuration, read from the environment once at cold start.

use herald::config::{ConfigError, EnvReader, PlatformConfig, VonageSignature};
use herald::delivery::setup::WebhookConfig;
use herald::secret::Secret;
use herald::sending_domain::setup::DomainConfig;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub platform: PlatformConfig,
    pub settings_table: String,
    pub kms_key_id: String,
    pub messages_table: String,
    pub send_queue_url: String,
    /// How long message log records are kept.
    pub log_retention: time::Duration,
    /// Subscriptions, events and deliveries.
    pub webhooks: WebhookConfig,
    /// Sending domains.
    pub domains: DomainConfig,
    /// Herald's API as providers reach it, for their delivery receipts.
    pub public_api_url: Option<String>,
    /// Checks Twilio's status callbacks (`X-Twilio-Signature`); none: the route is off.
    pub twilio_auth_token: Option<Secret>,
    /// Checks Vonage's signed delivery receipts; none: the route is off.
    pub vonage_signature: Option<VonageSignature>,
}

impl ApiConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(EnvReader::from_process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(mut env: EnvReader<F>) -> Result<Self, ConfigError> {
        let platform = PlatformConfig::read(&mut env);
        let settings_table = env.required("HERALD_SETTINGS_TABLE");
        let kms_key_id = env.required("HERALD_KMS_KEY_ID");
        let messages_table = env.required("HERALD_MESSAGES_TABLE");
        let send_queue_url = env.required("HERALD_SEND_QUEUE_URL");
        let retention_days = env.parsed("HERALD_LOG_RETENTION_DAYS", "90", |s| {
            s.parse::<i64>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or("must be a number of days from 1 to 3650")
        });
        let webhooks = WebhookConfig::read_into(&mut env);
        let domains = DomainConfig::read_into(&mut env);
        let public_api_url = env
            .optional("HERALD_PUBLIC_API_URL")
            .map(|u| u.trim_end_matches('/').to_owned());
        let twilio_auth_token = env
            .optional("HERALD_TWILIO_AUTH_TOKEN")
            .and_then(|t| Secret::parse(&t).ok());
        let vonage_signature = VonageSignature::read(&mut env);
        let config = platform.zip(retention_days).zip(webhooks).zip(domains).map(
            |(((platform, days), webhooks), domains)| Self {
                webhooks,
                domains,
                public_api_url,
                twilio_auth_token,
                vonage_signature,
                platform,
                settings_table,
                kms_key_id,
                messages_table,
                send_queue_url,
                log_retention: time::Duration::days(days),
            },
        );
        env.finish(config)
    }
}
