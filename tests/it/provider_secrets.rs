//! Twilio's and Vonage's secrets live in Secrets Manager, where the local stack puts them as
//! the template does, and in no function's environment. That SMS still go out through both
//! providers, with these credentials, is what sms_dispatch and sms_receipts check.

use herald_tests::provider_secrets;

#[tokio::test]
async fn provider_secrets_are_read_from_secrets_manager_not_the_environment() {
    let secrets = provider_secrets().await;
    let values = [
        ("twilioAuthToken", secrets.twilio_auth_token),
        ("vonageApiSecret", secrets.vonage_api_secret),
        ("vonageSignatureSecret", secrets.vonage_signature_secret),
    ];
    // The tests' environment holds every variable the template gives any function.
    let environment: Vec<(String, String)> = std::env::vars().collect();
    for (field, value) in values {
        let value = value.unwrap_or_else(|| panic!("the local stack sets {field}"));
        for (name, set) in &environment {
            assert!(
                !set.contains(value.expose()),
                "{name} carries the {field} in the clear"
            );
        }
    }
}
