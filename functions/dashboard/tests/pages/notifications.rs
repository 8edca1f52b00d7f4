//! The Notifications pages: types and rules through their forms, template errors next to
//! their fields, preview, a recipient's preferences, the log; and the recipient's own pages
//! reached by signed links, with no session.

use axum::http::{Method, StatusCode};
use herald::common::account::AccountId;
use herald::dashboard::Role;
use herald::messaging::message::Channel;
use herald::notify::links::RecipientLink;
use herald::notify::recipients::RecipientId;
use herald::notify::store::NotifyStore;
use herald::notify::types::TypeKey;

use crate::harness::{Browser, Dashboard, Page, T0};

const BASE: &str = "/dashboard/accounts/acme/notifications";
const EVENT: &str = r#"{"orderId": "o-17", "recipients": [{"id": "ann", "email": "ann@example.com", "phone": "+4712345678"}]}"#;

fn acme() -> AccountId {
    AccountId::parse("acme").expect("valid")
}

async fn add_type(b: &mut Browser<'_>, key: &str, mandatory: bool) -> Page {
    b.get(&format!("{BASE}/types/new")).await;
    let mut fields = vec![
        ("key", key),
        ("name", "Order updates"),
        ("description", "News about your orders"),
        ("email", "on"),
        ("sms", "off"),
        ("changeableBy", ""),
    ];
    if mandatory {
        fields.push(("mandatory", "on"));
    }
    b.submit(&format!("{BASE}/types"), &fields).await
}

/// Adds a rule through the form with these template fields over a valid default.
async fn add_rule(b: &mut Browser<'_>, templates: &[(&str, &str)]) -> Page {
    b.get(&format!("{BASE}/rules/new")).await;
    let mut fields: Vec<(&str, &str)> = vec![
        ("name", "Order shipped"),
        ("eventName", "order.shipped"),
        ("tags", ""),
        ("type", "orders"),
        ("recipients.path", "eventData.recipients[*]"),
        ("recipients.fields", ""),
        ("frequency", "every"),
        ("firstKey", ""),
        ("enabled", "on"),
        ("templates.fallbackLocale", "en"),
    ];
    for (k, v) in [
        ("subject", "Order {{ data.orderId }} shipped"),
        (
            "text",
            "Hello {{ recipient.id }}, order {{ data.orderId }} is on its way.",
        ),
        ("html", ""),
        ("sms", "Order {{ data.orderId }} shipped"),
        ("more", ""),
    ] {
        if !templates.iter().any(|(f, _)| *f == k) {
            fields.push((k, v));
        }
    }
    fields.extend_from_slice(templates);
    b.submit(&format!("{BASE}/rules"), &fields).await
}

async fn rule_id(d: &Dashboard) -> String {
    let rules = d.notifications.rules(&acme()).await.expect("listed");
    rules[0].id.to_string()
}

fn token(d: &Dashboard, unsubscribe: Option<&str>) -> String {
    d.link_signer.sign(&RecipientLink {
        account_id: acme(),
        recipient_id: RecipientId::parse("ann").expect("valid"),
        role: None,
        unsubscribe: unsubscribe.map(|k| TypeKey::parse(k).expect("valid")),
        expires: (T0 + time::Duration::days(30)).unix_timestamp(),
    })
}

async fn email_choice(d: &Dashboard) -> Option<bool> {
    d.notifications
        .preferences(&acme(), &RecipientId::parse("ann").expect("valid"))
        .await
        .expect("read")
        .choice(&TypeKey::parse("orders").expect("valid"), Channel::Email)
}

#[tokio::test]
async fn every_page_renders_for_an_admin_and_a_viewer() {
    let d = Dashboard::new();
    let mut admin = d.sign_in(Role::Admin, &["acme"]).await;
    assert_eq!(
        add_type(&mut admin, "orders", false).await.status,
        StatusCode::SEE_OTHER
    );
    let added = add_rule(&mut admin, &[]).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let id = rule_id(&d).await;
    let mut viewer = d.sign_in(Role::Viewer, &["acme"]).await;
    for path in [
        "/rules".to_owned(),
        "/types".to_owned(),
        "/types/orders".to_owned(),
        format!("/rules/{id}"),
        "/preferences".to_owned(),
        "/preferences?recipient=ann".to_owned(),
        "/log".to_owned(),
    ] {
        let page = admin.get(&format!("{BASE}{path}")).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(
            page.body
                .contains(r#"aria-current="page">Notifications</a>"#),
            "{path}"
        );
        let seen = viewer.get(&format!("{BASE}{path}")).await;
        assert_eq!(seen.status, StatusCode::OK, "{path}: {}", seen.body);
        assert!(
            !seen
                .body
                .contains("method=\"post\" action=\"/dashboard/accounts/acme/notifications"),
            "{path}"
        );
    }
    assert!(admin.get(&format!("{BASE}/rules")).await.shows("Add rule"));
    assert!(!viewer.get(&format!("{BASE}/rules")).await.shows("Add rule"));
    // A viewer's change is refused before any page runs.
    let refused = viewer
        .submit(&format!("{BASE}/types/orders/delete"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(d.notifications.types(&acme()).await.expect("read").len(), 1);
}

#[tokio::test]
async fn a_type_and_a_rule_added_through_the_forms_are_read_back() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let added = add_type(&mut b, "orders", false).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let types = d.notifications.types(&acme()).await.expect("read");
    assert_eq!(types[0].name, "Order updates");
    assert_eq!(types[0].channels.email.and_then(|c| c.default), Some(true));
    assert_eq!(types[0].channels.sms.and_then(|c| c.default), Some(false));
    let page = b.get(&format!("{BASE}/types/orders")).await;
    assert!(page.shows("News about your orders"));
    // The same key again is refused next to the key.
    let again = add_type(&mut b, "orders", false).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body.contains("id=\"f-key-error\""), "{}", again.body);

    let added = add_rule(&mut b, &[]).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let id = rule_id(&d).await;
    let page = b.get(&format!("{BASE}/rules/{id}")).await;
    assert!(page.shows("Order {{ data.orderId }} shipped"));
    assert!(page.shows("eventData.recipients[*]"));
    let list = b.get(&format!("{BASE}/rules")).await;
    assert!(list.shows("Order shipped"));
    // A type in use is not deleted.
    let refused = b.submit(&format!("{BASE}/types/orders/delete"), &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.shows("rules use this type"));
}

#[tokio::test]
async fn a_template_error_shows_next_to_its_field_with_its_line() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add_type(&mut b, "orders", false).await;
    let page = add_rule(&mut b, &[("text", "Hello\nOrder {{ data.orderId }")]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    let error = page
        .body
        .split("id=\"f-text-error\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_else(|| panic!("no error by the text field: {}", page.body));
    assert!(error.contains("line 2"), "{error}");
    // What was typed is kept.
    assert!(page.shows("Order {{ data.orderId }"));
    assert!(
        d.notifications
            .rules(&acme())
            .await
            .expect("read")
            .is_empty()
    );
}

#[tokio::test]
async fn preview_shows_the_rendered_email_and_sms() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add_type(&mut b, "orders", false).await;
    add_rule(&mut b, &[]).await;
    let id = rule_id(&d).await;
    let event: String = url::form_urlencoded::byte_serialize(EVENT.as_bytes()).collect();
    let page = b
        .get(&format!("{BASE}/rules/{id}/preview?event={event}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.shows("Order o-17 shipped"), "{}", page.body);
    assert!(page.shows("Hello ann, order o-17 is on its way."));
    assert!(
        page.shows("18 characters, 1 segment (GSM-7)")
            || page.body.contains("18 characters, 1 segment"),
        "{}",
        page.body
    );
    // Bad JSON is said so, not a failure.
    let bad = b.get(&format!("{BASE}/rules/{id}/preview?event=%7B")).await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad.shows("The event data is not JSON"));
}

#[tokio::test]
async fn an_admin_sees_and_changes_a_recipients_preferences() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add_type(&mut b, "orders", false).await;
    add_type(&mut b, "security", true).await;
    let page = b.get(&format!("{BASE}/preferences?recipient=ann")).await;
    assert!(page.shows("Always on"), "{}", page.body);
    let saved = b
        .submit(
            &format!("{BASE}/preferences"),
            &[
                ("recipient", "ann"),
                ("role", ""),
                ("pref.orders.email", "off"),
                ("pref.orders.sms", "default"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.shows("Preferences saved."));
    assert_eq!(email_choice(&d).await, Some(false));
}

#[tokio::test]
async fn the_preference_page_of_a_signed_link_changes_a_choice() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add_type(&mut b, "orders", false).await;
    add_type(&mut b, "security", true).await;
    let mut recipient = d.browser();
    let url = format!("/dashboard/preferences/{}", token(&d, None));
    let page = recipient.get(&url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.shows("Order updates"));
    assert!(page.shows("always on"));
    // Email unticked, SMS ticked.
    let saved = recipient
        .request(Method::POST, &url, &[("orders.sms", "on")])
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.shows("Your preferences are saved."));
    assert_eq!(email_choice(&d).await, Some(false));
}

#[tokio::test]
async fn a_tampered_or_expired_link_is_refused() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add_type(&mut b, "orders", false).await;
    let good = token(&d, Some("orders"));
    let (payload, tag) = good.split_once('.').expect("two parts");
    let mut recipient = d.browser();
    for bad in [
        format!("{payload}x.{tag}"),
        format!("{payload}.{tag}x"),
        "nonsense".into(),
    ] {
        for path in ["preferences", "unsubscribe"] {
            let page = recipient.get(&format!("/dashboard/{path}/{bad}")).await;
            assert_eq!(
                page.status,
                StatusCode::BAD_REQUEST,
                "{path}: {}",
                page.body
            );
            assert!(page.shows("This link is not valid"));
        }
        let post = recipient
            .request(
                Method::POST,
                &format!("/dashboard/unsubscribe/{bad}"),
                &[("List-Unsubscribe", "One-Click")],
            )
            .await;
        assert_eq!(post.status, StatusCode::BAD_REQUEST);
    }
    d.clock.advance(time::Duration::days(31));
    let expired = recipient
        .get(&format!("/dashboard/preferences/{good}"))
        .await;
    assert_eq!(expired.status, StatusCode::FORBIDDEN);
    assert!(expired.shows("This link has expired"));
    assert_eq!(email_choice(&d).await, None);
}

#[tokio::test]
async fn a_one_click_post_turns_the_types_email_off() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add_type(&mut b, "orders", false).await;
    let mut client = d.browser();
    let page = client
        .request(
            Method::POST,
            &format!("/dashboard/unsubscribe/{}", token(&d, Some("orders"))),
            &[("List-Unsubscribe", "One-Click")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.shows("Unsubscribed"));
    assert_eq!(email_choice(&d).await, Some(false));
}

#[tokio::test]
async fn a_get_of_the_unsubscribe_link_changes_nothing() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add_type(&mut b, "orders", false).await;
    let mut scanner = d.browser();
    let page = scanner
        .get(&format!(
            "/dashboard/unsubscribe/{}",
            token(&d, Some("orders"))
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains(r#"name="List-Unsubscribe" value="One-Click""#)
    );
    assert_eq!(email_choice(&d).await, None);
}

#[tokio::test]
async fn the_log_filters_pages_and_links_sent_messages() {
    use herald::events::ids::EventId;
    use herald::events::name::EventName;
    use herald::messaging::log::MessageId;
    use herald::notify::log::{NotificationId, NotificationRecord, Outcome};
    use herald::notify::rules::RuleId;

    let d = Dashboard::new();
    let rule = RuleId::new(T0);
    let message = MessageId::new(T0);
    for i in 0..26i64 {
        let at = T0 + time::Duration::seconds(i);
        let event = EventId::new(at);
        let sent = i == 25;
        let record = NotificationRecord {
            id: NotificationId::of(at, &event, &rule, "ann", Channel::Email),
            account_id: acme(),
            rule_id: rule.clone(),
            type_key: TypeKey::parse("orders").expect("valid"),
            event_id: event,
            event_name: EventName::parse("order.shipped").expect("valid"),
            recipient_id: Some(RecipientId::parse("ann").expect("valid")),
            channel: Channel::Email,
            outcome: if sent {
                Outcome::Sent
            } else {
                Outcome::SuppressedPreference
            },
            detail: None,
            message_id: sent.then(|| message.clone()),
            first_key: None,
            occurred_at: at,
            recorded_at: at,
            expires_at: at + time::Duration::days(30),
        };
        d.notifications.begin(&record).await.expect("logged");
    }
    let mut b = d.sign_in(Role::Viewer, &["acme"]).await;
    let first = b.get(&format!("{BASE}/log")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(first.body.contains(&format!(
        "href=\"/dashboard/accounts/acme/logs/email/{message}/message\""
    )));
    assert!(first.body.contains("<td>Turned off by the recipient</td>"));
    let next = first
        .body
        .split("rel=\"next\"")
        .next()
        .and_then(|s| s.rsplit("href=\"").next())
        .and_then(|s| s.split('"').next())
        .expect("a next page link")
        .replace("&amp;", "&");
    assert!(next.contains("cursor="), "{next}");
    let second = b.get(&next).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    // 26 entries, 25 a page: the second holds the oldest alone, and is the last.
    assert_eq!(
        second
            .body
            .matches("<td>Turned off by the recipient</td>")
            .count(),
        1,
        "{}",
        second.body
    );
    assert!(!second.body.contains("rel=\"next\""), "{}", second.body);
    let sent = b.get(&format!("{BASE}/log?outcome=sent")).await;
    assert!(sent.body.contains("View message"));
    assert!(!sent.body.contains("<td>Turned off by the recipient</td>"));
    let bad = b.get(&format!("{BASE}/log?from=yesterday")).await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad.body.contains("id=\"f-from-error\""), "{}", bad.body);
}

#[tokio::test]
async fn a_test_send_links_its_messages_and_shows_errors_by_their_fields() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add_type(&mut b, "orders", false).await;
    add_rule(&mut b, &[]).await;
    let id = rule_id(&d).await;
    let test = format!("{BASE}/rules/{id}/test");
    assert_eq!(b.get(&test).await.status, StatusCode::OK);
    let bad = b
        .submit(
            &test,
            &[("email", "not-an-address"), ("phone", ""), ("event", EVENT)],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("id=\"f-email-error\""), "{}", bad.body);
    let sent = b
        .submit(
            &test,
            &[
                ("email", "qa@acme.example"),
                ("phone", ""),
                ("event", EVENT),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert!(sent.shows("Test sent."));
    assert!(
        sent.body.contains("/dashboard/accounts/acme/logs/email/"),
        "{}",
        sent.body
    );
}

#[tokio::test]
async fn reminder_settings_are_saved_read_back_and_their_errors_placed() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    add_type(&mut b, "orders", false).await;
    let reminders = [
        ("reminders", "on"),
        ("reminders.after", "P2D, P5D"),
        ("reminders.subject", "eventData.orderId"),
        ("reminders.actedOn", "order.paid eventData.payerId\n"),
        ("reminders.closedBy", "order.cancelled, order.completed"),
        (
            "reminders.emailSubject",
            "Order {{ data.orderId }} still waits",
        ),
        (
            "reminders.emailText",
            "Reminder {{ event.reminder.number }}",
        ),
        ("reminders.sms", ""),
    ];
    let added = add_rule(&mut b, &reminders).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let rules = d.notifications.rules(&acme()).await.expect("read");
    let saved = rules[0].reminders.as_ref().expect("reminders");
    let after: Vec<&str> = saved.after.iter().map(|a| a.as_str()).collect();
    assert_eq!(after, ["P2D", "P5D"]);
    assert_eq!(saved.acted_on[0].event_name.as_str(), "order.paid");
    assert_eq!(saved.acted_on[0].recipient.as_str(), "eventData.payerId");
    assert_eq!(saved.closed_by.len(), 2);
    let page = b.get(&format!("{BASE}/rules/{}", rules[0].id)).await;
    assert!(page.shows("order.paid eventData.payerId"), "{}", page.body);
    assert!(page.shows("Order {{ data.orderId }} still waits"));

    // Months, a line that is not two words, and a template mistake: each by its field.
    let mut bad = reminders.to_vec();
    bad[1] = ("reminders.after", "P1M");
    let page = add_rule(&mut b, &bad).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(
        page.body.contains("id=\"f-reminders-after-error\""),
        "{}",
        page.body
    );
    let mut bad = reminders.to_vec();
    bad[3] = ("reminders.actedOn", "order.paid");
    let page = add_rule(&mut b, &bad).await;
    assert!(
        page.body.contains("id=\"f-reminders-actedOn-error\""),
        "{}",
        page.body
    );
    let mut bad = reminders.to_vec();
    bad[6] = ("reminders.emailText", "{{ data.orderId }");
    let page = add_rule(&mut b, &bad).await;
    assert!(
        page.body.contains("id=\"f-reminders-emailText-error\""),
        "{}",
        page.body
    );
    assert_eq!(d.notifications.rules(&acme()).await.expect("read").len(), 1);
}
