//! What every route shares: unknown paths and methods, and the rules for request bodies (JSON
//! only, at most 256 KiB, well-formed).

use axum::http::Method;
use serde_json::json;

use crate::harness::{Herald, Req, SecretsManagerAnswer, Setup, get, post};

/// Every route that reads a JSON body, on an account the default caller may see.
fn json_routes() -> Vec<(Method, String)> {
    let subscription = "/accounts/acme/subscriptions/01JD6ZK5Q2V7X8Y9Z0A1B2C3D5";
    [
        (Method::PUT, "/accounts/acme/sms-settings".to_owned()),
        (Method::PUT, "/accounts/acme/email-settings".to_owned()),
        (Method::POST, "/accounts/acme/messages/sms".to_owned()),
        (Method::POST, "/accounts/acme/messages/email".to_owned()),
        (
            Method::POST,
            "/accounts/acme/messages/01JD6ZK5Q2V7X8Y9Z0A1B2C3D4/receipts".to_owned(),
        ),
        (Method::POST, "/accounts/acme/events".to_owned()),
        (Method::PUT, "/event-types/order.completed".to_owned()),
        (Method::POST, "/accounts/acme/subscriptions".to_owned()),
        (Method::PUT, subscription.to_owned()),
        (Method::POST, format!("{subscription}/test")),
        (Method::POST, "/accounts/acme/domains".to_owned()),
        (
            Method::POST,
            "/accounts/acme/domains/acme-mail.com/use".to_owned(),
        ),
    ]
    .into()
}

#[tokio::test]
async fn a_path_off_every_route_is_not_found() {
    let h = Herald::new().await;
    for path in [
        "/",
        "/accounts",
        "/accounts/acme",
        "/accounts/acme/sms-settings/extra",
        "/accounts/acme/logs/sms/01JD6ZK5Q2V7X8Y9Z0A1B2C3D4/message/more",
        "/sms-providers/twilio",
        "/callbacks/twilio/acme",
    ] {
        let answer = h.call(get(path)).await;
        assert_eq!(
            answer.problem(404)["detail"],
            "No such resource, or it is not visible with this token.",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_method_a_route_does_not_take_is_not_allowed() {
    let h = Herald::new().await;
    for (method, path) in [
        (Method::POST, "/sms-providers"),
        (Method::DELETE, "/event-types"),
        (Method::POST, "/event-types/order.completed"),
        (Method::PATCH, "/accounts/acme/sms-settings"),
        (Method::POST, "/accounts/acme/email-settings"),
        (Method::GET, "/accounts/acme/messages/sms"),
        (Method::PUT, "/accounts/acme/events"),
        (Method::DELETE, "/accounts/acme/logs/sms"),
        (Method::DELETE, "/accounts/acme/subscriptions"),
        (Method::PUT, "/accounts/acme/domains/acme-mail.com"),
        (Method::GET, "/accounts/acme/domains/acme-mail.com/verify"),
        (Method::DELETE, "/accounts/acme/deliveries"),
    ] {
        let answer = h.call(Req::new(method.clone(), path)).await;
        let body = answer.problem(405);
        assert_eq!(body["title"], "Method Not Allowed", "{method} {path}");
        let allow = answer.header("allow").unwrap_or_default();
        assert!(
            !allow.is_empty() && !allow.contains(method.as_str()),
            "{method} {path}: {answer:?}"
        );
    }
}

#[tokio::test]
async fn bodies_over_256_kib_are_refused() {
    let h = Herald::new().await;
    let big = json!({"pad": "x".repeat(256 * 1024)}).to_string();
    for (method, path) in json_routes() {
        let answer = h
            .call(Req::new(method.clone(), &path).raw("application/json", big.clone()))
            .await;
        assert_eq!(
            answer.detail(413),
            "Request bodies are limited to 256 KiB.",
            "{method} {path}"
        );
    }
    // Up to the limit a body is read (and here refused for what it holds).
    let fits = json!({"pad": "x".repeat(256 * 1024 - 20)}).to_string();
    assert!(fits.len() <= 256 * 1024);
    let answer = h
        .call(Req::new(Method::PUT, "/accounts/acme/sms-settings").raw("application/json", fits))
        .await;
    assert!(answer.invalid_fields().contains(&"pad".to_owned()));
    assert!(h.send_queue.jobs().is_empty());
}

#[tokio::test]
async fn bodies_must_be_json_and_well_formed() {
    let h = Herald::new().await;
    for (method, path) in json_routes() {
        let form = h
            .call(Req::new(method.clone(), &path).raw("application/x-www-form-urlencoded", "a=1"))
            .await;
        assert_eq!(
            form.detail(415),
            "Send the body as application/json.",
            "{method} {path}"
        );
        h.call(Req::new(method.clone(), &path).untyped("{}"))
            .await
            .problem(415);
        for broken in ["", "{", "{\"a\": }", "nul"] {
            let answer = h
                .call(Req::new(method.clone(), &path).raw("application/json", broken))
                .await;
            let body = answer.problem(400);
            assert_eq!(body["title"], "Bad Request", "{method} {path} {broken:?}");
            assert!(
                body["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("the body is not valid JSON")),
                "{answer:?}"
            );
        }
    }
    assert!(h.send_queue.jobs().is_empty());
    assert!(h.events_queue.jobs().is_empty());
}

/// Receipts are read whole as well, up to the same limit, and refused as every other body.
#[tokio::test]
async fn receipt_bodies_over_256_kib_are_a_problem() {
    let h = Herald::start(Setup::with_secrets(SecretsManagerAnswer::Secret(
        json!({"twilioAuthToken": "t", "vonageSignatureSecret": "s"}),
    )))
    .await;
    let big = format!("pad={}", "x".repeat(256 * 1024));
    for path in [
        "/callbacks/twilio/acme/01JD6ZK5Q2V7X8Y9Z0A1B2C3D4",
        "/callbacks/vonage/acme/01JD6ZK5Q2V7X8Y9Z0A1B2C3D4",
    ] {
        let answer = h
            .call(
                post(path)
                    .by(crate::harness::Caller::Nobody)
                    .raw("application/x-www-form-urlencoded", big.clone()),
            )
            .await;
        assert_eq!(
            answer.detail(413),
            "Request bodies are limited to 256 KiB.",
            "{path}"
        );
    }
}
