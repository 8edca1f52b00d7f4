//! The `dashboard` Lambda: the account pages, behind API Gateway's HTTP API under `/dashboard`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let state = dashboard::DashboardState::from_env().await?;
    lambda_http::run(dashboard::router(state)).await
}
