//! What Herald's code assumes of `template.yaml`, held to it.

use serde_yaml::Value;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("template.yaml")).expect("YAML")
}

/// A send that failed temporarily comes back after the queue's visibility timeout, which is
/// when the message log says its next attempt is due.
#[test]
fn send_retries_come_back_when_the_log_says() {
    let template = template();
    for queue in ["SendQueue", "SmsFailoverQueue"] {
        let timeout = template["Resources"][queue]["Properties"]["VisibilityTimeout"]
            .as_i64()
            .unwrap_or_else(|| panic!("{queue} has a VisibilityTimeout"));
        assert_eq!(
            timeout,
            herald::messaging::dispatch::RETRY_AFTER.whole_seconds(),
            "{queue}"
        );
    }
}

/// Providers' receipts and short links (opened from a phone) reach the function without a
/// bearer token: their routes name no authorizer, and every other route keeps the default one.
#[test]
fn only_receipt_and_short_link_routes_are_public() {
    let template = template();
    let events = template["Resources"]["ApiFunction"]["Properties"]["Events"]
        .as_mapping()
        .expect("events");
    for (name, event) in events {
        let path = event["Properties"]["Path"].as_str().expect("a path");
        let public = event["Properties"]["Auth"]["Authorizer"].as_str() == Some("NONE");
        let meant_public = path.starts_with("/callbacks/") || path == "/l/{code}";
        assert_eq!(public, meant_public, "{name:?} {path}");
    }
}

fn resources_of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    template["Resources"]
        .as_mapping()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, r)| (id.as_str().expect("logical id"), r))
        .collect()
}

/// The logical id an `!Ref X` or `!GetAtt X.Attr` names.
fn target(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(t) => t.value.as_str()?.split('.').next(),
        _ => None,
    }
}

/// Deleting the stack, or a change that replaces a resource, must not take the accounts'
/// settings, the message and delivery logs, or the key every sealed secret needs with it.
#[test]
fn data_and_the_sealing_key_outlive_the_stack() {
    let template = template();
    let mut kept = resources_of_type(&template, "AWS::DynamoDB::Table");
    assert!(!kept.is_empty(), "the template has tables");
    let keys = resources_of_type(&template, "AWS::KMS::Key");
    assert!(!keys.is_empty(), "the template has a KMS key");
    kept.extend(keys);
    for (id, resource) in kept {
        for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
            assert_eq!(resource[policy].as_str(), Some("Retain"), "{id} {policy}");
        }
    }
}

/// Every request the HTTP API answers is logged, to a log group that expires.
#[test]
fn the_http_api_logs_every_request() {
    let template = template();
    let settings = &template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"];
    let group = target(&settings["DestinationArn"]).expect("access logs go to a resource");
    let group = &template["Resources"][group];
    assert_eq!(group["Type"].as_str(), Some("AWS::Logs::LogGroup"));
    assert!(!group["Properties"]["RetentionInDays"].is_null());
    let format = settings["Format"].as_str().expect("a log format");
    let line: serde_json::Value = serde_json::from_str(format).expect("the format is JSON");
    for field in ["requestId", "routeKey", "status", "integrationError"] {
        assert!(line.get(field).is_some(), "the access log has {field}");
    }
}

/// A job in a dead-letter queue failed for good: each such queue has an alarm that fires as
/// soon as it holds one.
#[test]
fn every_dead_letter_queue_has_an_alarm() {
    let template = template();
    let dead_letter_queues: Vec<&str> = resources_of_type(&template, "AWS::SQS::Queue")
        .into_iter()
        .filter_map(|(_, queue)| {
            target(&queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        })
        .collect();
    assert!(
        !dead_letter_queues.is_empty(),
        "the template has dead-letter queues"
    );
    let alarms = resources_of_type(&template, "AWS::CloudWatch::Alarm");
    for queue in dead_letter_queues {
        let alarmed = alarms.iter().any(|(_, alarm)| {
            let p = &alarm["Properties"];
            p["Namespace"].as_str() == Some("AWS/SQS")
                && p["MetricName"].as_str() == Some("ApproximateNumberOfMessagesVisible")
                && p["ComparisonOperator"].as_str() == Some("GreaterThanThreshold")
                && p["Threshold"].as_f64() == Some(0.0)
                && p["Dimensions"].as_sequence().is_some_and(|d| {
                    d.iter().any(|d| {
                        d["Name"].as_str() == Some("QueueName")
                            && target(&d["Value"]) == Some(queue)
                    })
                })
        });
        assert!(alarmed, "no alarm on {queue}");
    }
}

/// Provider secrets reach the functions through Secrets Manager only: no function's
/// environment names the parameters that carry them, and every function told where the secret
/// is may read it.
#[test]
fn provider_secrets_stay_out_of_function_environments() {
    const SECRET_PARAMETERS: [&str; 3] = [
        "TwilioAuthToken",
        "VonageApiSecret",
        "VonageSignatureSecret",
    ];
    let template = template();
    let mut readers = 0;
    for (id, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        let variables = function["Properties"]["Environment"]["Variables"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        for (name, value) in &variables {
            let named = target(value).unwrap_or_default();
            assert!(
                !SECRET_PARAMETERS.contains(&named),
                "{id}: {name:?} carries {named}"
            );
        }
        let Some(secret) = variables
            .get("HERALD_PROVIDER_SECRETS")
            .and_then(|v| target(v))
        else {
            continue;
        };
        readers += 1;
        assert_eq!(
            template["Resources"][secret]["Type"].as_str(),
            Some("AWS::SecretsManager::Secret"),
            "{id}"
        );
        let statements = function["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|p| p["Statement"].as_sequence().cloned().unwrap_or_default());
        let allowed = statements.into_iter().any(|s| {
            s["Action"].as_str() == Some("secretsmanager:GetSecretValue")
                && target(&s["Resource"]) == Some(secret)
        });
        assert!(allowed, "{id} may not read {secret}");
    }
    assert!(
        readers >= 3,
        "the api, send-dispatch and sms-failover read the provider secrets"
    );
    // The secret gets its values from those parameters and nothing else does.
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    for (name, value) in globals.as_mapping().into_iter().flatten() {
        assert!(
            !SECRET_PARAMETERS.contains(&target(value).unwrap_or_default()),
            "Globals: {name:?}"
        );
    }
}
