//! The AWS SDK configuration, loaded once per cold start.
//!
//! Region, credentials and endpoint come from the standard environment (`AWS_REGION`,
//! `AWS_ENDPOINT_URL`, ...): in Lambda from the runtime, locally from `cargo xtask dev`, which
//! points `AWS_ENDPOINT_URL` at the emulated AWS. No code path differs between the two.
//!
//! Every call names the function that made it (`app/{function}` in the SDK's user agent,
//! which CloudTrail records), so an operator can tell which of Herald's functions costs what.

pub use aws_config::SdkConfig;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{AppName, Region};
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};

/// The roots of Amazon Trust Services, which issue the certificates of AWS's service
/// endpoints (Amazon Root CA 1 to 4, and Starfield Services Root G2 that cross-signs them).
const AMAZON_ROOTS: &[u8] = include_bytes!("amazon-trust-services.pem");

/// The SDK's HTTPS client trusts Amazon's roots only. The default trusts the platform's
/// store, which it reads and parses (some 150 certificates, the directory scanned file by
/// file) in every cold start: most of the init time Herald's functions spent beyond a bare
/// runtime's. Herald's SDK clients talk to AWS endpoints alone.
fn amazon_tls() -> Option<TlsContext> {
    TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(AMAZON_ROOTS))
        .build()
        .ok()
}

pub async fn load() -> SdkConfig {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(app) = env("AWS_LAMBDA_FUNCTION_NAME").and_then(|name| AppName::new(name).ok()) {
        loader = loader.app_name(app);
    }
    // Lambda hands a function its region and role credentials in the environment: taken from
    // there directly, cold start skips building the default chains, which would look through
    // profile files, SSO, container and instance metadata first.
    if let Some(region) = env("AWS_REGION") {
        loader = loader.region(Region::new(region));
    }
    if env("AWS_ACCESS_KEY_ID").is_some() {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    if let Some(tls) = amazon_tls() {
        loader = loader.http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
                .tls_context(tls)
                .build_https(),
        );
    }
    loader.load().await
}

#[cfg(test)]
mod tests {
    #[test]
    fn amazon_roots_are_five_certificates() {
        let text = std::str::from_utf8(super::AMAZON_ROOTS).expect("PEM is text");
        assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        assert!(super::amazon_tls().is_some());
    }
}
