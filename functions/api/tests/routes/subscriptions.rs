//! `/accounts/{accountId}/subscriptions`, one subscription, its secret's rotation and its
//! test event.

use herald::common::seal::SecretSealer;
use herald::events::subscription::{Subscription, SubscriptionId, SubscriptionStore};
use serde_json::{Value, json};

use crate::harness::{Answer, Caller, Herald, Setup, acme, delete, get, post, put};

const URL: &str = "/accounts/acme/subscriptions";

fn orders() -> Value {
    json!({
        "name": "Orders",
        "type": "webhook",
        "url": "https://hooks.globex-corp.com/herald",
        "secret": true,
        "tagFilter": ["order-*", "eu"],
        "events": ["sms.delivered", "email.failed"],
        "active": true,
    })
}

/// Creates a subscription through the API; its answer's body.
pub async fn create(h: &Herald, body: Value) -> Value {
    let answer = h.call(post(URL).json(body)).await;
    answer.ok(201)
}

pub async fn stored(h: &Herald, id: &str) -> Option<Subscription> {
    h.subscriptions
        .get(&acme(), &SubscriptionId::parse(id).expect("an id"))
        .await
        .expect("read")
}

fn id_of(body: &Value) -> String {
    body["id"].as_str().expect("an id").to_owned()
}

/// The secret a subscription signs with, opened.
async fn opened_secret(h: &Herald, id: &str, index: usize) -> String {
    let s = stored(h, id).await.expect("stored");
    h.sealer
        .open(&acme(), &s.secrets()[index].sealed)
        .await
        .expect("opens")
        .expose()
        .to_owned()
}

#[tokio::test]
async fn a_subscription_is_created_with_its_secret_shown_once() {
    let h = Herald::new().await;
    let created = create(&h, orders()).await;
    let id = id_of(&created);
    assert!(SubscriptionId::parse(&id).is_ok(), "{id}");
    let secret = created["signingSecret"].as_str().expect("the secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let mut expected = orders();
    expected["id"] = json!(id);
    expected["signingSecret"] = json!(secret);
    expected["createdAt"] = json!("2030-01-15T09:30:00Z");
    expected["updatedAt"] = json!("2030-01-15T09:30:00Z");
    assert_eq!(created, expected);
    assert_eq!(opened_secret(&h, &id, 0).await, secret);

    // Never again.
    let read = h.call(get(format!("{URL}/{id}"))).await.ok(200);
    assert_eq!(read["secret"], true);
    assert!(read.get("signingSecret").is_none(), "{read}");
    let listed = h.call(get(URL)).await;
    assert_eq!(listed.ok(200)["items"][0]["secret"], true);
    assert!(
        !String::from_utf8_lossy(&listed.body).contains(secret),
        "{listed:?}"
    );
}

#[tokio::test]
async fn what_is_left_out_takes_its_default() {
    let h = Herald::new().await;
    let created = create(
        &h,
        json!({"name": "  All of it  ", "type": "webhook", "url": "https://hooks.globex-corp.com"}),
    )
    .await;
    assert_eq!(created["name"], "All of it");
    assert_eq!(created["url"], "https://hooks.globex-corp.com/");
    assert_eq!(created["secret"], false);
    assert_eq!(created["active"], true);
    assert_eq!(created["tagFilter"], json!([]));
    assert_eq!(created["events"], "all");
    assert!(created.get("signingSecret").is_none(), "{created}");
    let s = stored(&h, &id_of(&created)).await.expect("stored");
    assert!(s.secrets().is_empty());
}

#[tokio::test]
async fn the_list_holds_the_accounts_subscriptions_oldest_first() {
    let h = Herald::new().await;
    let first = id_of(&create(&h, orders()).await);
    h.clock.advance(time::Duration::seconds(1));
    let mut second = orders();
    second["name"] = json!("Second");
    let second = id_of(&create(&h, second).await);
    h.call(
        post("/accounts/globex/subscriptions")
            .by(Caller::internal("globex"))
            .json(orders()),
    )
    .await
    .ok(201);

    let list = h.call(get(URL)).await.ok(200);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    assert_eq!(list["nextCursor"], Value::Null);
    assert_eq!(list["items"][1]["name"], "Second");
}

#[tokio::test]
async fn put_replaces_the_settings_and_keeps_creates_or_drops_the_secret() {
    let h = Herald::new().await;
    let created = create(&h, orders()).await;
    let id = id_of(&created);
    let sealed = stored(&h, &id).await.expect("stored").secrets().to_vec();
    h.clock.advance(time::Duration::minutes(1));

    let mut changed = orders();
    changed["name"] = json!("Orders (EU)");
    changed["url"] = json!("https://hooks.globex-corp.com/v2");
    changed["tagFilter"] = json!([]);
    changed["events"] = json!("all");
    let kept = h
        .call(put(format!("{URL}/{id}")).json(changed.clone()))
        .await;
    let kept = kept.ok(200);
    assert_eq!(kept["name"], "Orders (EU)");
    assert_eq!(kept["url"], "https://hooks.globex-corp.com/v2");
    assert_eq!(kept["tagFilter"], json!([]));
    assert_eq!(kept["events"], "all");
    assert_eq!(kept["secret"], true);
    assert_eq!(kept["createdAt"], "2030-01-15T09:30:00Z");
    assert_eq!(kept["updatedAt"], "2030-01-15T09:31:00Z");
    assert!(kept.get("signingSecret").is_none(), "{kept}");
    let after = stored(&h, &id).await.expect("stored");
    assert_eq!(after.secrets(), sealed);
    assert_eq!(after.version, 2);

    // false stops signing.
    changed["secret"] = json!(false);
    let dropped = h
        .call(put(format!("{URL}/{id}")).json(changed.clone()))
        .await;
    assert_eq!(dropped.ok(200)["secret"], false);
    assert!(stored(&h, &id).await.expect("stored").secrets().is_empty());

    // true again makes a new one, shown in this answer.
    changed["secret"] = json!(true);
    let renewed = h
        .call(put(format!("{URL}/{id}")).json(changed))
        .await
        .ok(200);
    let secret = renewed["signingSecret"].as_str().expect("a new secret");
    assert_ne!(Some(secret), created["signingSecret"].as_str());
    assert_eq!(opened_secret(&h, &id, 0).await, secret);
}

#[tokio::test]
async fn reactivating_clears_the_reason_herald_disabled_it() {
    let h = Herald::new().await;
    let id = id_of(&create(&h, orders()).await);
    let mut s = stored(&h, &id).await.expect("stored");
    s.active = false;
    s.disabled_reason = Some("the endpoint answered 410 Gone".into());
    h.subscriptions.replace(&mut s).await.expect("replaced");
    let shown = h.call(get(format!("{URL}/{id}"))).await.ok(200);
    assert_eq!(shown["active"], false);
    assert_eq!(shown["disabledReason"], "the endpoint answered 410 Gone");

    // Saved still inactive: the reason stays.
    let mut body = orders();
    body["active"] = json!(false);
    let inactive = h.call(put(format!("{URL}/{id}")).json(body)).await.ok(200);
    assert_eq!(inactive["disabledReason"], "the endpoint answered 410 Gone");

    let active = h
        .call(put(format!("{URL}/{id}")).json(orders()))
        .await
        .ok(200);
    assert_eq!(active["active"], true);
    assert!(active.get("disabledReason").is_none(), "{active}");
}

#[tokio::test]
async fn delete_removes_it() {
    let h = Herald::new().await;
    let id = id_of(&create(&h, orders()).await);
    let deleted = h.call(delete(format!("{URL}/{id}"))).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_empty());
    assert!(stored(&h, &id).await.is_none());
    h.call(get(format!("{URL}/{id}"))).await.problem(404);
    h.call(delete(format!("{URL}/{id}"))).await.problem(404);
}

#[tokio::test]
async fn a_rotation_shows_the_new_secret_and_the_old_one_signs_for_a_day() {
    let h = Herald::new().await;
    let created = create(&h, orders()).await;
    let id = id_of(&created);
    let first_secret = created["signingSecret"].as_str().expect("secret");

    let rotated = h
        .call(post(format!("{URL}/{id}/rotate-secret")))
        .await
        .ok(200);
    let new_secret = rotated["signingSecret"].as_str().expect("the new secret");
    assert_ne!(new_secret, first_secret);
    assert_eq!(rotated["previousSecretExpiresAt"], "2030-01-16T09:30:00Z");
    assert_eq!(
        rotated["replacedSecretsExpireAt"],
        json!(["2030-01-16T09:30:00Z"])
    );
    assert_eq!(opened_secret(&h, &id, 0).await, new_secret);
    assert_eq!(opened_secret(&h, &id, 1).await, first_secret);
    let read = h.call(get(format!("{URL}/{id}"))).await.ok(200);
    assert_eq!(read["previousSecretExpiresAt"], "2030-01-16T09:30:00Z");
    assert!(read.get("signingSecret").is_none(), "{read}");
}

#[tokio::test]
async fn a_rotation_is_refused_while_five_secrets_sign() {
    let h = Herald::new().await;
    let id = id_of(&create(&h, orders()).await);
    for hour in 0..4 {
        h.clock.advance(time::Duration::hours(1));
        let rotated = h.call(post(format!("{URL}/{id}/rotate-secret"))).await;
        assert_eq!(
            rotated.ok(200)["replacedSecretsExpireAt"]
                .as_array()
                .map(Vec::len),
            Some(hour + 1)
        );
    }
    let refused = h.call(post(format!("{URL}/{id}/rotate-secret"))).await;
    let detail = refused.detail(409);
    // The oldest replaced secret was replaced at 10:30 and signs until 10:30 the next day.
    assert!(
        detail.contains("5 secrets already sign") && detail.contains("2030-01-16T10:30:00Z"),
        "{detail}"
    );
    assert_eq!(stored(&h, &id).await.expect("stored").secrets().len(), 5);

    h.clock.advance(time::Duration::hours(21));
    h.call(post(format!("{URL}/{id}/rotate-secret")))
        .await
        .ok(200);
}

#[tokio::test]
async fn rotating_a_subscription_without_a_secret_gives_it_one() {
    let h = Herald::new().await;
    let mut body = orders();
    body["secret"] = json!(false);
    let id = id_of(&create(&h, body).await);
    let rotated = h
        .call(post(format!("{URL}/{id}/rotate-secret")))
        .await
        .ok(200);
    assert_eq!(rotated["secret"], true);
    assert!(
        rotated.get("previousSecretExpiresAt").is_none(),
        "{rotated}"
    );
    let secret = rotated["signingSecret"].as_str().expect("secret");
    assert_eq!(opened_secret(&h, &id, 0).await, secret);
}

#[tokio::test]
async fn a_test_event_is_queued_for_this_subscription_alone() {
    let h = Herald::new().await;
    let id = id_of(&create(&h, orders()).await);
    // Even one that is inactive and does not select the event.
    let mut s = stored(&h, &id).await.expect("stored");
    s.active = false;
    h.subscriptions.replace(&mut s).await.expect("replaced");

    let answer = h
        .call(post(format!("{URL}/{id}/test")).json(json!({"eventName": "domain.verified"})))
        .await;
    let body = answer.ok(202);
    let sent: Value =
        serde_json::from_str(body["body"].as_str().expect("the body")).expect("the event");
    assert_eq!(sent["eventName"], "domain.verified");
    assert_eq!(sent["tags"], json!(["mock"]));
    assert_eq!(sent["sender"], "herald");
    assert_eq!(sent["accountId"], "acme");
    assert_eq!(sent["eventData"]["status"], "verified");
    let delivery_id = body["deliveryId"].as_str().expect("a delivery id");
    assert_eq!(
        delivery_id,
        format!("{}-{id}", sent["id"].as_str().expect("id"))
    );

    let jobs = h.deliveries_queue.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].delivery_id.as_str(), delivery_id);
    assert_eq!(jobs[0].subscription_id.as_str(), id);
    assert_eq!(jobs[0].attempt, 1);
    let first = jobs[0].first.as_ref().expect("the first attempt");
    assert!(first.test);
    assert_eq!(first.body, body["body"].as_str().expect("body"));
}

#[tokio::test]
async fn a_test_event_must_name_an_event_herald_emits() {
    let h = Herald::new().await;
    let id = id_of(&create(&h, orders()).await);
    let url = format!("{URL}/{id}/test");
    let unknown = h
        .call(post(&url).json(json!({"eventName": "order.completed"})))
        .await;
    assert_eq!(unknown.invalid_fields(), ["eventName"]);
    assert!(
        unknown
            .message_for("eventName")
            .contains("GET /event-types"),
        "{unknown:?}"
    );
    let missing = h.call(post(&url).json(json!({"event": "sms.sent"}))).await;
    assert_eq!(missing.invalid_fields(), ["eventName", "event"]);
    h.call(post(&url).raw("text/plain", "sms.sent"))
        .await
        .problem(415);
    assert!(h.deliveries_queue.jobs().is_empty());

    h.deliveries_queue.set_down(true);
    let down = h
        .call(post(&url).json(json!({"eventName": "sms.sent"})))
        .await;
    down.problem(503);
    assert_eq!(down.header("retry-after"), Some("1"));
}

#[tokio::test]
async fn every_invalid_field_is_named() {
    let h = Herald::new().await;
    let missing = h.call(post(URL).json(json!({}))).await;
    assert_eq!(missing.invalid_fields(), ["name", "type"]);
    let webhook = h.call(post(URL).json(json!({"type": "webhook"}))).await;
    assert_eq!(webhook.invalid_fields(), ["name", "url"]);

    let wrong = h
        .call(post(URL).json(json!({
            "name": " ",
            "type": "google-pubsub",
            "url": "http://hooks.globex-corp.com/herald",
            "secret": "yes",
            "active": 1,
            "tagFilter": ["*", 7],
            "events": ["sms.sent", "SMS"],
            "retries": 3,
        })))
        .await;
    let mut fields = wrong.invalid_fields();
    fields.sort_unstable();
    // A Pub/Sub subscription's own fields are missing, and a webhook's are not its.
    assert_eq!(
        fields,
        [
            "active",
            "events[1]",
            "name",
            "project",
            "retries",
            "secret",
            "tagFilter[0]",
            "tagFilter[1]",
            "topic",
            "url"
        ]
    );
    assert_eq!(wrong.message_for("url"), "is not a known field");
    let unknown_kind = h
        .call(
            post(URL)
                .json(json!({"name": "x", "type": "carrier-pigeon", "url": "https://a.example"})),
        )
        .await;
    assert_eq!(unknown_kind.invalid_fields(), ["type"]);
    assert!(
        unknown_kind
            .message_for("type")
            .contains("\"aws-eventbridge\"")
    );

    for (url, why) in [
        ("https://10.0.0.1/hook", "private"),
        ("https://169.254.169.254/latest", "metadata"),
        ("https://user:pw@hooks.globex-corp.com/", "user info"),
        ("not a url", "malformed"),
    ] {
        let mut body = orders();
        body["url"] = json!(url);
        let answer = h.call(post(URL).json(body)).await;
        assert_eq!(answer.invalid_fields(), ["url"], "{url} ({why})");
    }
    for (events, field) in [(json!("some"), "events"), (json!([]), "events")] {
        let mut body = orders();
        body["events"] = events;
        assert_eq!(h.call(post(URL).json(body)).await.invalid_fields(), [field]);
    }
    let mut body = orders();
    body["tagFilter"] = json!("order-*");
    assert_eq!(
        h.call(post(URL).json(body)).await.invalid_fields(),
        ["tagFilter"]
    );
    assert!(
        h.subscriptions
            .list(&acme())
            .await
            .expect("listed")
            .is_empty()
    );
}

#[tokio::test]
async fn tag_filter_errors_name_each_item_by_its_place_in_the_request() {
    let h = Herald::new().await;
    let mut body = orders();
    body["tagFilter"] = json!(["ok", 7, "*"]);
    let answer = h.call(post(URL).json(body)).await;
    assert_eq!(answer.invalid_fields(), ["tagFilter[1]", "tagFilter[2]"]);
}

#[tokio::test]
async fn http_and_loopback_urls_pass_only_where_the_operator_allows_them() {
    let h = Herald::start(Setup::with_env(&[
        ("HERALD_DESTINATION_ALLOW_HTTP", "true"),
        ("HERALD_DESTINATION_ALLOWED_NETWORKS", "127.0.0.0/8"),
    ]))
    .await;
    let mut body = orders();
    body["url"] = json!("http://127.0.0.1:9100/hooks");
    let created = create(&h, body).await;
    assert_eq!(created["url"], "http://127.0.0.1:9100/hooks");
    let mut private = orders();
    private["url"] = json!("http://10.0.0.1/hooks");
    h.call(post(URL).json(private)).await.problem(400);
}

#[tokio::test]
async fn an_account_holds_at_most_100_subscriptions() {
    let h = Herald::new().await;
    for i in 0..100 {
        let mut body = orders();
        body["name"] = json!(format!("Subscription {i}"));
        body["secret"] = json!(false);
        create(&h, body).await;
    }
    let refused = h.call(post(URL).json(orders())).await;
    assert!(
        refused.detail(409).contains("at most 100 subscriptions"),
        "{refused:?}"
    );
    // Another account is not limited by it.
    h.call(
        post("/accounts/globex/subscriptions")
            .by(Caller::internal("globex"))
            .json(orders()),
    )
    .await
    .ok(201);
}

#[tokio::test]
async fn subscriptions_not_of_this_account_are_not_found() {
    let h = Herald::new().await;
    let globex = h
        .call(
            post("/accounts/globex/subscriptions")
                .by(Caller::internal("globex"))
                .json(orders()),
        )
        .await
        .ok(201);
    let foreign = id_of(&globex);
    let unknown = SubscriptionId::new(h.now()).as_str().to_owned();
    let mut answers: Vec<Answer> = Vec::new();
    for id in [foreign.as_str(), unknown.as_str(), "not-an-id"] {
        let one = format!("{URL}/{id}");
        answers.push(h.call(get(&one)).await);
        // The subscription is looked up before the body is validated.
        answers.push(h.call(put(&one).json(json!({}))).await);
        answers.push(h.call(delete(&one)).await);
        answers.push(h.call(post(format!("{one}/rotate-secret"))).await);
        answers.push(
            h.call(post(format!("{one}/test")).json(json!({"eventName": "sms.sent"})))
                .await,
        );
    }
    for url in [
        "/accounts/globex/subscriptions".to_owned(),
        format!("/accounts/globex/subscriptions/{foreign}"),
    ] {
        answers.push(h.call(get(&url)).await);
    }
    answers.push(
        h.call(post("/accounts/globex/subscriptions").json(orders()))
            .await,
    );
    for answer in answers {
        answer.problem(404);
    }
    assert!(stored(&h, &foreign).await.is_none());
    assert!(h.deliveries_queue.jobs().is_empty());
}

#[tokio::test]
async fn if_match_replaces_only_the_version_read() {
    let h = Herald::new().await;
    let id = id_of(&create(&h, orders()).await);
    let read = h.call(get(format!("{URL}/{id}"))).await;
    read.ok(200);
    let tag = read.header("etag").expect("an ETag").to_owned();

    let mut first = orders();
    first["name"] = json!("First");
    let saved = h
        .call(
            put(format!("{URL}/{id}"))
                .header("if-match", &tag)
                .json(first),
        )
        .await;
    saved.ok(200);
    let new_tag = saved.header("etag").expect("an ETag").to_owned();
    assert_ne!(new_tag, tag);

    // A second writer with the tag it read before the first write: refused, nothing changed.
    let mut second = orders();
    second["name"] = json!("Second");
    let stale = h
        .call(
            put(format!("{URL}/{id}"))
                .header("if-match", &tag)
                .json(second.clone()),
        )
        .await;
    stale.problem(412);
    assert_eq!(
        h.call(get(format!("{URL}/{id}"))).await.ok(200)["name"],
        "First"
    );
    // Without If-Match, the last write wins as before.
    h.call(put(format!("{URL}/{id}")).json(second))
        .await
        .ok(200);
    assert_eq!(
        h.call(get(format!("{URL}/{id}"))).await.ok(200)["name"],
        "Second"
    );
}
