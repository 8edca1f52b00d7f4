//! `POST /accounts/{accountId}/messages/{messageId}/receipts`: an account reports what became of
//! a message its own provider took.

use herald::messaging::log::{MessageId, MessageLog, MessageRecord};
use herald::messaging::message::{Channel, MessageStatus};
use serde_json::{Value, json};

use crate::harness::{Caller, Herald, acme, post};

fn url(id: &str) -> String {
    format!("/accounts/acme/messages/{id}/receipts")
}

/// A message the API accepted on `channel`, with one attempt by `provider` ending `outcome`
/// as dispatch records it.
async fn message(h: &Herald, channel: Channel, provider: &str, outcome: &str) -> String {
    let (path, body) = match channel {
        Channel::Sms => (
            "sms",
            json!({"to": "+4712345678", "text": "Your code is 1234"}),
        ),
        Channel::Email => (
            "email",
            json!({"to": "signer@example.com", "subject": "Please sign", "text": "Sign here"}),
        ),
    };
    let answer = h
        .call(post(format!("/accounts/acme/messages/{path}")).json(body))
        .await;
    let id = answer.ok(202)["id"].as_str().expect("id").to_owned();
    let mut record = record(h, channel, &id).await;
    record.push_attempt(
        serde_json::from_value(json!({
            "provider": provider, "at": h.now_text(), "durationMs": 80, "outcome": outcome,
            "providerMessageId": "own-42", "response": {"status": 202},
        }))
        .expect("an attempt"),
    );
    if outcome == "accepted" {
        record.sent_via = Some(provider.to_owned());
        record.set_status(MessageStatus::Sent, h.now(), None);
    }
    h.messages.replace(&mut record).await.expect("replaced");
    id
}

async fn record(h: &Herald, channel: Channel, id: &str) -> MessageRecord {
    h.messages
        .get(
            &acme(),
            channel,
            &MessageId::parse(id).expect("id"),
            h.now(),
        )
        .await
        .expect("read")
        .expect("logged")
}

fn events(h: &Herald) -> Vec<String> {
    h.events_queue
        .jobs()
        .iter()
        .map(|e| e.event_name().as_str().to_owned())
        .collect()
}

#[tokio::test]
async fn receipts_move_the_message_forward_only_and_every_one_is_kept() {
    let h = Herald::new().await;
    let id = message(&h, Channel::Sms, "custom", "accepted").await;
    let delivered = h
        .call(post(url(&id)).json(json!({"status": "delivered", "at": "2030-01-15T09:29:00Z"})))
        .await;
    assert_eq!(
        delivered.ok(200),
        json!({"messageId": id, "channel": "sms", "status": "delivered", "applied": true})
    );
    // Late, out of order: recorded, changing nothing.
    let sent = h.call(post(url(&id)).json(json!({"status": "sent"}))).await;
    assert_eq!(
        sent.ok(200),
        json!({"messageId": id, "channel": "sms", "status": "delivered", "applied": false})
    );
    let r = record(&h, Channel::Sms, &id).await;
    assert_eq!(r.status, MessageStatus::Delivered);
    let delivered_at = r.status_history.last().map(|c| c.at);
    assert_eq!(
        delivered_at,
        Some(time::macros::datetime!(2030-01-15 09:29:00 UTC))
    );
    let kept: Vec<(String, bool)> = r
        .receipts
        .iter()
        .map(|x| (x.source.clone(), x.applied))
        .collect();
    assert_eq!(
        kept,
        [("custom".to_owned(), true), ("custom".to_owned(), false)]
    );
    assert_eq!(r.receipts[0].raw["status"], "delivered");
    assert_eq!(events(&h), ["sms.delivered"]);

    // A failure after delivery is final, with the account's reason and code.
    let failed = h
        .call(
            post(url(&id))
                .json(json!({"status": "failed", "reason": "handset unreachable", "code": "E27"})),
        )
        .await;
    assert_eq!(failed.ok(200)["status"], "failed");
    let r = record(&h, Channel::Sms, &id).await;
    assert_eq!(
        r.status_history.last().and_then(|c| c.reason.as_deref()),
        Some("handset unreachable")
    );
    let last = h.events_queue.jobs().pop().expect("an event");
    assert_eq!(last.event_name().as_str(), "sms.failed");
    assert_eq!(last.event_data()["code"], "E27");
    let after = h
        .call(post(url(&id)).json(json!({"status": "delivered"})))
        .await;
    assert_eq!(after.ok(200)["applied"], false);
}

#[tokio::test]
async fn emails_take_opened_and_smses_do_not() {
    let h = Herald::new().await;
    let email = message(&h, Channel::Email, "custom", "accepted").await;
    let opened = h
        .call(post(url(&email)).json(json!({"status": "opened"})))
        .await;
    assert_eq!(
        opened.ok(200),
        json!({"messageId": email, "channel": "email", "status": "opened", "applied": true})
    );
    assert_eq!(events(&h), ["email.opened"]);

    let sms = message(&h, Channel::Sms, "custom", "accepted").await;
    let refused = h
        .call(post(url(&sms)).json(json!({"status": "opened"})))
        .await;
    assert_eq!(refused.invalid_fields(), ["status"]);
    assert_eq!(
        record(&h, Channel::Sms, &sms).await.status,
        MessageStatus::Sent
    );
}

#[tokio::test]
async fn a_sent_receipt_settles_a_send_whose_answer_never_came() {
    let h = Herald::new().await;
    let id = message(&h, Channel::Sms, "custom", "unknown").await;
    let settled = h.call(post(url(&id)).json(json!({"status": "sent"}))).await;
    assert_eq!(
        settled.ok(200),
        json!({"messageId": id, "channel": "sms", "status": "sent", "applied": true})
    );
    let r = record(&h, Channel::Sms, &id).await;
    assert_eq!(r.sent_via.as_deref(), Some("custom"));
    assert_eq!(r.provider_message_id(), Some(id.as_str()));
    assert_eq!(events(&h), ["sms.sent"]);
}

#[tokio::test]
async fn only_messages_a_custom_provider_took_take_receipts() {
    let h = Herald::new().await;
    let twilio = message(&h, Channel::Sms, "twilio", "accepted").await;
    let elsewhere = h
        .call(post(url(&twilio)).json(json!({"status": "delivered"})))
        .await;
    assert!(elsewhere.detail(409).contains("custom"), "{elsewhere:?}");
    let refused = message(&h, Channel::Email, "custom", "permanentFailure").await;
    let mut r = record(&h, Channel::Email, &refused).await;
    r.set_status(MessageStatus::Failed, h.now(), Some("refused".into()));
    h.messages.replace(&mut r).await.expect("replaced");
    h.call(post(url(&refused)).json(json!({"status": "delivered"})))
        .await
        .problem(409);

    // Still queued: the custom provider's answer is not recorded yet.
    let queued = message(&h, Channel::Sms, "custom", "temporaryFailure").await;
    let early = h
        .call(post(url(&queued)).json(json!({"status": "delivered"})))
        .await;
    assert!(early.detail(409).contains("still being sent"), "{early:?}");
    assert!(record(&h, Channel::Sms, &queued).await.receipts.is_empty());
    assert!(events(&h).is_empty());
}

#[tokio::test]
async fn every_bad_field_is_named_and_unknown_messages_are_not_found() {
    let h = Herald::new().await;
    let id = message(&h, Channel::Sms, "custom", "accepted").await;
    let empty = h.call(post(url(&id)).json(json!({}))).await;
    assert_eq!(empty.invalid_fields(), ["status"]);
    let bad = h
        .call(post(url(&id)).json(json!({
            "status": "bounced", "reason": "", "code": 5, "at": "yesterday", "extra": true,
        })))
        .await;
    assert_eq!(
        bad.invalid_fields(),
        ["status", "reason", "code", "at", "extra"]
    );
    let rules = h
        .call(post(url(&id)).json(json!({"status": "failed", "at": "2031-01-01T00:00:00Z"})))
        .await;
    assert_eq!(rules.invalid_fields(), ["reason", "at"]);
    let not_failed = h
        .call(post(url(&id)).json(json!({"status": "delivered", "reason": "why"})))
        .await;
    assert_eq!(not_failed.invalid_fields(), ["reason"]);
    let long = h
        .call(post(url(&id)).json(json!({"status": "failed", "reason": "r".repeat(501)})))
        .await;
    assert_eq!(long.invalid_fields(), ["reason"]);
    assert!(record(&h, Channel::Sms, &id).await.receipts.is_empty());

    let not_json = h.call(post(url(&id)).raw("text/plain", "delivered")).await;
    not_json.problem(415);

    let unknown = MessageId::new(h.now());
    h.call(post(url(unknown.as_str())).json(json!({"status": "delivered"})))
        .await
        .problem(404);
    h.call(post(url("not-a-message")).json(json!({"status": "delivered"})))
        .await
        .problem(404);
    // Another account's message, or without a token: as if it did not exist.
    h.call(
        post(url(&id))
            .by(Caller::internal("globex"))
            .json(json!({"status": "delivered"})),
    )
    .await
    .problem(404);
    h.call(
        post(format!("/accounts/globex/messages/{id}/receipts"))
            .by(Caller::internal("globex"))
            .json(json!({"status": "delivered"})),
    )
    .await
    .problem(404);
    h.call(
        post(url(&id))
            .by(Caller::Nobody)
            .json(json!({"status": "delivered"})),
    )
    .await
    .problem(401);
    // An account's administrator may report too.
    let by_admin = h
        .call(
            post(url(&id))
                .by(Caller::admin("acme"))
                .json(json!({"status": "delivered"})),
        )
        .await;
    assert_eq!(by_admin.ok(200)["applied"], true);
    let _: Value = by_admin.json();
}
