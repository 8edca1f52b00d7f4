//! The AWS SDK configuration, loaded once per cold start.
//!
//! Region, credentials and endpoint come from the standard environment (`AWS_REGION`,
//! `AWS_ENDPOINT_URL`, ...): in Lambda from the runtime, locally from `cargo xtask dev`, which
//! points `AWS_ENDPOINT_URL` at the emulated AWS. No code path differs between the two.

pub use aws_config::SdkConfig;

pub async fn load() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}
