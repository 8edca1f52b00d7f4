//! The dashboard in a real browser (headless Chromium) against the local stack, used as a
//! person uses it: signed in through the platform's link, clicking, typing and reading what
//! the pages show; what a page changed is read back through the API. Every page state visited
//! is photographed and checked with axe-core (`check_page`), at desktop width and, for some,
//! at phone width; the SMS form is also filled and submitted by keyboard alone.

use herald::common::account::AccountId;
use herald_tests::api::Api;
use herald_tests::browser::Browser;
use herald_tests::{new_account, stack_var};
use serde_json::{Value, json};

/// The WebDriver keys: Tab, Enter, Control (held until NULL releases it).
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
const CONTROL: &str = "\u{E009}";
const RELEASE: &str = "\u{E000}";

/// The texts of the links and buttons a person can see now.
const VISIBLE_CONTROLS: &str = "
    const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    return Array.from(document.querySelectorAll('a[href], button, input[type=submit]'))
        .filter(visible)
        .map(el => (el.getAttribute('aria-label') || el.textContent || el.value || '')
            .replace(/\\s+/g, ' ').trim());";

/// A browser signed in to a fresh account, with an API client for the same account.
struct Signed {
    browser: Browser,
    account: AccountId,
    api: Api,
}

impl Signed {
    /// An admin of a fresh account, signed in.
    async fn admin() -> Self {
        Self::start("admin", &[]).await
    }

    /// A fresh account's session of `role`, covering `others` too (their accounts), signed in
    /// through the link the platform would open.
    async fn start(role: &str, others: &[&AccountId]) -> Self {
        let account = new_account();
        let mut covered = vec![account.to_string()];
        covered.extend(others.iter().map(ToString::to_string));
        let api = Api::internal(&covered.join(" "));
        let url = link(&api, &account, role, others).await;
        let browser = Browser::start().await;
        browser.goto(&url).await;
        assert_eq!(
            browser.current_url().await.path(),
            format!("/dashboard/accounts/{account}"),
            "the link lands on the overview"
        );
        Self {
            browser,
            account,
            api,
        }
    }

    /// The dashboard's page `rest` of this account.
    fn page(&self, rest: &str) -> String {
        page_url(&self.account, rest)
    }

    async fn goto(&self, rest: &str) {
        self.browser.goto(&self.page(rest)).await;
    }

    /// The API's answer to `GET /accounts/{account}{rest}`, which must succeed.
    async fn read(&self, rest: &str) -> Value {
        let reply = self
            .api
            .get(&format!("/accounts/{}{rest}", self.account))
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.body
    }
}

fn page_url(account: &AccountId, rest: &str) -> String {
    format!(
        "{}/dashboard/accounts/{account}{rest}",
        stack_var("HERALD_TEST_API_URL")
    )
}

/// A one-time sign-in link for `account`, as the platform asks for it.
async fn link(api: &Api, account: &AccountId, role: &str, others: &[&AccountId]) -> String {
    let mut body = json!({"role": role, "organization": "Acme Group"});
    if !others.is_empty() {
        body["accounts"] = json!(others.iter().map(ToString::to_string).collect::<Vec<_>>());
    }
    let reply = api
        .post(&format!("/accounts/{account}/dashboard-sessions"), body)
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body["url"].as_str().expect("a url").to_owned()
}

async fn visible_controls(browser: &Browser) -> Vec<String> {
    browser
        .script(VISIBLE_CONTROLS, vec![])
        .await
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The value of the field labelled `label`.
async fn value_of(browser: &Browser, label: &str) -> String {
    browser
        .by_label(label)
        .await
        .prop("value")
        .await
        .unwrap_or_else(|e| panic!("the value of {label:?}: {e}"))
        .unwrap_or_default()
}

/// Whether the `<dialog>` `id` is open.
async fn dialog_open(browser: &Browser, id: &str) -> bool {
    browser
        .script(
            "const d = document.getElementById(arguments[0]); return !!(d && d.open);",
            vec![json!(id)],
        )
        .await
        == Value::Bool(true)
}

/// The `id` (or, lacking one, the text) of the focused element.
async fn focused(browser: &Browser) -> String {
    browser
        .script(
            "const e = document.activeElement;
             return e ? (e.id || e.textContent.trim()) : '';",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Sends `keys` to the focused element, as typed on a keyboard.
async fn keys(browser: &Browser, keys: &str) {
    browser
        .client()
        .active_element()
        .await
        .unwrap_or_else(|e| panic!("the focused element: {e}"))
        .send_keys(keys)
        .await
        .unwrap_or_else(|e| panic!("typing {keys:?}: {e}"));
}

// ------------------------------------------------------------------------------- sessions

#[tokio::test]
async fn a_link_signs_in_once_and_sign_out_ends_the_session() {
    let account = new_account();
    let api = Api::internal(account.as_str());
    let url = link(&api, &account, "admin", &[]).await;
    let browser = Browser::start().await;

    browser.goto(&url).await;
    assert_eq!(
        browser.current_url().await.path(),
        format!("/dashboard/accounts/{account}")
    );
    assert_eq!(browser.text_of("main h1").await, "Overview");
    assert!(
        !browser.current_url().await.as_str().contains("token="),
        "the token left the address bar"
    );
    let cookie = browser
        .cookie("herald-session")
        .await
        .expect("a session cookie");
    assert_eq!(cookie.http_only(), Some(true), "{cookie:?}");
    assert!(!cookie.value().is_empty());
    let topbar = browser.text_of("header.topbar").await;
    assert!(
        topbar.contains("Acme Group") && topbar.contains(account.as_str()),
        "{topbar}"
    );
    assert!(!topbar.contains("View only"), "{topbar}");
    browser.check_page("dashboard_pages-session-overview").await;

    // The link again: used up, while the session it opened goes on.
    browser.goto(&url).await;
    assert_eq!(browser.text_of("h1").await, "Sign-in link expired");
    assert!(
        browser
            .page_text()
            .await
            .contains("expired or was already used"),
        "{}",
        browser.page_text().await
    );
    browser
        .check_page("dashboard_pages-session-link-used")
        .await;
    browser.goto(&page_url(&account, "")).await;
    assert_eq!(browser.text_of("main h1").await, "Overview");

    browser.click("Sign out").await;
    // The overview stays on screen until the sign-out's answer replaces it.
    browser.wait_for_text("You are signed out.").await;
    assert_eq!(browser.text_of("h1").await, "Signed out");
    assert!(browser.page_text().await.contains("You are signed out."));
    assert!(
        browser.cookie("herald-session").await.is_none(),
        "the cookie is removed"
    );
    browser
        .check_page("dashboard_pages-session-signed-out")
        .await;

    // Any page afterwards: signed out, nothing of the account shown.
    browser.goto(&page_url(&account, "/sms")).await;
    assert_eq!(browser.text_of("h1").await, "Signed out");
    let text = browser.page_text().await;
    assert!(text.contains("Your session has ended"), "{text}");
    assert!(!text.contains("Sender name"), "{text}");
    browser
        .check_page("dashboard_pages-session-signed-out-page")
        .await;
    browser.close().await;
}

#[tokio::test]
async fn a_viewer_sees_the_settings_and_no_control_that_changes_them() {
    let s = Signed::start("viewer", &[]).await;
    s.api
        .save_sms_settings(s.account.as_str(), "twilio", Some("vonage"))
        .await;
    let domain = format!(
        "view-{}.com",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let added = s
        .api
        .post(
            &format!("/accounts/{}/domains", s.account),
            json!({"domain": domain}),
        )
        .await;
    assert_eq!(added.status, 201, "{:?}", added.body);

    let b = &s.browser;
    let forbidden = [
        "Edit",
        "Add a domain",
        "Add a subscription",
        "Reset to defaults",
        "Add domain",
        "Delete",
        "Verify DNS",
        "Use domain",
        "Save",
    ];
    let domain_page = format!("/email/domains/{domain}");
    let pages = [
        ("", "Overview", "dashboard_pages-viewer-overview"),
        ("/sms", "SMS", "dashboard_pages-viewer-sms"),
        ("/email", "Email", "dashboard_pages-viewer-email"),
        ("/email/domains", "Email", "dashboard_pages-viewer-domains"),
        (
            domain_page.as_str(),
            domain.as_str(),
            "dashboard_pages-viewer-domain",
        ),
    ];
    for (rest, title, shot) in pages {
        s.goto(rest).await;
        assert_eq!(b.text_of("main h1").await, title, "{rest}");
        assert!(
            b.text_of("header.topbar").await.contains("View only"),
            "{rest}"
        );
        let controls = visible_controls(b).await;
        for control in &controls {
            assert!(
                !forbidden
                    .iter()
                    .any(|f| control == f || control.starts_with(&format!("{f} "))),
                "{rest} offers {control:?} to a viewer: {controls:?}"
            );
        }
        assert!(
            b.find_all("main form").await.is_empty(),
            "{rest} has a form for a viewer"
        );
        b.check_page(shot).await;
    }

    // What the viewer sees is the account's, all the same.
    s.goto("/sms").await;
    let facts = b.text_of("dl.facts").await;
    assert!(
        facts.contains("Acme") && facts.contains("Twilio") && facts.contains("Vonage"),
        "{facts}"
    );
    s.goto("/email/domains").await;
    assert!(b.text_of("main table").await.contains(&domain));
    // An edit page typed in: back to the page it edits.
    s.goto("/sms/edit").await;
    assert_eq!(b.text_of("main h1").await, "SMS");
    assert!(!b.is_visible("#f-senderName").await);
    s.browser.close().await;
}

#[tokio::test]
async fn two_accounts_switch_in_the_top_bar_and_a_third_is_not_found() {
    let second = new_account();
    let s = Signed::start("admin", &[&second]).await;
    let b = &s.browser;
    s.api
        .save_sms_settings(second.as_str(), "vonage", None)
        .await;

    let topbar = b.text_of("header.topbar").await;
    assert!(topbar.contains("Acme Group"), "{topbar}");
    let options: Vec<String> = b
        .script(
            "return Array.from(document.querySelectorAll('#account-switch option'))
                 .map(o => (o.selected ? '*' : '') + o.value);",
            vec![],
        )
        .await
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        options,
        vec![format!("*{}", s.account), second.to_string()],
        "both accounts, the current one chosen"
    );
    b.check_page("dashboard_pages-accounts-first").await;

    b.select("Account", second.as_str()).await;
    b.click("Switch").await;
    b.wait_for_text("SMS messages").await;
    assert_eq!(
        b.current_url().await.path(),
        format!("/dashboard/accounts/{second}")
    );
    assert_eq!(b.text_of("main h1").await, "Overview");
    assert_eq!(
        value_of(b, "Account").await,
        second.as_str(),
        "the switcher shows the account now open"
    );
    let sms = b.text_of("section[aria-labelledby=ov-sms]").await;
    assert!(
        sms.contains("Acme") && sms.contains("Vonage"),
        "the second account's settings: {sms}"
    );
    b.check_page("dashboard_pages-accounts-second").await;

    // An account the session does not cover: as if it did not exist.
    let third = new_account();
    b.goto(&page_url(&third, "")).await;
    assert_eq!(b.text_of("h1").await, "Not found");
    b.check_page("dashboard_pages-accounts-not-found").await;
    b.goto(&page_url(&third, "/sms")).await;
    assert_eq!(b.text_of("h1").await, "Not found");
    s.browser.close().await;
}

// ------------------------------------------------------------------------------- overview

#[tokio::test]
async fn the_overview_shows_the_settings_the_api_saved() {
    let s = Signed::admin().await;
    let b = &s.browser;
    let sms = b.text_of("section[aria-labelledby=ov-sms]").await;
    assert!(
        sms.contains("Herald") && sms.contains("Amazon SNS") && sms.contains("Off"),
        "the defaults: {sms}"
    );
    assert!(
        b.text_of("section[aria-labelledby=ov-domains]")
            .await
            .contains("No sending domain yet")
    );
    b.check_page("dashboard_pages-overview-defaults").await;

    s.api
        .save_sms_settings(s.account.as_str(), "twilio", Some("vonage"))
        .await;
    s.goto("").await;
    let sms = b.text_of("section[aria-labelledby=ov-sms]").await;
    assert!(
        sms.contains("Sender name\nAcme")
            && sms.contains("Primary provider\nTwilio")
            && sms.contains("Secondary provider\nVonage"),
        "{sms}"
    );
    b.check_page("dashboard_pages-overview-saved").await;
    b.click("SMS settings").await;
    assert_eq!(b.text_of("main h1").await, "SMS");
    s.browser.close().await;
}

// ------------------------------------------------------------------------------------ SMS

#[tokio::test]
async fn sms_settings_are_edited_refused_fixed_saved_and_reset() {
    let s = Signed::admin().await;
    let b = &s.browser;
    s.goto("/sms").await;
    assert_eq!(b.text_of("main h1").await, "SMS");
    b.check_page("dashboard_pages-sms").await;

    b.click("Edit").await;
    assert_eq!(b.text_of("main h1").await, "Edit SMS settings");
    assert_eq!(value_of(b, "Sender name").await, "Herald");
    b.check_page("dashboard_pages-sms-edit").await;

    // A dot, which Twilio refuses: the message next to the field, what was typed kept.
    b.fill("Sender name", "Acme.Sign").await;
    b.select("Primary provider", "Twilio").await;
    b.click("Save").await;
    let error = b.text_of("#f-senderName-error").await;
    assert!(
        error.contains("Twilio") && error.contains("dots"),
        "{error}"
    );
    assert_eq!(value_of(b, "Sender name").await, "Acme.Sign");
    assert_eq!(
        b.by_label("Sender name")
            .await
            .attr("aria-invalid")
            .await
            .expect("an attribute"),
        Some("true".to_owned())
    );
    assert_eq!(value_of(b, "Primary provider").await, "twilio");
    b.check_page("dashboard_pages-sms-error").await;
    assert_eq!(
        s.read("/sms-settings").await["senderName"],
        "Herald",
        "nothing saved"
    );

    b.fill("Sender name", "AcmeSign").await;
    b.select("Secondary provider", "Vonage").await;
    b.click("Save").await;
    assert_eq!(b.text_of("main h1").await, "SMS");
    let facts = b.text_of("dl.facts").await;
    assert!(
        facts.contains("Sender name\nAcmeSign")
            && facts.contains("Primary provider\nTwilio")
            && facts.contains("Secondary provider\nVonage"),
        "{facts}"
    );
    assert!(!b.is_visible(".error").await);
    b.check_page("dashboard_pages-sms-saved").await;
    assert_eq!(
        s.read("/sms-settings").await,
        json!({"senderName": "AcmeSign", "primaryProvider": "twilio",
               "secondaryProvider": "vonage"})
    );

    // Reset asks in a dialog: Cancel keeps everything.
    assert!(!dialog_open(b, "reset-dialog").await);
    b.click("Reset to defaults").await;
    assert!(dialog_open(b, "reset-dialog").await, "the dialog opened");
    let url = b.current_url().await;
    assert!(
        url.path().ends_with("/sms"),
        "the dialog opens over the page: {url}"
    );
    assert!(
        b.text_of("#reset-dialog")
            .await
            .contains("Reset SMS settings?")
    );
    b.check_page("dashboard_pages-sms-reset-dialog").await;
    b.click("Cancel").await;
    assert!(!dialog_open(b, "reset-dialog").await, "Cancel closed it");
    assert_eq!(s.read("/sms-settings").await["senderName"], "AcmeSign");

    b.click("Reset to defaults").await;
    assert!(dialog_open(b, "reset-dialog").await);
    b.click("#reset-dialog button.danger").await;
    b.wait_for_text("Amazon SNS").await;
    assert_eq!(b.text_of("main h1").await, "SMS");
    let facts = b.text_of("dl.facts").await;
    assert!(
        facts.contains("Sender name\nHerald")
            && facts.contains("Primary provider\nAmazon SNS")
            && facts.contains("Secondary provider\nOff"),
        "{facts}"
    );
    b.check_page("dashboard_pages-sms-reset").await;
    assert_eq!(
        s.read("/sms-settings").await,
        json!({"senderName": "Herald", "primaryProvider": "sns", "secondaryProvider": null})
    );
    s.browser.close().await;
}

// ---------------------------------------------------------------------------------- email

#[tokio::test]
async fn email_settings_take_an_smtp_server_whose_password_is_never_shown() {
    const PASSWORD: &str = "local-smtp-password";
    let s = Signed::admin().await;
    let b = &s.browser;
    s.goto("/email").await;
    assert_eq!(b.text_of("main h1").await, "Email");
    b.check_page("dashboard_pages-email").await;

    b.click("Edit").await;
    assert_eq!(b.text_of("main h1").await, "Edit email settings");
    assert!(
        !b.is_visible("#f-smtp-host").await,
        "the SMTP fields wait for the box"
    );
    b.check_page("dashboard_pages-email-edit").await;

    b.set_checked("Use my own SMTP server", true).await;
    b.wait_for("#f-smtp-host").await;
    assert!(
        !b.is_visible("#f-smtp-auth-username").await,
        "no username without authentication"
    );
    b.set_checked("Username and password", true).await;
    b.wait_for("#f-smtp-auth-username").await;
    assert!(b.is_visible("#f-smtp-auth-password").await);
    assert!(
        !b.is_visible("#f-smtp-auth-clientId").await,
        "XOAuth2's fields stay hidden"
    );
    b.check_page("dashboard_pages-email-edit-smtp").await;

    // A private address: refused next to the host, what was typed kept.
    b.fill("Host address", "10.0.0.5").await;
    b.select("Port", "587").await;
    b.fill("Sender address", "noreply@example.com").await;
    b.fill("Username", "herald").await;
    b.fill("Password", PASSWORD).await;
    b.click("Save").await;
    let error = b.text_of("#f-smtp-host-error").await;
    assert!(error.contains("private"), "{error}");
    assert_eq!(value_of(b, "Host address").await, "10.0.0.5");
    assert_eq!(value_of(b, "Username").await, "herald");
    assert_eq!(
        value_of(b, "Password").await,
        "",
        "a secret is never sent back"
    );
    assert!(
        b.text_of("#f-smtp-auth-password-hint")
            .await
            .contains("Type the new password again")
    );
    assert!(b.is_visible("#f-smtp-host").await, "the fields stay shown");
    b.check_page("dashboard_pages-email-error").await;
    assert!(s.read("/email-settings").await["smtp"].is_null());

    b.fill("Host address", "smtp.example.com").await;
    b.fill("Password", PASSWORD).await;
    b.click("Save").await;
    b.wait_for_text("Email settings saved.").await;
    let facts = b.text_of("main").await;
    for shown in [
        "Use my own SMTP server\nOn",
        "Host\nsmtp.example.com",
        "Port\n587",
        "Sender address\nnoreply@example.com",
        "Authentication\nUsername and password",
        "Username\nherald",
        "Password\nSet",
    ] {
        assert!(facts.contains(shown), "{shown:?} in:\n{facts}");
    }
    assert!(!facts.contains(PASSWORD));
    let source = b.client().source().await.expect("the page source");
    assert!(!source.contains(PASSWORD), "the password is in the page");
    b.check_page("dashboard_pages-email-saved").await;
    let settings = s.read("/email-settings").await;
    let smtp = &settings["smtp"];
    assert_eq!(smtp["host"], "smtp.example.com");
    assert_eq!(smtp["port"], 587);
    assert_eq!(smtp["senderAddress"], "noreply@example.com");
    assert_eq!(smtp["auth"]["type"], "basic");
    assert_eq!(smtp["auth"]["username"], "herald");
    assert!(smtp["auth"]["password"].is_string());
    assert_ne!(smtp["auth"]["password"], PASSWORD);

    // Editing again keeps the stored password when its field is left empty.
    b.click("Edit").await;
    assert!(
        b.text_of("#f-smtp-auth-password-hint")
            .await
            .contains("Leave empty to keep the stored password")
    );
    assert_eq!(value_of(b, "Password").await, "");
    assert!(
        !b.client()
            .source()
            .await
            .expect("the page source")
            .contains(PASSWORD)
    );
    b.click("Cancel").await;

    b.click("Reset to defaults").await;
    assert!(dialog_open(b, "reset-dialog").await, "the dialog opened");
    assert!(b.current_url().await.path().ends_with("/email"));
    assert!(
        b.text_of("#reset-dialog")
            .await
            .contains("Reset email settings?")
    );
    b.check_page("dashboard_pages-email-reset-dialog").await;
    b.click("Cancel").await;
    assert!(!dialog_open(b, "reset-dialog").await);
    assert!(s.read("/email-settings").await["smtp"].is_object());
    b.click("Reset to defaults").await;
    b.click("#reset-dialog button.danger").await;
    b.wait_for_text("Email settings reset to defaults.").await;
    assert!(
        b.text_of("main")
            .await
            .contains("Use my own SMTP server\nOff")
    );
    b.check_page("dashboard_pages-email-reset").await;
    let settings = s.read("/email-settings").await;
    assert!(settings["smtp"].is_null(), "{settings}");
    assert_eq!(settings["senderName"], "Herald");
    s.browser.close().await;
}

#[tokio::test]
async fn my_domains_add_check_and_delete_only_by_its_name() {
    let s = Signed::admin().await;
    let b = &s.browser;
    let domain = format!(
        "acme-{}.com",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    s.goto("/email/domains").await;
    assert!(
        b.text_of(".empty").await.contains("No domain yet"),
        "the empty state"
    );
    b.check_page("dashboard_pages-domains-empty").await;

    b.fill("Domain", &domain).await;
    let add = b.button("Add domain").await;
    b.click_on(&add).await;
    b.wait_for_text("Domain added.").await;
    assert_eq!(b.text_of("main h1").await, domain);
    let table = b.text_of("main table").await;
    assert!(table.contains("TXT") && table.contains(&domain), "{table}");
    let rows = b.find_all("main table tbody tr").await.len();
    assert!(rows >= 2, "{rows} DNS records");
    let copies = b.find_all("main table button.copy").await;
    assert!(copies.len() >= 2 * rows, "a Copy for each name and value");
    for copy in &copies {
        assert!(
            copy.is_displayed().await.expect("displayed?"),
            "every Copy button is shown"
        );
    }
    let use_domain = b.button("Use domain").await;
    assert!(
        !use_domain.is_enabled().await.expect("enabled?"),
        "Use domain waits for verification"
    );
    assert!(
        b.page_text()
            .await
            .contains("Use domain becomes available once the domain is verified")
    );
    b.check_page("dashboard_pages-domain-added").await;

    b.click("Verify DNS").await;
    b.wait_for_text("Not verified yet").await;
    let statuses: Vec<String> = b
        .script(
            "return Array.from(document.querySelectorAll('main table tbody tr td .badge'))
                 .map(e => e.textContent.trim());",
            vec![],
        )
        .await
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert_eq!(statuses.len(), rows, "a status per record: {statuses:?}");
    assert!(statuses.iter().all(|s| s == "missing"), "{statuses:?}");
    b.check_page("dashboard_pages-domain-checked").await;
    let api_statuses: Vec<Value> = s.read(&format!("/domains/{domain}")).await["dnsRecords"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert!(
        api_statuses.iter().all(|st| st == "missing"),
        "{api_statuses:?}"
    );

    // Delete asks for the name, in a dialog.
    b.click("Delete").await;
    assert!(dialog_open(b, "delete-dialog").await, "the dialog opened");
    assert!(b.current_url().await.path().ends_with(&domain));
    let label = format!("Type {domain} to confirm");
    b.check_page("dashboard_pages-domain-delete-dialog").await;
    b.fill(&label, "other.com").await;
    b.click("Delete domain").await;
    let error = b.text_of("#f-confirm-error").await;
    assert!(
        error.contains("Type the domain exactly as shown") && error.contains(&domain),
        "{error}"
    );
    assert_eq!(value_of(b, &label).await, "other.com");
    b.check_page("dashboard_pages-domain-delete-refused").await;
    assert_eq!(
        s.read(&format!("/domains/{domain}")).await["domain"],
        domain.as_str(),
        "not deleted"
    );

    b.fill(&label, &domain).await;
    b.click("Delete domain").await;
    b.wait_for_text("The domain was deleted.").await;
    assert!(b.text_of(".empty").await.contains("No domain yet"));
    assert!(!b.page_text().await.contains(&domain));
    b.check_page("dashboard_pages-domains-deleted").await;
    let listed = s.read("/domains").await;
    assert_eq!(listed["items"], json!([]), "{listed}");
    s.browser.close().await;
}

// -------------------------------------------------------------------------- subscriptions

#[tokio::test]
async fn an_amazon_sqs_subscription_is_added_and_shows_the_trust_policy_its_role_needs() {
    const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/acme-events";
    const ROLE: &str = "arn:aws:iam::123456789012:role/herald-sender";
    let s = Signed::admin().await;
    let b = &s.browser;
    s.goto("/subscriptions/new").await;
    assert_eq!(b.text_of("main h1").await, "Add subscription");
    assert!(b.is_visible("#f-url").await, "a webhook to begin with");
    assert!(!b.is_visible("#f-queueUrl").await);

    b.select("Destination", "Amazon SQS").await;
    b.wait_for("#f-queueUrl").await;
    assert!(b.is_visible("#f-roleArn").await);
    for other in ["#f-url", "#f-project", "#f-connectionString", "#f-topicArn"] {
        assert!(!b.is_visible(other).await, "{other} hides");
    }
    b.check_page("dashboard_pages-subscription-sqs-form").await;

    b.fill("Name", "Orders queue").await;
    b.fill("Queue URL (Amazon SQS)", QUEUE).await;
    b.fill("Role ARN", ROLE).await;
    b.click("Add").await;
    b.wait_for("#external-id").await;
    assert_eq!(b.text_of("main h1").await, "Subscription added");
    assert!(
        b.page_text()
            .await
            .contains("Attach this trust policy to the role so Herald can assume it")
    );
    // Read from the pages alone: the API's contract does not list the cloud kinds yet.
    let external_id = b.text_of("#external-id").await;
    assert!(external_id.starts_with("herald-"), "{external_id}");
    let policy: Value =
        serde_json::from_str(&b.text_of("#trust-policy").await).expect("the policy is JSON");
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Action"], "sts:AssumeRole");
    assert_eq!(
        statement["Condition"]["StringEquals"]["sts:ExternalId"],
        external_id.as_str()
    );
    let principal = statement["Principal"]["AWS"].as_str().unwrap_or_default();
    assert!(
        principal.starts_with("arn:aws:iam::") && principal.ends_with(":root"),
        "{principal}"
    );
    b.check_page("dashboard_pages-subscription-sqs-trust-policy")
        .await;

    b.click("Go to the subscription").await;
    assert_eq!(b.text_of("main h1").await, "Orders queue");
    let facts = b.text_of("dl.facts").await;
    assert!(
        facts.contains("Amazon SQS") && facts.contains(QUEUE),
        "{facts}"
    );
    assert_eq!(value_of(b, "Role ARN").await, ROLE);
    assert_eq!(
        b.text_of("#external-id").await,
        external_id,
        "the same, kept"
    );
    b.check_page("dashboard_pages-subscription-sqs-page").await;

    b.click("Subscriptions").await;
    let list = b.text_of("main table").await;
    assert!(
        list.contains("Amazon SQS") && list.contains(QUEUE),
        "{list}"
    );
    b.check_page("dashboard_pages-subscription-sqs-list").await;
    s.browser.close().await;
}

// ------------------------------------------------------------------------ phone, keyboard

/// Whether the page is wider than the viewport (scrolls sideways).
async fn overflows(browser: &Browser) -> Option<(u64, u64)> {
    let v = browser
        .script(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await;
    let (scroll, inner) = (
        v[0].as_u64().unwrap_or_default(),
        v[1].as_u64().unwrap_or_default(),
    );
    (scroll > inner).then_some((scroll, inner))
}

#[tokio::test]
async fn at_phone_width_the_sms_page_and_the_overview_fit() {
    let s = Signed::admin().await;
    let b = &s.browser;
    s.api
        .save_sms_settings(s.account.as_str(), "twilio", Some("vonage"))
        .await;
    b.phone().await;
    for (rest, title, shot) in [
        ("/sms", "SMS", "dashboard_pages-sms-phone"),
        ("", "Overview", "dashboard_pages-overview-phone"),
        (
            "/sms/edit",
            "Edit SMS settings",
            "dashboard_pages-sms-edit-phone",
        ),
    ] {
        s.goto(rest).await;
        assert_eq!(b.text_of("main h1").await, title);
        assert_eq!(b.viewport_size().await.0, 390);
        assert_eq!(
            overflows(b).await,
            None,
            "{title} scrolls sideways (scroll width, viewport width)"
        );
        b.check_page(shot).await;
    }
    s.browser.close().await;
}

/// The account's own provider: its fields only once it is chosen, and a secret Herald makes
/// shown on the page after saving, that once.
#[tokio::test]
async fn my_own_sms_provider_is_asked_for_when_chosen_and_its_secret_shown_once() {
    let s = Signed::admin().await;
    let b = &s.browser;
    s.goto("/sms/edit").await;
    assert!(!b.is_visible("#custom-provider-fields").await);
    b.select("Primary provider", "My own provider").await;
    assert!(b.is_visible("#custom-provider-fields").await);
    b.fill("Provider URL", "https://sms.acme.example/herald")
        .await;
    b.check_page("dashboard_pages-sms-own-provider-form").await;
    b.click("Save").await;
    b.wait_for_text("Copy this secret now").await;
    assert_eq!(b.text_of("main h1").await, "SMS settings saved");
    let secret = b.text_of("#signing-secret").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    b.check_page("dashboard_pages-sms-own-provider-secret")
        .await;
    let stored = s.read("/sms-settings").await;
    assert_eq!(stored["primaryProvider"], "custom");
    assert_eq!(stored["customProvider"]["signingSecret"], "********");

    b.click("Done").await;
    let facts = b.text_of("dl.facts").await;
    assert!(
        facts.contains("Primary provider\nMy own provider")
            && facts.contains("Provider URL\nhttps://sms.acme.example/herald")
            && facts.contains("Signing secret\nSet"),
        "{facts}"
    );
    s.browser.close().await;
}

#[tokio::test]
async fn the_sms_form_is_reached_filled_and_sent_by_keyboard() {
    let s = Signed::admin().await;
    let b = &s.browser;
    s.goto("/sms/edit").await;
    assert_eq!(b.text_of("main h1").await, "Edit SMS settings");

    // The first Tab: the skip link, shown once focused; Enter moves focus to the content.
    keys(b, TAB).await;
    assert_eq!(focused(b).await, "Skip to content");
    assert!(b.is_visible("a.skip").await, "the skip link shows on focus");
    b.check_page("dashboard_pages-keyboard-skip-link").await;
    keys(b, ENTER).await;
    b.settle().await;
    assert_eq!(focused(b).await, "main");

    // From the content: the sender name, the providers, Save.
    keys(b, TAB).await;
    assert_eq!(focused(b).await, "f-senderName");
    keys(b, &format!("{CONTROL}a{RELEASE}Keyed")).await;
    keys(b, TAB).await;
    assert_eq!(focused(b).await, "f-primaryProvider");
    keys(b, "V").await;
    keys(b, TAB).await;
    assert_eq!(focused(b).await, "f-secondaryProvider");
    keys(b, "T").await;
    assert_eq!(value_of(b, "Sender name").await, "Keyed");
    assert_eq!(value_of(b, "Primary provider").await, "vonage");
    assert_eq!(value_of(b, "Secondary provider").await, "twilio");
    keys(b, TAB).await;
    assert_eq!(focused(b).await, "Save");
    keys(b, ENTER).await;
    b.settle().await;
    b.wait_for_text("Secondary provider").await;
    assert_eq!(b.text_of("main h1").await, "SMS");
    let facts = b.text_of("dl.facts").await;
    assert!(
        facts.contains("Sender name\nKeyed")
            && facts.contains("Primary provider\nVonage")
            && facts.contains("Secondary provider\nTwilio"),
        "{facts}"
    );
    assert_eq!(
        s.read("/sms-settings").await,
        json!({"senderName": "Keyed", "primaryProvider": "vonage",
               "secondaryProvider": "twilio"})
    );
    b.check_page("dashboard_pages-keyboard-saved").await;
    s.browser.close().await;
}
