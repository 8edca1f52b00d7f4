//! The `api` Lambda: Herald's REST API behind API Gateway's HTTP API.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = api::AppState::from_env().await?;
    lambda_http::run(api::router(state)).await
}
