//! The account dashboard: the pages of the reference documents (Overview, SMS, Email with My
//! domains, Logs, Subscriptions, Events, Notifications), rendered on the server, served under
//! `/dashboard` by the same HTTP API as the REST API.
//!
//! - [`session`]: sign-in by one-time link, the session cookie, CSRF and the viewer's
//!   read-only rule, all checked before any page runs.
//! - [`resources`]: every read and write goes through the API's own handlers, in process, as
//!   the signed-in person: one set of rules, stores and error messages for both.
//! - [`html`]: the page shell and the pieces every page uses (fields with their errors, times,
//!   empty states, paging); [`pages`]: one module per page.
//! - [`recipient`]: the pages a notification email's signed links open, with no session: a
//!   recipient's preferences and the one-click unsubscribe of RFC 8058.
//! - [`assets`]: the stylesheet, the script and the vendored htmx, under names that change
//!   with their content, so that browsers may keep them for a year.
//!
//! Reads work without JavaScript: every page is plain links and forms. With it, htmx swaps
//! pages in place and the script adds dialogs, copy buttons and local times.

pub mod assets;
pub mod html;
pub mod pages;
pub mod recipient;
pub mod resources;
pub mod session;
pub mod signed;

use std::sync::Arc;

use api::{Adapters, ApiConfig, AppState};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use herald::common::config::{ConfigError, EnvReader};
use herald::dashboard::{SessionStore, Sessions};

/// Form posts above this are refused.
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// What the dashboard reads from its environment, beyond the API's configuration.
#[derive(Debug, Clone)]
pub struct DashboardConfig {
    pub api: ApiConfig,
    /// CSP `frame-ancestors`: who may embed the pages (`HERALD_DASHBOARD_FRAME_ANCESTORS`,
    /// space-separated https origins or `'self'`); none: nobody.
    pub frame_ancestors: Option<String>,
    /// The Secrets Manager secret holding the key of recipients' links
    /// (`HERALD_LINK_SECRET_ARN`); none: the preference and unsubscribe pages are off.
    pub link_secret: Option<String>,
}

/// One `frame-ancestors` source: `'self'` or an https origin (with an optional `*.` label).
fn frame_source(s: &str) -> bool {
    if s == "'self'" {
        return true;
    }
    let Some(host) = s.strip_prefix("https://") else {
        return false;
    };
    let host = host.strip_prefix("*.").unwrap_or(host);
    let (host, port) = host.split_once(':').unwrap_or((host, "443"));
    !host.is_empty()
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        && port.parse::<u16>().is_ok()
}

impl DashboardConfig {
    pub fn read<F: Fn(&str) -> Option<String>>(lookup: F) -> Result<Self, ConfigError> {
        let mut env = EnvReader::new(&lookup);
        let ancestors = env.optional("HERALD_DASHBOARD_FRAME_ANCESTORS");
        let frame_ancestors = ancestors.and_then(|a| {
            let sources: Vec<&str> = a.split_whitespace().collect();
            if sources.is_empty() {
                None
            } else if sources.iter().all(|s| frame_source(s)) {
                Some(sources.join(" "))
            } else {
                env.problem(
                    "HERALD_DASHBOARD_FRAME_ANCESTORS",
                    "must be space-separated https origins (https://app.example.com, \
                     https://*.example.com) or 'self'",
                );
                None
            }
        });
        let link_secret = env.optional("HERALD_LINK_SECRET_ARN");
        if env.optional("HERALD_DASHBOARD_SESSIONS_TABLE").is_none() {
            env.problem("HERALD_DASHBOARD_SESSIONS_TABLE", "is required");
        }
        let mut problems = env.finish(Some(())).err().map(|e| e.0).unwrap_or_default();
        match ApiConfig::read(EnvReader::new(&lookup)) {
            Ok(api) if problems.is_empty() => Ok(Self {
                api,
                frame_ancestors,
                link_secret,
            }),
            Ok(_) => Err(ConfigError(problems)),
            Err(e) => {
                problems.extend(e.0);
                Err(ConfigError(problems))
            }
        }
    }
}

/// What every page may use.
#[derive(Clone)]
pub struct DashboardState(Arc<Inner>);

pub struct Inner {
    pub app: AppState,
    /// The API's handlers, called in process.
    pub api: Router,
    pub sessions: Sessions<dyn SessionStore>,
    pub frame_ancestors: Option<String>,
    /// The key of recipients' signed links (preferences, one-click unsubscribe).
    pub links: recipient::LinkKey,
}

impl std::ops::Deref for DashboardState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl DashboardState {
    /// The deployed function's state: configuration from the environment, adapters on AWS.
    pub async fn from_env() -> Result<Self, herald::lambda::Error> {
        let config = DashboardConfig::read(|name| std::env::var(name).ok())?;
        let aws = Arc::new(herald::adapters::aws::clients().await);
        let adapters = Adapters::aws(&config.api, aws.clone());
        let links = match config.link_secret.clone() {
            Some(secret) => recipient::LinkKey::from_secret(aws, secret),
            None => recipient::LinkKey::none(),
        };
        Ok(Self::with_links(config, adapters, links)?)
    }

    pub fn new(config: DashboardConfig, adapters: Adapters) -> Result<Self, ConfigError> {
        Self::with_links(config, adapters, recipient::LinkKey::none())
    }

    fn with_links(
        config: DashboardConfig,
        mut adapters: Adapters,
        links: recipient::LinkKey,
    ) -> Result<Self, ConfigError> {
        let Some(store) = adapters.sessions.clone() else {
            return Err(ConfigError(vec![(
                "HERALD_DASHBOARD_SESSIONS_TABLE".into(),
                "is required".into(),
            )]));
        };
        // Provider receipts are not the dashboard's to check.
        adapters.provider_secrets = None;
        let app = AppState::new(config.api, adapters);
        Ok(Self(Arc::new(Inner {
            api: api::in_process(app.clone()),
            app,
            sessions: Sessions::new(store),
            frame_ancestors: config.frame_ancestors,
            links,
        })))
    }

    /// The same state with this key for recipients' links (tests, and hosts that hold the key
    /// themselves).
    pub fn with_link_signer(self, signer: herald::notify::links::LinkSigner) -> Self {
        self.links.set(signer);
        self
    }
}

pub fn router(state: DashboardState) -> Router {
    let signed_in = pages::routes()
        .route("/dashboard/sign-out", post(session::sign_out))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::require,
        ));
    Router::new()
        .route("/dashboard/sign-in", get(session::sign_in))
        .route("/dashboard/static/{file}", get(assets::serve))
        .merge(recipient::routes())
        .merge(signed_in)
        .fallback(html::not_found)
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            html::security_headers,
        ))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_sources() {
        for ok in [
            "'self'",
            "https://app.example.com",
            "https://*.example.com",
            "https://app.example.com:8443",
        ] {
            assert!(frame_source(ok), "{ok}");
        }
        for bad in [
            "*",
            "http://app.example.com",
            "https://",
            "https://a..b",
            "https://a.com; script-src *",
            "'none'",
        ] {
            assert!(!frame_source(bad), "{bad}");
        }
    }
}
