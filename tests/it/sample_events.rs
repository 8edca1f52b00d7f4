//! The sample events in events/<function>/ are accepted by their function, invoked through the
//! Lambda invoke API of `cargo lambda watch` just as `cargo lambda invoke <function>
//! --data-file events/<function>/<file>` does.

use std::path::Path;

use herald_tests::invoke;
use serde_json::Value;

fn samples(function: &str) -> Vec<(std::path::PathBuf, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(function);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let event = serde_json::from_str(&std::fs::read_to_string(&file).expect("readable"))
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            (file, event)
        })
        .collect()
}

#[tokio::test]
async fn api_samples_are_accepted() {
    let samples = samples("api");
    assert!(samples.len() >= 4, "{samples:?}");
    for (file, event) in samples {
        let result = invoke("api", &event).await;
        let status = result["statusCode"].as_u64().unwrap_or_default();
        // The samples carry claims as API Gateway's JWT authorizer passes them, so they are
        // authorised without a signed token.
        assert!((200..300).contains(&status), "{}: {result}", file.display());
    }
}

/// The SQS samples name messages, deliveries and accounts no store holds: the functions drop
/// them (nothing to send, nothing to retry) and answer with an empty list of batch item
/// failures.
#[tokio::test]
async fn queue_samples_are_accepted() {
    for function in [
        "send-dispatch",
        "sms-failover",
        "webhook-fanout",
        "webhook-deliver",
        "delivery-status",
        "notify",
    ] {
        let samples = samples(function)
            .into_iter()
            .filter(|(file, _)| !file.to_string_lossy().contains("logs-"));
        let mut seen = 0;
        for (file, event) in samples {
            seen += 1;
            let result = invoke(function, &event).await;
            assert_eq!(
                result,
                serde_json::json!({"batchItemFailures": []}),
                "{}",
                file.display()
            );
        }
        assert!(seen > 0, "events/{function} has no SQS sample");
    }
}

/// Amazon SNS's SMS delivery status, as a CloudWatch Logs subscription hands it over: the
/// sample names an SMS Herald never sent, so nothing is recorded, and nothing fails.
#[tokio::test]
async fn logs_sample_is_accepted() {
    let samples: Vec<_> = samples("delivery-status")
        .into_iter()
        .filter(|(file, _)| file.to_string_lossy().contains("logs-"))
        .collect();
    assert_eq!(samples.len(), 1);
    for (_, event) in samples {
        assert_eq!(
            invoke("delivery-status", &event).await,
            serde_json::json!({"recorded": 0})
        );
    }
}
