//! The `api` Lambda: Herald's REST API behind API Gateway's HTTP API.

use std::sync::Arc;

use api::{ApiConfig, AppState};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = ApiConfig::from_env()?;
    // SDK clients are built once per cold start and shared by every request.
    let aws = Arc::new(herald::adapters::aws::clients().await);
    let adapters = api::aws_adapters(&config, aws);
    let state = AppState::new(config, adapters);
    lambda_http::run(api::router(state)).await
}
