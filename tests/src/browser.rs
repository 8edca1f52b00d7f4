//! A real browser for page tests: headless Chromium driven through ChromeDriver (WebDriver), used
//! as a person uses a page: go to it, find things by what they say (a field by its label, a
//! button or link by its text), type, choose, click, read. Every page can be checked with
//! axe-core and photographed:
//!
//! ```ignore
//! let browser = Browser::start().await;
//! browser.goto(&format!("{api}/dashboard")).await;
//! browser.fill("Sender name", "Acme").await;
//! browser.select("Primary provider", "Twilio").await;
//! browser.click("Save").await;
//! browser.wait_for_text("Saved").await;
//! browser.check_page("dashboard-sms-saved").await; // screenshot + axe, fails on serious issues
//! ```
//!
//! Each [`Browser`] has its own ChromeDriver on a free loopback port and its own Chromium profile
//! in a temporary folder; both go when it is dropped (a test that panics included). Chromium and
//! ChromeDriver are Debian's (`/usr/bin/chromium`, `/usr/bin/chromedriver`, or the paths in
//! `HERALD_CHROMIUM` and `HERALD_CHROMEDRIVER`); axe-core is the version pinned in
//! `tests/browser/package-lock.json`. `cargo xtask test` installs all three.
//!
//! Waiting: every lookup waits (up to [`Browser::set_timeout`], 10 s at first) for what it looks
//! for to be on the page and visible, and [`Browser::goto`], [`Browser::click`] and the form
//! helpers return only once the page has loaded and htmx has no request, swap or settle under
//! way ([`Browser::settle`]). What a request only starts later (an `hx-trigger` with a `delay:`,
//! polling) is waited for with [`Browser::wait_for`] or [`Browser::wait_for_text`].
//!
//! What ChromeDriver logs (warnings and errors; every command with
//! `HERALD_CHROMEDRIVER_LOG_LEVEL=INFO`) is kept in `.herald/test-logs/browser/`; screenshots and axe results in
//! `.herald/test-logs/screenshots/`.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use fantoccini::elements::ElementRef;
use fantoccini::error::CmdError;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub use fantoccini::cookies::Cookie;
pub use fantoccini::elements::Element;
pub use url::Url;

/// Where Debian puts Chromium and ChromeDriver (`HERALD_CHROMIUM`, `HERALD_CHROMEDRIVER`
/// override).
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The viewport a page opens in, and the phone's ([`Browser::phone`]).
pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

/// The axe-core rules run on every page: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's
/// best practices.
pub const AXE_TAGS: [&str; 6] = [
    "wcag2a",
    "wcag2aa",
    "wcag21a",
    "wcag21aa",
    "wcag22aa",
    "best-practice",
];

/// The impacts that fail a page; moderate and minor ones are printed and kept in the results.
pub const FAILING_IMPACTS: [&str; 2] = ["serious", "critical"];

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

/// Chromium's flags: headless, and nothing that reaches for the network on its own (this
/// machine's network is closed, and tests must not depend on one).
const CHROMIUM_FLAGS: [&str; 16] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--password-store=basic",
    "--lang=en-US",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--force-color-profile=srgb",
];

/// The workspace's root: `.herald/` and `tests/browser/` are found from it.
pub fn repo_root() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests.parent().unwrap_or(tests).to_path_buf()
}

/// Where screenshots and axe results go: `.herald/test-logs/screenshots/`.
pub fn screenshots_dir() -> PathBuf {
    repo_root().join(".herald/test-logs/screenshots")
}

fn logs_dir() -> PathBuf {
    repo_root().join(".herald/test-logs/browser")
}

fn tool(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// A headless Chromium, its ChromeDriver and its profile, for one test.
pub struct Browser {
    client: Client,
    base: Option<Url>,
    timeout: Duration,
    // Dropped after the client: ChromeDriver and Chromium are killed, the profile removed.
    _driver: Driver,
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium at [`DESKTOP`] size; panics, saying why, if
    /// either cannot start.
    pub async fn start() -> Self {
        match Self::try_start().await {
            Ok(browser) => browser,
            Err(e) => panic!("could not start the test browser: {e}"),
        }
    }

    /// [`Browser::start`], with the reason as an error.
    pub async fn try_start() -> Result<Self, String> {
        let chromium = tool("HERALD_CHROMIUM", CHROMIUM);
        let driver = Driver::start().await?;
        // Both rustls providers are compiled in (reqwest brings ring, the AWS SDK aws-lc-rs), so
        // rustls needs one chosen before fantoccini builds its (unused: ChromeDriver is plain
        // HTTP on loopback) TLS configuration: ring, which reqwest's clients in this process
        // use anyway when none is chosen.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", driver.profile.display()));
        args.push(format!("--window-size={},{}", DESKTOP.0, DESKTOP.1));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
                "prefs": {"intl": {"accept_languages": "en-US,en"}},
            },
            "goog:loggingPrefs": {"browser": "ALL"},
            // An open alert or confirm (hx-confirm) is left to the test: see `accept_dialog`.
            "unhandledPromptBehavior": "ignore",
            "timeouts": {"implicit": 0, "pageLoad": 30_000, "script": 60_000},
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("an object")
        };
        let client = ClientBuilder::rustls()
            .map_err(|e| format!("fantoccini's TLS set-up: {e}"))?
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .map_err(|e| {
                format!(
                    "ChromeDriver could not open a Chromium session ({} with {}): {e}{}",
                    driver.url,
                    chromium.display(),
                    driver.log_tail()
                )
            })?;
        let browser = Self {
            client,
            base: None,
            timeout: DEFAULT_TIMEOUT,
            _driver: driver,
        };
        browser.desktop().await;
        Ok(browser)
    }

    /// Ends the Chromium session cleanly; dropping the browser also ends it, by killing
    /// ChromeDriver and Chromium.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// The WebDriver client itself, for anything the helpers here do not do.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// How long lookups and waits wait before failing (10 s at first).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The URL that [`Browser::goto`] resolves relative URLs (`/dashboard`) against.
    pub fn set_base_url(&mut self, base: &str) {
        self.base = Some(Url::parse(base).unwrap_or_else(|e| panic!("base URL {base}: {e}")));
    }

    // ---------------------------------------------------------------------------- viewport

    /// A desktop window: [`DESKTOP`], 1280×900, as every browser starts.
    pub async fn desktop(&self) {
        self.viewport(DESKTOP.0, DESKTOP.1, false).await;
    }

    /// A phone: [`PHONE`], 390×844, emulated as Chromium's device mode does (mobile viewport,
    /// `<meta name=viewport>` honoured).
    pub async fn phone(&self) {
        self.viewport(PHONE.0, PHONE.1, true).await;
    }

    /// A viewport of `width`×`height` CSS pixels.
    pub async fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
        self.cdp(
            "Emulation.setTouchEmulationEnabled",
            json!({"enabled": mobile, "maxTouchPoints": if mobile { 5 } else { 1 }}),
        )
        .await;
    }

    /// The viewport's size in CSS pixels (`innerWidth`, `innerHeight`).
    pub async fn viewport_size(&self) -> (u64, u64) {
        let v = self
            .script("return [window.innerWidth, window.innerHeight];", vec![])
            .await;
        (
            v[0].as_u64().unwrap_or_default(),
            v[1].as_u64().unwrap_or_default(),
        )
    }

    // -------------------------------------------------------------------------- navigation

    /// Opens `url` (absolute, or relative to [`Browser::set_base_url`]) and waits for it to
    /// load and settle.
    pub async fn goto(&self, url: &str) {
        let url = match (&self.base, Url::parse(url)) {
            (_, Ok(absolute)) => absolute,
            (Some(base), Err(_)) => base
                .join(url)
                .unwrap_or_else(|e| panic!("{url} against {base}: {e}")),
            (None, Err(e)) => panic!("{url}: {e} (relative URLs need set_base_url first)"),
        };
        self.client
            .goto(url.as_str())
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
        self.settle().await;
    }

    /// The page's URL now.
    pub async fn current_url(&self) -> Url {
        self.client
            .current_url()
            .await
            .unwrap_or_else(|e| panic!("the current URL: {e}"))
    }

    /// The page's title.
    pub async fn title(&self) -> String {
        self.client
            .title()
            .await
            .unwrap_or_else(|e| panic!("the title: {e}"))
    }

    /// Back in history, as the browser's back button does.
    pub async fn back(&self) {
        self.client
            .back()
            .await
            .unwrap_or_else(|e| panic!("going back: {e}"));
        self.settle().await;
    }

    /// Every cookie the browser holds for the current page (HttpOnly ones included).
    pub async fn cookies(&self) -> Vec<Cookie<'static>> {
        self.client
            .get_all_cookies()
            .await
            .unwrap_or_else(|e| panic!("the cookies: {e}"))
    }

    /// The cookie `name` of the current page, if the browser holds one.
    pub async fn cookie(&self, name: &str) -> Option<Cookie<'static>> {
        self.cookies().await.into_iter().find(|c| c.name() == name)
    }

    // ------------------------------------------------------------------------------ finding

    /// The first visible element that matches the CSS selector `css`, waited for.
    pub async fn find(&self, css: &str) -> Element {
        self.wait_for(css).await
    }

    /// Every element matching `css` now, visible or not (no waiting: possibly none).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("looking for {css:?}: {e}"))
    }

    /// The form field labelled `label`: by `<label>` (its `for` or a field inside it),
    /// `aria-label` or `aria-labelledby`; an exact match of the text (spaces collapsed) first,
    /// else the one label that contains it.
    pub async fn by_label(&self, label: &str) -> Element {
        self.lookup(Kind::Label, label).await
    }

    /// The button whose text (or value, or `aria-label`) is `text`.
    pub async fn button(&self, text: &str) -> Element {
        self.lookup(Kind::Button, text).await
    }

    /// The link whose text (or `aria-label`) is `text`.
    pub async fn link(&self, text: &str) -> Element {
        self.lookup(Kind::Link, text).await
    }

    /// The visible text of the first visible element matching `css`, waited for. An element
    /// that a navigation under way replaces before its text is read is looked up again.
    pub async fn text_of(&self, css: &str) -> String {
        let deadline = Instant::now() + self.timeout;
        loop {
            let element = self.wait_for(css).await;
            match element.text().await {
                Ok(text) => return text,
                Err(e) if is_transient(&e) && Instant::now() < deadline => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => panic!("the text of {css:?}: {e}"),
            }
        }
    }

    /// The whole page's visible text.
    pub async fn page_text(&self) -> String {
        self.text_of("body").await
    }

    /// Whether an element matching `css` is on the page and visible now (no waiting).
    pub async fn is_visible(&self, css: &str) -> bool {
        self.script(VISIBLE_MATCH, vec![json!(css)])
            .await
            .is_object()
    }

    // --------------------------------------------------------------------------- doing

    /// Clicks the button or link whose text is `target`, or else the element matching it as a
    /// CSS selector; then waits for the page to settle (a navigation or htmx swap it started).
    pub async fn click(&self, target: &str) {
        let element = self.lookup(Kind::Clickable, target).await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {target:?}: {e}"));
        self.settle().await;
    }

    /// Types `text` into the field labelled `target` (or matching it as a CSS selector), after
    /// emptying it, key by key as a person does (so `keyup`/`input` triggers fire). A `<select>`
    /// gets the option `text` instead (see [`Browser::select`]).
    pub async fn fill(&self, target: &str, text: &str) {
        let field = self.lookup(Kind::Label, target).await;
        let tag = field.tag_name().await.unwrap_or_default();
        if tag.eq_ignore_ascii_case("select") {
            return self.choose(&field, target, text).await;
        }
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("emptying {target:?}: {e}"));
        if !text.is_empty() {
            field
                .send_keys(text)
                .await
                .unwrap_or_else(|e| panic!("typing into {target:?}: {e}"));
        }
        self.settle().await;
    }

    /// Chooses the option shown as `option` (or, failing that, whose value is `option`) in the
    /// `<select>` labelled `target` (or matching it as a CSS selector).
    pub async fn select(&self, target: &str, option: &str) {
        let field = self.lookup(Kind::Label, target).await;
        self.choose(&field, target, option).await;
    }

    async fn choose(&self, field: &Element, target: &str, option: &str) {
        let field_ref = serde_json::to_value(field).unwrap_or_default();
        let found = self.script(OPTION, vec![field_ref, json!(option)]).await;
        if !found["option"].is_object() {
            panic!(
                "{target:?} has no option shown as or valued {option:?}; it has {}",
                found["options"]
            );
        }
        self.element(&found["option"])
            .click()
            .await
            .unwrap_or_else(|e| panic!("choosing {option:?} in {target:?}: {e}"));
        self.settle().await;
    }

    /// Clicks `element` (one found with [`Browser::find`], say, among rows that each have a
    /// "Delete"), then waits for the page to settle.
    pub async fn click_on(&self, element: &Element) {
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking an element: {e}"));
        self.settle().await;
    }

    /// Ticks (`true`) or clears (`false`) the checkbox or radio button labelled `target`.
    pub async fn set_checked(&self, target: &str, checked: bool) {
        let field = self.lookup(Kind::Label, target).await;
        let now = field
            .is_selected()
            .await
            .unwrap_or_else(|e| panic!("whether {target:?} is ticked: {e}"));
        if now != checked {
            field
                .click()
                .await
                .unwrap_or_else(|e| panic!("clicking {target:?}: {e}"));
            self.settle().await;
        }
    }

    /// Presses Enter in the field labelled `target`, as a person submits a one-field form.
    pub async fn press_enter(&self, target: &str) {
        let field = self.lookup(Kind::Label, target).await;
        field
            .send_keys(&fantoccini::key::Key::Enter.to_string())
            .await
            .unwrap_or_else(|e| panic!("pressing Enter in {target:?}: {e}"));
        self.settle().await;
    }

    /// The text of the open `alert`/`confirm`/`prompt` (an `hx-confirm` is one), if any.
    pub async fn dialog_text(&self) -> Option<String> {
        self.client.get_alert_text().await.ok()
    }

    /// Accepts the open dialog (OK on an `hx-confirm`), then waits for what follows to settle.
    pub async fn accept_dialog(&self) {
        self.client
            .accept_alert()
            .await
            .unwrap_or_else(|e| panic!("accepting the dialog: {e}"));
        self.settle().await;
    }

    /// Dismisses the open dialog (Cancel).
    pub async fn dismiss_dialog(&self) {
        self.client
            .dismiss_alert()
            .await
            .unwrap_or_else(|e| panic!("dismissing the dialog: {e}"));
        self.settle().await;
    }

    // ----------------------------------------------------------------------------- waiting

    /// Waits until the page has loaded and htmx has nothing under way: no element carries
    /// `htmx-request`, `htmx-swapping`, `htmx-settling` or `htmx-added`. Returns at once while
    /// a dialog is open (the test answers it).
    pub async fn settle(&self) {
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.client.execute(SETTLED, vec![]).await {
                Ok(Value::Bool(true)) => return,
                Ok(_) => {}
                Err(e) if e.is_unexpected_alert_open() => return,
                // A navigation under way replaces the document the script ran in.
                Err(e) if is_transient(&e) => {}
                Err(e) => panic!("waiting for the page to settle: {e}"),
            }
            if Instant::now() > deadline {
                let busy = self
                    .client
                    .execute(BUSY, vec![])
                    .await
                    .unwrap_or(Value::Null);
                panic!(
                    "the page did not settle within {:?}: still loading or in htmx requests: {busy}",
                    self.timeout
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for a visible element matching `css`, up to the browser's timeout.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.wait_for_within(css, self.timeout).await
    }

    /// Waits for a visible element matching `css`, up to `timeout`.
    pub async fn wait_for_within(&self, css: &str, timeout: Duration) -> Element {
        let deadline = Instant::now() + timeout;
        loop {
            match self.client.execute(VISIBLE_MATCH, vec![json!(css)]).await {
                Ok(found @ Value::Object(_)) => return self.element(&found),
                Ok(Value::String(e)) => panic!("{css:?} is not a CSS selector: {e}"),
                Ok(_) => {}
                Err(e) if is_transient(&e) => {}
                Err(e) => panic!("waiting for {css:?}: {e}"),
            }
            if Instant::now() > deadline {
                let present = self.find_all(css).await.len();
                panic!(
                    "no visible {css:?} within {timeout:?} ({present} present but hidden) on {}",
                    self.current_url().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until no visible element matches `css` (a spinner gone, a row deleted).
    pub async fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + self.timeout;
        while self.is_visible(css).await {
            if Instant::now() > deadline {
                panic!("{css:?} still visible after {:?}", self.timeout);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the page's visible text contains `text`.
    pub async fn wait_for_text(&self, text: &str) {
        let deadline = Instant::now() + self.timeout;
        loop {
            let body = match self.client.execute(BODY_TEXT, vec![]).await {
                Ok(Value::String(body)) => body,
                Ok(_) => String::new(),
                Err(e) if is_transient(&e) => String::new(),
                Err(e) => panic!("waiting for {text:?}: {e}"),
            };
            if body.contains(text) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{text:?} not on the page within {:?}; it reads:\n{body}",
                    self.timeout
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    // --------------------------------------------------------- screenshots and accessibility

    /// Photographs the whole page (not only the viewport) to
    /// `.herald/test-logs/screenshots/<name>.png`, and returns that path. Names are letters,
    /// digits, `-`, `_` and `.`, and each is used once per run (`<module>-<page>[-phone]`).
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = output_path(name, "png");
        let size = self
            .script(
                "const d = document.documentElement, b = document.body || d;
                 return [Math.max(d.scrollWidth, b.scrollWidth, window.innerWidth),
                         Math.max(d.scrollHeight, b.scrollHeight, window.innerHeight)];",
                vec![],
            )
            .await;
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({
                    "format": "png",
                    "captureBeyondViewport": true,
                    "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
                }),
            )
            .await;
        let png = shot["data"]
            .as_str()
            .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
            .unwrap_or_else(|| panic!("a screenshot without PNG data: {shot}"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// Runs axe-core ([`AXE_TAGS`]) on the page as it is now, saves the full results to
    /// `.herald/test-logs/screenshots/<name>.axe.json` and returns them; fails nothing.
    pub async fn axe_report(&self, name: &str) -> AxeReport {
        let path = output_path(name, "axe.json");
        self.settle().await;
        let loaded = self
            .script("return typeof window.axe === 'object';", vec![])
            .await;
        if loaded != Value::Bool(true) {
            let source = axe_source();
            self.script(&format!("{source}\n;return true;"), vec![])
                .await;
        }
        let outcome = self
            .client
            .execute_async(AXE_RUN, vec![json!(AXE_TAGS)])
            .await
            .unwrap_or_else(|e| panic!("running axe on {name}: {e}"));
        let results = match outcome {
            Value::Object(mut o) if o.contains_key("results") => {
                o.remove("results").unwrap_or_default()
            }
            other => panic!("axe failed on {name}: {other}"),
        };
        let text = serde_json::to_string_pretty(&results).unwrap_or_default();
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        let report = AxeReport {
            name: name.to_owned(),
            path,
            results,
        };
        let others: Vec<_> = report
            .violations()
            .into_iter()
            .filter(|v| !v.fails())
            .collect();
        if !others.is_empty() {
            eprintln!(
                "axe on {name}: {} moderate or minor issue(s), not failing:\n{}",
                others.len(),
                list(&others)
            );
        }
        report
    }

    /// Runs axe-core on the page and fails, listing each one (rule, impact, help, elements), if
    /// it finds any violation of serious or critical impact. The full results are saved as
    /// `.herald/test-logs/screenshots/<name>.axe.json`.
    pub async fn axe(&self, name: &str) -> AxeReport {
        let report = self.axe_report(name).await;
        if let Err(e) = report.check() {
            panic!("{e}");
        }
        report
    }

    /// What every page test does on every page: [`Browser::screenshot`] then [`Browser::axe`],
    /// both under `name`.
    pub async fn check_page(&self, name: &str) -> AxeReport {
        self.screenshot(name).await;
        self.axe(name).await
    }

    /// What the page wrote to the console since last asked (levels `SEVERE`, `WARNING`,
    /// `INFO`...), failed loads of its resources included.
    pub async fn console(&self) -> Vec<ConsoleMessage> {
        let entries = self
            .client
            .issue_cmd(Legacy {
                path: "se/log",
                body: json!({"type": "browser"}),
            })
            .await
            .unwrap_or_else(|e| panic!("the console log: {e}"));
        entries
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| ConsoleMessage {
                level: e["level"].as_str().unwrap_or_default().to_owned(),
                message: e["message"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    // ---------------------------------------------------------------------------- internals

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn script(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("running a script in the page: {e}"))
    }

    /// A Chrome DevTools Protocol command, through ChromeDriver.
    async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Legacy {
                path: "goog/cdp/execute",
                body: json!({"cmd": cmd, "params": params}),
            })
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    fn element(&self, reference: &Value) -> Element {
        let id = reference
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("not an element reference: {reference}"));
        Element::from_element_id(self.client.clone(), ElementRef::from(id.to_owned()))
    }

    /// Polls [`FIND`] until it finds one visible element of `kind` named `name`.
    async fn lookup(&self, kind: Kind, name: &str) -> Element {
        let deadline = Instant::now() + self.timeout;
        loop {
            let outcome = match self
                .client
                .execute(FIND, vec![json!(kind.js()), json!(name)])
                .await
            {
                Ok(outcome) => outcome,
                Err(e) if is_transient(&e) => Value::Null,
                Err(e) => panic!("looking for {} {name:?}: {e}", kind.what()),
            };
            let found = outcome["found"].as_array().cloned().unwrap_or_default();
            match found.as_slice() {
                [one] => return self.element(one),
                [] => {}
                many => panic!(
                    "{} {} match {name:?} ({}); name one exactly, or use a CSS selector",
                    many.len(),
                    kind.what_plural(),
                    outcome["names"]
                ),
            }
            if Instant::now() > deadline {
                panic!(
                    "no visible {} {name:?} within {:?} on {}; {}: {}",
                    kind.what(),
                    self.timeout,
                    self.current_url().await,
                    kind.what_plural(),
                    outcome["available"]
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Label,
    Button,
    Link,
    Clickable,
}

impl Kind {
    fn js(self) -> &'static str {
        match self {
            Self::Label => "label",
            Self::Button => "button",
            Self::Link => "link",
            Self::Clickable => "clickable",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::Label => "field labelled",
            Self::Button => "button",
            Self::Link => "link",
            Self::Clickable => "button or link",
        }
    }

    fn what_plural(self) -> &'static str {
        match self {
            Self::Label => "fields' labels",
            Self::Button => "buttons",
            Self::Link => "links",
            Self::Clickable => "buttons and links",
        }
    }
}

/// Errors worth another try: the page was navigating while the script ran.
fn is_transient(e: &CmdError) -> bool {
    match e {
        CmdError::Standard(w) => {
            matches!(
                w.error,
                fantoccini::error::ErrorStatus::JavascriptError
                    | fantoccini::error::ErrorStatus::StaleElementReference
                    | fantoccini::error::ErrorStatus::NoSuchWindow
            ) && (w.message.contains("navigat")
                || w.message.contains("context")
                || w.message.contains("stale")
                || w.message.contains("detached"))
        }
        _ => false,
    }
}

/// A ChromeDriver command outside fantoccini's set, on the current session.
#[derive(Debug)]
struct Legacy {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for Legacy {
    fn endpoint(&self, base: &Url, session: Option<&str>) -> Result<Url, url::ParseError> {
        base.join(&format!(
            "session/{}/{}",
            session.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

// ------------------------------------------------------------------------------- axe results

/// axe-core's results for one page, as saved beside its screenshot.
#[derive(Debug, Clone)]
pub struct AxeReport {
    pub name: String,
    /// `.herald/test-logs/screenshots/<name>.axe.json`
    pub path: PathBuf,
    /// What `axe.run()` returned (`violations`, `passes`, `incomplete`, `inapplicable`...).
    pub results: Value,
}

/// One rule the page breaks, and where.
#[derive(Debug, Clone)]
pub struct Violation {
    pub id: String,
    pub impact: String,
    pub help: String,
    pub help_url: String,
    /// Each offending element.
    pub nodes: Vec<Node>,
}

/// An element that breaks a rule.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its CSS selector (a path through iframes joined by ` >> `).
    pub target: String,
    /// Its HTML (the start tag, with some of what it holds), as axe reports it.
    pub html: String,
}

impl Violation {
    /// Whether its impact fails a page ([`FAILING_IMPACTS`]).
    pub fn fails(&self) -> bool {
        FAILING_IMPACTS.contains(&self.impact.as_str())
    }
}

impl AxeReport {
    pub fn violations(&self) -> Vec<Violation> {
        self.results["violations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| Violation {
                id: v["id"].as_str().unwrap_or_default().to_owned(),
                impact: v["impact"].as_str().unwrap_or("unknown").to_owned(),
                help: v["help"].as_str().unwrap_or_default().to_owned(),
                help_url: v["helpUrl"].as_str().unwrap_or_default().to_owned(),
                nodes: v["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|n| Node {
                        target: target(&n["target"]),
                        html: n["html"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// The violations of serious or critical impact.
    pub fn failing(&self) -> Vec<Violation> {
        self.violations()
            .into_iter()
            .filter(|v| v.fails())
            .collect()
    }

    /// Ok, or the failing violations listed one by one.
    pub fn check(&self) -> Result<(), String> {
        let failing = self.failing();
        if failing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "axe found {} serious or critical accessibility violation(s) on {} ({}):\n{}\
             full results: {}",
            failing.len(),
            self.name,
            self.results["url"].as_str().unwrap_or("?"),
            list(&failing),
            self.path.display()
        ))
    }
}

fn target(t: &Value) -> String {
    match t {
        Value::Array(parts) => parts.iter().map(target).collect::<Vec<_>>().join(" >> "),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn list(violations: &[Violation]) -> String {
    let mut out = String::new();
    for v in violations {
        let _ = writeln!(out, "  - {} [{}] {}", v.id, v.impact, v.help);
        for node in &v.nodes {
            let mut html: String = node.html.chars().take(120).collect();
            if html.len() < node.html.len() {
                html.push('…');
            }
            let _ = writeln!(out, "      at {}   {html}", node.target);
        }
        let _ = writeln!(out, "      see {}", v.help_url);
    }
    out
}

/// One line of the page's console.
#[derive(Debug, Clone)]
pub struct ConsoleMessage {
    pub level: String,
    pub message: String,
}

// ---------------------------------------------------------------------------------- files

/// `<screenshots>/<name>.<ext>`, checking the name and that no test used it before in this run.
fn output_path(name: &str, ext: &str) -> PathBuf {
    static USED: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    assert!(
        valid,
        "{name:?} is not a screenshot name: letters, digits, '-', '_' and '.' only"
    );
    let file = format!("{name}.{ext}");
    let fresh = USED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(file.clone());
    assert!(
        fresh,
        "{file} was already written in this run: give each page its own name"
    );
    let dir = screenshots_dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir.join(file)
}

/// `tests/browser/node_modules/axe-core/axe.min.js`, read once, after checking it is the
/// version `tests/browser/package.json` pins.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<Result<String, String>> = OnceLock::new();
    let loaded = SOURCE.get_or_init(|| {
        let dir = repo_root().join("tests/browser");
        let fix = "`cargo xtask test` installs it; or run `npm ci` in tests/browser";
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
        };
        let wanted: Value = serde_json::from_str(&read(&dir.join("package.json"))?)
            .map_err(|e| format!("tests/browser/package.json: {e}"))?;
        let wanted = wanted["dependencies"]["axe-core"].as_str().unwrap_or("?");
        let module = dir.join("node_modules/axe-core");
        let installed: Value = serde_json::from_str(
            &read(&module.join("package.json")).map_err(|e| format!("{e}; {fix}"))?,
        )
        .map_err(|e| format!("axe-core's package.json: {e}"))?;
        let installed = installed["version"].as_str().unwrap_or("?");
        if installed != wanted {
            return Err(format!(
                "axe-core {installed} is installed, tests/browser/package.json pins {wanted}; {fix}"
            ));
        }
        read(&module.join("axe.min.js")).map_err(|e| format!("{e}; {fix}"))
    });
    match loaded {
        Ok(source) => source,
        Err(e) => panic!("{e}"),
    }
}

// --------------------------------------------------------------------------- ChromeDriver

/// ChromeDriver, started on a free loopback port in a process group of its own (Chromium is
/// started in it too), and the Chromium profile folder; all killed and removed on drop.
struct Driver {
    child: Child,
    url: String,
    log: PathBuf,
    profile: PathBuf,
}

impl Driver {
    async fn start() -> Result<Self, String> {
        let chromedriver = tool("HERALD_CHROMEDRIVER", CHROMEDRIVER);
        let chromium = tool("HERALD_CHROMIUM", CHROMIUM);
        for path in [&chromedriver, &chromium] {
            if !path.exists() {
                return Err(format!(
                    "{} is missing: `cargo xtask test` installs Debian's chromium and \
                     chromium-driver (or: apt-get install chromium chromium-driver)",
                    path.display()
                ));
            }
        }
        std::fs::create_dir_all(logs_dir())
            .map_err(|e| format!("creating {}: {e}", logs_dir().display()))?;
        let mut last = String::new();
        // A port found free can be taken before ChromeDriver binds it: a few tries.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("no free port on loopback: {e}"))?
                .port();
            let unique = format!(
                "{}-{port}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            );
            let log = logs_dir().join(format!("chromedriver-{unique}.log"));
            let profile = std::env::temp_dir().join(format!("herald-chromium-{unique}"));
            std::fs::create_dir_all(&profile)
                .map_err(|e| format!("creating {}: {e}", profile.display()))?;
            let out = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
            let err = out
                .try_clone()
                .map_err(|e| format!("{}: {e}", log.display()))?;
            let child = {
                use std::os::unix::process::CommandExt;
                Command::new(&chromedriver)
                    .arg(format!("--port={port}"))
                    .arg("--allowed-ips=127.0.0.1")
                    .arg(format!("--log-path={}", log.display()))
                    .arg("--append-log")
                    // Every command at INFO: some 700 kB per page that axe is injected into.
                    .arg(format!(
                        "--log-level={}",
                        std::env::var("HERALD_CHROMEDRIVER_LOG_LEVEL")
                            .unwrap_or_else(|_| "WARNING".to_owned())
                    ))
                    .process_group(0)
                    .stdin(Stdio::null())
                    .stdout(out)
                    .stderr(err)
                    .spawn()
                    .map_err(|e| format!("could not start {}: {e}", chromedriver.display()))?
            };
            let mut driver = Self {
                child,
                url: format!("http://127.0.0.1:{port}"),
                log,
                profile,
            };
            match driver.ready().await {
                Ok(()) => return Ok(driver),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Waits for `/status` to say ready; fails if ChromeDriver exits or is not ready in 20 s.
    async fn ready(&mut self) -> Result<(), String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "ChromeDriver exited at start ({status}){}",
                    self.log_tail()
                ));
            }
            let status = http.get(format!("{}/status", self.url)).send().await;
            if let Ok(reply) = status
                && let Ok(body) = reply.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "ChromeDriver did not answer on {} within 20 s{}",
                    self.url,
                    self.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The end of ChromeDriver's log, for an error message.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        format!("\nChromeDriver's log ({}):\n{tail}", self.log.display())
    }

    fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: ChromeDriver and the Chromium it started, with its helpers.
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.signal("-KILL");
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

// ------------------------------------------------------------------------ page-side scripts

/// True once the page has loaded and htmx has nothing in flight.
const SETTLED: &str = "return document.readyState === 'complete' && !document.querySelector(\
     '.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added');";

/// What keeps a page from settling, for an error message.
const BUSY: &str = "return {readyState: document.readyState, busy: Array.from(document.\
     querySelectorAll('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')).map(\
     e => e.outerHTML.slice(0, 200))};";

/// The first visible element matching the selector `arguments[0]`, null, or a string when it
/// is no selector.
const VISIBLE_MATCH: &str = "
    let all;
    try { all = document.querySelectorAll(arguments[0]); } catch (e) { return String(e.message); }
    for (const el of all) {
        if (el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden') return el;
    }
    return null;";

/// Visible elements of a kind (`label`: form fields; `button`, `link`, `clickable`: either)
/// named `arguments[1]`: exact names first, else the ones containing it, else (for `label` and
/// `clickable`) the ones matching it as a CSS selector. `{found, names, available}`.
const FIND: &str = r#"
    const [kind, wanted] = arguments;
    const norm = s => (s || '').replace(/\s+/g, ' ').trim();
    const want = norm(wanted);
    const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    const byIds = ids => norm((ids || '').split(/\s+/).map(id => {
        const el = id && document.getElementById(id);
        return el ? el.textContent : '';
    }).join(' '));
    // A label's own words: without the field (or a select's options) it may hold.
    const labelText = label => {
        const copy = label.cloneNode(true);
        copy.querySelectorAll('input, select, textarea, button').forEach(e => e.remove());
        return norm(copy.textContent);
    };
    const candidates = [];
    const fields = 'input:not([type=hidden]), select, textarea, [contenteditable=""], [contenteditable=true], ' +
        '[role=textbox], [role=combobox], [role=checkbox], [role=switch], [role=radio], [role=listbox]';
    const buttons = 'button, input[type=submit], input[type=button], input[type=reset], input[type=image], [role=button]';
    const links = 'a[href], [role=link]';
    if (kind === 'label') {
        for (const label of document.querySelectorAll('label')) {
            if (label.control) candidates.push([labelText(label), label.control]);
        }
        for (const el of document.querySelectorAll(fields)) {
            if (el.hasAttribute('aria-label')) candidates.push([norm(el.getAttribute('aria-label')), el]);
            if (el.hasAttribute('aria-labelledby')) candidates.push([byIds(el.getAttribute('aria-labelledby')), el]);
        }
    }
    const named = el => norm(el.getAttribute('aria-label'))
        || (el.hasAttribute('aria-labelledby') ? byIds(el.getAttribute('aria-labelledby')) : '')
        || (el.tagName === 'INPUT' ? norm(el.value || el.alt) : norm(el.textContent));
    if (kind === 'button' || kind === 'clickable') {
        for (const el of document.querySelectorAll(buttons)) candidates.push([named(el), el]);
    }
    if (kind === 'link' || kind === 'clickable') {
        for (const el of document.querySelectorAll(links)) candidates.push([named(el), el]);
    }
    const shown = candidates.filter(([, el]) => visible(el));
    const unique = list => Array.from(new Set(list.map(([, el]) => el)));
    let found = unique(shown.filter(([name]) => name === want));
    if (found.length === 0 && want) found = unique(shown.filter(([name]) => name.includes(want)));
    if (found.length === 0 && kind !== 'button' && kind !== 'link') {
        try {
            found = Array.from(document.querySelectorAll(wanted)).filter(visible).slice(0, 1);
        } catch (e) { /* not a selector */ }
    }
    const names = shown.filter(([, el]) => found.includes(el)).map(([name]) => name);
    return {found, names, available: Array.from(new Set(shown.map(([name]) => name)))};
"#;

/// The page's visible text, or an empty one before it has a body.
const BODY_TEXT: &str = "return document.body ? document.body.innerText : '';";

/// The `<option>` of the select `arguments[0]` shown as `arguments[1]` (spaces collapsed), else
/// the one valued so; `{option, options}`.
const OPTION: &str = "
    const [select, wanted] = arguments;
    const norm = s => (s || '').replace(/\\s+/g, ' ').trim();
    const options = Array.from(select.querySelectorAll('option'));
    const option = options.find(o => norm(o.textContent) === norm(wanted))
        || options.find(o => o.value === wanted) || null;
    return {option, options: options.map(o => norm(o.textContent))};";

/// axe.run over the document with the tags in `arguments[0]`; `{results}` or `{error}`.
const AXE_RUN: &str = "
    const [tags, done] = [arguments[0], arguments[arguments.length - 1]];
    axe.run(document, {runOnly: {type: 'tag', values: tags}})
        .then(r => done({results: JSON.parse(JSON.stringify(r))}),
              e => done({error: String((e && e.stack) || e)}));";
