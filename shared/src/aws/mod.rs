//! The AWS SDK configuration, loaded once per cold start.
//!
//! Region, credentials and endpoint come from the standard environment (`AWS_REGION`,
//! `AWS_ENDPOINT_URL`, ...): in Lambda from the runtime, locally from `cargo xtask dev`, which
//! points `AWS_ENDPOINT_URL` at the emulated AWS. No code path differs between the two.
//!
//! Every call names the function that made it (`app/{function}` in the SDK's user agent,
//! which CloudTrail records), so an operator can tell which of Herald's functions costs what.

use aws_config::AppName;
pub use aws_config::SdkConfig;

pub async fn load() -> SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(app) = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .ok()
        .and_then(|name| AppName::new(name).ok())
    {
        loader = loader.app_name(app);
    }
    loader.load().await
}
