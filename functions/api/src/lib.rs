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
use axum::routing::get;
use herald::seal::SecretSealer;
use herald::settings::{Settings, SettingsStore};

pub use auth::Caller;
pub use config::{ApiConfig, AuthConfig};
pub use problem::ApiError;

/// Request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What every handler may use; built once per cold start.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ApiConfig>,
    pub settings: Settings,
    pub sealer: Arc<dyn SecretSealer>,
}

impl AppState {
    pub fn new(
        config: ApiConfig,
        store: Arc<dyn SettingsStore>,
        sealer: Arc<dyn SecretSealer>,
    ) -> Self {
        Self {
            config: Arc::new(config),
            settings: Settings::new(store),
            sealer,
        }
    }
}

pub fn router(state: AppState) -> Router {
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
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
