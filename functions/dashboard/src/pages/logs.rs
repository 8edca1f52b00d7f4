//! Logs: the account's SMS and emails, one tab each, filtered by status and ordered by
//! timestamp; per message its raw JSON record and the message as it was asked to be sent
//! (an email's HTML shown as source, never rendered).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use herald::messaging::log::MessageId;
use maud::{Markup, html};
use serde_json::Value;

use super::{At, failed};
use crate::DashboardState;
use crate::html::{self, Page};
use crate::resources::{CallError, FieldMessages, Resources};

pub fn routes() -> Router<DashboardState> {
    Router::new()
        .route("/dashboard/accounts/{account}/logs", get(to_sms))
        .route("/dashboard/accounts/{account}/logs/{channel}", get(list))
        .route(
            "/dashboard/accounts/{account}/logs/{channel}/{id}",
            get(record),
        )
        .route(
            "/dashboard/accounts/{account}/logs/{channel}/{id}/message",
            get(message),
        )
}

/// A channel of the log: its path segment, and how the page names it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Channel {
    Sms,
    Email,
}

impl Channel {
    fn of(path: &HashMap<String, String>) -> Option<Self> {
        match path.get("channel").map(String::as_str) {
            Some("sms") => Some(Self::Sms),
            Some("email") => Some(Self::Email),
            _ => None,
        }
    }

    fn segment(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Sms => "SMS",
            Self::Email => "Email",
        }
    }

    /// The status filter's options, in the reference's order, and the API's `queued` last.
    fn statuses(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Sms => &[
                ("", "All"),
                ("delivered", "Delivered"),
                ("sent", "Sent"),
                ("failed", "Failed"),
                ("queued", "Queued"),
            ],
            Self::Email => &[
                ("", "All"),
                ("delivered", "Delivered"),
                ("opened", "Opened"),
                ("sent", "Sent"),
                ("failed", "Failed"),
                ("queued", "Queued"),
            ],
        }
    }
}

const ORDERS: [(&str, &str); 2] = [("desc", "Newest first"), ("asc", "Oldest first")];

/// The named parameters of a query string (the first of each), trimmed; others are ignored.
pub(super) fn query_params(raw: Option<&str>, names: &[&str]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if names.contains(&k.as_ref()) && !out.contains_key(k.as_ref()) {
            out.insert(k.into_owned(), v.trim().to_owned());
        }
    }
    out
}

/// `?a=1&b=2` of the pairs with a value (empty: nothing at all), encoded.
pub(super) fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        s.append_pair(k, v);
        any = true;
    }
    if any {
        format!("?{}", s.finish())
    } else {
        String::new()
    }
}

/// What a listing's read answered: a page, or the API's messages about the query.
pub(super) enum Listed {
    Page(Value),
    Invalid(FieldMessages),
}

/// A listing read whose bad query parameters are shown on the page, not as a failure.
pub(super) async fn read_list(r: &Resources<'_>, uri: String) -> Result<Listed, CallError> {
    let a = r.call(Method::GET, uri, None, None).await;
    match a.status {
        s if s.is_success() => Ok(Listed::Page(a.body)),
        StatusCode::NOT_FOUND => Err(CallError::NotFound),
        StatusCode::BAD_REQUEST => {
            let mut errors = FieldMessages::of(&a.body);
            if errors.is_empty() {
                let detail = a.body["detail"]
                    .as_str()
                    .unwrap_or("is not a query Herald understands");
                errors.0.insert("query".into(), detail.to_owned());
            }
            Ok(Listed::Invalid(errors))
        }
        status => Err(CallError::Failed {
            status,
            detail: a.body["detail"].as_str().unwrap_or("").to_owned(),
        }),
    }
}

pub(super) fn items(page: &Value) -> &[Value] {
    page["items"].as_array().map_or(&[], Vec::as_slice)
}

fn options(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
        .collect()
}

/// `/dashboard/accounts/{id}/logs`: the SMS tab.
async fn to_sms(at: At) -> Response {
    Redirect::to(&at.href("/logs/sms")).into_response()
}

fn tabs(page: &Page, current: Channel) -> Markup {
    html! {
        nav.tabs aria-label="Channels" {
            @for c in [Channel::Sms, Channel::Email] {
                a href=(page.href(&format!("/logs/{}", c.segment())))
                    aria-current=[(c == current).then_some("page")] { (c.label()) }
            }
        }
    }
}

fn filters(
    page: &Page,
    channel: Channel,
    q: &HashMap<String, String>,
    errors: &FieldMessages,
) -> Markup {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let order = if get("order").is_empty() {
        "desc"
    } else {
        get("order")
    };
    html! {
        form.filters method="get" action=(page.href(&format!("/logs/{}", channel.segment())))
            aria-label="Filter messages" {
            (html::select("status", "Status", &options(channel.statuses()), get("status"),
                errors.get("status"), false))
            (html::select("order", "Order by timestamp", &options(&ORDERS), order,
                errors.get("order"), false))
            @if !get("limit").is_empty() { input type="hidden" name="limit" value=(get("limit")); }
            div.field { button type="submit" { "Show" } }
        }
    }
}

fn empty_state(page: &Page, channel: Channel, q: &HashMap<String, String>) -> Markup {
    let status = q.get("status").map(String::as_str).unwrap_or("");
    if !status.is_empty() {
        let label = channel
            .statuses()
            .iter()
            .find(|(v, _)| *v == status)
            .map_or(status, |(_, l)| l);
        let all = page.href(&format!("/logs/{}", channel.segment()));
        return html::empty(
            &format!(
                "No {} with the status {label}.",
                match channel {
                    Channel::Sms => "SMS",
                    Channel::Email => "email",
                }
            ),
            Some((&all, "Show all")),
        );
    }
    match channel {
        Channel::Sms => html::empty(
            "No SMS sent yet. Messages appear here with their status once your platform sends \
             one through the API (POST /accounts/{accountId}/messages/sms). Check the sender \
             name and providers in the SMS settings meanwhile.",
            Some((&page.href("/sms"), "SMS settings")),
        ),
        Channel::Email => html::empty(
            "No email sent yet. Emails appear here with their status once your platform sends \
             one through the API (POST /accounts/{accountId}/messages/email). Check the sender \
             and your domains in the Email settings meanwhile.",
            Some((&page.href("/email"), "Email settings")),
        ),
    }
}

fn table(page: &Page, channel: Channel, items: &[Value]) -> Markup {
    let email = channel == Channel::Email;
    html! {
        div.table-wrap {
            table {
                thead {
                    tr {
                        th scope="col" { "Time" }
                        th scope="col" { "Recipient" }
                        @if email { th scope="col" { "Subject" } }
                        th scope="col" { "Status" }
                        th scope="col" { "Tags" }
                        th scope="col" { "Actions" }
                    }
                }
                tbody {
                    @for m in items {
                        @let id = m["id"].as_str().unwrap_or("");
                        @let base = page.href(&format!("/logs/{}/{id}", channel.segment()));
                        @let tags: Vec<&str> = m["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                        tr {
                            td { (html::time_of(&m["createdAt"])) }
                            td { (m["to"].as_str().unwrap_or("")) }
                            @if email { td { (m["subject"].as_str().unwrap_or("")) } }
                            td { (html::status(m["status"].as_str().unwrap_or(""))) }
                            td {
                                @if tags.is_empty() { span.muted { "—" } }
                                @for t in &tags { span.badge.tag { (t) } " " }
                            }
                            td.row-actions {
                                a href=(base) { "View JSON" }
                                " "
                                a href=(format!("{base}/message")) { "View message" }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn list(
    State(state): State<DashboardState>,
    at: At,
    Path(path): Path<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(channel) = Channel::of(&path) else {
        return html::not_found_page();
    };
    let q = query_params(raw.as_deref(), &["status", "order", "limit", "cursor"]);
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let filters_only = [
        ("status", get("status")),
        ("order", get("order")),
        ("limit", get("limit")),
    ];
    let mut api_query = filters_only.to_vec();
    api_query.push(("cursor", get("cursor")));
    let uri = at.api(&format!(
        "/logs/{}{}",
        channel.segment(),
        query_string(&api_query)
    ));
    let listed = match read_list(&at.resources(&state), uri).await {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    let page = at.page("Logs");
    match listed {
        Listed::Invalid(errors) => page.render_with(
            StatusCode::BAD_REQUEST,
            "Logs",
            html! {
                (tabs(&page, channel))
                (html::other_errors(errors.others(&["status", "order"])))
                (filters(&page, channel, &q, &errors))
                p { a href=(page.href(&format!("/logs/{}", channel.segment()))) { "Show all" } }
            },
        ),
        Listed::Page(body) => {
            let rows = items(&body);
            let next = body["nextCursor"].as_str().map(|c| {
                let mut pairs = filters_only.to_vec();
                pairs.push(("cursor", c));
                page.href(&format!(
                    "/logs/{}{}",
                    channel.segment(),
                    query_string(&pairs)
                ))
            });
            page.render(
                "Logs",
                html! {
                    (tabs(&page, channel))
                    (filters(&page, channel, &q, &FieldMessages::default()))
                    @if rows.is_empty() {
                        @if get("cursor").is_empty() {
                            (empty_state(&page, channel, &q))
                        } @else {
                            (html::empty("No more messages.",
                                Some((&page.href(&format!("/logs/{}", channel.segment())), "Back to the first page"))))
                        }
                    } @else {
                        (table(&page, channel, rows))
                    }
                    (html::pager(next))
                },
            )
        }
    }
}

/// The channel and message id of a path, if both are valid.
fn message_path(path: &HashMap<String, String>) -> Option<(Channel, String)> {
    let channel = Channel::of(path)?;
    let id = MessageId::parse(path.get("id")?).ok()?;
    Some((channel, id.as_str().to_owned()))
}

fn message_links(page: &Page, channel: Channel, id: &str, current: &str) -> Markup {
    let base = page.href(&format!("/logs/{}/{id}", channel.segment()));
    html! {
        div.actions {
            a href=(page.href(&format!("/logs/{}", channel.segment()))) { "← " (channel.label()) " log" }
            @if current == "message" { a href=(base) { "View JSON" } }
            @else { a href=(format!("{base}/message")) { "View message" } }
        }
    }
}

async fn record(
    State(state): State<DashboardState>,
    at: At,
    Path(path): Path<HashMap<String, String>>,
) -> Response {
    let Some((channel, id)) = message_path(&path) else {
        return html::not_found_page();
    };
    let answer = match at
        .resources(&state)
        .get(at.api(&format!("/logs/{}/{id}", channel.segment())))
        .await
    {
        Ok(a) => a.body,
        Err(e) => return failed(e),
    };
    let title = match channel {
        Channel::Sms => "Raw JSON of an SMS",
        Channel::Email => "Raw JSON of an email",
    };
    let page = at.page(title);
    page.render(
        "Logs",
        html! {
            (message_links(&page, channel, &id, "json"))
            dl.facts {
                dt { "Message id" } dd { (html::copyable("message-id", &id)) }
                dt { "Status" } dd { (html::status(answer["status"].as_str().unwrap_or(""))) }
                dt { "Created" } dd { (html::time_of(&answer["createdAt"])) }
                dt { "Link clicks" }
                dd {
                    @match answer["clicks"]["count"].as_u64() {
                        Some(n) => {
                            (n) ", first " (html::time_of(&answer["clicks"]["firstAt"]))
                            ", last " (html::time_of(&answer["clicks"]["lastAt"]))
                        }
                        None => span.muted { "None" },
                    }
                }
            }
            h2 id="record-json" { "Record" }
            (html::json_block(&answer))
        },
    )
}

/// A body of the message, as text: whatever it holds is escaped, never interpreted.
fn body_text(label: &str, id: &str, text: &str, hint: Option<&str>) -> Markup {
    html! {
        h2 id=(id) { (label) }
        @if let Some(h) = hint { p.hint { (h) } }
        pre.message tabindex="0" { code { (text) } }
    }
}

fn addresses(v: &Value) -> String {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

async fn message(
    State(state): State<DashboardState>,
    at: At,
    Path(path): Path<HashMap<String, String>>,
) -> Response {
    let Some((channel, id)) = message_path(&path) else {
        return html::not_found_page();
    };
    let m = match at
        .resources(&state)
        .get(at.api(&format!("/logs/{}/{id}/message", channel.segment())))
        .await
    {
        Ok(a) => a.body,
        Err(e) => return failed(e),
    };
    let title = match channel {
        Channel::Sms => "SMS message",
        Channel::Email => "Email message",
    };
    let page = at.page(title);
    let content = match channel {
        Channel::Sms => html! {
            (message_links(&page, channel, &id, "message"))
            dl.facts {
                dt { "To" } dd { (addresses(&m["to"])) }
            }
            (body_text("Text", "message-text", m["text"].as_str().unwrap_or(""), None))
        },
        Channel::Email => html! {
            (message_links(&page, channel, &id, "message"))
            dl.facts {
                dt { "To" } dd { (addresses(&m["to"])) }
                dt { "From" } dd { @match m["from"].as_str() { Some(f) => (f), None => span.muted { "The account's sender" } } }
                @if let Some(r) = m["replyTo"].as_str() { dt { "Reply to" } dd { (r) } }
                dt { "Subject" } dd { (m["subject"].as_str().unwrap_or("")) }
            }
            @if let Some(t) = m["text"].as_str() {
                (body_text("Text body", "message-text", t, None))
            }
            @if let Some(h) = m["html"].as_str() {
                (body_text("HTML body", "message-html", h,
                    Some("Shown as its source: the dashboard never displays a message's HTML.")))
            }
            @if m["text"].is_null() && m["html"].is_null() {
                p.muted { "The email has no body." }
            }
        },
    };
    page.render("Logs", content)
}
