//! Helpers for Herald's integration and end-to-end tests. `cargo xtask test` starts the local
//! stack (moto, the template's resources, the functions under `cargo lambda watch`) and passes
//! its addresses in the environment; these helpers read them.

pub mod api;
pub mod browser;
pub mod contract;
pub mod fakes;
pub mod receiver;
pub mod verify;

use std::time::Duration;

/// A variable set by `cargo xtask test`; a clear failure when the tests run without it.
pub fn stack_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: these tests run against the local stack; run them with \
             `cargo xtask test` (extra arguments filter tests, as with cargo test)"
        )
    })
}

/// The AWS SDK configuration of the local stack (moto), from the standard variables.
pub async fn aws() -> aws_config::SdkConfig {
    stack_var("AWS_ENDPOINT_URL");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// Invokes `function` through the local Lambda runtime's invoke API, as `cargo lambda invoke`
/// does; its result.
pub async fn invoke(function: &str, event: &serde_json::Value) -> serde_json::Value {
    let url = format!(
        "{}/2015-03-31/functions/{function}/invocations",
        stack_var("HERALD_TEST_LAMBDA_URL")
    );
    let reply = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("client")
        .post(&url)
        .json(event)
        .send()
        .await
        .unwrap_or_else(|e| panic!("invoking {function}: {e}"));
    assert_eq!(reply.status(), 200, "{url}");
    reply.json().await.expect("a JSON result")
}

/// The URL of the local stack's queue `name`.
pub async fn queue_url(name: &str) -> String {
    aws_sdk_sqs::Client::new(&aws().await)
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("queue {name}: {}", aws_sdk_sqs::Error::from(e)))
        .queue_url()
        .expect("a URL")
        .to_owned()
}

/// Puts each of `bodies` on the queue at `queue_url`, as a producer would.
pub async fn enqueue<B: AsRef<str>>(queue_url: &str, bodies: &[B]) {
    let sqs = aws_sdk_sqs::Client::new(&aws().await);
    for body in bodies {
        sqs.send_message()
            .queue_url(queue_url)
            .message_body(body.as_ref())
            .send()
            .await
            .unwrap_or_else(|e| panic!("sending to {queue_url}: {}", aws_sdk_sqs::Error::from(e)));
    }
}

/// Twilio's and Vonage's secrets as the functions read them: from the Secrets Manager secret
/// the template names in `HERALD_PROVIDER_SECRETS`, which the local stack creates in moto.
pub async fn provider_secrets() -> herald::messaging::provider_secrets::ProviderSecrets {
    let id = stack_var("HERALD_PROVIDER_SECRETS");
    let client = aws_sdk_secretsmanager::Client::new(&aws().await);
    let out = client
        .get_secret_value()
        .secret_id(&id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("reading {id}: {}", aws_sdk_secretsmanager::Error::from(e)));
    let text = out.secret_string().expect("a string secret");
    herald::messaging::provider_secrets::ProviderSecrets::parse(text)
        .unwrap_or_else(|e| panic!("{id}: {e}"))
}

/// A fresh account id, so tests never see each other's data.
pub fn new_account() -> herald::common::account::AccountId {
    let id = format!("t-{}", uuid::Uuid::new_v4().simple());
    herald::common::account::AccountId::parse(&id).unwrap_or_else(|e| panic!("{id}: {e}"))
}

pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
