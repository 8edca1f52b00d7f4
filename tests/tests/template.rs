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
            herald::dispatch::RETRY_AFTER.whole_seconds(),
            "{queue}"
        );
    }
}

/// Providers' receipts reach the function without a bearer token: their routes name no
/// authorizer, and every other route keeps the default one.
#[test]
fn only_receipt_routes_are_public() {
    let template = template();
    let events = template["Resources"]["ApiFunction"]["Properties"]["Events"]
        .as_mapping()
        .expect("events");
    for (name, event) in events {
        let path = event["Properties"]["Path"].as_str().expect("a path");
        let public = event["Properties"]["Auth"]["Authorizer"].as_str() == Some("NONE");
        assert_eq!(public, path.starts_with("/callbacks/"), "{name:?} {path}");
    }
}
