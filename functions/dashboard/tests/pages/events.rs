//! Events: the deliveries list filtered by subscription and status, paging, a delivery's
//! attempts, and Retry now (refusals shown, never offered to a viewer).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use herald::common::account::AccountId;
use herald::common::clock::Clock;
use herald::dashboard::Role;
use herald::events::delivery::{
    DeliveryAttempt, DeliveryId, DeliveryRecord, DeliveryStatus, DeliveryStore,
};
use herald::events::subscription::SubscriptionId;
use herald::events::webhook::{EventId, EventName};
use serde_json::{Value, json};
use time::macros::datetime;
use tower::ServiceExt;

use crate::harness::{Dashboard, Page};

fn acme() -> AccountId {
    AccountId::parse("acme").expect("valid")
}

/// Calls the API as an administrator of acme would.
async fn api(d: &Dashboard, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let mut req = req
        .body(body.map(|b| Body::from(b.to_string())).unwrap_or_default())
        .expect("a request");
    req.extensions_mut()
        .insert(api::Caller::person("test", [acme()]));
    let response = d
        .state
        .api
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("read");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn subscription(d: &Dashboard, name: &str) -> String {
    let (status, body) = api(
        d,
        Method::POST,
        "/accounts/acme/subscriptions",
        Some(
            json!({"name": name, "type": "webhook", "url": "https://hooks.globex-corp.com/herald"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

/// A delivery of an event published now to `subscription` that failed its first attempt with
/// a 500, as the deliverer leaves one; `change` adjusts it before it is stored. The clock
/// moves a second on.
async fn delivery(
    d: &Dashboard,
    subscription: &str,
    change: impl FnOnce(&mut DeliveryRecord),
) -> DeliveryRecord {
    let now = d.clock.now();
    let event_id = EventId::new(now);
    let subscription_id = SubscriptionId::parse(subscription).expect("an id");
    let mut record = DeliveryRecord {
        id: DeliveryId::of(&event_id, &subscription_id),
        account_id: acme(),
        subscription_id,
        event_id,
        event_name: EventName::parse("order.completed").expect("a name"),
        test: false,
        status: DeliveryStatus::Failed,
        body: r#"{"eventName":"order.completed","eventData":{"orderId":"o-1"}}"#.to_owned(),
        event_expires_at: now + time::Duration::days(5),
        attempts: vec![DeliveryAttempt {
            number: 1,
            at: now,
            url: "https://hooks.globex-corp.com/herald".to_owned(),
            request_headers: BTreeMap::from([
                ("content-type".to_owned(), "application/json".to_owned()),
                ("webhook-id".to_owned(), "evt-1".to_owned()),
            ]),
            response_status: Some(500),
            response_headers: BTreeMap::from([("x-upstream".to_owned(), "orders-7".to_owned())]),
            response_body: "<h1>boom</h1>".to_owned(),
            response_body_truncated: false,
            duration_ms: 12,
            outcome: "failed".to_owned(),
            error: Some("the endpoint answered 500".to_owned()),
            next_attempt_at: None,
        }],
        attempt_count: 1,
        next_attempt: 2,
        job_ticket: 2,
        next_attempt_at: None,
        window_start: Some(now),
        claimed_until: None,
        reason: Some("the endpoint answered 500".to_owned()),
        created_at: now,
        updated_at: now,
        expires_at: now + time::Duration::days(90),
        version: 1,
    };
    change(&mut record);
    d.deliveries.create(&record).await.expect("stored");
    d.clock.advance(time::Duration::seconds(1));
    record
}

/// Two subscriptions and three deliveries a second apart: a failed one to A, a delivered one
/// to B, a pending one to A.
async fn three(d: &Dashboard) -> (String, String, Vec<DeliveryRecord>) {
    let a = subscription(d, "Orders hook").await;
    let b = subscription(d, "Billing hook").await;
    let failed = delivery(d, &a, |_| {}).await;
    let delivered = delivery(d, &b, |r| {
        r.status = DeliveryStatus::Delivered;
        r.reason = None;
        r.event_name = EventName::parse("invoice.paid").expect("a name");
        r.attempts[0].response_status = Some(204);
        r.attempts[0].outcome = "delivered".to_owned();
        r.attempts[0].error = None;
    })
    .await;
    let pending = delivery(d, &a, |r| {
        r.status = DeliveryStatus::Pending;
        r.reason = None;
        r.event_name = EventName::parse("order.shipped").expect("a name");
        r.next_attempt_at = Some(datetime!(2030-01-15 09:45:00 UTC));
        r.attempts[0].outcome = "retry".to_owned();
        r.attempts[0].response_status = Some(503);
    })
    .await;
    (a, b, vec![failed, delivered, pending])
}

fn link(id: &DeliveryId) -> String {
    format!(r#"href="/dashboard/accounts/acme/events/{id}""#)
}

fn rows(page: &Page) -> usize {
    page.body.split("<tbody>").nth(1).map_or(0, |b| {
        b.split("</tbody>")
            .next()
            .unwrap_or("")
            .matches("<tr>")
            .count()
    })
}

fn next_link(page: &Page) -> Option<String> {
    let before = page.body.split(r#"" rel="next""#).next()?;
    if before.len() == page.body.len() {
        return None;
    }
    Some(before.rsplit("href=\"").next()?.replace("&amp;", "&"))
}

#[tokio::test]
async fn the_list_shows_each_delivery_with_its_subscriptions_name() {
    let d = Dashboard::new();
    let (a, b, made) = three(&d).await;
    let mut browser = d.sign_in(Role::Viewer, &["acme"]).await;
    let page = browser.get("/dashboard/accounts/acme/events").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(
            r#"<a href="/dashboard/accounts/acme/events" aria-current="page">Events</a>"#
        )
    );
    assert_eq!(rows(&page), 3);
    // Newest first, each linking to its page, with the subscription's name.
    let pos = |id: &DeliveryId| page.body.find(&link(id)).expect("listed");
    assert!(pos(&made[2].id) < pos(&made[1].id) && pos(&made[1].id) < pos(&made[0].id));
    assert!(page.body.contains(&format!(
        r#"<a href="/dashboard/accounts/acme/subscriptions/{a}">Orders hook</a>"#
    )));
    assert!(page.body.contains(&format!(
        r#"<a href="/dashboard/accounts/acme/subscriptions/{b}">Billing hook</a>"#
    )));
    assert!(page.shows("order.shipped") && page.shows("invoice.paid"));
    assert!(
        page.body
            .contains(r#"<span class="badge status-pending">pending</span>"#)
    );
    assert!(page.body.contains("<td>204</td>") && page.body.contains("<td>503</td>"));
    // Only the pending one has a next attempt.
    assert!(
        page.body
            .contains(r#"<time datetime="2030-01-15T09:45:00Z""#)
    );
    assert_eq!(page.body.matches("<td>—</td>").count(), 2);
    assert!(page.shows("the endpoint answered 500"));
    // The filters: the subscriptions by name, the delivery statuses, Show.
    assert!(
        page.body
            .contains(r#"<label for="f-subscriptionId">Subscription</label>"#)
    );
    assert!(
        page.body
            .contains(&format!(r#"<option value="{a}">Orders hook</option>"#))
    );
    assert!(
        page.body
            .contains(r#"<option value="" selected>All subscriptions</option>"#)
    );
    assert!(
        page.body
            .contains(r#"<option value="pending">Pending</option>"#)
    );
    assert!(page.body.contains(r#"<button type="submit">Show</button>"#));
}

#[tokio::test]
async fn the_list_filters_by_subscription_and_status() {
    let d = Dashboard::new();
    let (a, b, made) = three(&d).await;
    let mut browser = d.sign_in(Role::Admin, &["acme"]).await;

    let of_a = browser
        .get(&format!(
            "/dashboard/accounts/acme/events?subscriptionId={a}&status="
        ))
        .await;
    assert_eq!(rows(&of_a), 2);
    assert!(of_a.body.contains(&link(&made[0].id)) && of_a.body.contains(&link(&made[2].id)));
    assert!(!of_a.body.contains(&link(&made[1].id)));
    assert!(of_a.body.contains(&format!(
        r#"<option value="{a}" selected>Orders hook</option>"#
    )));

    let failed = browser
        .get("/dashboard/accounts/acme/events?status=failed")
        .await;
    assert_eq!(rows(&failed), 1);
    assert!(failed.body.contains(&link(&made[0].id)));
    assert!(
        failed
            .body
            .contains(r#"<option value="failed" selected>Failed</option>"#)
    );

    let none = browser
        .get(&format!(
            "/dashboard/accounts/acme/events?subscriptionId={b}&status=pending"
        ))
        .await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.shows("No deliveries match these filters."));
    assert!(
        none.body
            .contains(r#"<a class="button" href="/dashboard/accounts/acme/events">Show all</a>"#)
    );

    // Bad values: the API's messages next to their fields.
    let bad = browser
        .get("/dashboard/accounts/acme/events?subscriptionId=nope&status=lost")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(
        bad.body.contains(
            r#"<p class="error" id="f-subscriptionId-error">is not a subscription id</p>"#
        )
    );
    assert!(bad.body.contains(
        r#"<p class="error" id="f-status-error">must be one of pending, delivered, failed</p>"#
    ));
}

#[tokio::test]
async fn pages_follow_the_cursor_and_keep_the_filters() {
    let d = Dashboard::new();
    let (a, _, made) = three(&d).await;
    let mut browser = d.sign_in(Role::Admin, &["acme"]).await;
    let first = browser
        .get(&format!(
            "/dashboard/accounts/acme/events?subscriptionId={a}&limit=1"
        ))
        .await;
    assert_eq!(rows(&first), 1);
    assert!(first.body.contains(&link(&made[2].id)));
    let next = next_link(&first).expect("a next page");
    assert!(
        next.starts_with(&format!(
            "/dashboard/accounts/acme/events?subscriptionId={a}&limit=1&cursor="
        )),
        "{next}"
    );
    let second = browser.get(&next).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(rows(&second), 1);
    assert!(second.body.contains(&link(&made[0].id)));
    // The last page may still offer a next one; it is empty.
    if let Some(third) = next_link(&second) {
        let third = browser.get(&third).await;
        assert_eq!(rows(&third), 0);
        assert!(third.shows("No more deliveries."));
        assert!(next_link(&third).is_none());
    }

    let garbage = browser
        .get("/dashboard/accounts/acme/events?cursor=garbage")
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert!(garbage.body.contains("<code>cursor</code>"));
}

#[tokio::test]
async fn empty_events_say_what_to_do() {
    let d = Dashboard::new();
    let mut browser = d.sign_in(Role::Admin, &["acme"]).await;
    let none = browser.get("/dashboard/accounts/acme/events").await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.shows("No subscription yet"));
    assert!(none.body.contains(
        r#"<a class="button" href="/dashboard/accounts/acme/subscriptions/new">Add subscription</a>"#
    ));
    subscription(&d, "Orders hook").await;
    let quiet = browser.get("/dashboard/accounts/acme/events").await;
    assert!(quiet.shows("No event deliveries yet."));
    assert!(quiet.body.contains(
        r#"<a class="button" href="/dashboard/accounts/acme/subscriptions">Subscriptions</a>"#
    ));
    assert!(!quiet.body.contains("<table"));
}

#[tokio::test]
async fn a_delivery_shows_every_attempt_with_its_request_and_response() {
    let d = Dashboard::new();
    let a = subscription(&d, "Orders hook").await;
    let made = delivery(&d, &a, |r| {
        let mut second = r.attempts[0].clone();
        second.number = 2;
        second.at = datetime!(2030-01-15 09:31:00 UTC);
        second.response_status = Some(422);
        second.response_headers =
            BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]);
        second.response_body = r#"{"error":"unknown order","order":"o-1"}"#.to_owned();
        second.response_body_truncated = true;
        second.duration_ms = 345;
        second.error = Some("the endpoint answered 422".to_owned());
        r.attempts[0].outcome = "retry".to_owned();
        r.attempts[0].next_attempt_at = Some(datetime!(2030-01-15 09:31:00 UTC));
        r.attempts.push(second);
        r.attempt_count = 2;
        r.next_attempt = 3;
    })
    .await;
    let mut browser = d.sign_in(Role::Viewer, &["acme"]).await;
    let page = browser
        .get(&format!("/dashboard/accounts/acme/events/{}", made.id))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.shows("Event delivery"));
    // The summary.
    assert!(page.shows("order.completed"));
    assert!(page.body.contains(&format!(
        r#"<a href="/dashboard/accounts/acme/subscriptions/{a}">Orders hook</a>"#
    )));
    assert!(
        page.body
            .contains(r#"<span class="badge status-failed">failed</span>"#)
    );
    assert!(
        page.body
            .contains(&format!(r#"<code id="delivery-id">{}</code>"#, made.id))
    );
    // The request body once, pretty.
    assert!(
        page.body
            .contains(r#"<h2 id="request-body">Request body</h2>"#)
    );
    assert!(page.shows(r#""orderId": "o-1""#), "{}", page.body);
    assert!(page.shows("Exact bytes sent"));
    assert!(page.shows(r#"{"eventName":"order.completed","eventData":{"orderId":"o-1"}}"#));
    // Each attempt, newest first.
    let first = page.body.find(r#"<h3 id="attempt-1">"#).expect("attempt 1");
    let second = page.body.find(r#"<h3 id="attempt-2">"#).expect("attempt 2");
    assert!(second < first);
    assert!(
        page.body
            .contains(r#"<time datetime="2030-01-15T09:31:00Z""#)
    );
    assert!(page.shows("345 ms") && page.shows("12 ms"));
    assert!(page.body.contains("<dd>422</dd>") && page.body.contains("<dd>500</dd>"));
    assert!(page.shows("the endpoint answered 422"));
    assert!(
        page.body
            .contains("<dt><code>webhook-id</code></dt><dd><code>evt-1</code></dd>")
    );
    assert!(
        page.body
            .contains("<dt><code>x-upstream</code></dt><dd><code>orders-7</code></dd>")
    );
    // A JSON response pretty; any other text escaped.
    assert!(page.shows(r#""error": "unknown order","#));
    assert!(page.shows("Only the first 2 KiB were kept."));
    assert!(page.body.contains("<code>&lt;h1&gt;boom&lt;/h1&gt;</code>"));
    assert!(!page.body.contains("<h1>boom"));
    // A viewer may not retry.
    assert!(!page.shows("Retry now"));
    assert!(!page.body.contains("/retry"));

    for missing in [
        "/dashboard/accounts/acme/events/not-a-delivery".to_owned(),
        format!(
            "/dashboard/accounts/acme/events/{}",
            DeliveryId::of(
                &EventId::new(d.clock.now()),
                &SubscriptionId::parse(&a).expect("id")
            )
        ),
    ] {
        assert_eq!(
            browser.get(&missing).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
}

#[tokio::test]
async fn retry_now_queues_the_next_attempt_and_says_so() {
    let d = Dashboard::new();
    let a = subscription(&d, "Orders hook").await;
    let made = delivery(&d, &a, |_| {}).await;
    let mut browser = d.sign_in(Role::Admin, &["acme"]).await;
    let url = format!("/dashboard/accounts/acme/events/{}", made.id);
    let page = browser.get(&url).await;
    assert!(page.body.contains(&format!(
        r#"<form class="actions" method="post" action="{url}/retry">"#
    )));
    assert!(
        page.body
            .contains(r#"<button type="submit">Retry now</button>"#)
    );

    let done = browser.submit(&format!("{url}/retry"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), Some(format!("{url}?retried=2").as_str()));
    let after = browser.get(&format!("{url}?retried=2")).await;
    assert!(after.shows("Retry queued: attempt 2 is being made now."));
    assert!(
        after
            .body
            .contains(r#"<span class="badge status-pending">pending</span>"#)
    );
    let stored = d
        .deliveries
        .get(&acme(), &made.id, d.clock.now())
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.status, DeliveryStatus::Pending);
    assert_eq!(stored.reason, None);
}

#[tokio::test]
async fn retry_now_shows_the_apis_refusal() {
    let d = Dashboard::new();
    let a = subscription(&d, "Orders hook").await;
    let expired = delivery(&d, &a, |r| {
        r.event_expires_at = datetime!(2030-01-15 09:30:00 UTC);
    })
    .await;
    let mut browser = d.sign_in(Role::Admin, &["acme"]).await;
    let url = format!("/dashboard/accounts/acme/events/{}", expired.id);
    browser.get(&url).await;
    let refused = browser.submit(&format!("{url}/retry"), &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains(
        r#"<div class="notice error" role="alert">Not retried: the event expired at 2030-01-15T09:30:00Z"#
    ), "{}", refused.body);
    let stored = d
        .deliveries
        .get(&acme(), &expired.id, d.clock.now())
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored, expired, "nothing changed");

    // A deleted subscription: named as such, and the retry refused.
    let other = delivery(&d, &a, |_| {}).await;
    let (status, _) = api(
        &d,
        Method::DELETE,
        &format!("/accounts/acme/subscriptions/{a}"),
        None,
    )
    .await;
    assert!(status.is_success());
    let url = format!("/dashboard/accounts/acme/events/{}", other.id);
    let page = browser.get(&url).await;
    assert!(page.shows("Deleted subscription"));
    let refused = browser.submit(&format!("{url}/retry"), &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.shows("Not retried: the subscription was deleted"));
}

#[tokio::test]
async fn a_viewer_cannot_retry() {
    let d = Dashboard::new();
    let a = subscription(&d, "Orders hook").await;
    let made = delivery(&d, &a, |_| {}).await;
    let mut browser = d.sign_in(Role::Viewer, &["acme"]).await;
    let url = format!("/dashboard/accounts/acme/events/{}", made.id);
    let page = browser.get(&url).await;
    assert!(!page.shows("Retry now"));
    let refused = browser.submit(&format!("{url}/retry"), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let stored = d
        .deliveries
        .get(&acme(), &made.id, d.clock.now())
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored, made);
}
