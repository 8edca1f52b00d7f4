//! `GET /l/{code}`: short links redirect, count clicks on their message, and tell nothing
//! about codes that lead nowhere.

use herald::messaging::log::{Content, MessageId, MessageLog, MessageRecord};
use herald::messaging::message::{Channel, PhoneNumber, SmsMessage, SmsText};
use herald::notify::short_links::{ShortCode, ShortLink, ShortLinkStore};
use time::Duration;

use crate::harness::{Caller, Herald, T0, acme, get};

async fn message_with_link(h: &Herald, target: &str, lifetime: Duration) -> (MessageId, ShortCode) {
    let record = MessageRecord::queued(
        MessageId::new(T0),
        acme(),
        Content::Sms(SmsMessage {
            to: PhoneNumber::parse("+4712345678").expect("as arranged"),
            text: SmsText::parse("Sign: https://go.example/x").expect("as arranged"),
        }),
        Vec::new(),
        T0,
        Duration::days(30),
    );
    h.messages.create(&record, None).await.expect("as arranged");
    let code = ShortCode::generate();
    h.short_links
        .put_all(&[ShortLink {
            code: code.clone(),
            account_id: acme(),
            channel: Channel::Sms,
            message_id: record.id.clone(),
            target: target.into(),
            created_at: T0,
            expires_at: T0 + lifetime,
        }])
        .await
        .expect("as arranged");
    (record.id, code)
}

#[tokio::test]
async fn a_click_redirects_and_is_counted_on_its_message_with_one_event() {
    let h = Herald::new().await;
    let (id, code) =
        message_with_link(&h, "https://sign.example/r/42?s=1", Duration::days(90)).await;
    for n in 1..=3u64 {
        let a = h.call(get(format!("/l/{code}")).by(Caller::Nobody)).await;
        assert_eq!(a.status, 302, "{a:?}");
        assert_eq!(a.header("location"), Some("https://sign.example/r/42?s=1"));
        assert_eq!(a.header("cache-control"), Some("no-store"));
        let record = h
            .messages
            .get(&acme(), Channel::Sms, &id, T0)
            .await
            .expect("as arranged")
            .expect("as arranged");
        assert_eq!(record.clicks.map(|c| c.count), Some(n));
    }
    let clicked: Vec<_> = h
        .events_queue
        .jobs()
        .into_iter()
        .filter(|e| e.event_name().as_str() == "message.link_clicked")
        .collect();
    assert_eq!(clicked.len(), 1, "one event, for the first click");
    assert_eq!(
        clicked[0].event_data()["url"],
        "https://sign.example/r/42?s=1"
    );
    assert_eq!(clicked[0].event_data()["messageId"], id.as_str());
}

#[tokio::test]
async fn unknown_malformed_and_expired_codes_are_the_same_plain_404() {
    let h = Herald::new().await;
    let (_, expired) = message_with_link(&h, "https://sign.example/", Duration::seconds(0)).await;
    for path in [
        format!("/l/{expired}"),
        format!("/l/{}", ShortCode::generate()),
        "/l/not-a-code".to_owned(),
    ] {
        let a = h.call(get(&path).by(Caller::Nobody)).await;
        assert_eq!(a.status, 404, "{a:?}");
        assert!(
            a.header("content-type")
                .is_some_and(|t| t.starts_with("text/html")),
            "{a:?}"
        );
        assert!(String::from_utf8_lossy(&a.body).contains("Link not found"));
    }
}
