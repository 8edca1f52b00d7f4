//! The browser harness (`herald_tests::browser`) on small pages an in-test server serves on
//! loopback: an accessible sign-up form, a page with serious accessibility faults, and a page
//! whose buttons behave as htmx's do (a request in flight marked `htmx-request`, a confirm).
//! Needs Chromium, ChromeDriver and axe-core (`cargo xtask test` installs them), not the stack.

use std::time::Duration;

use axum::Form;
use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::get;
use herald_tests::browser::{Browser, DESKTOP, PHONE};
use serde_json::Value;

const GOOD: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign up</title>
<style>
  body { font-family: sans-serif; margin: 0; }
  main { max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  label { display: block; margin-top: 1rem; }
  input, select { display: block; font-size: 1rem; padding: .4rem; width: 100%; box-sizing: border-box; }
  label.inline input { display: inline; width: auto; }
  button { margin-top: 1.5rem; font-size: 1rem; padding: .5rem 1.5rem; }
</style></head>
<body>
<header><nav aria-label="Main"><a href="/">Home</a> <a href="/help">Help</a></nav></header>
<main>
  <h1>Sign up</h1>
  <form method="post" action="/signup">
    <label for="name">Name</label>
    <input id="name" name="name" autocomplete="name" required>
    <label>Email address <input type="email" name="email" autocomplete="email"></label>
    <label for="plan">Plan</label>
    <select id="plan" name="plan">
      <option value="free">Free</option>
      <option value="business">Business (monthly)</option>
    </select>
    <label class="inline"><input type="checkbox" name="news" value="yes"> Send me news</label>
    <button type="submit">Sign up</button>
  </form>
</main>
</body></html>"#;

const BAD: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Faulty</title></head>
<body>
<main>
  <h1>Faulty</h1>
  <img src="/pixel.svg" class="logo">
  <form><input type="text" name="q" id="unlabelled"></form>
</main>
</body></html>"#;

/// Buttons that do what htmx does: the button carries `htmx-request` while its request is in
/// flight (here a slow one), then the answer is swapped in; "Delete" asks first.
const HTMXISH: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Rows</title></head>
<body>
<main>
  <h1>Rows</h1>
  <button type="button" id="more">Load more</button>
  <div id="rows"></div>
  <button type="button" id="delete">Delete</button>
  <p id="status"></p>
</main>
<script>
  document.getElementById('more').addEventListener('click', async e => {
    e.target.classList.add('htmx-request');
    const reply = await fetch('/slow-fragment');
    document.getElementById('rows').innerHTML = await reply.text();
    e.target.classList.remove('htmx-request');
  });
  document.getElementById('delete').addEventListener('click', () => {
    if (confirm('Delete every row?')) {
      document.getElementById('rows').innerHTML = '';
      document.getElementById('status').textContent = 'Deleted';
    }
  });
  console.error('rows page loaded');
</script>
</body></html>"#;

type Fields = std::collections::HashMap<String, String>;

/// The pages on a fresh loopback port; its base URL.
async fn serve() -> String {
    let app = Router::new()
        .route(
            "/",
            get(|| async {
                (
                    [(
                        header::SET_COOKIE,
                        "visitor=v-1; Path=/; HttpOnly; SameSite=Lax",
                    )],
                    Html(GOOD),
                )
            }),
        )
        .route(
            "/signup",
            axum::routing::post(|Form(form): Form<Fields>| async move {
                let field = |k: &str| form.get(k).cloned().unwrap_or_default();
                let news = if form.contains_key("news") { "yes" } else { "no" };
                let cookie = format!("signed_up={}; Path=/; SameSite=Lax", field("plan"));
                let to = format!(
                    "/welcome?name={}&email={}&plan={}&news={news}",
                    field("name"),
                    field("email"),
                    field("plan")
                )
                .replace(' ', "%20")
                .replace('@', "%40");
                ([(header::SET_COOKIE, cookie)], Redirect::to(&to))
            }),
        )
        .route(
            "/welcome",
            get(
                |axum::extract::Query(q): axum::extract::Query<Fields>| async move {
                    let field = |k: &str| {
                        q.get(k)
                            .map(|v| v.replace('&', "&amp;").replace('<', "&lt;"))
                            .unwrap_or_default()
                    };
                    Html(format!(
                        r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
                        <title>Welcome</title></head><body><main>
                        <h1>Welcome, {}</h1>
                        <dl><dt>Email</dt><dd id="email">{}</dd><dt>Plan</dt><dd id="plan">{}</dd>
                        <dt>News</dt><dd id="news">{}</dd></dl>
                        </main></body></html>"#,
                        field("name"),
                        field("email"),
                        field("plan"),
                        field("news")
                    ))
                },
            ),
        )
        .route("/bad", get(|| async { Html(BAD) }))
        .route(
            "/long",
            get(|| async {
                let paragraphs = "<p>A paragraph of a long page.</p>".repeat(80);
                Html(format!(
                    r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
                    <meta name="viewport" content="width=device-width, initial-scale=1">
                    <title>Long</title></head><body><main><h1>Long</h1>{paragraphs}</main>
                    </body></html>"#
                ))
            }),
        )
        .route("/rows", get(|| async { Html(HTMXISH) }))
        .route(
            "/slow-fragment",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(700)).await;
                Html("<ul><li>Row 1</li><li>Row 2</li></ul>")
            }),
        )
        .route(
            "/pixel.svg",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "image/svg+xml")],
                    r#"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="teal"/></svg>"#,
                )
                    .into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// A browser whose relative URLs go to a fresh server of the pages above.
async fn browser() -> Browser {
    let base = serve().await;
    let mut browser = Browser::start().await;
    browser.set_base_url(&base);
    browser
}

/// A PNG's width and height, from its header.
fn png_size(path: &std::path::Path) -> (u32, u32) {
    let png = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &png[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is no PNG",
        path.display()
    );
    let be = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    (be(16), be(20))
}

#[tokio::test]
async fn browser_harness_the_accessible_page_passes_axe_and_is_photographed() {
    let browser = browser().await;
    browser.goto("/").await;
    assert_eq!(browser.title().await, "Sign up");
    let report = browser.check_page("browser_harness-sign-up").await;
    assert!(report.failing().is_empty(), "{:?}", report.failing());
    let passes = report.results["passes"].as_array().map_or(0, Vec::len);
    assert!(passes > 10, "axe ran its rules: {passes} passed");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&report.path).expect("the results file"))
            .expect("JSON");
    assert_eq!(saved["testEngine"]["name"], "axe-core");
    let shot = report.path.with_file_name("browser_harness-sign-up.png");
    assert_eq!(png_size(&shot).0, DESKTOP.0, "a desktop-wide screenshot");
    browser.close().await;
}

#[tokio::test]
async fn browser_harness_a_serious_violation_fails_axe_naming_the_rule() {
    let browser = browser().await;
    browser.goto("/bad").await;
    let report = browser.axe_report("browser_harness-bad").await;
    let failure = report.check().expect_err("the faulty page fails");
    for expected in [
        "image-alt [critical] Images must have alternative text",
        "label [critical]",
        r#"at img   <img src="/pixel.svg" class="logo">"#,
        r#"at #unlabelled   <input type="text" name="q" id="unlabelled">"#,
        "browser_harness-bad.axe.json",
    ] {
        assert!(failure.contains(expected), "{expected:?} in:\n{failure}");
    }
    browser.close().await;
}

#[tokio::test]
#[should_panic(expected = "image-alt [critical]")]
async fn browser_harness_check_page_panics_on_a_serious_violation() {
    let browser = browser().await;
    browser.goto("/bad").await;
    browser.check_page("browser_harness-bad-checked").await;
}

#[tokio::test]
async fn browser_harness_a_form_is_filled_submitted_and_its_result_read() {
    let browser = browser().await;
    browser.goto("/").await;
    assert_eq!(
        browser
            .cookie("visitor")
            .await
            .map(|c| c.value().to_owned()),
        Some("v-1".to_owned()),
        "the HttpOnly cookie of the page's answer"
    );
    browser.fill("Name", "Ada Lovelace").await;
    // A label with the field inside it, found by its own words.
    browser.fill("Email address", "ada@example.com").await;
    browser.select("Plan", "Business (monthly)").await;
    browser.set_checked("Send me news", true).await;
    browser.click("Sign up").await;

    let url = browser.current_url().await;
    assert_eq!(url.path(), "/welcome", "{url}");
    assert_eq!(browser.text_of("h1").await, "Welcome, Ada Lovelace");
    assert_eq!(browser.text_of("#email").await, "ada@example.com");
    assert_eq!(browser.text_of("#plan").await, "business");
    assert_eq!(browser.text_of("#news").await, "yes");
    let signed_up = browser.cookie("signed_up").await.expect("set by the POST");
    assert_eq!(signed_up.value(), "business");
    assert!(browser.cookies().await.len() >= 2);
    browser.check_page("browser_harness-welcome").await;

    browser.back().await;
    browser.click("Help").await; // a link, by its text
    assert_eq!(browser.current_url().await.path(), "/help");
    browser.close().await;
}

#[tokio::test]
async fn browser_harness_clicks_wait_for_requests_in_flight_and_dialogs_are_answered() {
    let browser = browser().await;
    browser.goto("/rows").await;
    let console = browser.console().await;
    assert!(
        console
            .iter()
            .any(|m| m.level == "SEVERE" && m.message.contains("rows page loaded")),
        "{console:?}"
    );

    // The fragment takes 700 ms: the click returns once the button has lost `htmx-request`.
    browser.click("Load more").await;
    assert_eq!(browser.text_of("#rows").await, "Row 1\nRow 2");

    browser.click("Delete").await;
    assert_eq!(
        browser.dialog_text().await.as_deref(),
        Some("Delete every row?")
    );
    browser.accept_dialog().await;
    browser.wait_for_text("Deleted").await;
    assert!(!browser.is_visible("#rows li").await);
    browser.close().await;
}

#[tokio::test]
async fn browser_harness_a_phone_is_390_pixels_wide_and_screenshots_hold_the_whole_page() {
    let browser = browser().await;
    browser.goto("/").await;
    browser.phone().await;
    assert_eq!(
        browser.viewport_size().await,
        (u64::from(PHONE.0), u64::from(PHONE.1))
    );
    let report = browser.check_page("browser_harness-sign-up-phone").await;
    let shot = report
        .path
        .with_file_name("browser_harness-sign-up-phone.png");
    assert_eq!(png_size(&shot).0, PHONE.0);
    // The whole page, not only what the viewport shows.
    browser.goto("/long").await;
    let shot = browser.screenshot("browser_harness-long-phone").await;
    let (width, height) = png_size(&shot);
    assert_eq!(width, PHONE.0);
    assert!(height > 2 * PHONE.1, "{height} px high");

    browser.desktop().await;
    assert_eq!(
        browser.viewport_size().await,
        (u64::from(DESKTOP.0), u64::from(DESKTOP.1))
    );
    browser.close().await;
}

#[tokio::test]
#[should_panic(expected = r#"no visible field labelled "Surname""#)]
async fn browser_harness_a_missing_field_fails_naming_what_is_there() {
    let mut browser = browser().await;
    browser.set_timeout(Duration::from_secs(1));
    browser.goto("/").await;
    browser.fill("Surname", "Lovelace").await;
}
