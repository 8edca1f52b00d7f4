//! Notification pages end to end under the local stack: what a recipient reaches from a
//! notification email with no session (their preference page through the signed link, the
//! RFC 8058 one-click unsubscribe) and the administrator's notification pages, in Chromium.
//! The links are taken from the emails the stack really sent: through SES (moto keeps the
//! body) and through the account's own SMTP server (the local aiosmtpd keeps the whole
//! message, headers included). What a page changed is read back through the API; every page
//! is photographed and checked with axe-core.

use std::time::Duration;

use herald::common::account::AccountId;
use herald_tests::api::Api;
use herald_tests::browser::Browser;
use herald_tests::{HTTP_TIMEOUT, new_account, stack_var};

use crate::notifications::{log_of, outcomes, unique};
use serde_json::{Value, json};

/// How long the local stack may take to notify, send and log.
const WAIT: Duration = Duration::from_secs(60);

/// The event the rules here turn into notifications.
const EVENT: &str = "message.received";

/// The notification type the rules here use.
const TYPE: &str = "message-received";

/// WebDriver's Enter key.
const ENTER: &str = "\u{E007}";

/// The screenshot (and axe results) name of a page of this module.
fn shot(page: &str) -> String {
    format!("notification_pages-{page}")
}

/// A plain HTTP client, as a mail client or a link scanner: no cookies, no credentials, no
/// redirects followed.
fn plain_http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// The status and text of a plain `GET url`.
async fn plain_get(url: &str) -> (u16, String) {
    let reply = plain_http()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = reply.status().as_u16();
    (status, reply.text().await.expect("a body"))
}

/// The status and text of a plain form `POST url` with `body`.
async fn plain_post(url: &str, body: &'static str) -> (u16, String) {
    let reply = plain_http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = reply.status().as_u16();
    (status, reply.text().await.expect("a body"))
}

/// The type [`TYPE`] on `channels`, each on by default and changeable by any recipient.
async fn notification_type(api: &Api, account: &AccountId, channels: Value) {
    let reply = api
        .put(
            &format!("/accounts/{account}/notification-types/{TYPE}"),
            json!({"name": "Message received",
                   "description": "When someone sends you a message.",
                   "channels": channels}),
        )
        .await;
    assert!(
        (200..300).contains(&reply.status),
        "{} {:?}",
        reply.status,
        reply.body
    );
}

/// A rule telling each of the event's recipients by email (its text holding the preference
/// link) and by SMS; its id.
async fn rule(api: &Api, account: &AccountId) -> String {
    let reply = api
        .post(
            &format!("/accounts/{account}/notification-rules"),
            json!({"name": "Tell the recipient", "eventName": EVENT, "type": TYPE,
                   "recipients": {"path": "eventData.recipients[*]"},
                   "templates": {
                       "email": {"en": {"subject": "{{ data.subject }}",
                                        "text": "Hi {{ recipient.name }}, a new message.\n\
                                                 Your notification preferences: \
                                                 {{ preferences_url }}\n"}},
                       "sms": {"en": {"text": "{{ data.subject }}"}}}}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body["id"].as_str().expect("id").to_owned()
}

/// Publishes [`EVENT`] with `subject` for the recipient `recipient`.
async fn publish(api: &Api, account: &AccountId, subject: &str, recipient: Value) {
    let reply = api
        .post(
            &format!("/accounts/{account}/events"),
            json!({"sender": "inbox", "eventName": EVENT,
                   "eventData": {"subject": subject, "recipients": [recipient]}}),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
}

/// `recipient`'s preferences as the API reads them: the type [`TYPE`]'s channels.
async fn channels_of(api: &Api, account: &AccountId, recipient: &str) -> Value {
    let reply = api
        .get(&format!(
            "/accounts/{account}/recipients/{recipient}/preferences"
        ))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let types = reply.body["types"].as_array().cloned().unwrap_or_default();
    types
        .into_iter()
        .find(|t| t["key"] == TYPE)
        .unwrap_or_else(|| panic!("no {TYPE} in {:?}", reply.body))["channels"]
        .clone()
}

/// The email SES (moto) sent with `subject`, waited for.
async fn ses_email(subject: &str) -> Value {
    let url = format!("{}/moto-api/data.json", stack_var("AWS_ENDPOINT_URL"));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let data: Value = reqwest::get(&url)
            .await
            .expect("moto")
            .json()
            .await
            .expect("JSON");
        let sent: Vec<Value> = data["ses"]["Message"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["subject"] == subject)
            .cloned()
            .collect();
        if let Some(first) = sent.first() {
            assert_eq!(sent.len(), 1, "{sent:#?}");
            return first.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no email {subject:?} sent through SES after {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The whole messages the local SMTP servers accepted with `subject`.
fn smtp_received(subject: &str) -> Vec<String> {
    std::fs::read_to_string(stack_var("HERALD_TEST_SMTP_LOG"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|m| m["data"].as_str().map(str::to_owned))
        .filter(|d| d.contains(subject))
        .collect()
}

/// The one message with `subject` the local SMTP servers accepted, waited for.
async fn smtp_email(subject: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = smtp_received(subject);
        if let Some(first) = got.first() {
            assert_eq!(got.len(), 1, "{got:#?}");
            return first.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no email {subject:?} accepted by the SMTP servers after {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The header `name` of the MIME message `raw` (unfolded, trimmed), if it has one.
fn mime_header(raw: &str, name: &str) -> Option<String> {
    let raw = raw.replace("\r\n", "\n");
    let head = raw.split("\n\n").next().unwrap_or_default();
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// The URL in `text` that starts with `prefix`: up to the next space or line end.
fn url_in(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix}… in {text:?}"));
    text[start..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// `url` with one character of its token (the part after the last `/`) changed: one in the
/// middle of the signed payload.
fn tampered(url: &str) -> String {
    let cut = url.rfind('/').expect("a path") + 1;
    let (base, token) = url.split_at(cut);
    let mut chars: Vec<char> = token.chars().collect();
    let at = chars.len() / 4;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    let changed: String = chars.into_iter().collect();
    assert_ne!(changed, token);
    format!("{base}{changed}")
}

/// A fresh account with the type (email and SMS, both on by default) and the rule, and
/// [`EVENT`] published for `ann`: the account, its API, and the preference link of the email
/// SES sent her.
async fn notified_through_ses() -> (AccountId, Api, String) {
    let account = new_account();
    let api = Api::internal(account.as_str());
    notification_type(
        &api,
        &account,
        json!({"email": {"default": true}, "sms": {"default": true}}),
    )
    .await;
    rule(&api, &account).await;
    let subject = unique("New message");
    publish(
        &api,
        &account,
        &subject,
        json!({"id": "ann", "name": "Ann", "email": "ann@example.com"}),
    )
    .await;
    let entries = log_of(&api, &account, "ann", 2).await;
    assert_eq!(outcomes(&entries, "email"), ["sent"], "{entries:#?}");

    let email = ses_email(&subject).await;
    let body = email["body"].as_str().unwrap_or_default();
    assert!(body.contains("Hi Ann, a new message."), "{email}");
    let prefix = format!(
        "{}/dashboard/preferences/",
        stack_var("HERALD_TEST_API_URL")
    );
    let url = url_in(body, &prefix);
    assert!(url.len() > prefix.len() + 20, "{url}");
    (account, api, url)
}

/// A browser whose relative URLs go to the local stack's API (the dashboard is under it).
async fn browser() -> Browser {
    let mut browser = Browser::start().await;
    browser.set_base_url(&stack_var("HERALD_TEST_API_URL"));
    browser
}

// ------------------------------------------------------------------- the recipient's pages

/// Ann opens the preference link of her email, turns SMS off by keyboard and saves; the API
/// reads her choice back.
#[tokio::test]
async fn notification_pages_a_recipient_turns_sms_off_through_the_link_in_the_email() {
    let (account, api, url) = notified_through_ses().await;
    let before = channels_of(&api, &account, "ann").await;
    assert_eq!(before["sms"]["on"], true, "{before}");
    assert_eq!(before["sms"]["because"], "account", "{before}");

    let b = browser().await;
    b.goto(&url).await;
    assert_eq!(b.text_of("h1").await, "Notification preferences");
    assert!(b.find_all("nav").await.is_empty(), "no navigation");
    assert!(b.cookie("herald-session").await.is_none(), "no session");
    let legend = b.text_of("fieldset legend").await;
    assert_eq!(legend, "Message received");
    let email = b.by_label("Email").await;
    let sms = b.by_label("SMS").await;
    assert_eq!(email.is_selected().await.ok(), Some(true));
    assert_eq!(sms.is_selected().await.ok(), Some(true));
    b.check_page(&shot("recipient-preferences")).await;

    // By keyboard: Space on the SMS box clears it, Enter on the button saves.
    sms.send_keys(" ").await.expect("Space on SMS");
    assert_eq!(
        sms.is_selected().await.ok(),
        Some(false),
        "Space clears SMS"
    );
    b.button("Save preferences")
        .await
        .send_keys(ENTER)
        .await
        .expect("Enter on Save");
    b.settle().await;
    b.wait_for_text("Your preferences are saved.").await;
    assert_eq!(b.text_of("h1").await, "Notification preferences");
    assert_eq!(
        b.by_label("SMS").await.is_selected().await.ok(),
        Some(false)
    );
    assert_eq!(
        b.by_label("Email").await.is_selected().await.ok(),
        Some(true)
    );
    b.check_page(&shot("recipient-preferences-saved")).await;

    let after = channels_of(&api, &account, "ann").await;
    assert_eq!(after["sms"]["on"], false, "{after}");
    assert_eq!(after["sms"]["choice"], false, "{after}");
    assert_eq!(after["sms"]["because"], "recipient", "{after}");
    assert_eq!(after["email"]["on"], true, "{after}");
    b.close().await;
}

/// A link with one character changed is refused with a plain page, not an error of the
/// server, and changes nothing.
#[tokio::test]
async fn notification_pages_a_tampered_link_is_refused_with_a_plain_page() {
    let (account, api, url) = notified_through_ses().await;
    let bad = tampered(&url);

    let (status, text) = plain_get(&bad).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("Link not valid"), "{text}");
    assert!(!text.contains("Save preferences"), "{text}");
    let (status, text) = plain_post(&bad, "message-received.email=on").await;
    assert_eq!(status, 400, "{text}");
    let channels = channels_of(&api, &account, "ann").await;
    assert!(channels["sms"]["choice"].is_null(), "{channels}");
    assert!(channels["email"]["choice"].is_null(), "{channels}");

    let b = browser().await;
    b.goto(&bad).await;
    assert_eq!(b.text_of("h1").await, "Link not valid");
    assert!(
        b.page_text()
            .await
            .contains("Open it again from the email."),
        "{}",
        b.page_text().await
    );
    assert!(b.find_all("form").await.is_empty(), "no form");
    b.check_page(&shot("recipient-link-not-valid")).await;
    b.close().await;
}

/// The email sent through the account's SMTP server carries RFC 8058's headers; a mail
/// client's one-click POST to its `List-Unsubscribe` URL turns the type's email off, and the
/// next event's email is not sent. A GET of that URL (a scanner following it) changes nothing.
#[tokio::test]
async fn notification_pages_one_click_unsubscribe_turns_the_types_email_off() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let settings = api
        .put(
            &format!("/accounts/{account}/email-settings"),
            json!({"fromAddressPrefix": "hello", "senderName": "Acme Support",
                   "smtp": {"host": "127.0.0.1", "port": 587,
                            "senderAddress": "hello@acme.example",
                            "disableCertificateValidation": true,
                            "auth": {"type": "basic",
                                     "username": stack_var("HERALD_TEST_SMTP_USER"),
                                     "password": stack_var("HERALD_TEST_SMTP_PASSWORD")}}}),
        )
        .await;
    assert_eq!(settings.status, 200, "{:?}", settings.body);
    notification_type(&api, &account, json!({"email": {"default": true}})).await;
    rule(&api, &account).await;
    let dee = json!({"id": "dee", "name": "Dee", "email": "dee@example.com"});

    let subject = unique("First");
    publish(&api, &account, &subject, dee.clone()).await;
    let entries = log_of(&api, &account, "dee", 1).await;
    assert_eq!(outcomes(&entries, "email"), ["sent"], "{entries:#?}");
    let raw = smtp_email(&subject).await;
    let header = mime_header(&raw, "List-Unsubscribe")
        .unwrap_or_else(|| panic!("no List-Unsubscribe in {raw}"));
    let prefix = format!(
        "<{}/dashboard/unsubscribe/",
        stack_var("HERALD_TEST_API_URL")
    );
    assert!(
        header.starts_with(&prefix) && header.ends_with('>'),
        "{header}"
    );
    assert_eq!(
        mime_header(&raw, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click"),
        "{raw}"
    );
    let url = header
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    let untouched = |c: &Value| c["email"]["on"] == true && c["email"]["choice"].is_null();

    // A link scanner: the GET shows a button and changes nothing.
    let (status, text) = plain_get(&url).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("Unsubscribe"), "{text}");
    let channels = channels_of(&api, &account, "dee").await;
    assert!(untouched(&channels), "{channels}");
    // A POST that does not say One-Click, or to a changed link: refused, nothing changed.
    let (status, text) = plain_post(&url, "List-Unsubscribe=No").await;
    assert_eq!(status, 400, "{text}");
    let (status, text) = plain_post(&tampered(&url), "List-Unsubscribe=One-Click").await;
    assert_eq!(status, 400, "{text}");
    let channels = channels_of(&api, &account, "dee").await;
    assert!(untouched(&channels), "{channels}");

    // The mail client's one-click POST.
    let (status, text) = plain_post(&url, "List-Unsubscribe=One-Click").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("Unsubscribed"), "{text}");
    let channels = channels_of(&api, &account, "dee").await;
    assert_eq!(channels["email"]["on"], false, "{channels}");
    assert_eq!(channels["email"]["choice"], false, "{channels}");
    assert_eq!(channels["email"]["because"], "recipient", "{channels}");

    let again = unique("Second");
    publish(&api, &account, &again, dee).await;
    let entries = log_of(&api, &account, "dee", 2).await;
    assert_eq!(
        outcomes(&entries, "email"),
        ["sent", "suppressed_preference"],
        "{entries:#?}"
    );
    assert!(
        smtp_received(&again).is_empty(),
        "an email after unsubscribing"
    );

    // The GET once more, after: still only the confirmation page, the choice kept.
    let (status, text) = plain_get(&url).await;
    assert_eq!(status, 200, "{text}");
    let channels = channels_of(&api, &account, "dee").await;
    assert_eq!(channels["email"]["choice"], false, "{channels}");
}

// --------------------------------------------------------------- the administrator's pages

/// An admin goes through the notification pages as a person does: the rules, a rule's edit
/// form and its preview, the types and a type, a recipient's preferences and the log.
#[tokio::test]
async fn notification_pages_the_admin_pages_render_accessibly() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    notification_type(
        &api,
        &account,
        json!({"email": {"default": true}, "sms": {"default": false}}),
    )
    .await;
    let rule_id = rule(&api, &account).await;
    let preferences = api
        .put(
            &format!("/accounts/{account}/recipients/ann/preferences"),
            json!({"types": {TYPE: {"sms": true}}}),
        )
        .await;
    assert_eq!(preferences.status, 200, "{:?}", preferences.body);
    publish(
        &api,
        &account,
        &unique("Logged"),
        json!({"id": "ann", "name": "Ann", "email": "ann@example.com"}),
    )
    .await;
    log_of(&api, &account, "ann", 2).await;

    let b = browser().await;
    let reply = api
        .post(
            &format!("/accounts/{account}/dashboard-sessions"),
            json!({"role": "admin", "organization": "Acme Group"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    b.goto(reply.body["url"].as_str().expect("a sign-in link"))
        .await;
    let base = format!("/dashboard/accounts/{account}/notifications");
    assert_eq!(
        b.current_url().await.path(),
        format!("/dashboard/accounts/{account}"),
        "the link lands on the overview"
    );

    b.click(r#"nav[aria-label="Sections"] a[href$="/notifications/rules"]"#)
        .await;
    assert_eq!(b.current_url().await.path(), format!("{base}/rules"));
    assert_eq!(b.text_of("main h1").await, "Notification rules");
    assert!(
        b.page_text().await.contains("Tell the recipient"),
        "{}",
        b.page_text().await
    );
    b.check_page(&shot("admin-rules")).await;

    b.click("Tell the recipient").await;
    assert_eq!(
        b.current_url().await.path(),
        format!("{base}/rules/{rule_id}")
    );
    assert_eq!(b.text_of("main h1").await, "Rule Tell the recipient");
    let text = b
        .by_label("Text")
        .await
        .prop("value")
        .await
        .expect("the text's value")
        .unwrap_or_default();
    assert!(text.contains("{{ preferences_url }}"), "{text}");
    b.check_page(&shot("admin-rule-edit")).await;

    b.fill(
        "Event data (JSON)",
        r#"{"subject": "Preview subject", "recipients": [{"id": "ann", "name": "Ann", "email": "ann@example.com"}]}"#,
    )
    .await;
    b.click("Preview").await;
    assert_eq!(
        b.current_url().await.path(),
        format!("{base}/rules/{rule_id}/preview")
    );
    b.wait_for("section.preview-result article.preview-recipient")
        .await;
    let result = b.text_of("section.preview-result").await;
    assert!(
        result.contains("To ann") && result.contains("Preview subject"),
        "{result}"
    );
    b.check_page(&shot("admin-rule-preview")).await;

    b.click(r#"nav.tabs a[href$="/notifications/types"]"#).await;
    assert_eq!(b.text_of("main h1").await, "Notification types");
    b.check_page(&shot("admin-types")).await;
    b.click("Message received").await;
    assert_eq!(b.current_url().await.path(), format!("{base}/types/{TYPE}"));
    assert_eq!(
        b.text_of("main h1").await,
        "Notification type Message received"
    );
    b.check_page(&shot("admin-type")).await;

    b.click(r#"nav.tabs a[href$="/notifications/preferences"]"#)
        .await;
    assert_eq!(b.text_of("main h1").await, "Recipient preferences");
    b.check_page(&shot("admin-preferences-lookup")).await;
    b.fill("Recipient id", "ann").await;
    b.click("Show preferences").await;
    b.wait_for("main table caption").await;
    assert_eq!(b.text_of("main table caption").await, "Preferences of ann");
    b.check_page(&shot("admin-preferences")).await;

    b.click(r#"nav.tabs a[href$="/notifications/log"]"#).await;
    assert_eq!(b.text_of("main h1").await, "Notification log");
    let rows = b.find_all("main tbody tr").await;
    assert_eq!(rows.len(), 2, "{}", b.page_text().await);
    b.check_page(&shot("admin-log")).await;
    b.close().await;
}
