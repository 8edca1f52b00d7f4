//! `webhook-fanout` and `webhook-deliver`, and what they (and the API's subscription routes)
//! read from the environment at cold start.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use rand::SeedableRng;

use crate::adapters::aws::first_use::OnFirstUse;
use crate::adapters::destinations::{self, CourierOnFirstUse, CourierParts};
use crate::adapters::dynamo::deliveries::DynamoDeliveryStore;
use crate::adapters::dynamo::subscriptions::DynamoSubscriptionStore;
use crate::adapters::kms::KmsSealer;
use crate::adapters::sqs::SqsQueue;
use crate::adapters::webhook_http::{ReqwestWebhookClient, system_lookup};
use crate::common::clock::SystemClock;
use crate::common::config::{ConfigError, EnvReader};
use crate::common::destination::AddressPolicy;
use crate::events::delivery::DeliveryJob;
use crate::events::delivery::deliverer::{Deliverer, Handled};
use crate::events::delivery::fanout::Fanout;
use crate::events::destination::webhook::WebhookCourier;
use crate::events::destination::{AllowedEndpoints, Couriers};
use crate::events::publish::EventPublisher;
use crate::events::webhook::{Event, HERALD_SIGNATURE_HEADER};
use crate::lambda::Error;
use crate::lambda::sqs_batch::{Delivery, run_batch};

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub subscriptions_table: String,
    pub deliveries_table: String,
    pub deliveries_queue_url: String,
    pub events_queue_url: String,
    /// Where `webhook-fanout` forwards events for the notification rules; none: notifications
    /// are not deployed.
    pub notifications_queue_url: Option<String>,
    pub kms_key_id: String,
    pub policy: AddressPolicy,
    /// Endpoints other than the clouds' public ones that subscriptions may name.
    pub allowed_endpoints: AllowedEndpoints,
    /// Herald's own AWS account: the principal of the trust policy accounts attach to the
    /// roles Herald assumes.
    pub aws_account_id: Option<String>,
    pub signature_header: String,
    pub retention: time::Duration,
}

impl WebhookConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::read(EnvReader::from_process())
    }

    pub fn read<F: Fn(&str) -> Option<String>>(mut env: EnvReader<F>) -> Result<Self, ConfigError> {
        let config = Self::read_into(&mut env);
        env.finish(config)
    }

    /// Reads the variables into `env`, for a function that reads others too.
    pub fn read_into<F: Fn(&str) -> Option<String>>(env: &mut EnvReader<F>) -> Option<Self> {
        let subscriptions_table = env.required("HERALD_SUBSCRIPTIONS_TABLE");
        let deliveries_table = env.required("HERALD_DELIVERIES_TABLE");
        let deliveries_queue_url = env.required("HERALD_DELIVERIES_QUEUE_URL");
        let events_queue_url = env.required("HERALD_EVENTS_QUEUE_URL");
        let notifications_queue_url = env.optional("HERALD_NOTIFICATIONS_QUEUE_URL");
        let kms_key_id = env.required("HERALD_KMS_KEY_ID");
        let policy = AddressPolicy::read(env);
        let allowed_endpoints = AllowedEndpoints::read(env);
        let aws_account_id = env.optional("HERALD_AWS_ACCOUNT_ID");
        let signature_header = env.parsed(
            "HERALD_WEBHOOK_SIGNATURE_HEADER",
            HERALD_SIGNATURE_HEADER,
            |s| {
                reqwest::header::HeaderName::from_bytes(s.as_bytes())
                    .map(|_| s.to_owned())
                    .map_err(|_| "is not a valid HTTP header name")
            },
        );
        // Longer than the five days a delivery may be retried, or scheduled retries would
        // find their record gone.
        let retention = env.parsed("HERALD_DELIVERY_RETENTION_DAYS", "90", |s| {
            s.parse::<i64>()
                .ok()
                .filter(|d| (6..=3650).contains(d))
                .map(time::Duration::days)
                .ok_or("must be a number of days from 6 to 3650")
        });
        Some(Self {
            subscriptions_table,
            deliveries_table,
            deliveries_queue_url,
            events_queue_url,
            notifications_queue_url,
            kms_key_id,
            policy: policy?,
            allowed_endpoints: allowed_endpoints?,
            aws_account_id,
            signature_header: signature_header?,
            retention: retention?,
        })
    }

    pub fn fanout(&self, aws: &crate::adapters::aws::Clients) -> Fanout {
        Fanout {
            subscriptions: Arc::new(DynamoSubscriptionStore::new(
                aws.dynamo(),
                &self.subscriptions_table,
            )),
            // Fan-out may run twice: jobs and forwards are keyed by the event.
            queue: Arc::new(SqsQueue::new(aws.sqs(), &self.deliveries_queue_url).batched()),
            notifications: self.notifications_queue_url.as_ref().map(|url| {
                Arc::new(SqsQueue::new(aws.sqs(), url).batched())
                    as Arc<dyn crate::common::queue::JobQueue<Event>>
            }),
        }
    }

    pub fn deliverer(
        &self,
        aws: &Arc<crate::adapters::aws::Clients>,
    ) -> Result<Deliverer, reqwest::Error> {
        let dynamo = aws.dynamo();
        let sqs = aws.sqs();
        let kms_key_id = self.kms_key_id.clone();
        let store = Arc::new(DynamoSubscriptionStore::new(
            dynamo.clone(),
            &self.subscriptions_table,
        ));
        let clock: Arc<dyn crate::common::clock::Clock> = Arc::new(SystemClock);
        // Secrets are opened once per warm instance and subscription: KMS is built when the
        // first one is.
        let sealer: Arc<dyn crate::common::seal::SecretSealer> =
            Arc::new(OnFirstUse::new(aws.clone(), move |aws| {
                KmsSealer::new(aws.kms(), &kms_key_id)
            }));
        let parts = CourierParts {
            sealer: sealer.clone(),
            clock: clock.clone(),
            policy: self.policy.clone(),
            allowed: self.allowed_endpoints.clone(),
            lookup: system_lookup(),
            aws: aws.clone(),
        };
        let couriers = Couriers {
            webhook: Arc::new(WebhookCourier {
                client: Arc::new(ReqwestWebhookClient::new(
                    self.policy.clone(),
                    system_lookup(),
                )?),
                sealer,
                clock: clock.clone(),
                policy: self.policy.clone(),
                signature_header: self.signature_header.clone(),
                opened: Mutex::new(BTreeMap::new()),
            }),
            google_pubsub: Arc::new(CourierOnFirstUse::new(
                "google-pubsub",
                parts.clone(),
                |p| destinations::google_pubsub::courier(p).map_err(|e| e.to_string()),
            )),
            azure_service_bus: Arc::new(CourierOnFirstUse::new(
                "azure-service-bus",
                parts.clone(),
                |p| destinations::azure_service_bus::courier(p).map_err(|e| e.to_string()),
            )),
            aws: Arc::new(CourierOnFirstUse::new("aws", parts, |p| {
                destinations::aws::courier(p).map_err(|e| e.to_string())
            })),
        };
        Ok(Deliverer {
            deliveries: Arc::new(DynamoDeliveryStore::new(dynamo, &self.deliveries_table)),
            subscriptions: store,
            couriers,
            // A job handled again finds its attempt made and queues its retry again; events
            // carry ids of their own, which fan-out keys deliveries by.
            queue: Arc::new(SqsQueue::new(sqs.clone(), &self.deliveries_queue_url).batched()),
            events: EventPublisher::new(Arc::new(
                SqsQueue::new(sqs, &self.events_queue_url).batched(),
            )),
            clock,
            rng: Mutex::new(rand::rngs::StdRng::from_os_rng()),
            retention: self.retention,
        })
    }
}

/// `webhook-fanout`: each event of the events queue becomes one delivery job per matching
/// active subscription of its account (an account's subscriptions are read once per batch),
/// then goes on to notifications.
pub struct WebhookFanout {
    fanout: Fanout,
}

impl WebhookFanout {
    pub async fn from_env() -> Result<Self, Error> {
        let config = WebhookConfig::from_env()?;
        let aws = crate::adapters::aws::clients().await;
        Ok(Self {
            fanout: config.fanout(&aws),
        })
    }

    pub async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, Error> {
        // Taken now, after every event of the batch was published: the batch's events share
        // its reads, and no read outlives the batch.
        let batch = self.fanout.batch();
        let batch = &batch;
        Ok(run_batch(event, |d: Delivery<Event>| async move {
            let now = time::OffsetDateTime::now_utc();
            match batch.fan_out(&d.job, now).await {
                Ok(_) => true,
                Err(e) => {
                    tracing::error!(event = %d.job.id(), error = %e, "fan-out failed; will retry");
                    false
                }
            }
        })
        .await)
    }
}

/// `webhook-deliver`: each delivery job one signed POST, its outcome recorded, retried on the
/// webhook schedule.
pub struct WebhookDeliver {
    deliverer: Deliverer,
}

impl WebhookDeliver {
    pub async fn from_env() -> Result<Self, Error> {
        let config = WebhookConfig::from_env()?;
        let aws = Arc::new(crate::adapters::aws::clients().await);
        Ok(Self {
            deliverer: config.deliverer(&aws)?,
        })
    }

    pub async fn handle(&self, event: SqsEvent) -> Result<SqsBatchResponse, Error> {
        let deliverer = &self.deliverer;
        // Taken now: the batch's jobs share their reads of subscriptions, made after all of
        // them were received.
        let reads = &deliverer.batch();
        Ok(run_batch(event, |d: Delivery<DeliveryJob>| async move {
            match deliverer.handle_in(reads, &d.job).await {
                Ok(handled) => handled != Handled::Retry,
                Err(e) => {
                    tracing::error!(delivery = %d.job.delivery_id, error = %e, "delivery failed; will retry");
                    false
                }
            }
        })
        .await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(
        vars: &'static [(&'static str, &'static str)],
    ) -> EnvReader<impl Fn(&str) -> Option<String>> {
        EnvReader::of(vars)
    }

    const BASE: [(&str, &str); 5] = [
        ("HERALD_SUBSCRIPTIONS_TABLE", "subs"),
        ("HERALD_DELIVERIES_TABLE", "deliveries"),
        ("HERALD_DELIVERIES_QUEUE_URL", "http://q/deliveries"),
        ("HERALD_EVENTS_QUEUE_URL", "http://q/events"),
        ("HERALD_KMS_KEY_ID", "alias/k"),
    ];

    #[test]
    fn strict_by_default() {
        let config = WebhookConfig::read(env(&BASE)).expect("valid");
        assert_eq!(config.policy, AddressPolicy::default());
        assert_eq!(config.signature_header, "X-Herald-Signature");
        assert_eq!(config.retention, time::Duration::days(90));
        assert_eq!(config.notifications_queue_url, None);
    }

    #[test]
    fn notifications_queue() {
        static VARS: [(&str, &str); 6] = [
            BASE[0],
            BASE[1],
            BASE[2],
            BASE[3],
            BASE[4],
            ("HERALD_NOTIFICATIONS_QUEUE_URL", "http://q/notifications"),
        ];
        let config = WebhookConfig::read(env(&VARS)).expect("valid");
        assert_eq!(
            config.notifications_queue_url.as_deref(),
            Some("http://q/notifications")
        );
    }

    #[test]
    fn every_bad_variable_is_named() {
        static VARS: [(&str, &str); 3] = [
            ("HERALD_DESTINATION_ALLOWED_NETWORKS", "127.0.0.0/8, nope"),
            ("HERALD_WEBHOOK_SIGNATURE_HEADER", "bad header"),
            ("HERALD_DELIVERY_RETENTION_DAYS", "0"),
        ];
        let e = WebhookConfig::read(env(&VARS)).expect_err("invalid");
        let names: Vec<&str> = e.0.iter().map(|(n, _)| n.as_str()).collect();
        for expected in [
            "HERALD_SUBSCRIPTIONS_TABLE",
            "HERALD_DESTINATION_ALLOWED_NETWORKS",
            "HERALD_WEBHOOK_SIGNATURE_HEADER",
            "HERALD_DELIVERY_RETENTION_DAYS",
        ] {
            assert!(names.contains(&expected), "{names:?}");
        }
    }

    #[test]
    fn allow_lists() {
        static VARS: [(&str, &str); 8] = [
            BASE[0],
            BASE[1],
            BASE[2],
            BASE[3],
            BASE[4],
            ("HERALD_DESTINATION_ALLOW_HTTP", "true"),
            ("HERALD_DESTINATION_ALLOWED_NETWORKS", "127.0.0.0/8,::1"),
            ("HERALD_DESTINATION_ALLOWED_HOSTS", "receiver.internal"),
        ];
        let config = WebhookConfig::read(env(&VARS)).expect("valid");
        assert!(config.policy.allow_http);
        assert_eq!(config.policy.allowed.len(), 2);
        assert_eq!(config.policy.allowed_hosts, ["receiver.internal"]);
    }
}
