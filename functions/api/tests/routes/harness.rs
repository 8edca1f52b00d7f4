//! The API in-process: [`Herald::start`] wires the router to in-memory adapters (and fakes for
//! the ports that have none), [`Req`] builds a request as API Gateway hands it over, and
//! [`Answer`] reads what came back.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use api::{Adapters, ApiConfig, AppState};
use async_trait::async_trait;
use aws_sdk_dynamodb::config::Credentials;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use herald::adapters::secrets_manager::SecretsManagerSource;
use herald::common::account::AccountId;
use herald::common::clock::{Clock, ManualClock, rfc3339};
use herald::common::config::EnvReader;
use herald::common::idempotency::memory::MemoryIdempotencyStore;
use herald::common::queue::{JobQueue, MemoryQueue, QueueError};
use herald::common::seal::local::LocalSealer;
use herald::common::secret::Secret;
use herald::dashboard::memory::MemorySessionStore;
use herald::domains::identity::{EmailIdentities, IdentityError};
use herald::domains::store::MemoryDomainStore;
use herald::domains::{DkimSelector, MemoryDns, SendingDomain};
use herald::events::catalog::memory::MemoryEventTypeStore;
use herald::events::delivery::DeliveryJob;
use herald::events::delivery::memory::MemoryDeliveryStore;
use herald::events::subscription::memory::MemorySubscriptionStore;
use herald::events::webhook::Event;
use herald::messaging::dispatch::SendJob;
use herald::messaging::log::memory::MemoryMessageLog;
use herald::messaging::provider_secrets::ProviderSecretsSource;
use herald::messaging::settings::memory::MemorySettingsStore;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequestContext,
};
use lambda_http::request::RequestContext;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;
use tower::ServiceExt;

/// Where every test's clock starts.
pub const T0: OffsetDateTime = datetime!(2030-01-15 09:30:00 UTC);

/// The public base URL Herald gives providers for their receipts.
pub const PUBLIC_API_URL: &str = "https://api.herald.example.net";

/// What the operator configured, in the variables the function reads: `HERALD_*` names and
/// values. Tests add to [`Setup::env`] or replace entries.
fn base_env() -> Vec<(&'static str, String)> {
    [
        ("HERALD_DEFAULT_EMAIL_DOMAIN", "mail.herald.example.net"),
        ("HERALD_SMS_PROVIDERS", "twilio,vonage,sns"),
        ("HERALD_DEFAULT_SMS_SENDER", "Herald"),
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
        ("AWS_REGION", "eu-west-1"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// How a test wants Herald set up; the default is the operator's configuration above, with
/// no provider secrets (the receipt routes off).
#[derive(Default)]
pub struct Setup {
    /// Variables added to (or replacing) the base configuration.
    pub env: Vec<(&'static str, String)>,
    /// What Secrets Manager answers for `HERALD_PROVIDER_SECRETS`, when it is set.
    pub secrets_manager: Option<SecretsManagerAnswer>,
}

impl Setup {
    /// The base configuration with these variables added or replaced.
    pub fn with_env(vars: &[(&'static str, &str)]) -> Self {
        Self {
            env: vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            secrets_manager: None,
        }
    }

    /// The base configuration, with the providers' secrets in Secrets Manager.
    pub fn with_secrets(answer: SecretsManagerAnswer) -> Self {
        Self {
            env: Vec::new(),
            secrets_manager: Some(answer),
        }
    }
}

/// One answer of the fake Secrets Manager.
#[derive(Clone)]
pub enum SecretsManagerAnswer {
    /// `GetSecretValue` answers this secret string.
    Secret(Value),
    /// `GetSecretValue` fails with this (non-retried) AWS error.
    Error(&'static str),
}

/// Herald's API over in-memory adapters, and those adapters, to arrange and inspect state.
pub struct Herald {
    router: Router,
    pub settings: Arc<MemorySettingsStore>,
    pub messages: Arc<MemoryMessageLog>,
    pub send_queue: Arc<FlakyQueue<SendJob>>,
    pub subscriptions: Arc<MemorySubscriptionStore>,
    pub deliveries: Arc<MemoryDeliveryStore>,
    pub deliveries_queue: Arc<FlakyQueue<DeliveryJob>>,
    pub events_queue: Arc<FlakyQueue<Event>>,
    pub domains: Arc<MemoryDomainStore>,
    pub event_types: Arc<MemoryEventTypeStore>,
    pub identities: Arc<FakeIdentities>,
    pub dns: Arc<MemoryDns>,
    pub sealer: Arc<LocalSealer>,
    pub clock: Arc<ManualClock>,
    pub sessions: Arc<MemorySessionStore>,
    pub short_links: Arc<herald::notify::short_links::MemoryShortLinks>,
    /// How many times Secrets Manager was asked, when it is configured.
    pub secrets_reads: Option<Arc<AtomicUsize>>,
}

impl Herald {
    /// The operator's default configuration.
    pub async fn new() -> Self {
        Self::start(Setup::default()).await
    }

    /// The one place the API's state is built.
    pub async fn start(setup: Setup) -> Self {
        let mut vars: HashMap<&'static str, String> = base_env().into_iter().collect();
        let mut secrets_reads = None;
        let mut provider_secrets = None;
        if let Some(answer) = setup.secrets_manager {
            let (endpoint, reads) = fake_secrets_manager(answer);
            vars.insert("HERALD_PROVIDER_SECRETS", "herald/providers".to_owned());
            vars.insert("HERALD_PUBLIC_API_URL", format!("{PUBLIC_API_URL}/"));
            let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(endpoint)
                .region(aws_config::Region::new("eu-west-1"))
                .credentials_provider(Credentials::new("test", "test", None, None, "test"))
                .load()
                .await;
            let clients = Arc::new(herald::adapters::aws::Clients::new(sdk));
            provider_secrets = Some(
                Arc::new(SecretsManagerSource::new(clients, "herald/providers"))
                    as Arc<dyn ProviderSecretsSource>,
            );
            secrets_reads = Some(reads);
        }
        vars.extend(setup.env);
        let config = ApiConfig::read(EnvReader::new(move |name: &str| vars.get(name).cloned()))
            .expect("the test configuration is valid");

        let settings = Arc::new(MemorySettingsStore::new());
        let messages = Arc::new(MemoryMessageLog::new());
        let send_queue = Arc::new(FlakyQueue::default());
        let subscriptions = Arc::new(MemorySubscriptionStore::new());
        let deliveries = Arc::new(MemoryDeliveryStore::new());
        let deliveries_queue = Arc::new(FlakyQueue::default());
        let events_queue = Arc::new(FlakyQueue::default());
        let domains = Arc::new(MemoryDomainStore::new());
        let event_types = Arc::new(MemoryEventTypeStore::new());
        let notifications = Arc::new(herald::notify::memory::MemoryNotifyStore::new());
        let short_links = Arc::new(herald::notify::short_links::MemoryShortLinks::default());
        let identities = Arc::new(FakeIdentities::default());
        let dns = Arc::new(MemoryDns::new());
        let sealer = Arc::new(LocalSealer::random());
        let clock = Arc::new(ManualClock::at(T0));
        let sessions = Arc::new(MemorySessionStore::default());
        let adapters = Adapters {
            settings: settings.clone(),
            sealer: sealer.clone(),
            messages: messages.clone(),
            idempotency: Arc::new(MemoryIdempotencyStore::new()),
            send_queue: send_queue.clone(),
            subscriptions: subscriptions.clone(),
            deliveries: deliveries.clone(),
            deliveries_queue: deliveries_queue.clone(),
            events_queue: events_queue.clone(),
            domains: domains.clone(),
            event_types: event_types.clone(),
            notifications: notifications.clone(),
            short_links: short_links.clone(),
            identities: identities.clone(),
            dns: dns.clone(),
            clock: clock.clone(),
            provider_secrets,
            sessions: Some(sessions.clone()),
        };
        Self {
            router: api::router(AppState::new(config, adapters)),
            settings,
            messages,
            send_queue,
            subscriptions,
            deliveries,
            deliveries_queue,
            events_queue,
            domains,
            event_types,
            identities,
            dns,
            sealer,
            clock,
            sessions,
            short_links,
            secrets_reads,
        }
    }

    /// Sends one request through the router, as the Lambda runtime would.
    pub async fn call(&self, req: Req) -> Answer {
        let what = format!("{} {}", req.method, req.uri);
        let response = self
            .router
            .clone()
            .oneshot(req.build())
            .await
            .unwrap_or_else(|e| match e {});
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body reads");
        Answer {
            what,
            status,
            headers,
            body,
        }
    }

    /// Now, as Herald's clock has it.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// [`Herald::now`] as Herald writes times.
    pub fn now_text(&self) -> String {
        rfc3339(self.now())
    }
}

/// Who calls: the claims API Gateway's JWT authorizer hands over, or none.
#[derive(Debug, Clone)]
pub enum Caller {
    /// No authorizer context at all: the request did not pass API Gateway's authorizer.
    Nobody,
    /// An authorizer context with these claims (empty: none) and token scopes.
    Claims {
        claims: Vec<(&'static str, String)>,
        scopes: Option<Vec<String>>,
    },
}

impl Caller {
    /// An internal service granted `accounts` (space-separated).
    pub fn internal(accounts: &str) -> Self {
        Self::Claims {
            claims: vec![
                ("sub", "svc-billing".to_owned()),
                ("herald:accounts", accounts.to_owned()),
                ("scope", "herald:internal".to_owned()),
            ],
            scopes: None,
        }
    }

    /// An account administrator (no internal scope) granted `accounts`.
    pub fn admin(accounts: &str) -> Self {
        Self::Claims {
            claims: vec![
                ("sub", "alice".to_owned()),
                ("herald:accounts", accounts.to_owned()),
            ],
            scopes: None,
        }
    }
}

/// A request under construction. By default it comes from an internal service granted
/// `acme`, the account most tests use.
pub struct Req {
    method: Method,
    uri: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    caller: Caller,
}

pub fn get(uri: impl Into<String>) -> Req {
    Req::new(Method::GET, uri)
}

pub fn post(uri: impl Into<String>) -> Req {
    Req::new(Method::POST, uri)
}

pub fn put(uri: impl Into<String>) -> Req {
    Req::new(Method::PUT, uri)
}

pub fn delete(uri: impl Into<String>) -> Req {
    Req::new(Method::DELETE, uri)
}

impl Req {
    pub fn new(method: Method, uri: impl Into<String>) -> Self {
        Self {
            method,
            uri: uri.into(),
            headers: Vec::new(),
            body: Vec::new(),
            caller: Caller::internal("acme"),
        }
    }

    /// A JSON body, `application/json`.
    pub fn json(self, body: Value) -> Self {
        self.raw("application/json", body.to_string())
    }

    /// A body as given, of this content type.
    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.headers.push((
            header::CONTENT_TYPE.to_string(),
            content_type.as_bytes().to_vec(),
        ));
        self.body = body.into();
        self
    }

    /// A body without a `Content-Type`.
    pub fn untyped(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// A form-encoded body.
    pub fn form(self, params: &[(String, String)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        self.raw("application/x-www-form-urlencoded", body)
    }

    pub fn header(self, name: &str, value: &str) -> Self {
        self.header_bytes(name, value.as_bytes())
    }

    /// A header whose value need not be text (bytes above 0x7f are allowed on the wire).
    pub fn header_bytes(mut self, name: &str, value: &[u8]) -> Self {
        self.headers.push((name.to_owned(), value.to_vec()));
        self
    }

    pub fn by(mut self, caller: Caller) -> Self {
        self.caller = caller;
        self
    }

    fn build(self) -> Request<Body> {
        let mut request = Request::builder().method(self.method).uri(&self.uri);
        for (name, value) in &self.headers {
            let value = HeaderValue::from_bytes(value).expect("a header value");
            request = request.header(name, value);
        }
        let mut request = request
            .body(Body::from(self.body))
            .expect("a valid request");
        if let Caller::Claims { claims, scopes } = self.caller {
            let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
            for (name, value) in claims {
                jwt.claims.insert(name.to_owned(), value);
            }
            jwt.scopes = scopes;
            let mut authorizer = ApiGatewayRequestAuthorizer::default();
            authorizer.jwt = Some(jwt);
            let mut context = ApiGatewayV2httpRequestContext::default();
            context.authorizer = Some(authorizer);
            request
                .extensions_mut()
                .insert(RequestContext::ApiGatewayV2(context));
        }
        request
    }
}

/// A response, read whole.
pub struct Answer {
    what: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} → {} {}",
            self.what,
            self.status,
            String::from_utf8_lossy(&self.body)
        )
    }
}

impl Answer {
    /// The body as JSON, after checking the status.
    #[track_caller]
    pub fn ok(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        self.json()
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{self:?}: not JSON: {e}"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The problem+json body of an error answer, after checking its status and shape.
    #[track_caller]
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        let body = self.json();
        assert_eq!(body["status"], status, "{self:?}");
        assert!(
            body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{self:?}"
        );
        assert!(body["type"].is_string(), "{self:?}");
        body
    }

    /// The fields a 400 validation problem names, in order.
    #[track_caller]
    pub fn invalid_fields(&self) -> Vec<String> {
        let body = self.problem(400);
        assert_eq!(body["type"], "urn:herald:problem:validation", "{self:?}");
        let errors = body["errors"].as_array().expect("errors listed");
        assert!(!errors.is_empty(), "{self:?}");
        errors
            .iter()
            .map(|e| {
                assert!(
                    e["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{self:?}"
                );
                e["field"].as_str().expect("a field name").to_owned()
            })
            .collect()
    }

    /// The message given for `field` in a validation problem.
    #[track_caller]
    pub fn message_for(&self, field: &str) -> String {
        let body = self.problem(400);
        body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["field"] == field)
            .and_then(|e| e["message"].as_str())
            .unwrap_or_else(|| panic!("{self:?}: no error for {field}"))
            .to_owned()
    }

    /// The `detail` of a problem answer with this status.
    #[track_caller]
    pub fn detail(&self, status: u16) -> String {
        self.problem(status)["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("{self:?}: no detail"))
            .to_owned()
    }
}

/// A job queue in memory that can be made to refuse jobs, as SQS does when it is unreachable.
pub struct FlakyQueue<J> {
    inner: MemoryQueue<J>,
    down: AtomicBool,
}

impl<J> Default for FlakyQueue<J> {
    fn default() -> Self {
        Self {
            inner: MemoryQueue::default(),
            down: AtomicBool::new(false),
        }
    }
}

impl<J: Clone> FlakyQueue<J> {
    /// Every job queued, in order.
    pub fn jobs(&self) -> Vec<J> {
        self.inner.jobs()
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

#[async_trait]
impl<J> JobQueue<J> for FlakyQueue<J>
where
    J: Clone + Send + Sync + Serialize + DeserializeOwned,
{
    async fn enqueue_after(&self, job: &J, delay_secs: i32) -> Result<(), QueueError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(QueueError("the queue is unreachable".into()));
        }
        self.inner.enqueue_after(job, delay_secs).await
    }
}

/// SES's email identities, as a list of what was asked of it; each call can be made to fail.
#[derive(Default)]
pub struct FakeIdentities {
    calls: Mutex<Vec<String>>,
    private_keys: Mutex<Vec<String>>,
    pub fail_create: AtomicBool,
    pub fail_mail_from: AtomicBool,
    pub fail_delete: AtomicBool,
}

impl FakeIdentities {
    /// Every call, as `create acme-mail.com s1`, `mail-from acme-mail.com`, `delete ...`.
    pub fn calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every private key SES was given to sign with.
    pub fn private_keys(&self) -> Vec<String> {
        self.private_keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn note(&self, call: String, fail: &AtomicBool) -> Result<(), IdentityError> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(call);
        if fail.load(Ordering::SeqCst) {
            Err(IdentityError("ThrottlingException: rate exceeded".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl EmailIdentities for FakeIdentities {
    async fn create(
        &self,
        domain: &SendingDomain,
        selector: &DkimSelector,
        private_key: &Secret,
    ) -> Result<(), IdentityError> {
        self.private_keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(private_key.expose().to_owned());
        self.note(
            format!("create {} {}", domain.as_str(), selector.as_str()),
            &self.fail_create,
        )
    }

    async fn configure_mail_from(&self, domain: &SendingDomain) -> Result<(), IdentityError> {
        self.note(
            format!("mail-from {}", domain.as_str()),
            &self.fail_mail_from,
        )
    }

    async fn delete(&self, domain: &SendingDomain) -> Result<(), IdentityError> {
        self.note(format!("delete {}", domain.as_str()), &self.fail_delete)
    }
}

/// A Secrets Manager endpoint on loopback that answers every `GetSecretValue` with `answer`,
/// counting the requests. Returns its URL and the count.
fn fake_secrets_manager(answer: SecretsManagerAnswer) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let reads = Arc::new(AtomicUsize::new(0));
    let counted = reads.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some(target) = read_request(&mut stream) else {
                continue;
            };
            counted.fetch_add(1, Ordering::SeqCst);
            let (status, body) = match (&answer, target.as_deref()) {
                (_, Some(t)) if t != "secretsmanager.GetSecretValue" => (
                    "400 Bad Request",
                    serde_json::json!({"__type": "UnknownOperationException"}).to_string(),
                ),
                (SecretsManagerAnswer::Secret(secret), _) => (
                    "200 OK",
                    serde_json::json!({
                        "ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:herald/providers-AbCdEf",
                        "Name": "herald/providers",
                        "SecretString": secret.to_string(),
                        "VersionId": "v1",
                    })
                    .to_string(),
                ),
                (SecretsManagerAnswer::Error(kind), _) => (
                    "400 Bad Request",
                    serde_json::json!({"__type": kind, "message": "refused"}).to_string(),
                ),
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.1\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (format!("http://{address}"), reads)
}

/// Reads one HTTP request; its `X-Amz-Target`, if it has one.
fn read_request(stream: &mut std::net::TcpStream) -> Option<Option<String>> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut length = 0;
    let mut target = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().ok()?,
                "x-amz-target" => target = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(target)
}

/// The account most tests use, which the default caller is granted.
pub fn acme() -> AccountId {
    AccountId::parse("acme").expect("valid")
}
