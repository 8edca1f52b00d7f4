//! End to end under the local stack: a rule's SMS template shortens a link with `shorten`; the
//! SMS sent carries Herald's short link, which redirects (302) through the local gateway with
//! no token, and every click is counted on the message; unknown codes get a plain 404; a
//! `javascript:` link is a template error, never sent.

use std::time::Duration;

use herald_tests::api::Api;
use herald_tests::{new_account, stack_var};
use serde_json::json;

use crate::notifications::{log_of, notification_type, outcomes, publish, rule, unique};

/// A plain client, as a phone's browser: no token, no redirects followed.
fn browser_like() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client")
}

#[tokio::test]
async fn short_links_redirect_and_count_clicks_on_their_message() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    notification_type(&api, &account, "request-sent", json!({"sms": {}})).await;
    rule(
        &api,
        &account,
        json!({"name": "Ask to sign", "eventName": "request.sent", "type": "request-sent",
               "recipients": {"path": "eventData.signers[*]"},
               "templates": {"sms": {"en": {"text": "Please sign: {{ recipient.url | shorten }}"}}}}),
    )
    .await;
    let target = format!("https://sign.example/r/{}", unique("42").replace(' ', "-"));
    publish(
        &api,
        &account,
        "request.sent",
        json!({"signers": [
            {"id": "ann", "phone": "+4790000021", "url": target},
            {"id": "eve", "phone": "+4790000022", "url": "javascript:alert(1)"}]}),
    )
    .await;
    let ann = log_of(&api, &account, "ann", 1).await;
    assert_eq!(outcomes(&ann, "sms"), ["sent"]);
    let eve = log_of(&api, &account, "eve", 1).await;
    assert_eq!(outcomes(&eve, "sms"), ["template_error"]);
    assert!(
        eve[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("javascript:")),
        "{}",
        eve[0]
    );

    let id = ann[0]["messageId"].as_str().expect("a message id");
    let record = api.settled(account.as_str(), "sms", id).await;
    let text = record["message"]["text"].as_str().expect("the SMS text");
    let base = format!("{}/l/", stack_var("HERALD_TEST_API_URL"));
    let short = text
        .split_whitespace()
        .find(|w| w.starts_with(&base))
        .unwrap_or_else(|| panic!("no short link under {base} in {text:?}"));
    assert!(
        !text.contains("sign.example"),
        "the target stays hidden: {text}"
    );

    let client = browser_like();
    for n in 1..=2u64 {
        let reply = client.get(short).send().await.expect("the gateway answers");
        assert_eq!(reply.status(), 302, "{:?}", reply.text().await);
        assert_eq!(
            reply.headers()["location"].to_str().expect("text"),
            target.as_str()
        );
        let record = api.get(&format!("/accounts/{account}/logs/sms/{id}")).await;
        assert_eq!(record.body["clicks"]["count"], n, "{:?}", record.body);
    }

    let unknown = client
        .get(format!("{base}{}", "A".repeat(22)))
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(unknown.status(), 404);
    assert!(
        unknown
            .text()
            .await
            .expect("a body")
            .contains("Link not found")
    );
}
