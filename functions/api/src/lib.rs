//! Herald's REST API (`docs/openapi.yaml`): routing, authentication, validation of requests into
//! domain types, and problem+json errors. Its configuration and AWS adapters are wired in
//! `herald::lambda::api`; `main.rs` runs [`router`] over them, and `tests/routes` drives the
//! same router in-process over in-memory adapters.

mod auth;
mod body;
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
use herald::dashboard::{SessionStore, Sessions};
use herald::domains::checker::DomainChecker;
use herald::domains::identity::EmailIdentities;
use herald::domains::store::DomainStore;
use herald::events::catalog::Catalog;
use herald::events::delivery::{DeliveryJob, DeliveryStore};
use herald::events::publish::EventPublisher;
use herald::events::subscription::SubscriptionStore;
use herald::messaging::dispatch::SendJob;
use herald::messaging::log::MessageLog;
use herald::messaging::provider_secrets::ProviderSecretsSource;
use herald::messaging::settings::Settings;

pub use auth::Caller;
pub use herald::lambda::api::{Adapters, ApiConfig};
pub use problem::ApiError;

/// Request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

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
    /// Every event type: Herald's own and the registered ones.
    pub catalog: Catalog,
    pub domains: Arc<dyn DomainStore>,
    pub identities: Arc<dyn EmailIdentities>,
    /// Checks a domain's DNS records ("verify now").
    pub checker: Arc<DomainChecker>,
    pub clock: Arc<dyn Clock>,
    pub provider_secrets: Option<Arc<dyn ProviderSecretsSource>>,
    /// Dashboard sign-in links and sessions, where the dashboard is deployed.
    pub sessions: Option<Sessions<dyn SessionStore>>,
    /// Notification types, rules, preferences and the notification log.
    pub notifications: Arc<dyn herald::notify::store::NotifyStore>,
    /// Where the `shorten` filter's links are kept.
    pub short_links: Arc<dyn herald::notify::short_links::ShortLinkStore>,
}

impl AppState {
    /// The deployed function's state: configuration from the environment, adapters on AWS.
    pub async fn from_env() -> Result<Self, herald::lambda::Error> {
        let config = ApiConfig::from_env()?;
        // SDK clients are built once per cold start and shared by every request.
        let aws = Arc::new(herald::adapters::aws::clients().await);
        let adapters = Adapters::aws(&config, aws);
        Ok(Self::new(config, adapters))
    }

    pub fn new(config: ApiConfig, adapters: Adapters) -> Self {
        let catalog = Catalog::new(adapters.event_types)
            .requiring_registration(config.require_registered_event_types);
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
            catalog,
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
            notifications: adapters.notifications,
            short_links: adapters.short_links,
            sessions: adapters.sessions.map(Sessions::new),
        }))
    }
}

/// Every route of an authenticated caller, without the authentication: [`router`] puts API
/// Gateway's authorizer claims in front of them, [`in_process`] a caller the host vouches for.
fn resources() -> Router<AppState> {
    Router::new()
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
            "/accounts/{account_id}/messages/{message_id}/receipts",
            post(routes::receipts::report),
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
        .route("/event-types", get(routes::event_types::list))
        .route(
            "/event-types/{name}",
            get(routes::event_types::get)
                .put(routes::event_types::put)
                .delete(routes::event_types::delete),
        )
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
            "/accounts/{account_id}/dashboard-sessions",
            post(routes::dashboard_sessions::create),
        )
        .route(
            "/accounts/{account_id}/notification-types",
            get(routes::notifications::list_types),
        )
        .route(
            "/accounts/{account_id}/notification-types/{key}",
            get(routes::notifications::get_type)
                .put(routes::notifications::put_type)
                .delete(routes::notifications::delete_type),
        )
        .route(
            "/accounts/{account_id}/notification-rules",
            get(routes::notifications::list_rules).post(routes::notifications::create_rule),
        )
        .route(
            "/accounts/{account_id}/notification-rules/{rule_id}",
            get(routes::notifications::get_rule)
                .put(routes::notifications::put_rule)
                .delete(routes::notifications::delete_rule),
        )
        .route(
            "/accounts/{account_id}/notification-rules/{rule_id}/preview",
            post(routes::notifications::preview),
        )
        .route(
            "/accounts/{account_id}/notification-rules/{rule_id}/test",
            post(routes::notifications::test_send),
        )
        .route(
            "/accounts/{account_id}/recipients/{recipient_id}/preferences",
            get(routes::notifications::get_preferences).put(routes::notifications::put_preferences),
        )
        .route(
            "/accounts/{account_id}/notifications",
            get(routes::notifications::list_log),
        )
        .route(
            "/accounts/{account_id}/notifications/{notification_id}",
            get(routes::notifications::get_log_entry),
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
}

/// The API's resources for a host in the same process (the dashboard), which puts the
/// [`Caller`] it vouches for in each request's extensions: the same handlers, rules and stores
/// as the deployed API, with no network hop and no second copy of any rule.
pub fn in_process(state: AppState) -> Router {
    resources()
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

pub fn router(state: AppState) -> Router {
    // Providers' delivery receipts carry no bearer token: each is checked by its provider's
    // signature instead. Nor do short links, which are public by design.
    let receipts = Router::new()
        .route(
            "/callbacks/twilio/{account_id}/{message_id}",
            post(routes::callbacks::twilio),
        )
        .route(
            "/callbacks/vonage/{account_id}/{message_id}",
            get(routes::callbacks::vonage).post(routes::callbacks::vonage),
        )
        // Short links are clicked by people, with no token.
        .route("/l/{code}", get(routes::short_links::follow));
    let authenticated = resources()
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(axum::middleware::from_fn(auth::authenticate));
    receipts
        .merge(authenticated)
        // Every route's method-not-allowed answer is a problem, with the Allow header axum
        // sets: this reaches the receipt routes, and any route still without one; the
        // authenticated routes keep theirs, behind authentication.
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
