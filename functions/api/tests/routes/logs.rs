//! `/accounts/{accountId}/logs/{sms|email}`, a record and its message.

use herald::messaging::log::MessageLog;
use herald::messaging::message::{Channel, MessageStatus};
use serde_json::{Value, json};

use crate::harness::{Caller, Herald, Setup, get, post};
use crate::messages::logged;

/// Sends an SMS to `to` through the API; its id.
async fn send_sms(h: &Herald, to: &str) -> String {
    let answer = h
        .call(
            post("/accounts/acme/messages/sms")
                .json(json!({"to": to, "text": "Hi", "tags": ["t1"]})),
        )
        .await;
    answer.ok(202)["id"].as_str().expect("id").to_owned()
}

async fn send_email(h: &Herald) -> String {
    let answer = h
        .call(post("/accounts/acme/messages/email").json(json!({
            "to": ["a@globex-corp.com", "b@globex-corp.com"],
            "subject": "Please sign",
            "html": "<p>Sign</p>",
        })))
        .await;
    answer.ok(202)["id"].as_str().expect("id").to_owned()
}

/// Three SMS a second apart; their ids, oldest first.
async fn three_sms(h: &Herald) -> Vec<String> {
    let mut ids = Vec::new();
    for to in ["+4711111111", "+4722222222", "+4733333333"] {
        ids.push(send_sms(h, to).await);
        h.clock.advance(time::Duration::seconds(1));
    }
    ids
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Moves a logged message to `status`, as a dispatcher or a receipt would.
async fn set_status(h: &Herald, channel: Channel, id: &str, status: MessageStatus) {
    let mut record = logged(h, channel)
        .await
        .into_iter()
        .find(|r| r.id.as_str() == id)
        .expect("logged");
    record.set_status(status, h.now(), None);
    h.messages.replace(&mut record).await.expect("replaced");
}

#[tokio::test]
async fn the_log_lists_newest_first_with_each_messages_summary() {
    let h = Herald::new().await;
    let sent = three_sms(&h).await;
    let page = h.call(get("/accounts/acme/logs/sms")).await.ok(200);
    let mut newest_first = sent.clone();
    newest_first.reverse();
    assert_eq!(ids(&page), newest_first);
    assert_eq!(page["nextCursor"], Value::Null);
    assert_eq!(
        page["items"][2],
        json!({
            "id": sent[0],
            "status": "queued",
            "createdAt": "2030-01-15T09:30:00Z",
            "updatedAt": "2030-01-15T09:30:00Z",
            "to": "+4711111111",
            "tags": ["t1"],
        })
    );

    let oldest_first = h
        .call(get("/accounts/acme/logs/sms?order=asc"))
        .await
        .ok(200);
    assert_eq!(ids(&oldest_first), sent);
    let desc = h
        .call(get("/accounts/acme/logs/sms?order=desc"))
        .await
        .ok(200);
    assert_eq!(ids(&desc), newest_first);

    // The other channel's log is apart.
    let emails = h.call(get("/accounts/acme/logs/email")).await.ok(200);
    assert_eq!(emails, json!({"items": [], "nextCursor": null}));
}

#[tokio::test]
async fn email_summaries_carry_the_subject() {
    let h = Herald::new().await;
    let id = send_email(&h).await;
    let page = h.call(get("/accounts/acme/logs/email")).await.ok(200);
    assert_eq!(ids(&page), [id]);
    assert_eq!(page["items"][0]["subject"], "Please sign");
    assert_eq!(
        page["items"][0]["to"],
        "a@globex-corp.com, b@globex-corp.com"
    );
}

#[tokio::test]
async fn pages_follow_their_cursor_with_the_same_filters() {
    let h = Herald::new().await;
    let sent = three_sms(&h).await;
    let first = h.call(get("/accounts/acme/logs/sms?limit=2")).await.ok(200);
    assert_eq!(ids(&first), [sent[2].clone(), sent[1].clone()]);
    let cursor = first["nextCursor"].as_str().expect("a cursor").to_owned();

    let second = h
        .call(get(format!(
            "/accounts/acme/logs/sms?limit=2&cursor={cursor}"
        )))
        .await
        .ok(200);
    assert_eq!(ids(&second), [sent[0].clone()]);
    assert_eq!(second["nextCursor"], Value::Null);

    // A cursor is bound to the filters and order it was made with.
    let other_order = h
        .call(get(format!(
            "/accounts/acme/logs/sms?order=asc&cursor={cursor}"
        )))
        .await;
    assert_eq!(other_order.invalid_fields(), ["cursor"]);
    for garbage in ["nonsense", "AAAA", "%E2%9C%93"] {
        let answer = h
            .call(get(format!("/accounts/acme/logs/sms?cursor={garbage}")))
            .await;
        assert_eq!(answer.invalid_fields(), ["cursor"], "{garbage}");
    }
    // An empty cursor is the first page.
    let empty = h
        .call(get("/accounts/acme/logs/sms?limit=2&cursor="))
        .await
        .ok(200);
    assert_eq!(ids(&empty), ids(&first));

    // Ascending pages too.
    let asc = h
        .call(get("/accounts/acme/logs/sms?order=asc&limit=1"))
        .await
        .ok(200);
    assert_eq!(ids(&asc), [sent[0].clone()]);
    let next = asc["nextCursor"].as_str().expect("a cursor");
    let asc2 = h
        .call(get(format!(
            "/accounts/acme/logs/sms?order=asc&limit=1&cursor={next}"
        )))
        .await
        .ok(200);
    assert_eq!(ids(&asc2), [sent[1].clone()]);
}

#[tokio::test]
async fn a_walk_through_every_page_sees_each_message_once() {
    let h = Herald::new().await;
    let sent = three_sms(&h).await;
    for (order, expected) in [
        ("asc", sent.clone()),
        ("desc", sent.iter().rev().cloned().collect()),
    ] {
        let mut seen = Vec::new();
        let mut cursor = String::new();
        for _ in 0..4 {
            let page = h
                .call(get(format!(
                    "/accounts/acme/logs/sms?order={order}&limit=1&cursor={cursor}"
                )))
                .await
                .ok(200);
            seen.extend(ids(&page));
            match page["nextCursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        assert_eq!(seen, expected, "{order}");
    }
}

#[tokio::test]
async fn status_filters_the_log_by_the_channels_statuses() {
    let h = Herald::new().await;
    let sent = three_sms(&h).await;
    set_status(&h, Channel::Sms, &sent[1], MessageStatus::Sent).await;
    let page = h
        .call(get("/accounts/acme/logs/sms?status=sent"))
        .await
        .ok(200);
    assert_eq!(ids(&page), [sent[1].clone()]);
    assert_eq!(page["items"][0]["status"], "sent");
    let queued = h
        .call(get("/accounts/acme/logs/sms?status=queued&order=asc"))
        .await
        .ok(200);
    assert_eq!(ids(&queued), [sent[0].clone(), sent[2].clone()]);

    // SMS are never opened; emails are.
    let opened = h.call(get("/accounts/acme/logs/sms?status=opened")).await;
    assert_eq!(opened.invalid_fields(), ["status"]);
    assert_eq!(
        opened.message_for("status"),
        "must be one of queued, sent, delivered, failed"
    );
    let email = send_email(&h).await;
    set_status(&h, Channel::Email, &email, MessageStatus::Opened).await;
    let opened_emails = h
        .call(get("/accounts/acme/logs/email?status=opened"))
        .await
        .ok(200);
    assert_eq!(ids(&opened_emails), [email]);
}

#[tokio::test]
async fn every_bad_parameter_is_named() {
    let h = Herald::new().await;
    let answer = h
        .call(get(
            "/accounts/acme/logs/sms?status=lost&order=sideways&limit=0&colour=red",
        ))
        .await;
    assert_eq!(
        answer.invalid_fields(),
        ["status", "order", "limit", "colour"]
    );
    assert_eq!(
        answer.message_for("limit"),
        "must be a number from 1 to 100"
    );
    assert_eq!(answer.message_for("colour"), "is not a known parameter");
    for limit in ["101", "-1", "ten"] {
        let answer = h
            .call(get(format!("/accounts/acme/logs/email?limit={limit}")))
            .await;
        assert_eq!(answer.invalid_fields(), ["limit"], "{limit}");
    }
    h.call(get("/accounts/acme/logs/sms?limit=100"))
        .await
        .ok(200);
}

#[tokio::test]
async fn a_record_is_the_whole_log_entry() {
    let h = Herald::new().await;
    let id = send_sms(&h, "+4712345678").await;
    let record = h
        .call(get(format!("/accounts/acme/logs/sms/{id}")))
        .await
        .ok(200);
    assert_eq!(record["id"], id.as_str());
    assert_eq!(record["accountId"], "acme");
    assert_eq!(record["status"], "queued");
    assert_eq!(
        record["message"],
        json!({"channel": "sms", "to": "+4712345678", "text": "Hi"})
    );
    assert_eq!(record["attempts"], json!([]));
    assert_eq!(
        record["statusHistory"],
        json!([{"status": "queued", "at": "2030-01-15T09:30:00Z"}])
    );
    // Kept for the default 90 days.
    assert_eq!(record["expiresAt"], "2030-04-15T09:30:00Z");
    assert_eq!(record["enqueued"], false);
    assert_eq!(record["tags"], json!(["t1"]));
}

#[tokio::test]
async fn the_message_is_what_was_asked_to_be_sent() {
    let h = Herald::new().await;
    let sms = send_sms(&h, "+4712345678").await;
    let message = h
        .call(get(format!("/accounts/acme/logs/sms/{sms}/message")))
        .await
        .ok(200);
    assert_eq!(message, json!({"to": "+4712345678", "text": "Hi"}));

    let email = send_email(&h).await;
    let message = h
        .call(get(format!("/accounts/acme/logs/email/{email}/message")))
        .await
        .ok(200);
    // Without the channel, and without what was not given.
    assert_eq!(
        message,
        json!({
            "to": ["a@globex-corp.com", "b@globex-corp.com"],
            "subject": "Please sign",
            "html": "<p>Sign</p>",
        })
    );
}

#[tokio::test]
async fn records_not_in_this_log_are_not_found() {
    let h = Herald::new().await;
    let sms = send_sms(&h, "+4712345678").await;
    let globex = h
        .call(
            post("/accounts/globex/messages/sms")
                .by(Caller::internal("globex"))
                .json(json!({"to": "+4712345678", "text": "Hi"})),
        )
        .await
        .ok(202)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let unknown = herald::messaging::log::MessageId::new(h.now())
        .as_str()
        .to_owned();
    for path in [
        // Under the other channel.
        format!("/accounts/acme/logs/email/{sms}"),
        format!("/accounts/acme/logs/email/{sms}/message"),
        // Not a channel.
        format!("/accounts/acme/logs/fax/{sms}"),
        format!("/accounts/acme/logs/fax/{sms}/message"),
        // Not an id, or no such message.
        "/accounts/acme/logs/sms/not-an-id".to_owned(),
        "/accounts/acme/logs/sms/not-an-id/message".to_owned(),
        format!("/accounts/acme/logs/sms/{unknown}"),
        format!("/accounts/acme/logs/sms/{unknown}/message"),
        // Another account's message, under either account.
        format!("/accounts/acme/logs/sms/{globex}"),
        format!("/accounts/globex/logs/sms/{globex}"),
        format!("/accounts/globex/logs/sms/{globex}/message"),
        "/accounts/globex/logs/sms".to_owned(),
        "/accounts/acme/logs/fax".to_owned(),
    ] {
        h.call(get(&path)).await.problem(404);
    }
    h.call(get(format!("/accounts/acme/logs/sms/{sms}")))
        .await
        .ok(200);
}

#[tokio::test]
async fn records_past_their_retention_are_gone() {
    let h = Herald::start(Setup::with_env(&[("HERALD_LOG_RETENTION_DAYS", "1")])).await;
    let id = send_sms(&h, "+4712345678").await;
    let record = h
        .call(get(format!("/accounts/acme/logs/sms/{id}")))
        .await
        .ok(200);
    assert_eq!(record["expiresAt"], "2030-01-16T09:30:00Z");
    h.clock.advance(time::Duration::days(1));
    h.call(get(format!("/accounts/acme/logs/sms/{id}")))
        .await
        .problem(404);
    h.call(get(format!("/accounts/acme/logs/sms/{id}/message")))
        .await
        .problem(404);
    let page = h.call(get("/accounts/acme/logs/sms")).await.ok(200);
    assert_eq!(page["items"], json!([]));
}
