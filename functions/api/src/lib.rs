//! Herald's REST API (see API.md): routing, authentication, validation of requests into domain
//! types, and problem+json errors. The Lambda entry point is `main.rs`; tests drive [`router`]
//! in-process with in-memory adapters.

mod auth;
mod body;
mod config;
mod problem;
mod routes;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use herald::common::clock::Clock;
use herald::common::idempotency::IdempotencyStore;
use herald::common::queue::JobQueue;
use herald::common::seal::SecretSealer;
use herald::domains::DnsLookup;
use herald::domains::checker::DomainChecker;
use herald::domains::identity::EmailIdentities;
use herald::domains::store::DomainStore;
use herald::events::delivery::{DeliveryJob, DeliveryStore};
use herald::events::publish::EventPublisher;
use herald::events::subscription::SubscriptionStore;
use herald::events::webhook::Event;
use herald::messaging::dispatch::SendJob;
use herald::messaging::log::MessageLog;
use herald::messaging::provider_secrets::ProviderSecretsSource;
use herald::messaging::settings::{Settings, SettingsStore};

pub use auth::Caller;
pub use config::ApiConfig;
pub use problem::ApiError;

/// Request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

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
    pub identities: Arc<dyn EmailIdentities>,
    pub dns: Arc<dyn DnsLookup>,
    pub clock: Arc<dyn Clock>,
    /// Twilio's and Vonage's secrets, which check their receipts; none: the routes are off.
    pub provider_secrets: Option<Arc<dyn ProviderSecretsSource>>,
}

/// The adapters of the deployed function: DynamoDB, SQS, KMS and SES through `aws`'s clients,
/// which carry Herald's timeouts (`herald::adapters::aws::timeouts`).
pub fn aws_adapters(config: &ApiConfig, aws: Arc<herald::adapters::aws::Clients>) -> Adapters {
    use herald::adapters::aws::first_use::OnFirstUse;
    use herald::adapters::dns::{HickoryLookup, LazyHickoryLookup};
    use herald::adapters::dynamo::deliveries::DynamoDeliveryStore;
    use herald::adapters::dynamo::domains::DynamoDomainStore;
    use herald::adapters::dynamo::idempotency::DynamoIdempotencyStore;
    use herald::adapters::dynamo::message_log::DynamoMessageLog;
    use herald::adapters::dynamo::settings::DynamoSettingsStore;
    use herald::adapters::dynamo::subscriptions::DynamoSubscriptionStore;
    use herald::adapters::kms::KmsSealer;
    use herald::adapters::secrets_manager::SecretsManagerSource;
    use herald::adapters::ses::identities::SesIdentities;
    use herald::adapters::sqs::SqsQueue;
    use herald::common::clock::SystemClock;

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
            dynamo,
            &config.domains.domains_table,
        )),
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
            Arc::new(SecretsManagerSource::new(aws.clone(), id)) as Arc<dyn ProviderSecretsSource>
        }),
    }
}

/// What every handler may use: one shared [`Services`]. axum keeps a copy of the state in
/// every route it builds, at cold start: one reference count each, not a dozen.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

pub struct Services {
    pub config: Arc<ApiConfig>,
    pub settings: Settings,
    pub sealer: Arc<dyn SecretSealer>,
    pub messages: Arc<dyn MessageLog>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub send_queue: Arc<dyn JobQueue<SendJob>>,
    pub subscriptions: Arc<dyn SubscriptionStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    pub deliveries_queue: Arc<dyn JobQueue<DeliveryJob>>,
    pub events: EventPublisher,
    pub domains: Arc<dyn DomainStore>,
    pub identities: Arc<dyn EmailIdentities>,
    /// Checks a domain's DNS records ("verify now").
    pub checker: Arc<DomainChecker>,
    pub clock: Arc<dyn Clock>,
    pub provider_secrets: Option<Arc<dyn ProviderSecretsSource>>,
}

impl AppState {
    pub fn new(config: ApiConfig, adapters: Adapters) -> Self {
        Self(Arc::new(Services {
            config: Arc::new(config),
            settings: Settings::new(adapters.settings),
            sealer: adapters.sealer,
            messages: adapters.messages,
            idempotency: adapters.idempotency,
            send_queue: adapters.send_queue,
            subscriptions: adapters.subscriptions,
            deliveries: adapters.deliveries,
            deliveries_queue: adapters.deliveries_queue,
            events: EventPublisher::new(adapters.events_queue.clone()),
            checker: Arc::new(DomainChecker {
                store: adapters.domains.clone(),
                dns: adapters.dns,
                events: EventPublisher::new(adapters.events_queue),
                clock: adapters.clock.clone(),
            }),
            domains: adapters.domains,
            identities: adapters.identities,
            clock: adapters.clock,
            provider_secrets: adapters.provider_secrets,
        }))
    }
}

pub fn router(state: AppState) -> Router {
    // Providers' delivery receipts carry no bearer token: each is checked by its provider's
    // signature instead.
    let receipts = Router::new()
        .route(
            "/callbacks/twilio/{account_id}/{message_id}",
            post(routes::callbacks::twilio),
        )
        .route(
            "/callbacks/vonage/{account_id}/{message_id}",
            get(routes::callbacks::vonage).post(routes::callbacks::vonage),
        );
    let authenticated = Router::new()
        .route("/sms-providers", get(routes::providers::list))
        .route(
            "/accounts/{account_id}/sms-settings",
            get(routes::sms::get)
                .put(routes::sms::put)
                .delete(routes::sms::delete),
        )
        .route(
            "/accounts/{account_id}/email-settings",
            get(routes::email::get)
                .put(routes::email::put)
                .delete(routes::email::delete),
        )
        .route(
            "/accounts/{account_id}/messages/sms",
            post(routes::messages::send_sms),
        )
        .route(
            "/accounts/{account_id}/messages/email",
            post(routes::messages::send_email),
        )
        .route(
            "/accounts/{account_id}/logs/{channel}",
            get(routes::logs::list),
        )
        .route(
            "/accounts/{account_id}/logs/{channel}/{message_id}",
            get(routes::logs::record),
        )
        .route(
            "/accounts/{account_id}/logs/{channel}/{message_id}/message",
            get(routes::logs::message),
        )
        .route("/event-types", get(routes::events::types))
        .route(
            "/accounts/{account_id}/events",
            post(routes::events::publish),
        )
        .route(
            "/accounts/{account_id}/subscriptions",
            get(routes::subscriptions::list).post(routes::subscriptions::create),
        )
        .route(
            "/accounts/{account_id}/subscriptions/{subscription_id}",
            get(routes::subscriptions::get)
                .put(routes::subscriptions::put)
                .delete(routes::subscriptions::delete),
        )
        .route(
            "/accounts/{account_id}/subscriptions/{subscription_id}/rotate-secret",
            post(routes::subscriptions::rotate_secret),
        )
        .route(
            "/accounts/{account_id}/subscriptions/{subscription_id}/test",
            post(routes::subscriptions::test),
        )
        .route(
            "/accounts/{account_id}/domains",
            get(routes::domains::list).post(routes::domains::add),
        )
        .route(
            "/accounts/{account_id}/domains/{domain}",
            get(routes::domains::get).delete(routes::domains::delete),
        )
        .route(
            "/accounts/{account_id}/domains/{domain}/verify",
            post(routes::domains::verify),
        )
        .route(
            "/accounts/{account_id}/domains/{domain}/use",
            post(routes::domains::use_domain),
        )
        .route(
            "/accounts/{account_id}/deliveries",
            get(routes::deliveries::list),
        )
        .route(
            "/accounts/{account_id}/deliveries/{delivery_id}",
            get(routes::deliveries::get),
        )
        .route(
            "/accounts/{account_id}/deliveries/{delivery_id}/retry",
            post(routes::deliveries::retry),
        )
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(axum::middleware::from_fn(auth::authenticate));
    receipts
        .merge(authenticated)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
