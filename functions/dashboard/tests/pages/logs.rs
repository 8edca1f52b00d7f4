//! Logs: the SMS and Email tabs, the status filter and order, paging, a message's raw JSON and
//! the message itself (HTML shown as source), empty states and bad filters.

use axum::http::StatusCode;
use herald::common::account::AccountId;
use herald::common::clock::Clock;
use herald::dashboard::Role;
use herald::messaging::log::{Content, MessageId, MessageLog, MessageRecord};
use herald::messaging::message::{MessageStatus, Tag};
use serde_json::{Value, json};

use crate::harness::{Dashboard, Page};

/// Logs a message now, at `status`, then moves the clock a second on; its id.
async fn logged(d: &Dashboard, message: Value, status: MessageStatus, tags: &[&str]) -> String {
    let now = d.clock.now();
    let content: Content = serde_json::from_value(message).expect("a message");
    let tags: Vec<Tag> = tags
        .iter()
        .map(|t| serde_json::from_value(json!(t)).expect("a tag"))
        .collect();
    let mut record = MessageRecord::queued(
        MessageId::new(now),
        AccountId::parse("acme").expect("valid"),
        content,
        tags,
        now,
        time::Duration::days(90),
    );
    if status != MessageStatus::Queued {
        record.set_status(status, now, None);
    }
    d.messages.create(&record, None).await.expect("logged");
    d.clock.advance(time::Duration::seconds(1));
    record.id.as_str().to_owned()
}

async fn sms(d: &Dashboard, to: &str, status: MessageStatus) -> String {
    logged(
        d,
        json!({"channel": "sms", "to": to, "text": "Your code is 1234"}),
        status,
        &["otp"],
    )
    .await
}

/// Where `needle` first appears in the page (panics when it does not).
#[track_caller]
fn at(page: &Page, needle: &str) -> usize {
    page.body
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in {}", page.body))
}

/// How many rows the page's table has.
fn rows(page: &Page) -> usize {
    page.body.split("<tbody>").nth(1).map_or(0, |b| {
        b.split("</tbody>")
            .next()
            .unwrap_or("")
            .matches("<tr>")
            .count()
    })
}

/// The "Next page" link, unescaped.
fn next_link(page: &Page) -> Option<String> {
    let before = page.body.split(r#"" rel="next""#).next()?;
    if before.len() == page.body.len() {
        return None;
    }
    let href = before.rsplit("href=\"").next()?;
    Some(href.replace("&amp;", "&"))
}

#[tokio::test]
async fn the_sms_log_filters_by_status_and_orders_both_ways() {
    let d = Dashboard::new();
    let first = sms(&d, "+4711111111", MessageStatus::Delivered).await;
    let second = sms(&d, "+4722222222", MessageStatus::Failed).await;
    let third = sms(&d, "+4733333333", MessageStatus::Sent).await;
    let mut b = d.sign_in(Role::Viewer, &["acme"]).await;

    let all = b.get("/dashboard/accounts/acme/logs/sms").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert!(
        all.body
            .contains(r#"<a href="/dashboard/accounts/acme/logs/sms" aria-current="page">SMS</a>"#),
        "{}",
        all.body
    );
    assert!(
        all.body.contains(
            r#"<a href="/dashboard/accounts/acme/logs/sms" aria-current="page">Logs</a>"#
        )
    );
    assert!(
        all.body
            .contains(r#"<a href="/dashboard/accounts/acme/logs/email">Email</a>"#)
    );
    assert_eq!(rows(&all), 3);
    // Newest first by default, each with its time, status, tags and actions.
    assert!(at(&all, "+4733333333") < at(&all, "+4722222222"));
    assert!(at(&all, "+4722222222") < at(&all, "+4711111111"));
    assert!(
        all.body
            .contains(r#"<time datetime="2030-01-15T09:30:00Z""#)
    );
    assert!(
        all.body
            .contains(r#"<span class="badge status-failed">failed</span>"#)
    );
    assert!(all.body.contains(r#"<span class="badge tag">otp</span>"#));
    assert!(all.body.contains(&format!(
        r#"<a href="/dashboard/accounts/acme/logs/sms/{first}">View JSON</a>"#
    )));
    assert!(all.body.contains(&format!(
        r#"<a href="/dashboard/accounts/acme/logs/sms/{first}/message">View message</a>"#
    )));
    // The filter form: the SMS statuses (never Opened), the order, and Show.
    assert!(all.body.contains(r#"<label for="f-status">Status</label>"#));
    assert!(
        all.body
            .contains(r#"<option value="delivered">Delivered</option>"#)
    );
    assert!(!all.shows("Opened"));
    assert!(
        all.body
            .contains(r#"<label for="f-order">Order by timestamp</label>"#)
    );
    assert!(
        all.body
            .contains(r#"<option value="desc" selected>Newest first</option>"#)
    );
    assert!(all.body.contains(r#"<button type="submit">Show</button>"#));
    assert!(next_link(&all).is_none());

    let delivered = b
        .get("/dashboard/accounts/acme/logs/sms?status=delivered&order=desc")
        .await;
    assert_eq!(delivered.status, StatusCode::OK);
    assert_eq!(rows(&delivered), 1);
    assert!(delivered.body.contains(&first) && !delivered.body.contains(&second));
    assert!(
        delivered
            .body
            .contains(r#"<option value="delivered" selected>Delivered</option>"#)
    );

    let oldest = b
        .get("/dashboard/accounts/acme/logs/sms?status=&order=asc")
        .await;
    assert_eq!(rows(&oldest), 3);
    assert!(at(&oldest, &first) < at(&oldest, &second));
    assert!(at(&oldest, &second) < at(&oldest, &third));
    assert!(
        oldest
            .body
            .contains(r#"<option value="asc" selected>Oldest first</option>"#)
    );
    let newest = b.get("/dashboard/accounts/acme/logs/sms?order=desc").await;
    assert!(at(&newest, &third) < at(&newest, &first));
}

#[tokio::test]
async fn the_email_tab_shows_subjects_and_filters_by_opened() {
    let d = Dashboard::new();
    logged(
        &d,
        json!({"channel": "email", "to": ["a@globex-corp.com", "b@globex-corp.com"],
            "subject": "Please sign", "html": "<p>Sign</p>"}),
        MessageStatus::Opened,
        &[],
    )
    .await;
    logged(
        &d,
        json!({"channel": "email", "to": ["c@globex-corp.com"], "subject": "Receipt", "text": "Thanks"}),
        MessageStatus::Sent,
        &[],
    )
    .await;
    sms(&d, "+4711111111", MessageStatus::Sent).await;
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let page = b.get("/dashboard/accounts/acme/logs/email").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(
        r#"<a href="/dashboard/accounts/acme/logs/email" aria-current="page">Email</a>"#
    ));
    assert!(page.body.contains(r#"<th scope="col">Subject</th>"#));
    assert!(page.shows("Please sign") && page.shows("Receipt"));
    assert!(page.shows("a@globex-corp.com, b@globex-corp.com"));
    assert!(!page.shows("+4711111111"), "the SMS log is apart");
    assert!(
        page.body
            .contains(r#"<option value="opened">Opened</option>"#)
    );
    let opened = b
        .get("/dashboard/accounts/acme/logs/email?status=opened")
        .await;
    assert_eq!(rows(&opened), 1);
    assert!(opened.shows("Please sign") && !opened.shows("Receipt"));
}

#[tokio::test]
async fn pages_follow_the_cursor_and_keep_the_filters() {
    let d = Dashboard::new();
    let mut made = Vec::new();
    for i in 0..27 {
        made.push(sms(&d, &format!("+47900000{i:02}"), MessageStatus::Delivered).await);
        if i == 5 {
            sms(&d, "+4711111111", MessageStatus::Failed).await;
        }
    }
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let first = b
        .get("/dashboard/accounts/acme/logs/sms?status=delivered&order=asc")
        .await;
    assert_eq!(rows(&first), 25, "the API's page size");
    assert!(first.body.contains(&made[0]) && first.body.contains(&made[24]));
    assert!(!first.body.contains(&made[25]));
    assert!(first.body.contains(r#"rel="next">Next page →</a>"#));
    let next = next_link(&first).expect("a next page");
    assert!(
        next.starts_with("/dashboard/accounts/acme/logs/sms?status=delivered&order=asc&cursor="),
        "{next}"
    );

    let second = b.get(&next).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(rows(&second), 2);
    assert!(second.body.contains(&made[25]) && second.body.contains(&made[26]));
    assert!(
        !second.shows("+4711111111"),
        "the filter holds on every page"
    );
    assert!(next_link(&second).is_none());
}

#[tokio::test]
async fn view_json_shows_the_whole_record() {
    let d = Dashboard::new();
    let id = sms(&d, "+4712345678", MessageStatus::Delivered).await;
    let mut b = d.sign_in(Role::Viewer, &["acme"]).await;
    let page = b
        .get(&format!("/dashboard/accounts/acme/logs/sms/{id}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.shows("Raw JSON of an SMS"));
    assert!(
        page.body
            .contains(r#"<pre class="json" tabindex="0"><code>{"#)
    );
    // Pretty-printed, every part of the record.
    assert!(page.shows(&format!(r#""id": "{id}","#)), "{}", page.body);
    assert!(page.shows(r#""accountId": "acme","#));
    assert!(page.shows(r#""to": "+4712345678""#));
    assert!(page.shows(r#""statusHistory": ["#));
    assert!(page.body.contains(&format!(
        r#"<a href="/dashboard/accounts/acme/logs/sms/{id}/message">View message</a>"#
    )));
    assert!(
        page.body
            .contains(r#"<a href="/dashboard/accounts/acme/logs/sms">← SMS log</a>"#)
    );

    // Under the other channel, not an id, or no such message: not found.
    let unknown = MessageId::new(d.clock.now()).as_str().to_owned();
    for path in [
        format!("/dashboard/accounts/acme/logs/email/{id}"),
        format!("/dashboard/accounts/acme/logs/email/{id}/message"),
        format!("/dashboard/accounts/acme/logs/fax/{id}"),
        "/dashboard/accounts/acme/logs/fax".to_owned(),
        "/dashboard/accounts/acme/logs/sms/not-an-id".to_owned(),
        "/dashboard/accounts/acme/logs/sms/..%2F..%2Fsubscriptions".to_owned(),
        format!("/dashboard/accounts/acme/logs/sms/{unknown}"),
        format!("/dashboard/accounts/acme/logs/sms/{unknown}/message"),
    ] {
        assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_records_link_clicks_are_shown() {
    let d = Dashboard::new();
    let id = sms(&d, "+4712345678", MessageStatus::Sent).await;
    let mut b = d.sign_in(Role::Viewer, &["acme"]).await;
    let path = format!("/dashboard/accounts/acme/logs/sms/{id}");
    let before = b.get(&path).await;
    assert!(
        before.body.contains("<dt>Link clicks</dt>"),
        "{}",
        before.body
    );
    let account = AccountId::parse("acme").expect("valid");
    let message = MessageId::parse(&id).expect("an id");
    let now = d.clock.now();
    let mut record = d
        .messages
        .get(
            &account,
            herald::messaging::message::Channel::Sms,
            &message,
            now,
        )
        .await
        .expect("read")
        .expect("logged");
    record.record_click(now);
    record.record_click(now + time::Duration::minutes(5));
    d.messages.replace(&mut record).await.expect("replaced");
    let after = b.get(&path).await;
    let clicks = after
        .body
        .split("<dt>Link clicks</dt>")
        .nth(1)
        .expect("the row");
    assert!(
        clicks.trim_start().starts_with("<dd>2, first "),
        "{}",
        after.body
    );
}

#[tokio::test]
async fn view_message_shows_an_sms_text() {
    let d = Dashboard::new();
    let id = sms(&d, "+4712345678", MessageStatus::Sent).await;
    let mut b = d.sign_in(Role::Viewer, &["acme"]).await;
    let page = b
        .get(&format!("/dashboard/accounts/acme/logs/sms/{id}/message"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.shows("SMS message"));
    assert!(page.body.contains("<dd>+4712345678</dd>"));
    assert!(page.body.contains(r#"<code>Your code is 1234</code>"#));
    assert!(page.body.contains(&format!(
        r#"<a href="/dashboard/accounts/acme/logs/sms/{id}">View JSON</a>"#
    )));
}

#[tokio::test]
async fn an_emails_html_is_shown_as_escaped_source_never_as_markup() {
    let d = Dashboard::new();
    let html = r#"<p onclick="steal()">Sign <b>now</b></p><script>alert("x")</script>"#;
    let id = logged(
        &d,
        json!({"channel": "email", "to": ["a@globex-corp.com"], "subject": "Please <sign>",
            "text": "Sign now", "html": html, "replyTo": "help@acme.example"}),
        MessageStatus::Delivered,
        &["contract"],
    )
    .await;
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let page = b
        .get(&format!("/dashboard/accounts/acme/logs/email/{id}/message"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.shows("Email message"));
    assert!(page.body.contains(
        "&lt;p onclick=&quot;steal()&quot;&gt;Sign &lt;b&gt;now&lt;/b&gt;&lt;/p&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    ), "{}", page.body);
    assert!(!page.body.contains("<script>alert"));
    assert!(!page.body.contains("<b>now</b>"));
    assert!(!page.body.contains("onclick=\"steal"));
    assert!(
        page.body
            .contains(r#"<h2 id="message-html">HTML body</h2>"#)
    );
    assert!(
        page.body
            .contains(r#"<h2 id="message-text">Text body</h2>"#)
    );
    assert!(page.shows("Please <sign>"));
    assert!(page.shows("help@acme.example"));
    assert!(page.shows("The account's sender"), "no from: the default");

    // The raw record holds it too, as text.
    let json = b
        .get(&format!("/dashboard/accounts/acme/logs/email/{id}"))
        .await;
    assert!(json.body.contains("&lt;script&gt;alert"));
    assert!(!json.body.contains("<script>alert"));
}

#[tokio::test]
async fn empty_logs_say_what_to_do() {
    let d = Dashboard::new();
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let sms_log = b.get("/dashboard/accounts/acme/logs/sms").await;
    assert_eq!(sms_log.status, StatusCode::OK);
    assert!(sms_log.shows("No SMS sent yet."));
    assert!(sms_log.shows("POST /accounts/{accountId}/messages/sms"));
    assert!(
        sms_log
            .body
            .contains(r#"<a class="button" href="/dashboard/accounts/acme/sms">SMS settings</a>"#)
    );
    assert!(!sms_log.body.contains("<table"));
    let email_log = b.get("/dashboard/accounts/acme/logs/email").await;
    assert!(email_log.shows("No email sent yet."));
    assert!(
        email_log.body.contains(
            r#"<a class="button" href="/dashboard/accounts/acme/email">Email settings</a>"#
        )
    );

    // A filter that matches nothing offers the whole log.
    sms(&d, "+4711111111", MessageStatus::Delivered).await;
    let none = b
        .get("/dashboard/accounts/acme/logs/sms?status=failed")
        .await;
    assert!(
        none.shows("No SMS with the status Failed."),
        "{}",
        none.body
    );
    assert!(
        none.body
            .contains(r#"<a class="button" href="/dashboard/accounts/acme/logs/sms">Show all</a>"#)
    );
    // `/logs` is the SMS tab.
    let logs = b.get("/dashboard/accounts/acme/logs").await;
    assert_eq!(logs.location(), Some("/dashboard/accounts/acme/logs/sms"));
}

#[tokio::test]
async fn bad_filter_values_show_the_apis_messages() {
    let d = Dashboard::new();
    sms(&d, "+4711111111", MessageStatus::Delivered).await;
    let mut b = d.sign_in(Role::Admin, &["acme"]).await;
    let page = b
        .get("/dashboard/accounts/acme/logs/sms?status=opened&order=sideways")
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.body.contains(
        r#"<p class="error" id="f-status-error">must be one of queued, sent, delivered, failed</p>"#
    ), "{}", page.body);
    assert!(
        page.body
            .contains(r#"<p class="error" id="f-order-error">must be asc or desc</p>"#)
    );
    assert!(page.body.contains(r#"aria-invalid="true""#));
    assert!(!page.body.contains("<table"));

    // Parameters the form has no field for are listed above it.
    let limit = b.get("/dashboard/accounts/acme/logs/sms?limit=0").await;
    assert_eq!(limit.status, StatusCode::BAD_REQUEST);
    assert!(limit.shows("Please correct the following:"));
    assert!(
        limit
            .body
            .contains("<li><code>limit</code> must be a number from 1 to 100</li>")
    );
    let cursor = b
        .get("/dashboard/accounts/acme/logs/sms?cursor=nonsense")
        .await;
    assert_eq!(cursor.status, StatusCode::BAD_REQUEST);
    assert!(
        cursor.body.contains("<li><code>cursor</code>"),
        "{}",
        cursor.body
    );
}
