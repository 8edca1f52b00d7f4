//! `POST /accounts/{accountId}/messages/sms` and `/messages/email`.

use herald::messaging::dispatch::SendJob;
use herald::messaging::log::{ListQuery, MessageId, MessageLog, MessageRecord, Order};
use herald::messaging::message::{Channel, MessageStatus};
use serde_json::{Value, json};

use crate::harness::{Caller, Herald, acme, post};

const SMS: &str = "/accounts/acme/messages/sms";
const EMAIL: &str = "/accounts/acme/messages/email";

fn sms() -> Value {
    json!({"to": "+4712345678", "text": "Your code is 1234", "tags": ["order:42"]})
}

/// Every message of the account on `channel`, newest first.
pub async fn logged(h: &Herald, channel: Channel) -> Vec<MessageRecord> {
    h.messages
        .list(
            &acme(),
            channel,
            &ListQuery {
                status: None,
                order: Order::Desc,
                limit: ListQuery::MAX_LIMIT,
                after: None,
            },
            h.now(),
        )
        .await
        .expect("listed")
        .items
}

/// The id of an accepted message.
#[track_caller]
fn accepted(answer: &crate::harness::Answer) -> String {
    let body = answer.ok(202);
    assert_eq!(body["status"], "queued", "{answer:?}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{answer:?}");
    let id = body["id"].as_str().expect("an id").to_owned();
    assert!(MessageId::parse(&id).is_ok(), "{id}");
    id
}

#[tokio::test]
async fn an_sms_is_logged_as_queued_and_queued_for_sending() {
    let h = Herald::new().await;
    let answer = h.call(post(SMS).json(sms())).await;
    let id = accepted(&answer);
    assert_eq!(answer.header("idempotent-replayed"), None);

    let records = logged(&h, Channel::Sms).await;
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.id.as_str(), id);
    assert_eq!(record.status, MessageStatus::Queued);
    assert_eq!(record.message.recipient(), "+4712345678");
    assert_eq!(record.created_at, h.now());
    let tags: Vec<String> = record.tags.iter().cloned().map(String::from).collect();
    assert_eq!(tags, ["order:42"]);
    assert_eq!(
        h.send_queue.jobs(),
        [SendJob {
            account_id: acme(),
            channel: Channel::Sms,
            message_id: record.id.clone(),
        }]
    );
    assert!(logged(&h, Channel::Email).await.is_empty());
}

#[tokio::test]
async fn an_email_is_logged_as_queued_and_queued_for_sending() {
    let h = Herald::new().await;
    let answer = h
        .call(post(EMAIL).json(json!({
            "to": "signer@globex-corp.com",
            "subject": "Please sign",
            "html": "<p>Sign here</p>",
            "from": "contracts@acme-mail.com",
            "replyTo": "help@acme-mail.com",
        })))
        .await;
    let id = accepted(&answer);
    let records = logged(&h, Channel::Email).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id.as_str(), id);
    let message = serde_json::to_value(&records[0].message).expect("json");
    assert_eq!(message["to"], json!(["signer@globex-corp.com"]));
    assert_eq!(message["subject"], "Please sign");
    assert_eq!(message["replyTo"], "help@acme-mail.com");
    let jobs = h.send_queue.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].channel, Channel::Email);
    assert_eq!(jobs[0].message_id.as_str(), id);

    // Several recipients, text only.
    let many = h
        .call(post(EMAIL).json(json!({
            "to": ["a@globex-corp.com", "b@globex-corp.com"],
            "subject": "Minutes",
            "text": "Attached.",
        })))
        .await;
    accepted(&many);
    assert_eq!(logged(&h, Channel::Email).await.len(), 2);
}

#[tokio::test]
async fn a_repeat_with_the_same_idempotency_key_answers_as_the_first_did() {
    let h = Herald::new().await;
    let first = h
        .call(
            post(SMS)
                .header("idempotency-key", "order-42-code")
                .json(sms()),
        )
        .await;
    let id = accepted(&first);

    // The same request, written differently: the same message.
    let repeat = h
        .call(post(SMS).header("idempotency-key", "order-42-code").raw(
            "application/json",
            r#"{ "tags": ["order:42"],   "text": "Your code is 1234", "to": "+4712345678" }"#,
        ))
        .await;
    assert_eq!(accepted(&repeat), id);
    assert_eq!(repeat.header("idempotent-replayed"), Some("true"));
    assert_eq!(logged(&h, Channel::Sms).await.len(), 1);
    // Until a dispatcher has taken the message, a repeat queues its job again (the first
    // attempt may have failed to); dispatch sends a message once however often it is queued.
    let jobs = h.send_queue.jobs();
    assert_eq!(jobs.len(), 2);
    assert!(jobs.iter().all(|j| j.message_id.as_str() == id));

    // Once it was, a repeat queues nothing more.
    let mut record = logged(&h, Channel::Sms).await.remove(0);
    record.enqueued = true;
    h.messages.replace(&mut record).await.expect("replaced");
    let third = h
        .call(
            post(SMS)
                .header("idempotency-key", "order-42-code")
                .json(sms()),
        )
        .await;
    assert_eq!(accepted(&third), id);
    assert_eq!(h.send_queue.jobs().len(), 2);
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_refused() {
    let h = Herald::new().await;
    let id = accepted(
        &h.call(post(SMS).header("idempotency-key", "k-1").json(sms()))
            .await,
    );
    let mut other = sms();
    other["text"] = json!("Your code is 9999");
    let refused = h
        .call(post(SMS).header("idempotency-key", "k-1").json(other))
        .await;
    assert_eq!(
        refused.detail(422),
        "this Idempotency-Key was used for a different request"
    );
    // An email under an SMS's key is another request too.
    let email = h
        .call(
            post(EMAIL)
                .header("idempotency-key", "k-1")
                .json(json!({"to": "a@globex-corp.com", "subject": "S", "text": "T"})),
        )
        .await;
    email.problem(422);
    let records = logged(&h, Channel::Sms).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id.as_str(), id);
    assert!(logged(&h, Channel::Email).await.is_empty());
    assert_eq!(h.send_queue.jobs().len(), 1);
}

#[tokio::test]
async fn keys_hold_per_account_for_24_hours() {
    let h = Herald::new().await;
    let both = Caller::internal("acme globex");
    let first = accepted(
        &h.call(
            post(SMS)
                .by(both.clone())
                .header("idempotency-key", "k")
                .json(sms()),
        )
        .await,
    );
    let globex = h
        .call(
            post("/accounts/globex/messages/sms")
                .by(both.clone())
                .header("idempotency-key", "k")
                .json(sms()),
        )
        .await;
    assert_ne!(accepted(&globex), first);
    assert_eq!(globex.header("idempotent-replayed"), None);

    h.clock.advance(time::Duration::hours(23));
    let within = h
        .call(
            post(SMS)
                .by(both.clone())
                .header("idempotency-key", "k")
                .json(sms()),
        )
        .await;
    assert_eq!(accepted(&within), first);
    h.clock.advance(time::Duration::hours(1));
    let after = h
        .call(
            post(SMS)
                .by(both)
                .header("idempotency-key", "k")
                .json(sms()),
        )
        .await;
    assert_ne!(accepted(&after), first);
    assert_eq!(after.header("idempotent-replayed"), None);
    assert_eq!(logged(&h, Channel::Sms).await.len(), 2);
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_refused() {
    let h = Herald::new().await;
    for key in [
        "two words".as_bytes(),
        "k".repeat(256).as_bytes(),
        b"caf\xe9",
    ] {
        let answer = h
            .call(post(SMS).header_bytes("idempotency-key", key).json(sms()))
            .await;
        let detail = answer.detail(400);
        assert!(detail.contains("Idempotency-Key"), "{detail}");
    }
    let longest = h
        .call(
            post(SMS)
                .header("idempotency-key", &"k".repeat(255))
                .json(sms()),
        )
        .await;
    accepted(&longest);
    assert_eq!(logged(&h, Channel::Sms).await.len(), 1);
}

#[tokio::test]
async fn only_internal_services_send() {
    let h = Herald::new().await;
    for (url, body) in [
        (SMS, sms()),
        (
            EMAIL,
            json!({"to": "a@globex-corp.com", "subject": "S", "text": "T"}),
        ),
    ] {
        let answer = h.call(post(url).by(Caller::admin("acme")).json(body)).await;
        assert_eq!(
            answer.detail(403),
            "only internal services send messages (scope herald:internal)"
        );
    }
    assert!(logged(&h, Channel::Sms).await.is_empty());
    assert!(h.send_queue.jobs().is_empty());
}

#[tokio::test]
async fn a_message_logged_but_not_queued_is_a_503_and_its_repeat_queues_it() {
    let h = Herald::new().await;
    h.send_queue.set_down(true);
    let down = h
        .call(post(SMS).header("idempotency-key", "retry-me").json(sms()))
        .await;
    let detail = down.detail(503);
    assert!(
        detail.contains("retry with the same Idempotency-Key"),
        "{detail}"
    );
    assert_eq!(down.header("retry-after"), Some("1"));
    let records = logged(&h, Channel::Sms).await;
    assert_eq!(records.len(), 1);
    assert!(!records[0].enqueued);
    assert!(h.send_queue.jobs().is_empty());

    h.send_queue.set_down(false);
    let repeat = h
        .call(post(SMS).header("idempotency-key", "retry-me").json(sms()))
        .await;
    assert_eq!(accepted(&repeat), records[0].id.as_str());
    assert_eq!(repeat.header("idempotent-replayed"), Some("true"));
    let jobs = h.send_queue.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].message_id, records[0].id);
}

#[tokio::test]
async fn every_invalid_sms_field_is_named() {
    let h = Herald::new().await;
    let answer = h
        .call(post(SMS).json(json!({"to": "12345", "text": "  ", "tags": "x", "cc": 1})))
        .await;
    assert_eq!(answer.invalid_fields(), ["to", "text", "tags", "cc"]);
    let missing = h.call(post(SMS).json(json!({}))).await;
    assert_eq!(missing.invalid_fields(), ["to", "text"]);
    let tags: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let too_many = h
        .call(post(SMS).json(json!({"to": "+4712345678", "text": "Hi", "tags": tags})))
        .await;
    assert_eq!(too_many.invalid_fields(), ["tags"]);
    let bad_tag = h
        .call(post(SMS).json(json!({"to": "+4712345678", "text": "Hi", "tags": ["ok", "not ok"]})))
        .await;
    assert!(
        bad_tag.message_for("tags").starts_with("item 1"),
        "{bad_tag:?}"
    );
    assert!(logged(&h, Channel::Sms).await.is_empty());
    assert!(h.send_queue.jobs().is_empty());
}

#[tokio::test]
async fn every_invalid_email_field_is_named() {
    let h = Herald::new().await;
    let answer = h
        .call(post(EMAIL).json(json!({
            "to": [],
            "subject": "a\r\nBcc: victim@globex-corp.com",
            "from": "nobody",
            "replyTo": 7,
            "bcc": "x@globex-corp.com",
        })))
        .await;
    assert_eq!(
        answer.invalid_fields(),
        ["to", "subject", "from", "replyTo", "text", "bcc"]
    );
    assert_eq!(
        answer.message_for("text"),
        "text or html (or both) is required"
    );
    let recipients: Vec<String> = (0..51).map(|i| format!("r{i}@globex-corp.com")).collect();
    let too_many = h
        .call(post(EMAIL).json(json!({"to": recipients, "subject": "S", "text": "T"})))
        .await;
    assert_eq!(too_many.invalid_fields(), ["to"]);
    assert!(
        too_many.message_for("to").contains("at most 50"),
        "{too_many:?}"
    );
    let one_bad = h
        .call(
            post(EMAIL)
                .json(json!({"to": ["a@globex-corp.com", "b"], "subject": "S", "text": "T"})),
        )
        .await;
    assert!(
        one_bad.message_for("to").starts_with("item 1"),
        "{one_bad:?}"
    );
    assert!(logged(&h, Channel::Email).await.is_empty());
}

#[tokio::test]
async fn other_accounts_are_not_found_before_the_body_is_read() {
    let h = Herald::new().await;
    for url in [
        "/accounts/globex/messages/sms",
        "/accounts/globex/messages/email",
    ] {
        h.call(post(url).json(sms())).await.problem(404);
        h.call(post(url).json(json!({}))).await.problem(404);
        h.call(post(url).raw("text/plain", "hi")).await.problem(404);
    }
    assert!(h.send_queue.jobs().is_empty());
}
