//! The local stack's fake SMS providers: script their answers, read what they received.

use serde_json::{Value, json};

use crate::stack_var;

fn url(path: &str) -> String {
    format!("{}{path}", stack_var("HERALD_TEST_FAKES_URL"))
}

/// What `provider` answers for `to`, in turn (then `ok`): `ok`, `unavailable`, `throttle`,
/// `invalid-number`, `opted-out`, `stall`.
pub async fn script(provider: &str, to: &str, responses: &[&str]) {
    let status = reqwest::Client::new()
        .put(url("/_script"))
        .json(&json!({"provider": provider, "to": to, "responses": responses}))
        .send()
        .await
        .expect("fakes reachable")
        .status();
    assert!(status.is_success(), "scripting the fake provider: {status}");
}

/// Every message the fake providers received for `to`.
pub async fn received(to: &str) -> Vec<Value> {
    let all: Vec<Value> = reqwest::get(url("/_requests"))
        .await
        .expect("fakes reachable")
        .json()
        .await
        .expect("JSON");
    all.into_iter().filter(|r| r["to"] == to).collect()
}

/// A phone number no other test uses.
pub fn fresh_number() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 10_000_000_000;
    format!("+47{n:010}")
}
