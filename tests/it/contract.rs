//! The OpenAPI document and the running API agree: every documented operation is served (no
//! routing 404/405), with a documented status and body. (Each response is checked against the
//! document by the test client itself.)

use herald_tests::api::{Api, Body, Claims, token};
use herald_tests::contract::Contract;
use herald_tests::receiver::Receiver;
use herald_tests::{new_account, stack_var};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn every_documented_operation_is_served() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let sent = api
        .post(
            &format!("/accounts/{account}/messages/sms"),
            json!({"to": "+4712345678", "text": "contract"}),
        )
        .await;
    assert_eq!(sent.status, 202);
    let message_id = sent.body["id"].as_str().expect("an id").to_owned();
    // A subscription, and a delivery of a test event to it, for the routes that name them.
    let receiver = Receiver::start([]).await;
    let subscription = api
        .subscribe(
            account.as_str(),
            json!({"name": "contract", "type": "webhook", "url": receiver.url}),
        )
        .await;
    let subscription_id = subscription.body["id"].as_str().expect("an id").to_owned();
    let test = api
        .post(
            &format!("/accounts/{account}/subscriptions/{subscription_id}/test"),
            json!({"eventName": "sms.sent"}),
        )
        .await;
    assert_eq!(test.status, 202, "{:?}", test.body);
    let delivery_id = test.body["deliveryId"].as_str().expect("an id").to_owned();
    // Until the deliverer has made the delivery (other events may reach the receiver first).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while api
        .get(&format!("/accounts/{account}/deliveries/{delivery_id}"))
        .await
        .status
        != 200
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no delivery {delivery_id}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let domain = format!("contract-{}.com", uuid::Uuid::new_v4().simple());
    let added = api
        .post(
            &format!("/accounts/{account}/domains"),
            json!({"domain": domain}),
        )
        .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    // A notification type and rule, and an entry of the log, for the routes that name them.
    let kind = api
        .put(
            &format!("/accounts/{account}/notification-types/contract"),
            json!({"name": "Contract", "channels": {"email": {}}}),
        )
        .await;
    assert_eq!(kind.status, 201, "{:?}", kind.body);
    let rule = api
        .post(
            &format!("/accounts/{account}/notification-rules"),
            json!({"name": "contract", "eventName": "contract.checked", "type": "contract",
                   "recipients": {"path": "eventData.people[*]"},
                   "templates": {"email": {"en": {"subject": "Checked", "text": "Checked"}}}}),
        )
        .await;
    assert_eq!(rule.status, 201, "{:?}", rule.body);
    let rule_id = rule.body["id"].as_str().expect("an id").to_owned();
    let published = api
        .post(
            &format!("/accounts/{account}/events"),
            json!({"sender": "contract", "eventName": "contract.checked",
                   "eventData": {"people": [{"id": "pat", "email": "pat@example.com"}]}}),
        )
        .await;
    assert!(published.status < 300, "{:?}", published.body);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let notification_id = loop {
        let log = api
            .get(&format!("/accounts/{account}/notifications?recipient=pat"))
            .await;
        if let Some(id) = log.body["items"][0]["id"].as_str() {
            break id.to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no notification for pat: {:?}",
            log.body
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let operations = Contract::get().operations();
    assert!(operations.len() >= 12, "{operations:?}");
    for (method, template) in operations {
        let path = template
            .replace("{accountId}", account.as_str())
            .replace("{channel}", "sms")
            .replace("{messageId}", &message_id)
            .replace("{subscriptionId}", &subscription_id)
            .replace("{deliveryId}", &delivery_id)
            .replace("{domain}", &domain)
            .replace("{key}", "contract")
            .replace("{ruleId}", &rule_id)
            .replace("{recipientId}", "pat")
            .replace("{notificationId}", &notification_id)
            // Herald's own: read (200), never registered (400 for `{}`) or removed (409).
            .replace("{name}", "sms.sent");
        // A short link's only answers are a redirect or the same 404 page for any code it
        // does not know; `short_links` follows a real one end to end.
        if template == "/l/{code}" {
            continue;
        }
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        // An empty object: a write answers 400 (validation), never a routing failure.
        let body = (method == Method::PUT || method == Method::POST).then(|| Body::Json(json!({})));
        // Deleting the subscription would hide the routes after it; it is exercised elsewhere.
        // So would deleting the rule (the type, which the rule uses, answers 409).
        if method == Method::DELETE
            && (template.contains("{subscriptionId}") || template.contains("{ruleId}"))
        {
            continue;
        }
        let reply = api.send(method.clone(), &path, body, &[]).await;
        assert!(
            reply.status != 404 && reply.status != 405,
            "{method} {template}: {} {:?}",
            reply.status,
            reply.body
        );
    }
}

/// Routes and methods outside the document, sent without the contract check.
async fn raw(method: Method, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(
            method,
            format!("{}{path}", stack_var("HERALD_TEST_API_URL")),
        )
        .bearer_auth(token(Claims {
            accounts: "acme",
            internal: false,
            expires_in: 60,
            wrong_key: false,
        }))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("sent")
}

#[tokio::test]
async fn undocumented_routes_and_methods_are_problems() {
    let reply = raw(Method::GET, "/no/such/route").await;
    assert_eq!(reply.status(), 404);
    assert_eq!(reply.headers()["content-type"], "application/problem+json");
    let reply = raw(Method::POST, "/accounts/acme/sms-settings").await;
    assert_eq!(reply.status(), 405);
    assert_eq!(reply.headers()["content-type"], "application/problem+json");
}

/// Null where the document's type has no null is refused, on every body that has optional
/// fields, while the fields it declares nullable take it; an empty `cursor` (a string, as the
/// document types it) is the first page of every listing that pages.
#[tokio::test]
async fn null_only_where_documented_and_empty_cursors_start_over() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let receiver = Receiver::start([]).await;
    let subscriptions = format!("/accounts/{account}/subscriptions");
    for field in ["events", "tagFilter", "secret", "active"] {
        let mut body = json!({"name": "n", "type": "webhook", "url": receiver.url});
        body[field] = json!(null);
        let reply = api.post(&subscriptions, body.clone()).await;
        assert_eq!(reply.status, 400, "{field}: {:?}", reply.body);
        assert_eq!(reply.error_fields(), [field], "{:?}", reply.body);
    }
    let created = api
        .post(
            &subscriptions,
            json!({"name": "n", "type": "webhook", "url": receiver.url}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().expect("id");
    let replaced = api
        .put(
            &format!("{subscriptions}/{id}"),
            json!({"name": "n", "type": "webhook", "url": receiver.url, "events": null}),
        )
        .await;
    assert_eq!(replaced.error_fields(), ["events"], "{:?}", replaced.body);

    let refused = [
        (
            format!("/accounts/{account}/messages/sms"),
            json!({"to": "+4712345678", "text": "x", "tags": null}),
            "tags",
        ),
        (
            format!("/accounts/{account}/messages/email"),
            json!({"to": "a@example.com", "subject": "s", "text": "t", "html": null}),
            "html",
        ),
        (
            format!("/accounts/{account}/events"),
            json!({"sender": "s", "eventName": "order.completed", "eventData": null}),
            "eventData",
        ),
        (
            format!("/accounts/{account}/domains"),
            json!({"domain": format!("null-{}.com", uuid::Uuid::new_v4().simple()),
                   "dkimSelector": null}),
            "dkimSelector",
        ),
    ];
    for (path, body, field) in refused {
        let reply = api.post(&path, body).await;
        assert_eq!(reply.status, 400, "{path}: {:?}", reply.body);
        assert_eq!(reply.error_fields(), [field], "{path}: {:?}", reply.body);
    }
    let email = format!("/accounts/{account}/email-settings");
    let reply = api
        .put(
            &email,
            json!({"fromAddressPrefix": "x", "senderName": "X",
                   "smtp": {"host": "smtp.example.com", "senderAddress": "a@example.com", "auth": null}}),
        )
        .await;
    assert_eq!(reply.error_fields(), ["smtp.auth"], "{:?}", reply.body);

    // The nullable ones take null.
    let reply = api
        .put(
            &email,
            json!({"fromAddressPrefix": "x", "senderName": "X", "smtp": null}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let reply = api
        .put(
            &format!("/accounts/{account}/sms-settings"),
            json!({"senderName": "Acme", "primaryProvider": "sns", "secondaryProvider": null}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let reply = api
        .post(
            &format!("/accounts/{account}/events"),
            json!({"sender": "s", "eventName": "order.completed", "organizationId": null}),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);

    for listing in [
        format!("/accounts/{account}/logs/sms?cursor="),
        format!("/accounts/{account}/logs/email?cursor=&limit=5"),
        format!("/accounts/{account}/deliveries?cursor="),
    ] {
        let page = api.get(&listing).await;
        assert_eq!(page.status, 200, "{listing}: {:?}", page.body);
    }
}
