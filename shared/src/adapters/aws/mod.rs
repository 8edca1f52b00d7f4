//! The AWS SDK configuration, loaded once per cold start.
//!
//! Region, credentials and endpoint come from the standard environment (`AWS_REGION`,
//! `AWS_ENDPOINT_URL`, ...): in Lambda from the runtime, locally from `cargo xtask dev`, which
//! points `AWS_ENDPOINT_URL` at the emulated AWS. No code path differs between the two.
//!
//! Every call names the function that made it (`app/{function}` in the SDK's user agent,
//! which CloudTrail records), so an operator can tell which of Herald's functions costs what.

pub mod first_use;

pub use aws_config::SdkConfig;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{AppName, Region};
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::messaging::senders::Failure;

/// The roots of Amazon Trust Services, which issue the certificates of AWS's service
/// endpoints (Amazon Root CA 1 to 4, and Starfield Services Root G2 that cross-signs them).
const AMAZON_ROOTS: &[u8] = include_bytes!("amazon-trust-services.pem");

/// The SDK's HTTPS client trusts Amazon's roots only. The default trusts the platform's
/// store, which it reads and parses (some 150 certificates, the directory scanned file by
/// file) in every cold start: most of the init time Herald's functions spent beyond a bare
/// runtime's. Herald's SDK clients talk to AWS endpoints alone.
fn amazon_tls() -> Option<TlsContext> {
    TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(AMAZON_ROOTS))
        .build()
        .ok()
}

/// Bounds on every AWS call. The SDK sets none beyond a connect timeout: with AWS
/// unresponsive, a request waited for the function's own timeout, and API Gateway's client gave
/// up on requests that went on to succeed. Now a call that cannot finish fails within
/// [`OPERATION_TIMEOUT`], and the api answers 503 while the client still waits for it, so
/// the client knows to retry (sends with the same `Idempotency-Key`).
///
/// - connect: AWS endpoints accept in milliseconds from inside the region; a second means the
///   endpoint is unreachable, and leaves time for a retry on another connection.
/// - attempt: DynamoDB, SQS, KMS, SES and SNS answer Herald's small requests in tens of
///   milliseconds; an attempt still unanswered after two seconds is retried (the SDK's standard
///   retries: three attempts, with backoff) rather than waited for.
/// - operation: all attempts together. Five seconds lets a throttled or briefly slow call
///   through its retries, and keeps the api's answer well inside its function's ten seconds.
///
/// One configuration serves every function. The queue functions could wait longer, but gain
/// nothing by it: a job whose call failed goes back to its queue and is retried by SQS, while
/// a call that hangs until the function times out loses the whole batch's partial-failure
/// report, so every job in the batch is delivered again.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The SDK configuration from the environment, with Herald's [`timeouts`].
pub async fn load() -> SdkConfig {
    loader().load().await
}

/// The loader [`load`] uses, for callers that set something more (tests point it at an
/// endpoint of their own).
pub fn loader() -> aws_config::ConfigLoader {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts());
    if let Some(app) = env("AWS_LAMBDA_FUNCTION_NAME").and_then(|name| AppName::new(name).ok()) {
        loader = loader.app_name(app);
    }
    // Lambda hands a function its region and role credentials in the environment: taken from
    // there directly, cold start skips building the default chains, which would look through
    // profile files, SSO, container and instance metadata first.
    if let Some(region) = env("AWS_REGION") {
        loader = loader.region(Region::new(region));
    }
    if env("AWS_ACCESS_KEY_ID").is_some() {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    if let Some(tls) = amazon_tls() {
        loader = loader.http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(tls)
                .build_https(),
        );
    }
    loader
}

/// The SDK clients (and the providers' HTTPS client) of one function, each built at most once per cold start, when first
/// asked for, and shared by every adapter: building a client also builds its HTTPS connector
/// (TLS configuration and all), which is most of what an SDK client costs at init.
pub struct Clients {
    config: SdkConfig,
    dynamo: OnceLock<aws_sdk_dynamodb::Client>,
    sqs: OnceLock<aws_sdk_sqs::Client>,
    kms: OnceLock<aws_sdk_kms::Client>,
    sesv2: OnceLock<aws_sdk_sesv2::Client>,
    sns: OnceLock<aws_sdk_sns::Client>,
    secrets_manager: OnceLock<aws_sdk_secretsmanager::Client>,
    sts: OnceLock<aws_sdk_sts::Client>,
    scheduler: OnceLock<aws_sdk_scheduler::Client>,
    provider_http: OnceLock<reqwest::Client>,
}

impl Clients {
    pub fn new(config: SdkConfig) -> Self {
        Self {
            config,
            dynamo: OnceLock::new(),
            sqs: OnceLock::new(),
            kms: OnceLock::new(),
            sesv2: OnceLock::new(),
            sns: OnceLock::new(),
            secrets_manager: OnceLock::new(),
            sts: OnceLock::new(),
            scheduler: OnceLock::new(),
            provider_http: OnceLock::new(),
        }
    }

    /// The HTTPS client for providers' APIs (Twilio, Vonage, OAuth token endpoints), shared
    /// the same way: each one built costs its own TLS configuration.
    pub fn provider_http(&self) -> Result<reqwest::Client, reqwest::Error> {
        if let Some(http) = self.provider_http.get() {
            return Ok(http.clone());
        }
        let http = crate::adapters::provider_http::http_client()?;
        Ok(self.provider_http.get_or_init(|| http).clone())
    }

    pub fn dynamo(&self) -> aws_sdk_dynamodb::Client {
        let config = &self.config;
        self.dynamo
            .get_or_init(|| aws_sdk_dynamodb::Client::new(config))
            .clone()
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        let config = &self.config;
        self.sqs
            .get_or_init(|| aws_sdk_sqs::Client::new(config))
            .clone()
    }

    pub fn kms(&self) -> aws_sdk_kms::Client {
        let config = &self.config;
        self.kms
            .get_or_init(|| aws_sdk_kms::Client::new(config))
            .clone()
    }

    pub fn sesv2(&self) -> aws_sdk_sesv2::Client {
        let config = &self.config;
        self.sesv2
            .get_or_init(|| aws_sdk_sesv2::Client::new(config))
            .clone()
    }

    pub fn sns(&self) -> aws_sdk_sns::Client {
        let config = &self.config;
        self.sns
            .get_or_init(|| aws_sdk_sns::Client::new(config))
            .clone()
    }

    /// The configuration the clients are built from: the AWS destinations build theirs, for
    /// the accounts' own AWS accounts, on its HTTPS client and timeouts.
    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        let config = &self.config;
        self.sts
            .get_or_init(|| aws_sdk_sts::Client::new(config))
            .clone()
    }

    pub fn scheduler(&self) -> aws_sdk_scheduler::Client {
        let config = &self.config;
        self.scheduler
            .get_or_init(|| aws_sdk_scheduler::Client::new(config))
            .clone()
    }

    pub fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        let config = &self.config;
        self.secrets_manager
            .get_or_init(|| aws_sdk_secretsmanager::Client::new(config))
            .clone()
    }
}

/// The configuration from the environment, and a place for the clients built from it.
pub async fn clients() -> Clients {
    Clients::new(load().await)
}

/// What a failed SNS or SES send means, by the failure rules of
/// [`crate::messaging::senders`]: no answer in time once sent is unknown (the service may have
/// taken the message); an error code in `temporary` (throttling, the service's own failure)
/// and no answer at all are temporary; any other answer is sorted by its HTTP status.
pub fn send_failure<E>(
    service: &str,
    e: aws_sdk_sns::error::SdkError<E, aws_sdk_sns::config::http::HttpResponse>,
    temporary: &[&str],
) -> Failure
where
    E: aws_sdk_sns::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
    if let SdkError::TimeoutError(_) = e {
        return Failure::unknown(format!("{service}: no answer in time ({e})"), Value::Null);
    }
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().map(str::to_owned);
    let reason = format!(
        "{service}: {}",
        e.message().map_or_else(|| e.to_string(), str::to_owned)
    );
    let response = serde_json::json!({"status": status, "code": code});
    match (code.as_deref(), status) {
        (Some(c), _) if temporary.contains(&c) => Failure::temporary(reason, code, response),
        (_, Some(s)) => Failure::from_status(s, reason, code, response),
        // No answer at all: a timeout or a connection failure.
        (_, None) => Failure::temporary(reason, code, response),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn amazon_roots_are_five_certificates() {
        let text = std::str::from_utf8(super::AMAZON_ROOTS).expect("PEM is text");
        assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        assert!(super::amazon_tls().is_some());
    }
}
