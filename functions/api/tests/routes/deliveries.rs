//! `/accounts/{accountId}/deliveries`, one delivery and its manual retry.

use std::collections::BTreeMap;
use time::macros::datetime;

use herald::common::account::AccountId;
use herald::events::delivery::{
    DeliveryAttempt, DeliveryId, DeliveryRecord, DeliveryStatus, DeliveryStore,
};
use herald::events::subscription::{SubscriptionId, SubscriptionStore};
use herald::events::webhook::{EventId, EventName};
use serde_json::{Value, json};

use crate::harness::{Caller, Herald, acme, delete, get, post, put};
use crate::subscriptions::{create, stored};

const URL: &str = "/accounts/acme/deliveries";

async fn subscription(h: &Herald, name: &str) -> String {
    let body = create(
        h,
        json!({"name": name, "type": "webhook", "url": "https://hooks.globex-corp.com/herald"}),
    )
    .await;
    body["id"].as_str().expect("id").to_owned()
}

/// A delivery of an event published now to `subscription`, as the deliverer leaves one that
/// failed its first attempt with a 500; `change` adjusts it before it is stored.
async fn delivery(
    h: &Herald,
    account: &AccountId,
    subscription: &str,
    change: impl FnOnce(&mut DeliveryRecord),
) -> DeliveryRecord {
    let now = h.now();
    let event_id = EventId::new(now);
    let subscription_id = SubscriptionId::parse(subscription).expect("an id");
    let mut record = DeliveryRecord {
        id: DeliveryId::of(&event_id, &subscription_id),
        account_id: account.clone(),
        subscription_id,
        event_id,
        event_name: EventName::parse("order.completed").expect("a name"),
        test: false,
        status: DeliveryStatus::Failed,
        body: r#"{"eventName":"order.completed"}"#.to_owned(),
        event_expires_at: now + time::Duration::days(5),
        attempts: vec![DeliveryAttempt {
            number: 1,
            at: now,
            url: "https://hooks.globex-corp.com/herald".to_owned(),
            request_headers: BTreeMap::from([(
                "content-type".to_owned(),
                "application/json".to_owned(),
            )]),
            response_status: Some(500),
            response_headers: BTreeMap::new(),
            response_body: "boom".to_owned(),
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
    h.deliveries.create(&record).await.expect("stored");
    record
}

async fn stored_delivery(h: &Herald, id: &DeliveryId) -> DeliveryRecord {
    h.deliveries
        .get(&acme(), id, h.now())
        .await
        .expect("read")
        .expect("stored")
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|d| d["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Three deliveries a second apart, the middle one to a second subscription and delivered.
async fn three(h: &Herald) -> (String, String, Vec<DeliveryRecord>) {
    let a = subscription(h, "A").await;
    let b = subscription(h, "B").await;
    let mut made = Vec::new();
    made.push(delivery(h, &acme(), &a, |_| {}).await);
    h.clock.advance(time::Duration::seconds(1));
    made.push(
        delivery(h, &acme(), &b, |d| {
            d.status = DeliveryStatus::Delivered;
            d.reason = None;
            d.attempts[0].response_status = Some(204);
            d.attempts[0].outcome = "delivered".to_owned();
        })
        .await,
    );
    h.clock.advance(time::Duration::seconds(1));
    made.push(
        delivery(h, &acme(), &a, |d| {
            d.status = DeliveryStatus::Pending;
            d.reason = None;
            d.next_attempt_at = Some(datetime!(2030-01-15 09:31:02 UTC));
            d.attempts[0].outcome = "retry".to_owned();
        })
        .await,
    );
    (a, b, made)
}

#[tokio::test]
async fn the_list_shows_each_delivery_newest_first_without_its_body() {
    let h = Herald::new().await;
    let (a, b, made) = three(&h).await;
    // Another account's delivery is not listed.
    delivery(&h, &AccountId::parse("globex").expect("valid"), &a, |_| {}).await;

    let page = h.call(get(URL)).await.ok(200);
    assert_eq!(
        ids(&page),
        [
            made[2].id.as_str(),
            made[1].id.as_str(),
            made[0].id.as_str()
        ]
    );
    assert_eq!(page["nextCursor"], Value::Null);
    assert_eq!(
        page["items"][2],
        json!({
            "id": made[0].id.as_str(),
            "subscriptionId": a,
            "eventId": made[0].event_id.as_str(),
            "eventName": "order.completed",
            "status": "failed",
            "attempts": 1,
            "lastResponseStatus": 500,
            "reason": "the endpoint answered 500",
            "createdAt": "2030-01-15T09:30:00Z",
            "updatedAt": "2030-01-15T09:30:00Z",
        })
    );
    assert_eq!(page["items"][1]["subscriptionId"], b.as_str());
    assert_eq!(page["items"][1]["lastResponseStatus"], 204);
    // Only a pending delivery shows when it is tried next.
    assert_eq!(page["items"][0]["nextAttemptAt"], "2030-01-15T09:31:02Z");
    assert!(page["items"][1].get("nextAttemptAt").is_none());
}

#[tokio::test]
async fn the_list_filters_by_subscription_and_status() {
    let h = Herald::new().await;
    let (a, b, made) = three(&h).await;
    let of_a = h
        .call(get(format!("{URL}?subscriptionId={a}")))
        .await
        .ok(200);
    assert_eq!(ids(&of_a), [made[2].id.as_str(), made[0].id.as_str()]);
    let of_b = h
        .call(get(format!("{URL}?subscriptionId={b}")))
        .await
        .ok(200);
    assert_eq!(ids(&of_b), [made[1].id.as_str()]);
    let failed = h.call(get(format!("{URL}?status=failed"))).await.ok(200);
    assert_eq!(ids(&failed), [made[0].id.as_str()]);
    let pending_of_b = h
        .call(get(format!("{URL}?status=pending&subscriptionId={b}")))
        .await
        .ok(200);
    assert_eq!(ids(&pending_of_b), Vec::<String>::new());
}

#[tokio::test]
async fn pages_follow_their_cursor_with_the_same_filters() {
    let h = Herald::new().await;
    let (a, _, made) = three(&h).await;
    let first = h.call(get(format!("{URL}?limit=2"))).await.ok(200);
    assert_eq!(ids(&first), [made[2].id.as_str(), made[1].id.as_str()]);
    let cursor = first["nextCursor"].as_str().expect("a cursor").to_owned();
    let second = h
        .call(get(format!("{URL}?limit=2&cursor={cursor}")))
        .await
        .ok(200);
    assert_eq!(ids(&second), [made[0].id.as_str()]);
    assert_eq!(second["nextCursor"], Value::Null);

    let other_filter = h
        .call(get(format!("{URL}?subscriptionId={a}&cursor={cursor}")))
        .await;
    assert_eq!(other_filter.invalid_fields(), ["cursor"]);
    let garbage = h.call(get(format!("{URL}?cursor=garbage"))).await;
    assert_eq!(garbage.invalid_fields(), ["cursor"]);
    let empty = h.call(get(format!("{URL}?limit=2&cursor="))).await.ok(200);
    assert_eq!(ids(&empty), ids(&first));
}

#[tokio::test]
async fn a_walk_through_every_page_sees_each_delivery_once() {
    let h = Herald::new().await;
    let (_, _, made) = three(&h).await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..4 {
        let page = h
            .call(get(format!("{URL}?limit=1&cursor={cursor}")))
            .await
            .ok(200);
        seen.extend(ids(&page));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let newest_first: Vec<String> = made.iter().rev().map(|d| d.id.to_string()).collect();
    assert_eq!(seen, newest_first);
}

#[tokio::test]
async fn every_bad_parameter_is_named() {
    let h = Herald::new().await;
    let answer = h
        .call(get(format!(
            "{URL}?subscriptionId=nope&status=lost&limit=101&eventName=x"
        )))
        .await;
    assert_eq!(
        answer.invalid_fields(),
        ["subscriptionId", "status", "limit", "eventName"]
    );
    assert_eq!(
        answer.message_for("status"),
        "must be one of pending, delivered, failed"
    );
    assert_eq!(
        answer.message_for("limit"),
        "must be a number from 1 to 100"
    );
    let zero = h.call(get(format!("{URL}?limit=0"))).await;
    assert_eq!(zero.invalid_fields(), ["limit"]);
    h.call(get(format!("{URL}?limit=100"))).await.ok(200);
}

#[tokio::test]
async fn a_delivery_is_shown_whole_without_its_claim() {
    let h = Herald::new().await;
    let a = subscription(&h, "A").await;
    let made = delivery(&h, &acme(), &a, |d| {
        d.claimed_until = Some(datetime!(2030-01-15 09:30:30 UTC));
    })
    .await;
    let shown = h.call(get(format!("{URL}/{}", made.id))).await.ok(200);
    let mut expected = serde_json::to_value(&made).expect("json");
    if let Some(o) = expected.as_object_mut() {
        o.remove("claimedUntil");
    }
    assert_eq!(shown, expected);
    assert_eq!(shown["body"], r#"{"eventName":"order.completed"}"#);
    assert_eq!(shown["attempts"][0]["responseStatus"], 500);
    assert_eq!(
        shown["attempts"][0]["requestHeaders"]["content-type"],
        "application/json"
    );
}

#[tokio::test]
async fn deliveries_not_of_this_account_or_past_retention_are_not_found() {
    let h = Herald::new().await;
    let a = subscription(&h, "A").await;
    let foreign = delivery(&h, &AccountId::parse("globex").expect("valid"), &a, |_| {}).await;
    let short = delivery(&h, &acme(), &a, |d| {
        d.expires_at = datetime!(2030-01-15 10:30:00 UTC);
    })
    .await;
    let unknown = DeliveryId::of(
        &EventId::new(h.now()),
        &SubscriptionId::parse(&a).expect("id"),
    );
    for id in [
        foreign.id.as_str(),
        unknown.as_str(),
        "not-a-delivery",
        "x-y",
    ] {
        h.call(get(format!("{URL}/{id}"))).await.problem(404);
        h.call(post(format!("{URL}/{id}/retry"))).await.problem(404);
    }
    h.call(get(format!("/accounts/globex/deliveries/{}", foreign.id)))
        .await
        .problem(404);
    h.call(get("/accounts/globex/deliveries"))
        .await
        .problem(404);

    h.call(get(format!("{URL}/{}", short.id))).await.ok(200);
    h.clock.advance(time::Duration::hours(1));
    h.call(get(format!("{URL}/{}", short.id)))
        .await
        .problem(404);
    h.call(post(format!("{URL}/{}/retry", short.id)))
        .await
        .problem(404);
    assert!(h.deliveries_queue.jobs().is_empty());
}

#[tokio::test]
async fn a_retry_queues_the_next_attempt_now_with_a_fresh_window() {
    let h = Herald::new().await;
    let a = subscription(&h, "A").await;
    let made = delivery(&h, &acme(), &a, |_| {}).await;
    h.clock.advance(time::Duration::hours(2));

    let answer = h.call(post(format!("{URL}/{}/retry", made.id))).await;
    assert_eq!(
        answer.ok(202),
        json!({"id": made.id.as_str(), "status": "pending", "nextAttempt": 2})
    );
    let after = stored_delivery(&h, &made.id).await;
    assert_eq!(after.status, DeliveryStatus::Pending);
    assert_eq!(after.reason, None);
    assert_eq!(after.next_attempt, 2);
    assert_eq!(after.job_ticket, 3);
    assert_eq!(
        after.next_attempt_at,
        Some(datetime!(2030-01-15 11:30:00 UTC))
    );
    assert_eq!(after.window_start, Some(datetime!(2030-01-15 11:30:00 UTC)));
    // Kept as long as a new delivery would be (90 days by default).
    assert_eq!(after.expires_at, datetime!(2030-04-15 11:30:00 UTC));
    assert_eq!(after.version, made.version + 1);

    let jobs = h.deliveries_queue.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].delivery_id, made.id);
    assert_eq!(jobs[0].attempt, 3);
    assert!(jobs[0].first.is_none());
    assert!(jobs[0].not_before.is_none());
}

#[tokio::test]
async fn a_retry_is_refused_while_it_cannot_be_delivered() {
    let h = Herald::new().await;
    let a = subscription(&h, "A").await;

    let claimed = delivery(&h, &acme(), &a, |d| {
        d.claimed_until = Some(datetime!(2030-01-15 09:30:10 UTC));
    })
    .await;
    let answer = h.call(post(format!("{URL}/{}/retry", claimed.id))).await;
    assert!(answer.detail(409).contains("right now"), "{answer:?}");

    let expired = delivery(&h, &acme(), &a, |d| {
        d.event_expires_at = datetime!(2030-01-15 09:30:00 UTC);
    })
    .await;
    let answer = h.call(post(format!("{URL}/{}/retry", expired.id))).await;
    assert!(
        answer
            .detail(409)
            .contains("the event expired at 2030-01-15T09:30:00Z"),
        "{answer:?}"
    );

    let mut s = stored(&h, &a).await.expect("stored");
    s.active = false;
    h.subscriptions.replace(&mut s).await.expect("replaced");
    let inactive = delivery(&h, &acme(), &a, |_| {}).await;
    let answer = h.call(post(format!("{URL}/{}/retry", inactive.id))).await;
    assert!(answer.detail(409).contains("inactive"), "{answer:?}");
    // A test delivery goes even to an inactive subscription.
    let test = delivery(&h, &acme(), &a, |d| d.test = true).await;
    h.call(post(format!("{URL}/{}/retry", test.id)))
        .await
        .ok(202);

    h.call(delete(format!("/accounts/acme/subscriptions/{a}")))
        .await;
    let answer = h.call(post(format!("{URL}/{}/retry", inactive.id))).await;
    assert_eq!(answer.detail(409), "the subscription was deleted");

    // Nothing changed on the refused ones; only the test delivery was queued.
    for d in [&claimed, &expired, &inactive] {
        assert_eq!(stored_delivery(&h, &d.id).await, *d);
    }
    assert_eq!(h.deliveries_queue.jobs().len(), 1);
    assert_eq!(h.deliveries_queue.jobs()[0].delivery_id, test.id);
}

#[tokio::test]
async fn a_retry_not_queued_is_a_503_and_can_be_asked_again() {
    let h = Herald::new().await;
    let a = subscription(&h, "A").await;
    let made = delivery(&h, &acme(), &a, |_| {}).await;
    h.deliveries_queue.set_down(true);
    let down = h.call(post(format!("{URL}/{}/retry", made.id))).await;
    down.problem(503);
    assert_eq!(down.header("retry-after"), Some("1"));

    h.deliveries_queue.set_down(false);
    let again = h.call(post(format!("{URL}/{}/retry", made.id))).await;
    assert_eq!(again.ok(202)["nextAttempt"], 2);
    let jobs = h.deliveries_queue.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].attempt,
        stored_delivery(&h, &made.id).await.job_ticket
    );
}

#[tokio::test]
async fn administrators_read_and_retry_their_accounts_deliveries() {
    let h = Herald::new().await;
    let a = subscription(&h, "A").await;
    let made = delivery(&h, &acme(), &a, |_| {}).await;
    let admin = Caller::admin("acme");
    h.call(get(URL).by(admin.clone())).await.ok(200);
    h.call(get(format!("{URL}/{}", made.id)).by(admin.clone()))
        .await
        .ok(200);
    h.call(post(format!("{URL}/{}/retry", made.id)).by(admin))
        .await
        .ok(202);
    // Retry takes no body and no other method.
    h.call(put(format!("{URL}/{}/retry", made.id)))
        .await
        .problem(405);
}
