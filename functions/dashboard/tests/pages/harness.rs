//! The dashboard in-process: [`Dashboard::start`] wires the router to in-memory adapters,
//! [`Dashboard::sign_in`] opens a session as a platform's link would, and [`Browser`] keeps
//! its cookie and CSRF token and sends requests as a browser does (forms url-encoded).

use std::collections::HashMap;
use std::sync::Arc;

use api::Adapters;
use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use dashboard::{DashboardConfig, DashboardState};
use herald::common::account::AccountId;
use herald::common::clock::{Clock, ManualClock};
use herald::common::idempotency::memory::MemoryIdempotencyStore;
use herald::common::queue::MemoryQueue;
use herald::common::seal::local::LocalSealer;
use herald::common::secret::Secret;
use herald::dashboard::memory::MemorySessionStore;
use herald::dashboard::{Grant, Role, Sessions};
use herald::domains::identity::{EmailIdentities, IdentityError};
use herald::domains::store::MemoryDomainStore;
use herald::domains::{DkimSelector, MemoryDns, SendingDomain};
use herald::events::catalog::memory::MemoryEventTypeStore;
use herald::events::delivery::DeliveryJob;
use herald::events::delivery::memory::MemoryDeliveryStore;
use herald::events::subscription::memory::MemorySubscriptionStore;
use herald::messaging::log::memory::MemoryMessageLog;
use herald::messaging::settings::memory::MemorySettingsStore;
use time::OffsetDateTime;
use time::macros::datetime;
use tower::ServiceExt;

/// Where every test's clock starts.
pub const T0: OffsetDateTime = datetime!(2030-01-15 09:30:00 UTC);

fn env() -> HashMap<&'static str, String> {
    [
        ("HERALD_DEFAULT_EMAIL_DOMAIN", "mail.herald.example.net"),
        ("HERALD_SMS_PROVIDERS", "twilio,vonage,sns"),
        ("HERALD_DEFAULT_SMS_SENDER", "Herald"),
        ("HERALD_SETTINGS_TABLE", "settings"),
        ("HERALD_MESSAGES_TABLE", "messages"),
        ("HERALD_SUBSCRIPTIONS_TABLE", "subscriptions"),
        ("HERALD_DELIVERIES_TABLE", "deliveries"),
        ("HERALD_DOMAINS_TABLE", "domains"),
        ("HERALD_KMS_KEY_ID", "alias/herald"),
        ("HERALD_SEND_QUEUE_URL", "https://sqs.local/send"),
        (
            "HERALD_DELIVERIES_QUEUE_URL",
            "https://sqs.local/deliveries",
        ),
        ("HERALD_EVENTS_QUEUE_URL", "https://sqs.local/events"),
        ("HERALD_DASHBOARD_SESSIONS_TABLE", "sessions"),
        ("HERALD_EVENT_TYPES_TABLE", "event-types"),
        ("HERALD_NOTIFICATIONS_TABLE", "notifications"),
        ("AWS_REGION", "eu-west-1"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// SES identities that always work.
#[derive(Default)]
pub struct Identities;

#[async_trait]
impl EmailIdentities for Identities {
    async fn create(
        &self,
        _: &SendingDomain,
        _: &DkimSelector,
        _: &Secret,
    ) -> Result<(), IdentityError> {
        Ok(())
    }

    async fn configure_mail_from(&self, _: &SendingDomain) -> Result<(), IdentityError> {
        Ok(())
    }

    async fn delete(&self, _: &SendingDomain) -> Result<(), IdentityError> {
        Ok(())
    }
}

/// The dashboard over in-memory adapters, and those adapters (each test module arranges and
/// inspects the ones its page uses).
#[allow(dead_code)]
pub struct Dashboard {
    router: Router,
    pub state: DashboardState,
    pub settings: Arc<MemorySettingsStore>,
    pub messages: Arc<MemoryMessageLog>,
    pub subscriptions: Arc<MemorySubscriptionStore>,
    pub deliveries: Arc<MemoryDeliveryStore>,
    /// What test events and retries queue for delivery.
    pub deliveries_queue: Arc<MemoryQueue<DeliveryJob>>,
    pub domains: Arc<MemoryDomainStore>,
    pub dns: Arc<MemoryDns>,
    pub sessions: Arc<MemorySessionStore>,
    pub event_types: Arc<MemoryEventTypeStore>,
    pub notifications: Arc<herald::notify::memory::MemoryNotifyStore>,
    /// Signs recipients' links as notification emails carry them.
    pub link_signer: herald::notify::links::LinkSigner,
    pub clock: Arc<ManualClock>,
}

impl Dashboard {
    pub fn new() -> Self {
        Self::with_env(&[])
    }

    /// The base configuration with these variables added or replaced.
    pub fn with_env(vars: &[(&'static str, &str)]) -> Self {
        let mut env = env();
        for (k, v) in vars {
            env.insert(k, (*v).to_owned());
        }
        let lookup = move |name: &str| env.get(name).cloned();
        let config = DashboardConfig::read(&lookup).expect("the test configuration is valid");
        let settings = Arc::new(MemorySettingsStore::new());
        let messages = Arc::new(MemoryMessageLog::new());
        let subscriptions = Arc::new(MemorySubscriptionStore::new());
        let deliveries = Arc::new(MemoryDeliveryStore::new());
        let deliveries_queue = Arc::new(MemoryQueue::default());
        let domains = Arc::new(MemoryDomainStore::new());
        let dns = Arc::new(MemoryDns::new());
        let sessions = Arc::new(MemorySessionStore::default());
        let event_types = Arc::new(MemoryEventTypeStore::new());
        let notifications = Arc::new(herald::notify::memory::MemoryNotifyStore::new());
        let short_links = Arc::new(herald::notify::short_links::MemoryShortLinks::default());
        let clock = Arc::new(ManualClock::at(T0));
        let adapters = Adapters {
            settings: settings.clone(),
            sealer: Arc::new(LocalSealer::random()),
            messages: messages.clone(),
            idempotency: Arc::new(MemoryIdempotencyStore::new()),
            send_queue: Arc::new(MemoryQueue::default()),
            subscriptions: subscriptions.clone(),
            deliveries: deliveries.clone(),
            deliveries_queue: deliveries_queue.clone(),
            events_queue: Arc::new(MemoryQueue::default()),
            domains: domains.clone(),
            identities: Arc::new(Identities),
            dns: dns.clone(),
            clock: clock.clone(),
            provider_secrets: None,
            sessions: Some(sessions.clone()),
            event_types: event_types.clone(),
            notifications: notifications.clone(),
            short_links: short_links.clone(),
        };
        let link_signer = herald::notify::links::LinkSigner::new(
            Secret::parse(&"link-key-".repeat(4)).expect("a secret"),
        )
        .expect("a long enough key");
        let state = DashboardState::new(config, adapters)
            .expect("valid")
            .with_link_signer(link_signer.clone());
        Self {
            router: dashboard::router(state.clone()),
            state,
            settings,
            messages,
            subscriptions,
            deliveries,
            deliveries_queue,
            domains,
            dns,
            sessions,
            event_types,
            notifications,
            link_signer,
            clock,
        }
    }

    /// A one-time sign-in link's token, as `POST /accounts/{id}/dashboard-sessions` issues.
    pub async fn link(&self, role: Role, accounts: &[&str]) -> String {
        let mut ids = accounts.iter().map(|a| AccountId::parse(a).expect("valid"));
        let home = ids.next().expect("one account at least");
        let grant =
            Grant::new(home, ids.collect(), role, Some("Acme Group".into()), None).expect("valid");
        let sessions = Sessions::new(self.sessions.clone());
        let (token, _) = sessions
            .issue_link(grant, self.clock.now())
            .await
            .expect("issued");
        token.expose().to_owned()
    }

    /// A browser signed in with a fresh link as `role` on `accounts` (the first is home).
    pub async fn sign_in(&self, role: Role, accounts: &[&str]) -> Browser<'_> {
        let token = self.link(role, accounts).await;
        let mut browser = Browser {
            dashboard: self,
            cookie: None,
            csrf: None,
        };
        let answer = browser
            .get(&format!("/dashboard/sign-in?token={token}"))
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let home = answer.location().expect("a redirect").to_owned();
        let page = browser.get(&home).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        browser
    }

    pub fn browser(&self) -> Browser<'_> {
        Browser {
            dashboard: self,
            cookie: None,
            csrf: None,
        }
    }
}

/// A browser: the session cookie, and the CSRF token of the last page that carried one.
pub struct Browser<'a> {
    dashboard: &'a Dashboard,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

/// What came back.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// Whether the body holds `text` (as HTML-escaped text).
    pub fn shows(&self, text: &str) -> bool {
        let escaped = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        self.body.contains(&escaped)
    }
}

impl Browser<'_> {
    pub async fn request(&mut self, method: Method, uri: &str, form: &[(&str, &str)]) -> Page {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header("x-forwarded-proto", "https")
            .header(header::HOST, "herald.example.net");
        if let Some(c) = &self.cookie {
            req = req.header(header::COOKIE, format!("__Host-herald-session={c}"));
        }
        let body = if method == Method::GET {
            Body::empty()
        } else {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.iter())
                .finish();
            Body::from(encoded)
        };
        let response = self
            .dashboard
            .router
            .clone()
            .oneshot(req.body(body).expect("a request"))
            .await
            .unwrap_or_else(|e| match e {});
        let status = response.status();
        let headers = response.headers().clone();
        for c in headers.get_all(header::SET_COOKIE) {
            let c = c.to_str().expect("text");
            if let Some(rest) = c.strip_prefix("__Host-herald-session=") {
                let value = rest.split(';').next().unwrap_or("");
                self.cookie = (!value.is_empty()).then(|| value.to_owned());
            }
        }
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body reads");
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(token) = body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        {
            self.csrf = Some(token.to_owned());
        }
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, uri: &str) -> Page {
        self.request(Method::GET, uri, &[]).await
    }

    /// Submits a form with the page's CSRF token, as the page's own form would.
    pub async fn submit(&mut self, uri: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.request(Method::POST, uri, &all).await
    }
}
