//! The API's configuration, read from the environment once at cold start, and the adapters it
//! talks through (its routes are in `functions/api`).

use std::sync::Arc;

use crate::adapters::aws::Clients;
use crate::common::clock::Clock;
use crate::common::config::{ConfigError, EnvReader, PlatformConfig};
use crate::common::idempotency::IdempotencyStore;
use crate::common::queue::JobQueue;
use crate::common::seal::SecretSealer;
use crate::dashboard::SessionStore;
use crate::domains::DnsLookup;
use crate::domains::identity::EmailIdentities;
use crate::domains::store::DomainStore;
use crate::events::catalog::registry::EventTypeStore;
use crate::events::delivery::{DeliveryJob, DeliveryStore};
use crate::events::subscription::SubscriptionStore;
use crate::events::webhook::Event;
use crate::lambda::domains::DomainConfig;
use crate::lambda::webhooks::WebhookConfig;
use crate::messaging::dispatch::SendJob;
use crate::messaging::log::MessageLog;
use crate::messaging::provider_secrets::ProviderSecretsSource;
use crate::messaging::receipts::vonage::SignatureMethod;
use crate::messaging::settings::SettingsStore;

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
    /// Where dashboard sign-in links and sessions are kept; none: the dashboard is not
    /// deployed and `POST /accounts/{id}/dashboard-sessions` says so.
    pub dashboard_sessions_table: Option<String>,
    /// The registry of the platform's event types.
    pub event_types_table: String,
    /// Notification types, rules, preferences and the notification log.
    pub notifications_table: String,
    /// Whether a notification channel is on when neither its type nor the recipient says.
    pub notifications_default_on: bool,
    /// Events must be of a type in the catalog (Herald's own or registered) to be published
    /// or selected by a subscription (`HERALD_REQUIRE_REGISTERED_EVENT_TYPES`); otherwise any
    /// well-formed name goes, and only registered schemas are enforced.
    pub require_registered_event_types: bool,
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
        let dashboard_sessions_table = env.optional("HERALD_DASHBOARD_SESSIONS_TABLE");
        let vonage_signature_method =
            env.parsed("HERALD_VONAGE_SIGNATURE_METHOD", "md5hash", str::parse);
        let event_types_table = env.required("HERALD_EVENT_TYPES_TABLE");
        let notifications_table = env.required("HERALD_NOTIFICATIONS_TABLE");
        let notifications_default_on = env.parsed(
            "HERALD_NOTIFICATIONS_DEFAULT_ON",
            "true",
            crate::notify::preferences::parse_default_on,
        );
        let require_registered_event_types = env.flag("HERALD_REQUIRE_REGISTERED_EVENT_TYPES");
        let config = platform
            .zip(retention_days)
            .zip(webhooks)
            .zip(domains)
            .zip(vonage_signature_method)
            .zip(notifications_default_on)
            .map(
                |(
                    ((((platform, days), webhooks), domains), vonage_signature_method),
                    notifications_default_on,
                )| Self {
                    notifications_default_on,
                    webhooks,
                    domains,
                    public_api_url,
                    provider_secrets,
                    vonage_signature_method,
                    dashboard_sessions_table,
                    event_types_table,
                    notifications_table,
                    require_registered_event_types,
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

/// The adapters the API talks through, built once per cold start.
pub struct Adapters {
    pub settings: Arc<dyn SettingsStore>,
    pub sealer: Arc<dyn SecretSealer>,
    pub messages: Arc<dyn MessageLog>,
    /// Idempotency claims of requests that keep no record of their own (published events).
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub send_queue: Arc<dyn JobQueue<SendJob>>,
    pub subscriptions: Arc<dyn SubscriptionStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    pub deliveries_queue: Arc<dyn JobQueue<DeliveryJob>>,
    pub events_queue: Arc<dyn JobQueue<Event>>,
    pub domains: Arc<dyn DomainStore>,
    /// The registry of the platform's event types.
    pub event_types: Arc<dyn EventTypeStore>,
    pub notifications: Arc<dyn crate::notify::store::NotifyStore>,
    pub short_links: Arc<dyn crate::notify::short_links::ShortLinkStore>,
    pub identities: Arc<dyn EmailIdentities>,
    pub dns: Arc<dyn DnsLookup>,
    pub clock: Arc<dyn Clock>,
    /// Twilio's and Vonage's secrets, which check their receipts; none: the routes are off.
    pub provider_secrets: Option<Arc<dyn ProviderSecretsSource>>,
    /// Dashboard sign-in links and sessions, where the dashboard is deployed.
    pub sessions: Option<Arc<dyn SessionStore>>,
}

/// The adapters of the deployed function: DynamoDB, SQS, KMS and SES through `aws`'s clients,
/// which carry Herald's timeouts (`crate::adapters::aws::timeouts`).
impl Adapters {
    pub fn aws(config: &ApiConfig, aws: Arc<Clients>) -> Self {
        use crate::adapters::aws::first_use::OnFirstUse;
        use crate::adapters::dns::{HickoryLookup, LazyHickoryLookup};
        use crate::adapters::dynamo::dashboard_sessions::DynamoSessionStore;
        use crate::adapters::dynamo::deliveries::DynamoDeliveryStore;
        use crate::adapters::dynamo::domains::DynamoDomainStore;
        use crate::adapters::dynamo::event_types::DynamoEventTypeStore;
        use crate::adapters::dynamo::idempotency::DynamoIdempotencyStore;
        use crate::adapters::dynamo::message_log::DynamoMessageLog;
        use crate::adapters::dynamo::notifications::DynamoNotifyStore;
        use crate::adapters::dynamo::settings::DynamoSettingsStore;
        use crate::adapters::dynamo::subscriptions::DynamoSubscriptionStore;
        use crate::adapters::kms::KmsSealer;
        use crate::adapters::secrets_manager::SecretsManagerSource;
        use crate::adapters::ses::identities::SesIdentities;
        use crate::adapters::sqs::SqsQueue;
        use crate::common::clock::SystemClock;

        let dynamo = aws.dynamo();
        let kms_key_id = config.kms_key_id.clone();
        let sqs = aws.sqs();
        Adapters {
            settings: Arc::new(DynamoSettingsStore::new(
                dynamo.clone(),
                &config.settings_table,
            )),
            // Built when a request first needs them.
            sealer: Arc::new(OnFirstUse::new(aws.clone(), move |aws| {
                KmsSealer::new(aws.kms(), &kms_key_id)
            })),
            messages: Arc::new(DynamoMessageLog::new(
                dynamo.clone(),
                &config.messages_table,
            )),
            // Beside the claims of messages, in the message log's table.
            idempotency: Arc::new(DynamoIdempotencyStore::new(
                dynamo.clone(),
                &config.messages_table,
            )),
            send_queue: Arc::new(SqsQueue::new(sqs.clone(), &config.send_queue_url)),
            subscriptions: Arc::new(DynamoSubscriptionStore::new(
                dynamo.clone(),
                &config.webhooks.subscriptions_table,
            )),
            deliveries: Arc::new(DynamoDeliveryStore::new(
                dynamo.clone(),
                &config.webhooks.deliveries_table,
            )),
            domains: Arc::new(DynamoDomainStore::new(
                dynamo.clone(),
                &config.domains.domains_table,
            )),
            sessions: config.dashboard_sessions_table.as_ref().map(|table| {
                Arc::new(DynamoSessionStore::new(dynamo.clone(), table)) as Arc<dyn SessionStore>
            }),
            notifications: Arc::new(DynamoNotifyStore::new(
                dynamo.clone(),
                &config.notifications_table,
            )),
            // In the notifications table too: `link#{code}` items.
            short_links: Arc::new(DynamoNotifyStore::new(
                dynamo.clone(),
                &config.notifications_table,
            )),
            event_types: Arc::new(DynamoEventTypeStore::new(dynamo, &config.event_types_table)),
            identities: Arc::new(OnFirstUse::new(aws.clone(), |aws| {
                SesIdentities::new(aws.sesv2())
            })),
            dns: Arc::new(LazyHickoryLookup::new(
                &config.domains.nameservers,
                HickoryLookup::DEFAULT_TIMEOUT,
            )),
            deliveries_queue: Arc::new(SqsQueue::new(
                sqs.clone(),
                &config.webhooks.deliveries_queue_url,
            )),
            events_queue: Arc::new(SqsQueue::new(sqs, &config.webhooks.events_queue_url)),
            clock: Arc::new(SystemClock),
            // Read from Secrets Manager by the first receipt that needs them.
            provider_secrets: config.provider_secrets.as_ref().map(|id| {
                Arc::new(SecretsManagerSource::new(aws.clone(), id))
                    as Arc<dyn ProviderSecretsSource>
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(extra: &[(&str, &str)]) -> Result<ApiConfig, ConfigError> {
        let mut vars: HashMap<String, String> = [
            ("HERALD_DEFAULT_EMAIL_DOMAIN", "mail.example.com"),
            ("HERALD_SETTINGS_TABLE", "settings"),
            ("HERALD_MESSAGES_TABLE", "messages"),
            ("HERALD_SUBSCRIPTIONS_TABLE", "subscriptions"),
            ("HERALD_DELIVERIES_TABLE", "deliveries"),
            ("HERALD_DOMAINS_TABLE", "domains"),
            ("HERALD_EVENT_TYPES_TABLE", "event-types"),
            ("HERALD_NOTIFICATIONS_TABLE", "notifications"),
            ("HERALD_KMS_KEY_ID", "alias/herald"),
            ("HERALD_SEND_QUEUE_URL", "https://sqs.local/send"),
            (
                "HERALD_DELIVERIES_QUEUE_URL",
                "https://sqs.local/deliveries",
            ),
            ("HERALD_EVENTS_QUEUE_URL", "https://sqs.local/events"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        ApiConfig::read(EnvReader::new(move |k: &str| vars.get(k).cloned()))
    }

    #[test]
    fn registered_event_types_are_required_only_when_the_operator_says() {
        let config = read(&[]).expect("valid");
        assert!(!config.require_registered_event_types);
        assert_eq!(config.event_types_table, "event-types");
        let config = read(&[("HERALD_REQUIRE_REGISTERED_EVENT_TYPES", "true")]).expect("valid");
        assert!(config.require_registered_event_types);
        let err = read(&[("HERALD_REQUIRE_REGISTERED_EVENT_TYPES", "yes")]).expect_err("invalid");
        assert!(
            err.to_string()
                .contains("HERALD_REQUIRE_REGISTERED_EVENT_TYPES: \"yes\" must be true or false"),
            "{err}"
        );
        let err = read(&[("HERALD_EVENT_TYPES_TABLE", "")]).expect_err("missing");
        assert!(
            err.to_string().contains("HERALD_EVENT_TYPES_TABLE"),
            "{err}"
        );
    }
}
