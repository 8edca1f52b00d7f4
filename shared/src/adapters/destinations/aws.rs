//! SQS, SNS and EventBridge in the account's own AWS account, reached with a role Herald
//! assumes there: `sts:AssumeRole` with the subscription's external id, from Herald's own
//! credentials, then SendMessage, Publish or PutEvents with the assumed credentials.
//!
//! The assumed credentials are kept per role and external id until five minutes before they
//! expire, and the SDK clients built on them per role, region and endpoint: a warm instance
//! delivering to one queue calls STS about once an hour.
//!
//! The clients for the accounts' resources are built from nothing of Herald's own configuration
//! but its HTTPS client, timeouts and name: in particular not its endpoint, which locally points
//! at the emulated AWS Herald itself runs on. A destination goes to its region's public endpoint,
//! or to the `endpoint` the subscription names when the operator allows it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use time::OffsetDateTime;

use crate::adapters::destinations::CourierParts;
use crate::common::clock::Clock;
use crate::events::delivery::DeliverError;
use crate::events::delivery::client::WebhookResponse;
use crate::events::delivery::outcome::Verdict;
use crate::events::destination::aws::{AwsRole, ExternalId, RoleArn};
use crate::events::destination::{
    AllowedEndpoints, Courier, Destination, Endpoint, Outbound, Report,
};
use crate::events::ids::SubscriptionId;

/// How long assumed credentials last. One hour is what every role allows (a role's maximum
/// session duration is at least an hour).
const SESSION: Duration = Duration::from_secs(3600);
/// Assumed credentials are replaced this long before they expire, so that no call is signed
/// with credentials that expire on the way.
const REFRESH_BEFORE_EXPIRY: time::Duration = time::Duration::minutes(5);
/// Bounds the caches of a warm instance: cleared when full, and filled again as used.
const MAX_CACHED: usize = 10_000;
/// `Source` of the events Herald puts on a bus.
pub const EVENT_SOURCE: &str = "herald";

/// The service that answered (or did not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Sts,
    Sqs,
    Sns,
    EventBridge,
}

/// An AWS error, as far as it matters to classify it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFailure {
    /// The error code (`AccessDenied`, `AWS.SimpleQueueService.NonExistentQueue`, ...).
    pub code: Option<String>,
    pub message: String,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
}

impl AwsFailure {
    fn of<E>(e: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = e.raw_response().map(|r| r.status().as_u16());
        let message = match e {
            SdkError::TimeoutError(_) => "no answer in time".to_owned(),
            SdkError::DispatchFailure(d) => format!("could not send the request: {d:?}"),
            _ => e
                .message()
                .map_or_else(|| aws_smithy_error_text(e), str::to_owned),
        };
        Self {
            code: e.code().map(str::to_owned),
            message,
            status,
        }
    }

    /// What the delivery log shows as the answer: the status, and the code and message.
    fn response(&self) -> Option<WebhookResponse> {
        let status = self.status?;
        Some(answer(
            status,
            format!(
                "{}: {}",
                self.code.as_deref().unwrap_or("error"),
                self.message
            ),
        ))
    }
}

fn aws_smithy_error_text<E: std::error::Error + 'static>(e: &SdkError<E, HttpResponse>) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

fn answer(status: u16, body: String) -> WebhookResponse {
    WebhookResponse {
        status,
        headers: BTreeMap::new(),
        body,
        truncated: false,
        retry_after: None,
    }
}

/// Codes that say "not now": throttling and the service's own trouble, whatever the status.
fn is_transient(code: &str) -> bool {
    let code = code.rsplit('.').next().unwrap_or(code);
    code.contains("Throttl")
        || matches!(
            code,
            "RequestThrottled"
                | "TooManyRequestsException"
                | "RequestLimitExceeded"
                | "LimitExceededException"
                | "ServiceUnavailable"
                | "ServiceUnavailableException"
                | "InternalError"
                | "InternalFailure"
                | "InternalException"
                | "InternalServerError"
                | "KmsThrottled"
                | "KMSThrottling"
                | "RequestTimeout"
                | "RequestTimeoutException"
                | "IDPCommunicationError"
        )
}

/// Codes that say the queue, topic or bus is gone.
fn is_gone(service: Service, code: &str) -> bool {
    match service {
        Service::Sts => false,
        Service::Sqs => matches!(
            code,
            "AWS.SimpleQueueService.NonExistentQueue"
                | "QueueDoesNotExist"
                | "AWS.SimpleQueueService.QueueDeletedRecently"
                | "QueueDeletedRecently"
        ),
        Service::Sns => matches!(code, "NotFound" | "NotFoundException"),
        Service::EventBridge => code == "ResourceNotFoundException",
    }
}

/// Codes that say the role lacks a permission: on the resource, or on its KMS key.
fn is_denied(code: &str) -> bool {
    matches!(
        code,
        "AccessDenied"
            | "AccessDeniedException"
            | "AuthorizationError"
            | "AuthorizationErrorException"
            | "NotAuthorizedForSourceException"
            | "InvalidClientTokenId"
    ) || is_kms(code)
}

fn is_kms(code: &str) -> bool {
    let code = code.rsplit('.').next().unwrap_or(code);
    code.to_ascii_lowercase().starts_with("kms") && !is_transient(code)
}

/// What an AWS answer (or its absence) means for the delivery: throttling, the service's own
/// trouble and no answer are retried; the resource gone disables the subscription; anything
/// else (permissions, a trust policy, a bad request) fails, since trying again gets the same.
pub fn classify(service: Service, code: Option<&str>, status: Option<u16>) -> Verdict {
    match (code, status) {
        (Some(c), _) if is_transient(c) => Verdict::Retry,
        (Some(c), _) if is_gone(service, c) => Verdict::DisableSubscription,
        (_, Some(429 | 500..=599) | None) => Verdict::Retry,
        _ => Verdict::Fail,
    }
}

/// The resource and the permission a send needs on it.
fn permission(destination: &Destination) -> (&'static str, &'static str) {
    match destination {
        Destination::AwsSns(_) => ("topic", "sns:Publish"),
        Destination::AwsEventbridge(_) => ("event bus", "events:PutEvents"),
        _ => ("queue", "sqs:SendMessage"),
    }
}

/// What went wrong, in words that name what to fix.
pub fn explain(
    service: Service,
    verdict: Verdict,
    failure: &AwsFailure,
    role: &AwsRole,
    destination: &Destination,
) -> String {
    let code = failure.code.as_deref().unwrap_or_default();
    let said = match &failure.code {
        Some(code) => format!("{code}: {}", failure.message),
        None => failure.message.clone(),
    };
    let target = destination.describe();
    let (what, action) = permission(destination);
    match (service, verdict) {
        (Service::Sts, Verdict::Fail) if code == "AccessDenied" => format!(
            "Herald could not assume {}: its trust policy must allow Herald's account with \
             sts:ExternalId {} (see the subscription's trustPolicy) ({said})",
            role.role_arn, role.external_id
        ),
        (Service::Sts, Verdict::Fail) => {
            format!("Herald could not assume {} ({said})", role.role_arn)
        }
        (Service::Sts, _) => format!("Herald could not assume {} for now ({said})", role.role_arn),
        (_, Verdict::DisableSubscription) => {
            format!("the {what} {target} does not exist ({said})")
        }
        (_, Verdict::Fail) if is_kms(code) => format!(
            "{} may not use the KMS key that encrypts the {what} {target}: allow it \
             kms:GenerateDataKey and kms:Decrypt on the key ({said})",
            role.role_arn
        ),
        (_, Verdict::Fail) if is_denied(code) => format!(
            "{} lacks {action} on the {what} {target}: allow it in the role's policy (and \
             the {what}'s own policy, if it has one) ({said})",
            role.role_arn
        ),
        _ => format!("the {what} {target} refused the event ({said})"),
    }
}

/// Assumed credentials, and when to replace them.
#[derive(Clone)]
struct Session {
    credentials: Credentials,
    refresh_at: OffsetDateTime,
}

type RoleKey = (RoleArn, ExternalId);
/// The role, the region, the endpoint and the service a client is for.
type ClientKey = (RoleArn, ExternalId, String, Option<String>, Service);

#[derive(Clone)]
enum Client {
    Sqs(aws_sdk_sqs::Client),
    Sns(aws_sdk_sns::Client),
    Events(aws_sdk_eventbridge::Client),
}

/// The courier of `aws-sqs`, `aws-sns` and `aws-eventbridge`.
pub struct AwsCourier {
    sts: aws_sdk_sts::Client,
    /// Herald's own configuration: its HTTPS client, timeouts and name.
    base: SdkConfig,
    allowed: AllowedEndpoints,
    clock: Arc<dyn Clock>,
    /// One slot per role: the first send to need a session assumes it, the others wait for it.
    sessions: Mutex<HashMap<RoleKey, Arc<tokio::sync::Mutex<Option<Session>>>>>,
    /// Clients with the access key id of the credentials they sign with.
    clients: Mutex<HashMap<ClientKey, (String, Client)>>,
}

/// Why no session: what the report says.
struct Refused {
    verdict: Verdict,
    failure: AwsFailure,
}

impl AwsCourier {
    pub fn new(
        sts: aws_sdk_sts::Client,
        base: SdkConfig,
        allowed: AllowedEndpoints,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            sts,
            base,
            allowed,
            clock,
            sessions: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Credentials in the account's AWS account: cached, or assumed now.
    async fn credentials(
        &self,
        role: &AwsRole,
        subscription: &SubscriptionId,
    ) -> Result<Credentials, Refused> {
        let key = (role.role_arn.clone(), role.external_id.clone());
        let slot = {
            let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
            if sessions.len() >= MAX_CACHED {
                sessions.clear();
            }
            sessions.entry(key).or_default().clone()
        };
        let mut session = slot.lock().await;
        if let Some(s) = session.as_ref().filter(|s| s.refresh_at > self.clock.now()) {
            return Ok(s.credentials.clone());
        }
        let assumed = self
            .sts
            .assume_role()
            .role_arn(role.role_arn.as_str())
            .external_id(role.external_id.as_str())
            .role_session_name(session_name(subscription))
            .duration_seconds(SESSION.as_secs() as i32)
            .send()
            .await
            .map_err(|e| {
                let failure = AwsFailure::of(&e);
                Refused {
                    verdict: classify(Service::Sts, failure.code.as_deref(), failure.status),
                    failure,
                }
            })?;
        let Some(c) = assumed.credentials else {
            return Err(Refused {
                verdict: Verdict::Retry,
                failure: AwsFailure {
                    code: None,
                    message: "STS answered without credentials".into(),
                    status: Some(200),
                },
            });
        };
        let expires =
            SystemTime::try_from(c.expiration).unwrap_or_else(|_| SystemTime::now() + SESSION);
        let credentials = Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            Some(expires),
            "herald-assumed-role",
        );
        *session = Some(Session {
            credentials: credentials.clone(),
            refresh_at: OffsetDateTime::from(expires) - REFRESH_BEFORE_EXPIRY,
        });
        Ok(credentials)
    }

    /// A client for `service` in `region` signing with `credentials`: cached while they last.
    fn client(
        &self,
        role: &AwsRole,
        credentials: &Credentials,
        region: &str,
        endpoint: Option<&Endpoint>,
        service: Service,
    ) -> Client {
        let key: ClientKey = (
            role.role_arn.clone(),
            role.external_id.clone(),
            region.to_owned(),
            endpoint.map(Endpoint::origin),
            service,
        );
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((key_id, client)) = clients.get(&key)
            && key_id == credentials.access_key_id()
        {
            return client.clone();
        }
        let client = self.build(credentials, region, endpoint, service);
        if clients.len() >= MAX_CACHED {
            clients.clear();
        }
        clients.insert(
            key,
            (credentials.access_key_id().to_owned(), client.clone()),
        );
        client
    }

    fn build(
        &self,
        credentials: &Credentials,
        region: &str,
        endpoint: Option<&Endpoint>,
        service: Service,
    ) -> Client {
        let provider = SharedCredentialsProvider::new(credentials.clone());
        let region = Region::new(region.to_owned());
        let endpoint = endpoint.map(Endpoint::origin);
        let timeouts = self
            .base
            .timeout_config()
            .cloned()
            .unwrap_or_else(crate::adapters::aws::timeouts);
        // The same settings for each service's builder: written once.
        macro_rules! configure {
            ($sdk:ident) => {{
                let mut b = $sdk::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(region)
                    .credentials_provider(provider)
                    .timeout_config(timeouts);
                if let Some(http) = self.base.http_client() {
                    b = b.http_client(http);
                }
                if let Some(app) = self.base.app_name() {
                    b = b.app_name(app.clone());
                }
                if let Some(url) = endpoint {
                    b = b.endpoint_url(url);
                }
                $sdk::Client::from_conf(b.build())
            }};
        }
        match service {
            Service::Sns => Client::Sns(configure!(aws_sdk_sns)),
            Service::EventBridge => Client::Events(configure!(aws_sdk_eventbridge)),
            Service::Sqs | Service::Sts => Client::Sqs(configure!(aws_sdk_sqs)),
        }
    }
}

/// `herald-` and the start of the subscription's id: CloudTrail in the account's AWS account
/// shows which subscription assumed the role.
fn session_name(subscription: &SubscriptionId) -> String {
    let id: String = subscription
        .as_str()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(*c))
        .take(57)
        .collect();
    format!("herald-{id}")
}

/// What a send returned: the id the service gave the message, or why not.
type Sent = Result<String, (Service, AwsFailure)>;

async fn send_sqs(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    fifo: bool,
    outbound: &Outbound<'_>,
    headers: &mut BTreeMap<String, String>,
) -> Sent {
    use aws_sdk_sqs::types::MessageAttributeValue;
    let mut request = client
        .send_message()
        .queue_url(queue_url)
        .message_body(outbound.body);
    for (name, value) in outbound.attributes() {
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| {
                (
                    Service::Sqs,
                    AwsFailure {
                        code: None,
                        message: e.to_string(),
                        status: None,
                    },
                )
            })?;
        request = request.message_attributes(name, attribute);
    }
    if fifo {
        request = request
            .message_group_id(outbound.account_id.as_str())
            .message_deduplication_id(outbound.delivery_id.as_str());
        fifo_headers(outbound, headers);
    }
    match request.send().await {
        Ok(sent) => Ok(sent.message_id.unwrap_or_default()),
        Err(e) => Err((Service::Sqs, AwsFailure::of(&e))),
    }
}

async fn send_sns(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
    fifo: bool,
    outbound: &Outbound<'_>,
    headers: &mut BTreeMap<String, String>,
) -> Sent {
    use aws_sdk_sns::types::MessageAttributeValue;
    let mut request = client.publish().topic_arn(topic_arn).message(outbound.body);
    for (name, value) in outbound.attributes() {
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| {
                (
                    Service::Sns,
                    AwsFailure {
                        code: None,
                        message: e.to_string(),
                        status: None,
                    },
                )
            })?;
        request = request.message_attributes(name, attribute);
    }
    if fifo {
        request = request
            .message_group_id(outbound.account_id.as_str())
            .message_deduplication_id(outbound.delivery_id.as_str());
        fifo_headers(outbound, headers);
    }
    match request.send().await {
        Ok(sent) => Ok(sent.message_id.unwrap_or_default()),
        Err(e) => Err((Service::Sns, AwsFailure::of(&e))),
    }
}

async fn put_event(
    client: &aws_sdk_eventbridge::Client,
    bus_arn: &str,
    outbound: &Outbound<'_>,
) -> Sent {
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source(EVENT_SOURCE)
        .detail_type(outbound.event_name.as_str())
        .detail(outbound.body)
        .event_bus_name(bus_arn)
        .build();
    let put = client
        .put_events()
        .entries(entry)
        .send()
        .await
        .map_err(|e| (Service::EventBridge, AwsFailure::of(&e)))?;
    // PutEvents answers 200 for the request and says per entry whether it was taken.
    let first = put.entries().first();
    match first.and_then(|e| e.error_code()) {
        Some(code) => Err((
            Service::EventBridge,
            AwsFailure {
                code: Some(code.to_owned()),
                message: first
                    .and_then(|e| e.error_message())
                    .unwrap_or("the entry was refused")
                    .to_owned(),
                status: Some(200),
            },
        )),
        None if put.failed_entry_count() > 0 => Err((
            Service::EventBridge,
            AwsFailure {
                code: Some("InternalFailure".into()),
                message: "the entry was refused without a reason".into(),
                status: Some(200),
            },
        )),
        None => Ok(first
            .and_then(|e| e.event_id())
            .unwrap_or_default()
            .to_owned()),
    }
}

fn fifo_headers(outbound: &Outbound<'_>, headers: &mut BTreeMap<String, String>) {
    headers.insert(
        "MessageGroupId".into(),
        outbound.account_id.as_str().to_owned(),
    );
    headers.insert(
        "MessageDeduplicationId".into(),
        outbound.delivery_id.as_str().to_owned(),
    );
}

#[async_trait]
impl Courier for AwsCourier {
    async fn send(
        &self,
        destination: &Destination,
        outbound: &Outbound<'_>,
    ) -> Result<Report, DeliverError> {
        let destination = destination;
        let (role, region, endpoint, service) = match destination {
            Destination::AwsSqs(d) => (
                &d.role,
                d.queue_url.region(),
                d.endpoint.as_ref(),
                Service::Sqs,
            ),
            Destination::AwsSns(d) => (
                &d.role,
                d.topic_arn.region(),
                d.endpoint.as_ref(),
                Service::Sns,
            ),
            Destination::AwsEventbridge(d) => (
                &d.role,
                d.event_bus_arn.region(),
                d.endpoint.as_ref(),
                Service::EventBridge,
            ),
            other => return Err(DeliverError::Misrouted(other.kind().as_str())),
        };
        let mut headers: BTreeMap<String, String> = outbound
            .attributes()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        if service == Service::EventBridge {
            headers.insert("Source".into(), EVENT_SOURCE.into());
            headers.insert("DetailType".into(), outbound.event_name.as_str().to_owned());
        }
        let mut report = Report {
            target: destination.describe(),
            request_headers: headers,
            response: None,
            verdict: Verdict::Fail,
            error: None,
            duration: Duration::ZERO,
        };
        // The operator's list as it is now, not as it was when the subscription was saved.
        if let Some(endpoint) = endpoint
            && let Err(refusal) = self.allowed.check(endpoint)
        {
            report.error = Some(refusal);
            return Ok(report);
        }
        let started = Instant::now();
        let credentials = match self.credentials(role, outbound.subscription_id).await {
            Ok(c) => c,
            Err(Refused { verdict, failure }) => {
                report.duration = started.elapsed();
                report.verdict = verdict;
                report.error = Some(explain(Service::Sts, verdict, &failure, role, destination));
                report.response = failure.response();
                return Ok(report);
            }
        };
        let client = self.client(role, &credentials, region, endpoint, service);
        let sent = match (&client, destination) {
            (Client::Sqs(c), Destination::AwsSqs(d)) => {
                send_sqs(
                    c,
                    d.queue_url.as_str(),
                    d.queue_url.is_fifo(),
                    outbound,
                    &mut report.request_headers,
                )
                .await
            }
            (Client::Sns(c), Destination::AwsSns(d)) => {
                send_sns(
                    c,
                    d.topic_arn.as_str(),
                    d.topic_arn.is_fifo(),
                    outbound,
                    &mut report.request_headers,
                )
                .await
            }
            (Client::Events(c), Destination::AwsEventbridge(d)) => {
                put_event(c, d.event_bus_arn.as_str(), outbound).await
            }
            _ => return Err(DeliverError::Misrouted(destination.kind().as_str())),
        };
        report.duration = started.elapsed();
        match sent {
            Ok(message_id) => {
                report.verdict = Verdict::Delivered;
                report.response = Some(answer(200, message_id));
            }
            Err((service, failure)) => {
                let verdict = classify(service, failure.code.as_deref(), failure.status);
                report.verdict = verdict;
                report.error = Some(explain(service, verdict, &failure, role, destination));
                report.response = failure.response();
            }
        }
        Ok(report)
    }
}

pub fn courier(parts: &CourierParts) -> Result<Arc<dyn Courier>, reqwest::Error> {
    Ok(Arc::new(AwsCourier::new(
        parts.aws.sts(),
        parts.aws.config().clone(),
        parts.allowed.clone(),
        parts.clock.clone(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::destination::aws::{QueueUrl, SqsDestination, TopicArn};
    use crate::events::destination::{EventBridgeDestination, SnsDestination};

    fn v(service: Service, code: &str, status: u16) -> Verdict {
        classify(service, Some(code), Some(status))
    }

    fn role() -> AwsRole {
        AwsRole {
            role_arn: RoleArn::parse("arn:aws:iam::210987654321:role/herald").expect("valid"),
            external_id: ExternalId::parse("herald-abc").expect("valid"),
        }
    }

    fn sqs() -> Destination {
        Destination::AwsSqs(SqsDestination {
            queue_url: QueueUrl::parse("https://sqs.eu-west-1.amazonaws.com/210987654321/events")
                .expect("valid"),
            role: role(),
            endpoint: None,
        })
    }

    fn failure(code: &str) -> AwsFailure {
        AwsFailure {
            code: Some(code.into()),
            message: "said so".into(),
            status: Some(403),
        }
    }

    #[test]
    fn a_refused_assume_role_fails_and_names_the_trust_policy() {
        let verdict = v(Service::Sts, "AccessDenied", 403);
        assert_eq!(verdict, Verdict::Fail);
        let text = explain(
            Service::Sts,
            verdict,
            &failure("AccessDenied"),
            &role(),
            &sqs(),
        );
        assert!(
            text.starts_with(
                "Herald could not assume arn:aws:iam::210987654321:role/herald: its trust \
                 policy must allow Herald's account with sts:ExternalId herald-abc"
            ),
            "{text}"
        );
        assert!(text.contains("trustPolicy"), "{text}");
    }

    #[test]
    fn a_resource_gone_disables_the_subscription() {
        assert_eq!(
            v(Service::Sqs, "AWS.SimpleQueueService.NonExistentQueue", 400),
            Verdict::DisableSubscription
        );
        assert_eq!(
            v(Service::Sqs, "QueueDoesNotExist", 400),
            Verdict::DisableSubscription
        );
        assert_eq!(
            v(Service::Sns, "NotFound", 404),
            Verdict::DisableSubscription
        );
        assert_eq!(
            v(Service::EventBridge, "ResourceNotFoundException", 400),
            Verdict::DisableSubscription
        );
        // A code that means "gone" for one service means nothing of the kind for another.
        assert_eq!(v(Service::Sts, "NotFound", 404), Verdict::Fail);
        assert_eq!(v(Service::Sqs, "NotFound", 404), Verdict::Fail);
        let text = explain(
            Service::Sqs,
            Verdict::DisableSubscription,
            &failure("QueueDoesNotExist"),
            &role(),
            &sqs(),
        );
        assert!(
            text.starts_with(
                "the queue https://sqs.eu-west-1.amazonaws.com/210987654321/events does not exist"
            ),
            "{text}"
        );
    }

    #[test]
    fn missing_permissions_fail_and_name_the_permission() {
        for (service, code) in [
            (Service::Sqs, "AccessDenied"),
            (Service::Sqs, "KMS.AccessDeniedException"),
            (Service::Sqs, "KmsAccessDenied"),
            (Service::Sns, "AuthorizationError"),
            (Service::Sns, "KMSAccessDenied"),
            (Service::EventBridge, "AccessDeniedException"),
        ] {
            assert_eq!(v(service, code, 403), Verdict::Fail, "{code}");
            // Even when the status looks like the service's trouble.
            assert_eq!(v(service, code, 400), Verdict::Fail, "{code}");
        }
        let topic = Destination::AwsSns(SnsDestination {
            topic_arn: TopicArn::parse("arn:aws:sns:eu-west-1:210987654321:t").expect("valid"),
            role: role(),
            endpoint: None,
        });
        let text = explain(
            Service::Sns,
            Verdict::Fail,
            &failure("AuthorizationError"),
            &role(),
            &topic,
        );
        assert!(
            text.contains("lacks sns:Publish on the topic arn:aws:sns:eu-west-1:210987654321:t"),
            "{text}"
        );
        let bus = Destination::AwsEventbridge(EventBridgeDestination {
            event_bus_arn: crate::events::destination::aws::EventBusArn::parse(
                "arn:aws:events:eu-west-1:210987654321:event-bus/b",
            )
            .expect("valid"),
            role: role(),
            endpoint: None,
        });
        let text = explain(
            Service::EventBridge,
            Verdict::Fail,
            &failure("AccessDeniedException"),
            &role(),
            &bus,
        );
        assert!(
            text.contains("lacks events:PutEvents on the event bus"),
            "{text}"
        );
        let text = explain(
            Service::Sqs,
            Verdict::Fail,
            &failure("KmsAccessDenied"),
            &role(),
            &sqs(),
        );
        assert!(text.contains("KMS key"), "{text}");
    }

    #[test]
    fn throttling_server_errors_and_no_answer_are_retried() {
        for (service, code, status) in [
            (Service::Sqs, "RequestThrottled", 403),
            (Service::Sqs, "AWS.SimpleQueueService.RequestThrottled", 400),
            (Service::Sqs, "KmsThrottled", 400),
            (Service::Sns, "Throttled", 400),
            (Service::Sns, "KMSThrottling", 400),
            (Service::Sns, "InternalError", 500),
            (Service::EventBridge, "ThrottlingException", 400),
            (Service::EventBridge, "InternalFailure", 200),
            (Service::Sts, "Throttling", 400),
            (Service::Sqs, "SomethingNew", 503),
            (Service::Sqs, "SomethingNew", 429),
        ] {
            assert_eq!(v(service, code, status), Verdict::Retry, "{code} {status}");
        }
        // Timeouts and network errors: no answer, no code.
        assert_eq!(classify(Service::Sqs, None, None), Verdict::Retry);
        assert_eq!(classify(Service::Sts, None, None), Verdict::Retry);
    }

    #[test]
    fn other_refusals_fail() {
        for (service, code) in [
            (Service::Sqs, "InvalidParameterValue"),
            (Service::Sns, "InvalidParameter"),
            (Service::EventBridge, "MalformedDetail"),
            (Service::Sts, "RegionDisabledException"),
        ] {
            assert_eq!(v(service, code, 400), Verdict::Fail, "{code}");
        }
        assert_eq!(classify(Service::Sqs, None, Some(400)), Verdict::Fail);
    }
}
