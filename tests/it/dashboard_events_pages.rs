//! The dashboard's Logs, Subscriptions and Events pages in Chromium against the local stack,
//! used as a person uses them: signed in through a platform's link, clicking, typing and
//! reading; what they change checked through the API, what a webhook receiver gets checked at
//! the receiver, and every page state checked with axe-core and photographed.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use herald::events::webhook::WebhookSecret;
use herald::events::webhook::signature::verify_standard;
use herald_tests::api::Api;
use herald_tests::browser::{Browser, PHONE};
use herald_tests::fakes::fresh_number;
use herald_tests::receiver::{Received, Receiver};
use herald_tests::{new_account, stack_var};
use serde_json::{Value, json};

/// How long the local stack may take to deliver a webhook or change a record.
const WAIT: Duration = Duration::from_secs(60);

/// An email's HTML that would run a script, were it ever rendered.
const SCRIPTED_HTML: &str = "<p>Sign <a href=\"https://example.com/s/1\">here</a></p>\
                             <script>alert('pwned')</script>";

/// The screenshot (and axe results) name of a page of this module.
fn shot(page: &str) -> String {
    format!("dashboard_events_pages-{page}")
}

/// A browser whose relative URLs go to the local stack's API (the dashboard is under it).
async fn browser() -> Browser {
    let mut browser = Browser::start().await;
    browser.set_base_url(&stack_var("HERALD_TEST_API_URL"));
    browser
}

/// Signs in to `account` as `role` through a one-time link, as the platform hands it out.
async fn sign_in(browser: &Browser, api: &Api, account: &str, role: &str) {
    let reply = api
        .post(
            &format!("/accounts/{account}/dashboard-sessions"),
            json!({"role": role, "organization": "Acme Group"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    browser
        .goto(reply.body["url"].as_str().expect("a sign-in link"))
        .await;
    assert_eq!(
        browser.current_url().await.path(),
        format!("/dashboard/accounts/{account}"),
        "the link lands on the overview"
    );
}

/// Follows the top navigation's link to the section at `path` (under the account).
async fn section(browser: &Browser, path: &str) {
    browser
        .click(&format!(r#"nav[aria-label="Sections"] a[href$="{path}"]"#))
        .await;
}

/// The visible text of each row of the page's table.
async fn rows(browser: &Browser) -> Vec<String> {
    let rows = browser
        .script(
            "return Array.from(document.querySelectorAll('main tbody tr'))\
             .map(r => r.innerText.replace(/\\s+/g, ' ').trim());",
            vec![],
        )
        .await;
    serde_json::from_value(rows).expect("a list of rows")
}

/// The page's HTML as the browser holds it now.
async fn source(browser: &Browser) -> String {
    browser
        .client()
        .source()
        .await
        .unwrap_or_else(|e| panic!("the page's source: {e}"))
}

/// The names of every link and button on the page, visible or not (a closed dialog's too).
async fn controls(browser: &Browser) -> Vec<String> {
    let names = browser
        .script(
            "return Array.from(document.querySelectorAll('a, button, input[type=submit]'))\
             .map(e => (e.getAttribute('aria-label') || e.textContent || e.value || '')\
             .replace(/\\s+/g, ' ').trim());",
            vec![],
        )
        .await;
    serde_json::from_value(names).expect("a list of names")
}

/// Fails if the page offers a viewer any control that changes something.
async fn no_controls(browser: &Browser, page: &str) {
    let names = controls(browser).await;
    for control in [
        "Retry now",
        "Add subscription",
        "Add",
        "Edit",
        "Update",
        "Delete subscription",
        "Rotate secret",
        "Test events",
        "Send",
    ] {
        assert!(
            !names.iter().any(|n| n == control),
            "{control} on {page}: {names:?}"
        );
    }
    let forms = browser
        .script(
            "return document.querySelectorAll('main form[method=post], dialog').length;",
            vec![],
        )
        .await;
    assert_eq!(forms, json!(0), "no form that changes something on {page}");
}

/// Fails if the document is wider than the phone's screen (a table scrolling inside its own
/// `div.table-wrap` is fine: only the document is measured). A phone zooms out to show a page
/// wider than itself, which widens `innerWidth` with it: the layout viewport (`clientWidth`)
/// and the phone's own width are the measure.
async fn fits(browser: &Browser, what: &str) {
    let size = browser
        .script(
            "const d = document.documentElement;\
             return [d.scrollWidth, document.body.scrollWidth, window.innerWidth, d.clientWidth];",
            vec![],
        )
        .await;
    let px = |i: usize| size[i].as_u64().unwrap_or(u64::MAX);
    let screen = px(2).min(px(3)).min(u64::from(PHONE.0));
    assert!(
        px(0) <= screen && px(1) <= screen,
        "{what} overflows horizontally: scrollWidth {} (body {}) > {screen} \
         (innerWidth {}, clientWidth {})",
        px(0),
        px(1),
        px(2),
        px(3)
    );
}

/// Opens `url` again and again until its page shows `text` (what the stack does next, in the
/// background, shown on a reload).
async fn reload_until(browser: &Browser, url: &str, text: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        browser.goto(url).await;
        if browser.page_text().await.contains(text) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{text:?} not on {url} after {WAIT:?}; it reads:\n{}",
            browser.page_text().await
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A delivery as the API reads it once it is no longer pending.
async fn delivered(api: &Api, account: &str, delivery: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let reply = api
            .get(&format!("/accounts/{account}/deliveries/{delivery}"))
            .await;
        if reply.status == 200 && reply.body["status"] != "pending" {
            return reply.body;
        }
        assert!(
            Instant::now() < deadline,
            "delivery {delivery} still pending: {:?}",
            reply.body
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A signed subscription to `events` at `url`, and a delivered test event of `event` to it:
/// the subscription's id and the delivery's.
async fn subscription_with_a_delivery(
    api: &Api,
    account: &str,
    url: &str,
    event: &str,
) -> (String, String) {
    let created = api
        .subscribe(
            account,
            json!({"name": "Orders", "type": "webhook", "url": url, "secret": true,
                   "tagFilter": ["prod"], "events": [event]}),
        )
        .await;
    let id = created.body["id"].as_str().expect("an id").to_owned();
    let sent = api
        .post(
            &format!("/accounts/{account}/subscriptions/{id}/test"),
            json!({"eventName": event}),
        )
        .await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    let delivery = sent.body["deliveryId"]
        .as_str()
        .expect("a delivery id")
        .to_owned();
    let record = delivered(api, account, &delivery).await;
    assert_eq!(record["status"], "delivered", "{record}");
    (id, delivery)
}

fn header<'a>(request: &'a Received, name: &str) -> &'a str {
    request
        .header(name)
        .unwrap_or_else(|| panic!("no {name} header in {:?}", request.headers))
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn dashboard_events_pages_logs_list_filter_and_show_sms_and_emails_as_text() {
    let account = new_account();
    let a = account.as_str();
    let api = Api::internal(a);
    let browser = browser().await;
    sign_in(&browser, &api, a, "admin").await;

    section(&browser, "/logs/sms").await;
    assert_eq!(browser.text_of("main h1").await, "Logs");
    browser.wait_for_text("No SMS sent yet.").await;
    assert!(!browser.is_visible("main table").await);
    browser.check_page(&shot("logs-empty")).await;

    // Two SMS, one after the other, and an email whose HTML holds a script.
    api.save_sms_settings(a, "vonage", None).await;
    let (first_to, second_to) = (fresh_number(), fresh_number());
    let first = api
        .send_message(
            a,
            "sms",
            json!({"to": first_to, "text": "Your code is 1111", "tags": ["otp"]}),
        )
        .await;
    let first_record = api.settled(a, "sms", &first).await;
    assert_eq!(first_record["status"], "sent", "{first_record}");
    let second = api
        .send_message(
            a,
            "sms",
            json!({"to": second_to, "text": "Your code is 2222"}),
        )
        .await;
    assert_eq!(api.settled(a, "sms", &second).await["status"], "sent");
    let subject = "Please sign the lease";
    let email = api
        .send_message(
            a,
            "email",
            json!({"to": ["signer@example.com"], "subject": subject,
                   "text": "Sign at https://example.com/s/1", "html": SCRIPTED_HTML}),
        )
        .await;
    let email_record = api.settled(a, "email", &email).await;
    assert_eq!(email_record["status"], "sent", "{email_record}");

    // The SMS tab: newest first, with status and tags.
    browser.click(r#"nav.tabs a[href$="/logs/sms"]"#).await;
    let listed = rows(&browser).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed[0].contains(&second_to) && listed[0].contains("sent"),
        "{listed:?}"
    );
    assert!(
        listed[1].contains(&first_to) && listed[1].contains("sent") && listed[1].contains("otp"),
        "{listed:?}"
    );
    browser.check_page(&shot("logs-sms")).await;

    // Failed: none, and a way back to all of them.
    browser.select("Status", "Failed").await;
    browser.click("Show").await;
    browser
        .wait_for_text("No SMS with the status Failed.")
        .await;
    assert!(rows(&browser).await.is_empty());
    browser.link("Show all").await;
    browser.check_page(&shot("logs-sms-failed-none")).await;

    // All again, oldest first.
    browser.select("Status", "All").await;
    browser.select("Order by timestamp", "Oldest first").await;
    browser.click("Show").await;
    let listed = rows(&browser).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed[0].contains(&first_to), "{listed:?}");
    assert!(listed[1].contains(&second_to), "{listed:?}");
    browser.check_page(&shot("logs-sms-oldest-first")).await;

    // A row's time: local text written by the script, UTC kept in its title.
    let created = first_record["createdAt"].as_str().expect("createdAt");
    let time = browser.find("main tbody tr:first-child time").await;
    let datetime = time.attr("datetime").await.expect("an attribute");
    assert_eq!(datetime.as_deref(), Some(created));
    let title = time.attr("title").await.expect("an attribute");
    assert_eq!(title, Some(format!("{created} (UTC)")));
    let shown = time.text().await.expect("its text");
    let server = format!("{} UTC", created[..16].replace('T', " "));
    assert_ne!(shown, server, "the script rewrote the server's UTC text");
    assert!(
        !shown.contains("UTC") && shown.contains(&created[..4]),
        "{shown}"
    );
    let local = browser
        .script(
            "return new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'short'})\
             .format(new Date(arguments[0]));",
            vec![json!(created)],
        )
        .await;
    assert_eq!(
        Some(shown.as_str()),
        local.as_str(),
        "the viewer's local time"
    );

    // View JSON: the raw record.
    browser
        .click(&format!(r#"main tbody a[href$="/logs/sms/{first}"]"#))
        .await;
    assert_eq!(browser.text_of("main h1").await, "Raw JSON of an SMS");
    assert_eq!(browser.text_of("#message-id").await, first);
    let record = parsed(&browser.text_of("main pre.json").await);
    assert_eq!(record["id"], first.as_str());
    assert_eq!(record["status"], "sent");
    assert_eq!(record["tags"], json!(["otp"]));
    browser.check_page(&shot("logs-sms-json")).await;

    // View message: its text.
    browser.click("View message").await;
    assert_eq!(browser.text_of("main h1").await, "SMS message");
    let text = browser.page_text().await;
    assert!(
        text.contains("Your code is 1111") && text.contains(&first_to),
        "{text}"
    );
    browser.check_page(&shot("logs-sms-message")).await;

    // The Email tab: the email with its subject.
    browser.click("← SMS log").await;
    browser.click(r#"nav.tabs a[href$="/logs/email"]"#).await;
    let listed = rows(&browser).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    for expected in [subject, "signer@example.com", "sent"] {
        assert!(listed[0].contains(expected), "{expected} in {listed:?}");
    }
    browser.check_page(&shot("logs-email")).await;

    // Its message: the HTML shown as its source, the script never run.
    browser
        .click(&format!(
            r#"main tbody a[href$="/logs/email/{email}/message"]"#
        ))
        .await;
    assert_eq!(browser.text_of("main h1").await, "Email message");
    let text = browser.page_text().await;
    assert!(
        text.contains("<script>alert('pwned')</script>"),
        "the script as text: {text}"
    );
    assert!(text.contains(subject) && text.contains("Sign at https://example.com/s/1"));
    assert_eq!(browser.dialog_text().await, None, "no alert opened");
    let scripts = browser
        .script(
            "return document.querySelectorAll('main script').length;",
            vec![],
        )
        .await;
    assert_eq!(scripts, json!(0));
    browser.check_page(&shot("logs-email-message")).await;
    browser.close().await;
}

#[tokio::test]
async fn dashboard_events_pages_a_subscription_is_added_edited_rotated_tested_retried_and_deleted()
{
    let account = new_account();
    let a = account.as_str();
    let api = Api::internal(a);
    let receiver = Receiver::start([]).await;
    let browser = browser().await;
    sign_in(&browser, &api, a, "admin").await;

    section(&browser, "/subscriptions").await;
    assert_eq!(browser.text_of("main h1").await, "Subscriptions");
    browser.wait_for_text("No subscription yet.").await;
    browser.check_page(&shot("subscriptions-empty")).await;

    // The form, filled in with a URL that is none.
    browser.click("Add subscription").await;
    assert_eq!(browser.text_of("main h1").await, "Add subscription");
    browser.fill("Name", "Orders").await;
    browser.fill("Webhook URL", "not a url").await;
    let signing = browser.by_label("Sign requests with a secret").await;
    assert!(
        signing.is_selected().await.expect("ticked?"),
        "signed by default"
    );
    browser
        .set_checked("Sign requests with a secret", true)
        .await;
    browser.fill("Tag filter", "prod, order-*").await;
    assert!(
        !browser.is_visible("#f-events").await,
        "the events list hides while All is chosen"
    );
    browser.set_checked("Selected events", true).await;
    browser.set_checked("sms.sent", true).await;
    browser.set_checked("email.opened", true).await;
    browser
        .click(r#"summary[aria-label="Preview sms.sent"]"#)
        .await;
    let preview = parsed(&browser.text_of("details.preview[open] pre.json").await);
    assert_eq!(preview["eventName"], "sms.sent", "{preview}");
    assert!(preview["id"].is_string() && preview["eventData"].is_object());
    browser.check_page(&shot("subscription-form-preview")).await;

    browser.click("Add").await;
    let error = browser.text_of("#f-url-error").await;
    assert!(error.contains("is not a valid URL"), "{error}");
    let next_to_its_field = browser
        .script(
            "const e = document.getElementById('f-url-error'), f = document.getElementById('f-url');\
             return e.closest('.field').contains(f)\
             && f.getAttribute('aria-describedby').split(' ').includes('f-url-error')\
             && f.getAttribute('aria-invalid') === 'true';",
            vec![],
        )
        .await;
    assert_eq!(next_to_its_field, json!(true), "the error is the field's");
    for (label, typed) in [
        ("Webhook URL", "not a url"),
        ("Name", "Orders"),
        ("Tag filter", "prod, order-*"),
    ] {
        let field = browser.by_label(label).await;
        let value = field.prop("value").await.expect("a value");
        assert_eq!(value.as_deref(), Some(typed), "{label} kept");
    }
    for kept in [
        "Sign requests with a secret",
        "Selected events",
        "sms.sent",
        "email.opened",
    ] {
        let field = browser.by_label(kept).await;
        assert!(field.is_selected().await.expect("ticked?"), "{kept} kept");
    }
    assert!(
        api.get(&format!("/accounts/{a}/subscriptions")).await.body["items"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    browser.check_page(&shot("subscription-form-refused")).await;

    // A URL that is one: added, and the secret shown this once.
    browser.fill("Webhook URL", &receiver.url).await;
    browser.click("Add").await;
    browser.wait_for_text("will not be shown again").await;
    assert_eq!(browser.text_of("main h1").await, "Subscription added");
    let secret = browser.text_of("#signing-secret").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    let copy = browser.find(r#"button[data-copy="signing-secret"]"#).await;
    assert_eq!(copy.text().await.expect("its text"), "Copy");
    browser.check_page(&shot("subscription-secret")).await;

    let listed = api.get(&format!("/accounts/{a}/subscriptions")).await;
    let items = listed.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{:?}", listed.body);
    let id = items[0]["id"].as_str().expect("an id").to_owned();
    let stored = api.get(&format!("/accounts/{a}/subscriptions/{id}")).await;
    assert_eq!(stored.status, 200);
    let s = &stored.body;
    assert_eq!(s["name"], "Orders");
    assert_eq!(s["url"], receiver.url.as_str());
    assert_eq!(s["secret"], true);
    assert_eq!(s["active"], true);
    assert_eq!(s["tagFilter"], json!(["prod", "order-*"]));
    let events: BTreeSet<&str> = s["events"]
        .as_array()
        .expect("selected events")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(events, BTreeSet::from(["sms.sent", "email.opened"]));
    assert!(
        !s.to_string().contains(&secret),
        "the API never shows it again"
    );

    // The subscription's page never shows the secret.
    browser.click("Go to the subscription").await;
    assert_eq!(browser.text_of("main h1").await, "Orders");
    let html = source(&browser).await;
    assert!(!html.contains(&secret) && !html.contains("whsec_"));
    browser
        .wait_for_text("Requests are signed with a secret.")
        .await;
    browser.check_page(&shot("subscription-page")).await;

    // Edit: a new name.
    browser.fill("Name", "Orders EU").await;
    browser.click("Update").await;
    browser.wait_for_text("Subscription updated.").await;
    let listed = rows(&browser).await;
    assert!(
        listed.len() == 1 && listed[0].contains("Orders EU") && listed[0].contains("2 selected"),
        "{listed:?}"
    );
    browser.check_page(&shot("subscriptions-list")).await;
    let stored = api.get(&format!("/accounts/{a}/subscriptions/{id}")).await;
    assert_eq!(stored.body["name"], "Orders EU");
    assert_eq!(stored.body["secret"], true);
    assert_eq!(stored.body["tagFilter"], json!(["prod", "order-*"]));
    assert_eq!(
        stored.body["events"].as_array().map(Vec::len),
        Some(2),
        "{:?}",
        stored.body
    );

    // Rotate the secret, through its dialog.
    browser.click("Orders EU").await;
    browser.click("Rotate secret").await;
    browser.wait_for("#rotate-dialog[open]").await;
    let dialog = browser.text_of("#rotate-dialog").await;
    assert!(dialog.contains("Rotate the signing secret?"), "{dialog}");
    browser
        .check_page(&shot("subscription-rotate-dialog"))
        .await;
    browser
        .click(r#"#rotate-dialog button[type="submit"]"#)
        .await;
    browser
        .wait_for_text("New signing secret for Orders EU.")
        .await;
    browser.wait_for_text("will not be shown again").await;
    let new_secret = browser.text_of("#signing-secret").await;
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    browser.check_page(&shot("subscription-new-secret")).await;

    // A test event: the body shown is the body the receiver gets, signed with the new secret.
    browser.click("Go to the subscription").await;
    browser.click("Test events").await;
    assert_eq!(browser.text_of("main h1").await, "Test events");
    browser.select("Event type", "sms.sent").await;
    browser.click("Send").await;
    assert_eq!(browser.text_of("#test-sent").await, "Sent");
    let shown_body = browser.text_of("section.test-result pre.json").await;
    let codes: Vec<String> = serde_json::from_value(
        browser
            .script(
                "return Array.from(document.querySelectorAll('section.test-result p code'))\
                 .map(c => c.textContent);",
                vec![],
            )
            .await,
    )
    .expect("names");
    assert_eq!(codes.len(), 3, "{codes:?}");
    assert_eq!(codes[0], "sms.sent");
    assert_eq!(codes[1], receiver.url);
    let delivery = codes[2].clone();
    browser.check_page(&shot("subscription-test-sent")).await;

    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1, "the receiver got the test event");
    let request = &got[0];
    let body = String::from_utf8(request.body.to_vec()).expect("UTF-8");
    assert_eq!(parsed(&body), parsed(&shown_body), "the body shown");
    assert_eq!(parsed(&body)["eventName"], "sms.sent");
    assert_eq!(parsed(&body)["tags"], json!(["mock"]));
    assert_eq!(header(request, "webhook-id"), delivery);
    let timestamp: i64 = header(request, "webhook-timestamp")
        .parse()
        .expect("Unix seconds");
    let signature = header(request, "webhook-signature");
    let shown = WebhookSecret::parse(&new_secret).expect("a secret");
    assert!(
        verify_standard(&shown, &delivery, timestamp, &request.body, signature),
        "signed with the secret shown: {signature}"
    );
    let wrong = WebhookSecret::generate();
    assert!(!verify_standard(
        &wrong,
        &delivery,
        timestamp,
        &request.body,
        signature
    ));

    // Events: the delivery, filtered by the subscription and delivered.
    section(&browser, "/events").await;
    assert_eq!(browser.text_of("main h1").await, "Events");
    browser.select("Subscription", "Orders EU").await;
    browser.select("Status", "Delivered").await;
    let deadline = Instant::now() + WAIT;
    loop {
        browser.click("Show").await;
        if !rows(&browser).await.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the delivery is still not delivered"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let listed = rows(&browser).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    for expected in ["sms.sent", "Orders EU", "delivered", "200"] {
        assert!(listed[0].contains(expected), "{expected} in {listed:?}");
    }
    browser.check_page(&shot("events-filtered")).await;

    // The delivery: its attempt with the request body, the response status and duration.
    browser
        .click(&format!(r#"main tbody a[href$="/events/{delivery}"]"#))
        .await;
    assert_eq!(browser.text_of("main h1").await, "Event delivery");
    assert_eq!(browser.text_of("#delivery-id").await, delivery);
    let request_body = browser.text_of("#request-body ~ pre.json").await;
    assert_eq!(parsed(&request_body), parsed(&body));
    browser.click("details:not(.preview) > summary").await;
    assert_eq!(
        browser.text_of("details[open] pre.message").await,
        body,
        "the exact bytes sent"
    );
    let attempt = browser
        .text_of("section.attempt")
        .await
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(attempt.starts_with("Attempt 1 delivered"), "{attempt}");
    assert!(
        attempt.contains("Response status 200") && attempt.contains(&receiver.url),
        "{attempt}"
    );
    let duration = attempt
        .split("Duration ")
        .nth(1)
        .and_then(|rest| rest.split(" ms").next())
        .and_then(|ms| ms.trim().parse::<u64>().ok());
    assert!(duration.is_some(), "a duration in ms: {attempt}");
    assert!(attempt.contains("webhook-signature"), "{attempt}");
    browser.check_page(&shot("delivery")).await;

    // Retry now: queued, and a second attempt made.
    browser.click("Retry now").await;
    browser
        .wait_for_text("Retry queued: attempt 2 is being made now.")
        .await;
    browser.check_page(&shot("delivery-retry-queued")).await;
    let page = format!("/dashboard/accounts/{a}/events/{delivery}");
    reload_until(&browser, &page, "Attempt 2 delivered").await;
    let attempts = browser.find_all("section.attempt").await;
    assert_eq!(attempts.len(), 2);
    let got = receiver.wait_for(2, WAIT).await;
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|r| r.header("webhook-id") == Some(&delivery))
    );
    browser.check_page(&shot("delivery-two-attempts")).await;

    // Delete, through its dialog.
    browser.click("Orders EU").await;
    assert_eq!(browser.text_of("main h1").await, "Orders EU");
    browser.click("Delete subscription").await;
    browser.wait_for("#delete-dialog[open]").await;
    let dialog = browser.text_of("#delete-dialog").await;
    assert!(
        dialog.contains("Delete Orders EU?") && dialog.contains(&receiver.url),
        "{dialog}"
    );
    browser
        .check_page(&shot("subscription-delete-dialog"))
        .await;
    browser.click("#delete-dialog button.danger").await;
    browser.wait_for_text("Subscription deleted.").await;
    browser.wait_for_text("No subscription yet.").await;
    assert!(rows(&browser).await.is_empty());
    browser.check_page(&shot("subscriptions-deleted")).await;
    let gone = api.get(&format!("/accounts/{a}/subscriptions/{id}")).await;
    assert_eq!(gone.status, 404, "{:?}", gone.body);
    browser.close().await;
}

#[tokio::test]
async fn dashboard_events_pages_a_viewer_sees_subscriptions_and_deliveries_but_no_controls() {
    let account = new_account();
    let a = account.as_str();
    let api = Api::internal(a);
    let receiver = Receiver::start([]).await;
    let (id, delivery) = subscription_with_a_delivery(&api, a, &receiver.url, "sms.sent").await;
    let browser = browser().await;
    sign_in(&browser, &api, a, "viewer").await;
    assert_eq!(browser.text_of("header .badge.viewer").await, "View only");

    section(&browser, "/subscriptions").await;
    let listed = rows(&browser).await;
    assert!(
        listed.len() == 1 && listed[0].contains("Orders") && listed[0].contains("active"),
        "{listed:?}"
    );
    no_controls(&browser, "the subscriptions").await;
    browser.check_page(&shot("viewer-subscriptions")).await;

    browser.click("Orders").await;
    assert_eq!(browser.text_of("main h1").await, "Orders");
    let text = browser.page_text().await;
    for expected in ["Selected events", "sms.sent", &receiver.url, "prod"] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    assert!(!browser.is_visible("main input").await, "no field to edit");
    no_controls(&browser, "a subscription").await;
    browser.check_page(&shot("viewer-subscription")).await;

    // The forms' addresses lead back, not to a form.
    browser
        .goto(&format!("/dashboard/accounts/{a}/subscriptions/{id}/test"))
        .await;
    assert_eq!(browser.text_of("main h1").await, "Orders");
    browser
        .goto(&format!("/dashboard/accounts/{a}/subscriptions/new"))
        .await;
    assert_eq!(browser.text_of("main h1").await, "Subscriptions");

    section(&browser, "/events").await;
    let listed = rows(&browser).await;
    assert!(
        listed.len() == 1 && listed[0].contains("sms.sent") && listed[0].contains("delivered"),
        "{listed:?}"
    );
    no_controls(&browser, "the events").await;
    browser.check_page(&shot("viewer-events")).await;

    browser
        .click(&format!(r#"main tbody a[href$="/events/{delivery}"]"#))
        .await;
    assert_eq!(browser.text_of("main h1").await, "Event delivery");
    browser.wait_for_text("Attempt 1 delivered").await;
    no_controls(&browser, "a delivery").await;
    browser.check_page(&shot("viewer-delivery")).await;
    browser.close().await;
}

#[tokio::test]
async fn dashboard_events_pages_logs_a_subscription_form_and_a_delivery_fit_a_phone() {
    let account = new_account();
    let a = account.as_str();
    let api = Api::internal(a);
    let receiver = Receiver::start([]).await;
    api.save_sms_settings(a, "vonage", None).await;
    let sms = api
        .send_message(
            a,
            "sms",
            json!({"to": fresh_number(), "text": "Your code is 3333",
                   "tags": ["otp", "login", "eu-west-checkout-flow"]}),
        )
        .await;
    api.settled(a, "sms", &sms).await;
    let (_, delivery) = subscription_with_a_delivery(&api, a, &receiver.url, "email.opened").await;
    let browser = browser().await;
    sign_in(&browser, &api, a, "admin").await;
    browser.phone().await;

    browser
        .goto(&format!("/dashboard/accounts/{a}/logs/sms"))
        .await;
    assert_eq!(rows(&browser).await.len(), 1);
    browser.check_page(&shot("logs-sms-phone")).await;
    fits(&browser, "the SMS log").await;

    browser
        .goto(&format!("/dashboard/accounts/{a}/subscriptions/new"))
        .await;
    browser.set_checked("Selected events", true).await;
    browser
        .click(r#"summary[aria-label="Preview email.opened"]"#)
        .await;
    browser.wait_for("details.preview[open] pre.json").await;
    browser.check_page(&shot("subscription-form-phone")).await;
    fits(&browser, "the subscription form").await;

    browser
        .goto(&format!("/dashboard/accounts/{a}/events/{delivery}"))
        .await;
    browser.wait_for_text("Attempt 1 delivered").await;
    browser.check_page(&shot("delivery-phone")).await;
    fits(&browser, "the delivery page").await;
    browser.close().await;
}
