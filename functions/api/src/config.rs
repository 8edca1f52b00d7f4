//! The api function's configuration, read from the environment once at cold start.

use herald::common::config::{ConfigError, EnvReader, PlatformConfig};
use herald::lambda::domains::DomainConfig;
use herald::lambda::webhooks::WebhookConfig;
use herald::messaging::receipts::vonage::SignatureMethod;

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
    /// The Secrets Manager secret with the providers' secrets (`HERALD_PROVIDER_SECRETS`),
    /// whose Twilio auth token checks Twilio's status callbacks (`X-Twilio-Signature`) and
    /// Vonage signature secret Vonage's receipts; none, or a secret without them: the routes
    /// are off.
    pub provider_secrets: Option<String>,
    /// The method chosen beside the signature secret in Vonage's dashboard.
    pub vonage_signature_method: SignatureMethod,
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
        let provider_secrets = env.optional("HERALD_PROVIDER_SECRETS");
        let vonage_signature_method =
            env.parsed("HERALD_VONAGE_SIGNATURE_METHOD", "md5hash", str::parse);
        let config = platform
            .zip(retention_days)
            .zip(webhooks)
            .zip(domains)
            .zip(vonage_signature_method)
            .map(
                |((((platform, days), webhooks), domains), vonage_signature_method)| Self {
                    webhooks,
                    domains,
                    public_api_url,
                    provider_secrets,
                    vonage_signature_method,
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
