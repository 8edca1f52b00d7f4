//! The page shell and the pieces every page is made of.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use herald::common::account::AccountId;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::DashboardState;
use crate::assets;
use crate::signed::{CSRF_FIELD, CSRF_HEADER, Signed};

/// The sections of the top navigation: path under the account, and label.
const SECTIONS: [(&str, &str); 7] = [
    ("", "Overview"),
    ("/sms", "SMS"),
    ("/email", "Email"),
    ("/logs/sms", "Logs"),
    ("/subscriptions", "Subscriptions"),
    ("/events", "Events"),
    ("/notifications/rules", "Notifications"),
];

/// htmx swaps every answer, errors included: a form refused with 400 shows its messages.
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"allowScriptTags":false,"allowEval":false,"responseHandling":[{"code":"204","swap":false},{"code":".*","swap":true}]}"#;

/// A signed-in page: who, which account, and its title.
pub struct Page<'a> {
    pub signed: &'a Signed,
    pub account: &'a AccountId,
    pub title: &'a str,
}

impl Signed {
    /// The shell of a page of `account` for this person.
    pub fn page<'a>(&'a self, account: &'a AccountId, title: &'a str) -> Page<'a> {
        Page {
            signed: self,
            account,
            title,
        }
    }
}

impl Page<'_> {
    /// `/dashboard/accounts/{id}` and `rest`.
    pub fn href(&self, rest: &str) -> String {
        format!("/dashboard/accounts/{}{rest}", self.account)
    }

    /// The hidden field every form that changes something carries.
    pub fn csrf(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.signed.csrf()); }
    }

    /// The whole document: top bar, navigation (`section` marked current), and `content`.
    pub fn render(&self, section: &str, content: Markup) -> Response {
        self.render_with(StatusCode::OK, section, content)
    }

    pub fn render_with(&self, status: StatusCode, section: &str, content: Markup) -> Response {
        let grant = &self.signed.session.grant;
        let htmx_headers = format!(r#"{{"{CSRF_HEADER}":"{}"}}"#, self.signed.csrf());
        let body = html! {
            (DOCTYPE)
            html lang="en" {
                (head(&format!("{} · {}", self.title, self.account)))
                body hx-boost="true" hx-headers=(htmx_headers) {
                    a.skip href="#main" { "Skip to content" }
                    header.topbar {
                        div.brand {
                            @if let Some(org) = grant.organization() { span.org { (org) } }
                            @if grant.accounts().len() > 1 {
                                form.switcher method="get" action="/dashboard/switch" {
                                    label for="account-switch" { "Account" }
                                    select id="account-switch" name="account" {
                                        @for a in grant.accounts() {
                                            option value=(a) selected[a == self.account] { (a) }
                                        }
                                    }
                                    button type="submit" { "Switch" }
                                }
                            } @else {
                                span.account { "Account " strong { (self.account) } }
                            }
                        }
                        div.who {
                            @if !self.signed.may_change() { span.badge.viewer { "View only" } }
                            form method="post" action="/dashboard/sign-out" hx-boost="false" {
                                (self.csrf())
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                    nav aria-label="Sections" {
                        ul {
                            @for (path, label) in SECTIONS {
                                li {
                                    a href=(self.href(path))
                                        aria-current=[(label == section).then_some("page")] { (label) }
                                }
                            }
                        }
                    }
                    main id="main" tabindex="-1" {
                        h1 { (self.title) }
                        (content)
                    }
                }
            }
        };
        (status, body).into_response()
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="htmx-config" content=(HTMX_CONFIG);
            title { (title) " · Herald" }
            link rel="stylesheet" href=(assets::href("dashboard.css"));
            script src=(assets::href("htmx.min.js")) defer {}
            script src=(assets::href("dashboard.js")) defer {}
        }
    }
}

/// A page outside a session (signed out, a used link): a title and a sentence.
pub fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                main id="main" class="message" {
                    h1 { (title) }
                    p { (text) }
                }
            }
        }
    };
    (status, body).into_response()
}

pub fn not_found_page() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page, or it is not one of your accounts'.",
    )
}

pub async fn not_found() -> Response {
    not_found_page()
}

/// An error Herald did not expect: logged with its chain, shown without detail.
pub fn internal(e: &(dyn std::error::Error + 'static)) -> Response {
    tracing::error!(error = %herald::error_chain(e), "dashboard page failed");
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Herald could not show this page. Try again in a moment.",
    )
}

/// Headers of every answer: no framing unless the operator allows it, nothing from elsewhere,
/// no referrer (a sign-in link's token must not leak), pages never cached.
pub async fn security_headers(
    State(state): State<DashboardState>,
    req: Request,
    next: Next,
) -> Response {
    let mut response = next.run(req).await;
    let ancestors = state.frame_ancestors.as_deref().unwrap_or("'none'");
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
    );
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A time as `<time>`: UTC in the text and on hover; the script rewrites the text in the
/// viewer's time zone and keeps UTC in the title.
pub fn time(rfc3339: &str) -> Markup {
    let shown = rfc3339
        .get(..16)
        .map(|s| format!("{} UTC", s.replace('T', " ")))
        .unwrap_or_else(|| rfc3339.to_owned());
    html! { time datetime=(rfc3339) title=(format!("{rfc3339} (UTC)")) { (shown) } }
}

/// A time field of a JSON answer, or a dash.
pub fn time_of(v: &serde_json::Value) -> Markup {
    match v.as_str() {
        Some(t) => time(t),
        None => html! { "—" },
    }
}

/// What a list shows when it is empty: what to do next.
pub fn empty(text: &str, action: Option<(&str, &str)>) -> Markup {
    html! {
        div.empty {
            p { (text) }
            @if let Some((href, label)) = action { a.button href=(href) { (label) } }
        }
    }
}

/// A status as a labelled badge.
pub fn status(s: &str) -> Markup {
    html! { span class=(format!("badge status-{s}")) { (s) } }
}

/// A notice above a form: done, or refused.
pub fn notice(kind: &str, text: &str) -> Markup {
    html! { div class=(format!("notice {kind}")) role=(if kind == "error" { "alert" } else { "status" }) { (text) } }
}

/// A labelled input with its error, if any, next to it.
pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub value: &'a str,
    pub error: Option<&'a str>,
    pub hint: Option<&'a str>,
    pub kind: &'a str,
    pub disabled: bool,
    pub required: bool,
    /// A textarea of this many rows instead of an input.
    pub rows: Option<u8>,
}

impl<'a> Field<'a> {
    pub fn text(name: &'a str, label: &'a str, value: &'a str) -> Self {
        Self {
            name,
            label,
            value,
            error: None,
            hint: None,
            kind: "text",
            disabled: false,
            required: false,
            rows: None,
        }
    }

    /// A textarea of `rows` rows, for text of several lines (a key, a connection string).
    pub fn textarea(mut self, rows: u8) -> Self {
        self.rows = Some(rows);
        self
    }

    pub fn error(mut self, e: Option<&'a str>) -> Self {
        self.error = e;
        self
    }

    pub fn hint(mut self, h: &'a str) -> Self {
        self.hint = Some(h);
        self
    }

    pub fn kind(mut self, k: &'a str) -> Self {
        self.kind = k;
        self
    }

    pub fn disabled(mut self, d: bool) -> Self {
        self.disabled = d;
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn render(&self) -> Markup {
        let id = field_id(self.name);
        let described = described_by(&id, self.hint.is_some(), self.error.is_some());
        html! {
            div.field.invalid[self.error.is_some()] {
                label for=(id) { (self.label) }
                @if let Some(h) = self.hint { p.hint id=(format!("{id}-hint")) { (h) } }
                @if let Some(rows) = self.rows {
                    textarea id=(id) name=(self.name) rows=(rows) spellcheck="false"
                        autocomplete="off" disabled[self.disabled] required[self.required]
                        aria-invalid=[self.error.map(|_| "true")]
                        aria-describedby=[described] { (self.value) }
                } @else {
                    input id=(id) name=(self.name) type=(self.kind) value=(self.value)
                        autocomplete=[(self.kind == "password").then_some("new-password")]
                        disabled[self.disabled] required[self.required]
                        aria-invalid=[self.error.map(|_| "true")]
                        aria-describedby=[described];
                }
                @if let Some(e) = self.error { p.error id=(format!("{id}-error")) { (e) } }
            }
        }
    }
}

/// A select with its label and error; `options` are (value, label).
pub fn select(
    name: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    error: Option<&str>,
    disabled: bool,
) -> Markup {
    let id = field_id(name);
    let described = described_by(&id, false, error.is_some());
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            select id=(id) name=(name) disabled[disabled]
                aria-invalid=[error.map(|_| "true")] aria-describedby=[described] {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
            @if let Some(e) = error { p.error id=(format!("{id}-error")) { (e) } }
        }
    }
}

/// A checkbox with its label (and error).
pub fn checkbox(
    name: &str,
    label: &str,
    checked: bool,
    error: Option<&str>,
    disabled: bool,
) -> Markup {
    let id = field_id(name);
    html! {
        div.field.check.invalid[error.is_some()] {
            input id=(id) type="checkbox" name=(name) value="on" checked[checked] disabled[disabled]
                aria-describedby=[error.map(|_| format!("{id}-error"))];
            label for=(id) { (label) }
            @if let Some(e) = error { p.error id=(format!("{id}-error")) { (e) } }
        }
    }
}

/// Messages of fields the form has no place for, listed above it.
pub fn other_errors<'a>(errors: impl Iterator<Item = (&'a str, &'a str)>) -> Markup {
    let errors: Vec<_> = errors.collect();
    html! {
        @if !errors.is_empty() {
            div.notice.error role="alert" {
                p { "Please correct the following:" }
                ul { @for (f, m) in errors { li { code { (f) } " " (m) } } }
            }
        }
    }
}

/// A JSON value, pretty-printed.
pub fn json_block(v: &serde_json::Value) -> Markup {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    html! { pre.json tabindex="0" { code { (text) } } }
}

/// A value with a button that copies it (the script wires the button; without it, the value
/// is selectable text).
pub fn copyable(id: &str, value: &str) -> Markup {
    html! {
        span.copyable {
            code id=(id) { (value) }
            button.copy type="button" data-copy=(id) hidden { "Copy" }
        }
    }
}

/// A signing secret shown its one time: the warning that it will not be shown again, what to
/// do `if_lost`, and the secret with a copy button.
pub fn secret_once(secret: &str, if_lost: &str) -> Markup {
    html! {
        div.notice.warn role="alert" {
            strong { "Copy this secret now: it will not be shown again." }
            " Herald keeps it sealed and cannot show it to anyone, you included. " (if_lost)
        }
        p.secret { (copyable("signing-secret", secret)) }
    }
}

/// A block of text (a policy, a JSON document) with a button that copies it.
pub fn copyable_block(id: &str, text: &str) -> Markup {
    html! {
        div.copyable-block {
            pre.json tabindex="0" { code id=(id) { (text) } }
            button.copy type="button" data-copy=(id) hidden { "Copy" }
        }
    }
}

/// The "next page" link of a listing.
pub fn pager(next: Option<String>) -> Markup {
    html! {
        @if let Some(href) = next {
            nav.pager aria-label="Pages" { a href=(href) rel="next" { "Next page →" } }
        }
    }
}

pub fn field_id(name: &str) -> String {
    format!(
        "f-{}",
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
    )
}

fn described_by(id: &str, hint: bool, error: bool) -> Option<String> {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{id}-hint"));
    }
    if error {
        ids.push(format!("{id}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// Text that maud must not escape (already-safe markup of our own).
pub fn raw(s: &'static str) -> PreEscaped<&'static str> {
    PreEscaped(s)
}
