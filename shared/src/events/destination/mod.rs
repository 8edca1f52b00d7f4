//! Where a subscription's events go: a webhook, a Google Pub/Sub topic, an Azure Service Bus
//! queue or topic, or an SQS queue, SNS topic or EventBridge bus in the account's own AWS
//! account. Each kind has its own validated configuration ([`webhook`], [`google_pubsub`],
//! [`azure_service_bus`], [`aws`]); credentials are sealed before they are stored and opened only
//! to make an attempt.
//!
//! Delivery is the same for every kind (one record per event and subscription, the same
//! attempts, retries and log): only the last step, handing the envelope over, differs. That step
//! is a [`Courier`]; the deliverer picks one per kind from [`Couriers`].
//!
//! Cloud destinations are reached at their public endpoints. An operator may allow others (an
//! emulator, a private endpoint) with [`AllowedEndpoints`]; an endpoint a subscription names
//! must be allowed when it is saved and again when it is used.

pub mod aws;
pub mod azure_service_bus;
pub mod google_pubsub;
pub mod webhook;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use crate::common::account::AccountId;
use crate::events::delivery::client::WebhookResponse;
use crate::events::delivery::outcome::Verdict;
use crate::events::delivery::{DeliverError, DeliveryId};
use crate::events::ids::SubscriptionId;
use crate::events::webhook::{EventId, EventName};

pub use aws::{AwsRole, EventBridgeDestination, SnsDestination, SqsDestination};
pub use azure_service_bus::ServiceBusDestination;
pub use google_pubsub::PubSubDestination;
pub use webhook::WebhookDestination;

/// A subscription's destination, stored with it (`type` beside the kind's own fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Destination {
    Webhook(WebhookDestination),
    GooglePubsub(PubSubDestination),
    AzureServiceBus(ServiceBusDestination),
    AwsSqs(SqsDestination),
    AwsSns(SnsDestination),
    AwsEventbridge(EventBridgeDestination),
}

/// Every kind's fields, as the API names them beside a subscription's own: `secret` is a
/// webhook's flag, the others are text. The API and the dashboard's form both read these.
pub const FIELDS: [&str; 16] = [
    "url",
    "secret",
    "project",
    "topic",
    "orderingKey",
    "serviceAccountKey",
    "connectionString",
    "namespace",
    "entity",
    "sasKeyName",
    "sasKey",
    "queueUrl",
    "topicArn",
    "eventBusArn",
    "roleArn",
    "endpoint",
];

/// The kinds of destination, as the API names them in `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Webhook,
    GooglePubsub,
    AzureServiceBus,
    AwsSqs,
    AwsSns,
    AwsEventbridge,
}

impl Kind {
    pub const ALL: [Self; 6] = [
        Self::Webhook,
        Self::GooglePubsub,
        Self::AzureServiceBus,
        Self::AwsSqs,
        Self::AwsSns,
        Self::AwsEventbridge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::GooglePubsub => "google-pubsub",
            Self::AzureServiceBus => "azure-service-bus",
            Self::AwsSqs => "aws-sqs",
            Self::AwsSns => "aws-sns",
            Self::AwsEventbridge => "aws-eventbridge",
        }
    }

    /// What the dashboard calls it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Webhook => "Webhook",
            Self::GooglePubsub => "Google Pub/Sub",
            Self::AzureServiceBus => "Azure Service Bus",
            Self::AwsSqs => "Amazon SQS",
            Self::AwsSns => "Amazon SNS",
            Self::AwsEventbridge => "Amazon EventBridge",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Every kind's name, quoted, for error messages.
    pub fn names() -> String {
        Self::ALL
            .iter()
            .map(|k| format!("\"{}\"", k.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Destination {
    pub fn kind(&self) -> Kind {
        match self {
            Self::Webhook(_) => Kind::Webhook,
            Self::GooglePubsub(_) => Kind::GooglePubsub,
            Self::AzureServiceBus(_) => Kind::AzureServiceBus,
            Self::AwsSqs(_) => Kind::AwsSqs,
            Self::AwsSns(_) => Kind::AwsSns,
            Self::AwsEventbridge(_) => Kind::AwsEventbridge,
        }
    }

    /// Where the events go, in one line: the webhook's URL, the topic's REST URL or the
    /// queue's, topic's or bus's address. Shown in the delivery log and `subscription.disabled`.
    pub fn describe(&self) -> String {
        match self {
            Self::Webhook(w) => w.url.clone(),
            Self::GooglePubsub(p) => p.publish_url(),
            Self::AzureServiceBus(b) => b.messages_url(),
            Self::AwsSqs(q) => q.queue_url.to_string(),
            Self::AwsSns(t) => t.topic_arn.to_string(),
            Self::AwsEventbridge(b) => b.event_bus_arn.to_string(),
        }
    }

    pub fn webhook(&self) -> Option<&WebhookDestination> {
        match self {
            Self::Webhook(w) => Some(w),
            _ => None,
        }
    }

    pub fn webhook_mut(&mut self) -> Option<&mut WebhookDestination> {
        match self {
            Self::Webhook(w) => Some(w),
            _ => None,
        }
    }

    /// The role Herald assumes, for the AWS kinds.
    pub fn aws_role(&self) -> Option<&AwsRole> {
        match self {
            Self::AwsSqs(d) => Some(&d.role),
            Self::AwsSns(d) => Some(&d.role),
            Self::AwsEventbridge(d) => Some(&d.role),
            _ => None,
        }
    }

    /// The endpoint the operator allowed in place of the cloud's public one, if any.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        match self {
            Self::Webhook(_) => None,
            Self::GooglePubsub(d) => d.endpoint.as_ref(),
            Self::AzureServiceBus(d) => d.endpoint.as_ref(),
            Self::AwsSqs(d) => d.endpoint.as_ref(),
            Self::AwsSns(d) => d.endpoint.as_ref(),
            Self::AwsEventbridge(d) => d.endpoint.as_ref(),
        }
    }
}

/// An endpoint given in place of a cloud's public one: an origin (`http://127.0.0.1:8085`),
/// accepted only when the operator's [`AllowedEndpoints`] list it. Stored as given; checked
/// against the list again before every use, so a list tightened later applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Endpoint(Url);

impl Endpoint {
    /// An `http` or `https` origin: no credentials, path, query or fragment.
    pub fn parse(s: &str) -> Result<Self, String> {
        let url = Url::parse(s.trim()).map_err(|e| format!("is not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must be an http or https URL".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("must name a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not contain credentials".into());
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(
                "must be an origin only (scheme, host and port), like http://127.0.0.1:8085".into(),
            );
        }
        Ok(Self(url))
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    /// Without the trailing slash: `http://127.0.0.1:8085`.
    pub fn origin(&self) -> String {
        self.0.as_str().trim_end_matches('/').to_owned()
    }
}

impl TryFrom<String> for Endpoint {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<Endpoint> for String {
    fn from(e: Endpoint) -> String {
        e.origin()
    }
}

/// One entry of the operator's list: a scheme, a host and a port, or any port (`:*`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowedOrigin {
    scheme: String,
    host: String,
    /// `None`: any port.
    port: Option<u16>,
}

/// The endpoints other than the clouds' public ones that subscriptions may name
/// (`HERALD_DESTINATION_ALLOWED_ENDPOINTS`, comma-separated origins such as
/// `http://127.0.0.1:*,https://pubsub.internal.example`). Empty by default: every cloud
/// destination goes to its cloud.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedEndpoints(Vec<AllowedOrigin>);

impl AllowedEndpoints {
    pub const VARIABLE: &'static str = "HERALD_DESTINATION_ALLOWED_ENDPOINTS";

    pub fn parse(s: &str) -> Result<Self, String> {
        let mut origins = Vec::new();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (base, any_port) = match entry.strip_suffix(":*") {
                Some(base) => (base, true),
                None => (entry, false),
            };
            let url = Url::parse(base)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/")
                .ok_or_else(|| {
                    format!("has {entry:?}, which is not an origin like http://127.0.0.1:8085 or http://127.0.0.1:*")
                })?;
            origins.push(AllowedOrigin {
                scheme: url.scheme().to_owned(),
                host: url.host_str().unwrap_or_default().to_ascii_lowercase(),
                port: if any_port {
                    None
                } else {
                    url.port_or_known_default()
                },
            });
        }
        Ok(Self(origins))
    }

    pub fn read<F: Fn(&str) -> Option<String>>(
        env: &mut crate::common::config::EnvReader<F>,
    ) -> Option<Self> {
        env.parsed(Self::VARIABLE, "", Self::parse)
    }

    pub fn allows(&self, url: &Url) -> bool {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        self.0.iter().any(|o| {
            o.scheme == url.scheme()
                && o.host == host
                && o.port
                    .is_none_or(|p| Some(p) == url.port_or_known_default())
        })
    }

    /// `endpoint` if the operator allows it; otherwise why not, in words for the account.
    pub fn check(&self, endpoint: &Endpoint) -> Result<(), String> {
        if self.allows(endpoint.url()) {
            Ok(())
        } else {
            Err(format!(
                "{} is not an endpoint this Herald may deliver to: leave it out to use the \
                 cloud's public endpoint (the operator allows others with {})",
                endpoint.origin(),
                Self::VARIABLE
            ))
        }
    }
}

/// What a courier hands over: the envelope and what identifies it.
#[derive(Debug, Clone, Copy)]
pub struct Outbound<'a> {
    pub account_id: &'a AccountId,
    pub subscription_id: &'a SubscriptionId,
    pub delivery_id: &'a DeliveryId,
    pub event_id: &'a EventId,
    pub event_name: &'a EventName,
    /// The envelope as JSON: the exact bytes every attempt sends.
    pub body: &'a str,
    pub at: OffsetDateTime,
}

impl Outbound<'_> {
    /// The attributes (Pub/Sub), properties (Service Bus) and message attributes (SNS, SQS)
    /// every cloud destination carries beside the body, so that a consumer can route and drop
    /// repeats without parsing it.
    pub fn attributes(&self) -> [(&'static str, &str); 4] {
        [
            ("eventName", self.event_name.as_str()),
            ("eventId", self.event_id.as_str()),
            ("accountId", self.account_id.as_str()),
            ("deliveryId", self.delivery_id.as_str()),
        ]
    }
}

/// What came of handing an envelope over, as the delivery log records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Where it was sent: a URL, or a queue's, topic's or bus's address.
    pub target: String,
    /// What was sent beside the body: headers, attributes, properties; never a credential.
    pub request_headers: BTreeMap<String, String>,
    /// The destination's answer, when there was one (an HTTP status, or the SDK's error code
    /// and message as the body).
    pub response: Option<WebhookResponse>,
    pub verdict: Verdict,
    /// What went wrong, in words that name what to fix. With
    /// [`Verdict::DisableSubscription`], why the subscription is disabled.
    pub error: Option<String>,
    pub duration: Duration,
}

/// Hands one envelope to one kind of destination and classifies the outcome: delivered,
/// retried (throttling, 5xx, timeouts), failed (credentials, permissions: the error names what
/// to fix) or the destination gone (the subscription is disabled).
///
/// `Err` is for Herald's own trouble (a secret that cannot be opened for now): the job comes
/// back and nothing is recorded.
#[async_trait]
pub trait Courier: Send + Sync {
    async fn send(
        &self,
        destination: &Destination,
        outbound: &Outbound<'_>,
    ) -> Result<Report, DeliverError>;
}

/// One courier per kind of destination.
#[derive(Clone)]
pub struct Couriers {
    pub webhook: std::sync::Arc<dyn Courier>,
    pub google_pubsub: std::sync::Arc<dyn Courier>,
    pub azure_service_bus: std::sync::Arc<dyn Courier>,
    /// SQS, SNS and EventBridge: one courier, because they share the assumed role.
    pub aws: std::sync::Arc<dyn Courier>,
}

impl Couriers {
    /// Every kind to the one courier: for tests and benchmarks of one kind of destination
    /// (the others are then refused as misrouted).
    pub fn only(courier: std::sync::Arc<dyn Courier>) -> Self {
        Self {
            webhook: courier.clone(),
            google_pubsub: courier.clone(),
            azure_service_bus: courier.clone(),
            aws: courier,
        }
    }

    pub fn of(&self, kind: Kind) -> &dyn Courier {
        match kind {
            Kind::Webhook => &*self.webhook,
            Kind::GooglePubsub => &*self.google_pubsub,
            Kind::AzureServiceBus => &*self.azure_service_bus,
            Kind::AwsSqs | Kind::AwsSns | Kind::AwsEventbridge => &*self.aws,
        }
    }
}

/// Newtypes over a validated string: serde through `parse`, `Display`, `as_str`.
macro_rules! validated_string {
    ($(#[$meta:meta])* $ty:ident, $parse:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            pub fn parse(s: &str) -> Result<Self, String> {
                let check: fn(&str) -> Result<(), String> = $parse;
                check(s)?;
                Ok(Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $ty {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s)
            }
        }

        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.0
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use validated_string;

/// `s` is 1 to `max` characters of which every one passes `ok`.
pub(crate) fn chars_within(
    s: &str,
    min: usize,
    max: usize,
    ok: impl Fn(char) -> bool,
    what: &str,
) -> Result<(), String> {
    let len = s.chars().count();
    if len < min || len > max {
        return Err(format!("must be {min} to {max} characters"));
    }
    if !s.chars().all(ok) {
        return Err(format!("may contain only {what}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_origins() {
        assert!(Endpoint::parse("http://127.0.0.1:8085").is_ok());
        assert!(Endpoint::parse("http://127.0.0.1:8085/").is_ok());
        assert!(Endpoint::parse("http://127.0.0.1:8085/v1").is_err());
        assert!(Endpoint::parse("ftp://127.0.0.1").is_err());
        assert!(Endpoint::parse("http://u:p@127.0.0.1").is_err());
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:8085/")
                .expect("valid")
                .origin(),
            "http://127.0.0.1:8085"
        );
    }

    #[test]
    fn only_listed_endpoints_are_allowed() {
        let allowed =
            AllowedEndpoints::parse("http://127.0.0.1:*, https://pubsub.internal.example")
                .expect("valid");
        let ok = |s: &str| allowed.check(&Endpoint::parse(s).expect("valid")).is_ok();
        assert!(ok("http://127.0.0.1:8085"));
        assert!(ok("http://127.0.0.1:1"));
        assert!(!ok("https://127.0.0.1:8085"), "the scheme counts");
        assert!(!ok("http://127.0.0.2:8085"));
        assert!(ok("https://pubsub.internal.example"));
        assert!(ok("https://PUBSUB.internal.example:443"));
        assert!(
            !ok("https://pubsub.internal.example:8443"),
            "the port counts"
        );
        assert!(
            !AllowedEndpoints::default().allows(
                Endpoint::parse("http://127.0.0.1:8085")
                    .expect("valid")
                    .url()
            )
        );
        assert!(AllowedEndpoints::parse("127.0.0.1:8085").is_err());
        assert!(AllowedEndpoints::parse("http://127.0.0.1/path").is_err());
    }

    #[test]
    fn kinds_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("smtp"), None);
    }
}
