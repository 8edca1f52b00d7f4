//! The delivery log port: one behaviour, checked on the DynamoDB adapter (against moto, on the
//! table template.yaml declares, with its status index and TTL attribute) and in memory.

use std::sync::Arc;

use herald::adapters::dynamo::message_log::DynamoMessageLog;
use herald::common::account::AccountId;
use herald::messaging::log::memory::MemoryMessageLog;
use herald::messaging::log::{
    Content, Created, IdempotencyClaim, IdempotencyKey, ListQuery, MessageId, MessageLog,
    MessageRecord, Order,
};
use herald::messaging::message::Channel;
use herald::messaging::message::{MessageStatus, PhoneNumber, SmsMessage, SmsText, Tag};
use herald_tests::{aws, new_account, stack_var};
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2030-01-01 00:00:00 UTC);

fn sms(account: &AccountId, at: OffsetDateTime, n: usize) -> MessageRecord {
    MessageRecord::queued(
        MessageId::new(at),
        account.clone(),
        Content::Sms(SmsMessage {
            to: PhoneNumber::parse("+4712345678").expect("valid"),
            text: SmsText::parse(&format!("message {n}")).expect("valid"),
        }),
        vec![Tag::parse("test").expect("valid")],
        at,
        time::Duration::days(90),
    )
}

fn query(status: Option<MessageStatus>, order: Order, limit: usize) -> ListQuery {
    ListQuery {
        status,
        order,
        limit,
        after: None,
    }
}

async fn texts(log: &dyn MessageLog, account: &AccountId, mut q: ListQuery) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let page = log.list(account, Channel::Sms, &q, T0).await.expect("list");
        out.extend(page.items.iter().map(|r| match &r.message {
            Content::Sms(m) => m.text.as_str().to_owned(),
            Content::Email(_) => unreachable!(),
        }));
        match page.last {
            Some(last) => q.after = Some(last),
            None => return out,
        }
    }
}

async fn conformance(log: Arc<dyn MessageLog>) {
    let account = new_account();
    let records: Vec<MessageRecord> = (0..5)
        .map(|i| sms(&account, T0 + time::Duration::seconds(i), i as usize))
        .collect();
    for r in &records {
        assert_eq!(log.create(r, None).await.expect("create"), Created::New);
    }

    // Read back, by id, the raw record.
    let got = log
        .get(&account, Channel::Sms, &records[2].id, T0)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(got, records[2]);
    assert_eq!(
        log.get(&account, Channel::Email, &records[2].id, T0)
            .await
            .expect("get"),
        None,
        "channels are separate logs"
    );
    assert_eq!(
        log.get(&new_account(), Channel::Sms, &records[2].id, T0)
            .await
            .expect("get"),
        None,
        "accounts are separate logs"
    );

    // Pages in both orders, every record once.
    let all_desc = texts(log.as_ref(), &account, query(None, Order::Desc, 2)).await;
    assert_eq!(
        all_desc,
        [
            "message 4",
            "message 3",
            "message 2",
            "message 1",
            "message 0"
        ]
    );
    let all_asc = texts(log.as_ref(), &account, query(None, Order::Asc, 3)).await;
    assert_eq!(
        all_asc,
        [
            "message 0",
            "message 1",
            "message 2",
            "message 3",
            "message 4"
        ]
    );
    let queued = texts(
        log.as_ref(),
        &account,
        query(Some(MessageStatus::Queued), Order::Desc, 100),
    )
    .await;
    assert_eq!(queued.len(), 5);
    let sent = texts(
        log.as_ref(),
        &account,
        query(Some(MessageStatus::Sent), Order::Desc, 100),
    )
    .await;
    assert!(sent.is_empty());

    // Records past retention are never served.
    let late = T0 + time::Duration::days(91);
    assert_eq!(
        log.get(&account, Channel::Sms, &records[0].id, late)
            .await
            .expect("get"),
        None
    );
    let page = log
        .list(&account, Channel::Sms, &query(None, Order::Desc, 10), late)
        .await
        .expect("list");
    assert!(page.items.is_empty());

    // Idempotency: a second create with the same key writes nothing and names the first.
    let claim = |now: OffsetDateTime, hash: &str| IdempotencyClaim {
        key: IdempotencyKey::parse("order-42").expect("valid"),
        request_hash: hash.to_owned(),
        now,
        expires_at: now + time::Duration::hours(24),
    };
    let first = sms(&account, T0 + time::Duration::minutes(1), 10);
    assert_eq!(
        log.create(&first, Some(&claim(T0, "h1")))
            .await
            .expect("create"),
        Created::New
    );
    let second = sms(&account, T0 + time::Duration::minutes(2), 11);
    assert_eq!(
        log.create(&second, Some(&claim(T0 + time::Duration::hours(1), "h2")))
            .await
            .expect("create"),
        Created::Replay {
            id: first.id.clone(),
            request_hash: "h1".into()
        }
    );
    assert_eq!(
        log.get(&account, Channel::Sms, &second.id, T0)
            .await
            .expect("get"),
        None,
        "a replay writes nothing"
    );
    // After the window the key is free again.
    let third = sms(&account, T0 + time::Duration::hours(25), 12);
    assert_eq!(
        log.create(&third, Some(&claim(T0 + time::Duration::hours(25), "h3")))
            .await
            .expect("create"),
        Created::New
    );
    // The same key in another account is another key.
    let other = new_account();
    assert_eq!(
        log.create(&sms(&other, T0, 1), Some(&claim(T0, "h1")))
            .await
            .expect("create"),
        Created::New
    );
}

#[tokio::test]
async fn dynamodb_adapter_on_moto() {
    let config = aws().await;
    conformance(Arc::new(DynamoMessageLog::new(
        aws_sdk_dynamodb::Client::new(&config),
        stack_var("HERALD_MESSAGES_TABLE"),
    )))
    .await;
}

#[tokio::test]
async fn memory_adapter() {
    conformance(Arc::new(MemoryMessageLog::new())).await;
}
