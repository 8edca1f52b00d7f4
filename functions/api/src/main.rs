//! The `api` Lambda: Herald's REST API behind API Gateway's HTTP API.

use std::sync::Arc;

use api::{Adapters, ApiConfig, AppState};
use herald::aws::first_use::OnFirstUse;
use herald::clock::SystemClock;
use herald::delivery::dynamo::DynamoDeliveryStore;
use herald::idempotency::dynamo::DynamoIdempotencyStore;
use herald::message_log::dynamo::DynamoMessageLog;
use herald::queue::SqsQueue;
use herald::seal::kms::KmsSealer;
use herald::sending_domain::dynamo::DynamoDomainStore;
use herald::sending_domain::identity::SesIdentities;
use herald::sending_domain::{HickoryLookup, LazyHickoryLookup};
use herald::settings::dynamo::DynamoSettingsStore;
use herald::subscription::dynamo::DynamoSubscriptionStore;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = ApiConfig::from_env()?;
    // SDK clients are built once per cold start and shared by every request.
    let aws = Arc::new(herald::aws::clients().await);
    let dynamo = aws.dynamo();
    let kms_key_id = config.kms_key_id.clone();
    let sqs = aws.sqs();
    let adapters = Adapters {
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
    };
    let state = AppState::new(config, adapters);
    lambda_http::run(api::router(state)).await
}
