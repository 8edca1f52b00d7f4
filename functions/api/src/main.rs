//! The `api` Lambda: Herald's REST API behind API Gateway's HTTP API.

use std::sync::Arc;

use api::{ApiConfig, AppState};
use herald::seal::kms::KmsSealer;
use herald::settings::dynamo::DynamoSettingsStore;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = ApiConfig::from_env()?;
    // SDK clients are built once per cold start and shared by every request.
    let aws = herald::aws::load().await;
    let state = AppState::new(
        config.clone(),
        Arc::new(DynamoSettingsStore::new(
            aws_sdk_dynamodb::Client::new(&aws),
            &config.settings_table,
        )),
        Arc::new(KmsSealer::new(
            aws_sdk_kms::Client::new(&aws),
            &config.kms_key_id,
        )),
    );
    lambda_http::run(api::router(state)).await
}
