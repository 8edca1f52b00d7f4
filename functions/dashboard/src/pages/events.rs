//! Events: the deliveries of the account's events to its subscriptions, filtered by
//! subscription and status; per delivery every attempt with its request and response, and
//! "Retry now".

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use herald::events::delivery::DeliveryId;
use maud::{Markup, html};
use serde_json::Value;

use super::logs::{Listed, items, query_params, query_string, read_list};
use super::{At, failed};
use crate::DashboardState;
use crate::html::{self, Page};
use crate::resources::{CallError, FieldMessages, Written};

pub fn routes() -> Router<DashboardState> {
    Router::new()
        .route("/dashboard/accounts/{account}/events", get(list))
        .route("/dashboard/accounts/{account}/events/{delivery}", get(show))
        .route(
            "/dashboard/accounts/{account}/events/{delivery}/retry",
            get(to_delivery).post(retry),
        )
}

const STATUSES: [(&str, &str); 4] = [
    ("", "All"),
    ("pending", "Pending"),
    ("delivered", "Delivered"),
    ("failed", "Failed"),
];

/// Subscription ids and names, as the one subscriptions read gave them.
fn names(subscriptions: &Value) -> Vec<(String, String)> {
    items(subscriptions)
        .iter()
        .filter_map(|s| {
            let id = s["id"].as_str()?;
            Some((id.to_owned(), s["name"].as_str().unwrap_or(id).to_owned()))
        })
        .collect()
}

fn subscription_cell(page: &Page, names: &HashMap<&str, &str>, id: &str) -> Markup {
    html! {
        @match names.get(id) {
            Some(name) => a href=(page.href(&format!("/subscriptions/{id}"))) { (name) },
            None => span.muted { "Deleted subscription " code { (id) } },
        }
    }
}

fn filters(
    page: &Page,
    subscriptions: &[(String, String)],
    q: &HashMap<String, String>,
    errors: &FieldMessages,
) -> Markup {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let mut subs = vec![(String::new(), "All subscriptions".to_owned())];
    subs.extend(subscriptions.iter().cloned());
    let chosen = get("subscriptionId");
    if !chosen.is_empty()
        && !subs.iter().any(|(id, _)| id == chosen)
        && errors.get("subscriptionId").is_none()
    {
        subs.push((chosen.to_owned(), format!("Deleted subscription {chosen}")));
    }
    let statuses: Vec<(String, String)> = STATUSES
        .iter()
        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
        .collect();
    html! {
        form.filters method="get" action=(page.href("/events")) aria-label="Filter deliveries" {
            (html::select("subscriptionId", "Subscription", &subs, chosen,
                errors.get("subscriptionId"), false))
            (html::select("status", "Status", &statuses, get("status"), errors.get("status"), false))
            @if !get("limit").is_empty() { input type="hidden" name="limit" value=(get("limit")); }
            div.field { button type="submit" { "Show" } }
        }
    }
}

fn table(page: &Page, names: &HashMap<&str, &str>, rows: &[Value]) -> Markup {
    html! {
        div.table-wrap {
            table {
                thead {
                    tr {
                        th scope="col" { "Event" }
                        th scope="col" { "Subscription" }
                        th scope="col" { "Status" }
                        th scope="col" { "Attempts" }
                        th scope="col" { "Last response" }
                        th scope="col" { "Next attempt" }
                        th scope="col" { "Created" }
                    }
                }
                tbody {
                    @for d in rows {
                        @let id = d["id"].as_str().unwrap_or("");
                        tr {
                            td { a href=(page.href(&format!("/events/{id}"))) { (d["eventName"].as_str().unwrap_or(id)) } }
                            td { (subscription_cell(page, names, d["subscriptionId"].as_str().unwrap_or(""))) }
                            td {
                                (html::status(d["status"].as_str().unwrap_or("")))
                                @if let Some(r) = d["reason"].as_str() { br; span.muted.reason { (r) } }
                            }
                            td { (d["attempts"].as_u64().unwrap_or(0)) }
                            td { @match d["lastResponseStatus"].as_u64() { Some(s) => (s), None => "—" } }
                            td { (html::time_of(&d["nextAttemptAt"])) }
                            td { (html::time_of(&d["createdAt"])) }
                        }
                    }
                }
            }
        }
    }
}

fn empty_state(page: &Page, subscriptions: &[(String, String)], filtered: bool) -> Markup {
    if filtered {
        html::empty(
            "No deliveries match these filters.",
            Some((&page.href("/events"), "Show all")),
        )
    } else if subscriptions.is_empty() {
        html::empty(
            "No subscription yet, so no event is delivered. Add a subscription to receive \
             events at your endpoint.",
            Some((&page.href("/subscriptions/new"), "Add subscription")),
        )
    } else {
        html::empty(
            "No event deliveries yet. They appear here when an event your subscriptions listen \
             to happens. To try one now, send a test event from Subscriptions.",
            Some((&page.href("/subscriptions"), "Subscriptions")),
        )
    }
}

async fn list(State(state): State<DashboardState>, at: At, RawQuery(raw): RawQuery) -> Response {
    let q = query_params(
        raw.as_deref(),
        &["subscriptionId", "status", "limit", "cursor"],
    );
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let filters_only = [
        ("subscriptionId", get("subscriptionId")),
        ("status", get("status")),
        ("limit", get("limit")),
    ];
    let mut api_query = filters_only.to_vec();
    api_query.push(("cursor", get("cursor")));
    let r = at.resources(&state);
    let (listed, subscriptions) = tokio::join!(
        read_list(
            &r,
            at.api(&format!("/deliveries{}", query_string(&api_query)))
        ),
        r.get(at.api("/subscriptions")),
    );
    let (listed, subscriptions) = match (listed, subscriptions) {
        (Ok(l), Ok(s)) => (l, names(&s.body)),
        (Err(e), _) | (_, Err(e)) => return failed(e),
    };
    let by_id: HashMap<&str, &str> = subscriptions
        .iter()
        .map(|(id, name)| (id.as_str(), name.as_str()))
        .collect();
    let page = at.page("Events");
    match listed {
        Listed::Invalid(errors) => page.render_with(
            StatusCode::BAD_REQUEST,
            "Events",
            html! {
                (html::other_errors(errors.others(&["subscriptionId", "status"])))
                (filters(&page, &subscriptions, &q, &errors))
                p { a href=(page.href("/events")) { "Show all" } }
            },
        ),
        Listed::Page(body) => {
            let rows = items(&body);
            let next = body["nextCursor"].as_str().map(|c| {
                let mut pairs = filters_only.to_vec();
                pairs.push(("cursor", c));
                page.href(&format!("/events{}", query_string(&pairs)))
            });
            let filtered = !get("subscriptionId").is_empty() || !get("status").is_empty();
            page.render(
                "Events",
                html! {
                    (filters(&page, &subscriptions, &q, &FieldMessages::default()))
                    @if rows.is_empty() {
                        @if get("cursor").is_empty() {
                            (empty_state(&page, &subscriptions, filtered))
                        } @else {
                            (html::empty("No more deliveries.", Some((&page.href("/events"), "Back to the first page"))))
                        }
                    } @else {
                        (table(&page, &by_id, rows))
                    }
                    (html::pager(next))
                },
            )
        }
    }
}

/// The delivery id of a path, if valid, and the subscription it names.
fn delivery_path(path: &HashMap<String, String>) -> Option<(String, String)> {
    let id = DeliveryId::parse(path.get("delivery")?).ok()?;
    let subscription = id.as_str().split_once('-')?.1.to_owned();
    Some((id.as_str().to_owned(), subscription))
}

/// The JSON object or array `text` holds, if it holds one.
fn json_of(text: &str) -> Option<Value> {
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
}

fn is_json(text: &str) -> bool {
    json_of(text).is_some()
}

/// A body: pretty JSON when it is JSON, otherwise its text, escaped.
fn body_block(text: &str) -> Markup {
    match json_of(text) {
        Some(v) => html::json_block(&v),
        None if text.is_empty() => html! { p.muted { "Empty." } },
        None => html! { pre.message tabindex="0" { code { (text) } } },
    }
}

fn headers(v: &Value) -> Markup {
    let map = v.as_object();
    html! {
        @match map.filter(|m| !m.is_empty()) {
            None => p.muted { "None." },
            Some(m) => dl.facts.headers {
                @for (name, value) in m {
                    dt { code { (name) } }
                    dd { code { (value.as_str().unwrap_or("")) } }
                }
            },
        }
    }
}

fn attempt(a: &Value) -> Markup {
    let n = a["number"].as_u64().unwrap_or(0);
    let id = format!("attempt-{n}");
    html! {
        section.attempt aria-labelledby=(id) {
            h3 id=(id) { "Attempt " (n) " " (html::status(a["outcome"].as_str().unwrap_or(""))) }
            dl.facts {
                dt { "Time" } dd { (html::time_of(&a["at"])) }
                dt { "URL" } dd { code { (a["url"].as_str().unwrap_or("")) } }
                dt { "Duration" } dd { (a["durationMs"].as_u64().unwrap_or(0)) " ms" }
                dt { "Response status" }
                dd { @match a["responseStatus"].as_u64() { Some(s) => (s), None => "No response" } }
                @if let Some(e) = a["error"].as_str() { dt { "Error" } dd { (e) } }
                dt { "Next attempt" } dd { (html::time_of(&a["nextAttemptAt"])) }
            }
            h4 { "Request headers" }
            (headers(&a["requestHeaders"]))
            h4 { "Request body" }
            p { "The same for every attempt: see " a href="#request-body" { "the request body" } " above." }
            h4 { "Response headers" }
            (headers(&a["responseHeaders"]))
            h4 { "Response body" }
            @if a["responseBodyTruncated"] == true {
                p.hint { "Only the first 2 KiB were kept." }
            }
            (body_block(a["responseBody"].as_str().unwrap_or("")))
        }
    }
}

/// The delivery page, with `notice` (kind, text) above it.
fn delivery(
    page: &Page,
    d: &Value,
    subscription: Option<&Value>,
    notice: Option<(&str, &str)>,
) -> Markup {
    let id = d["id"].as_str().unwrap_or("");
    let sub_id = d["subscriptionId"].as_str().unwrap_or("");
    let attempts: Vec<&Value> = d["attempts"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .collect();
    let pending = d["status"] == "pending";
    let body = d["body"].as_str().unwrap_or("");
    html! {
        p { a href=(page.href("/events")) { "← Events" } }
        @if let Some((kind, text)) = notice { (html::notice(kind, text)) }
        dl.facts {
            dt { "Event" } dd { (d["eventName"].as_str().unwrap_or("")) @if d["test"] == true { " " span.badge { "test" } } }
            dt { "Event id" } dd { code { (d["eventId"].as_str().unwrap_or("")) } }
            dt { "Subscription" }
            dd {
                @match subscription {
                    Some(s) => a href=(page.href(&format!("/subscriptions/{sub_id}"))) { (s["name"].as_str().unwrap_or(sub_id)) },
                    None => span.muted { "Deleted subscription " code { (sub_id) } },
                }
            }
            dt { "Status" } dd { (html::status(d["status"].as_str().unwrap_or(""))) }
            @if let Some(r) = d["reason"].as_str() { dt { "Reason" } dd { (r) } }
            dt { "Attempts" } dd { (d["attemptCount"].as_u64().unwrap_or(0)) }
            dt { "Next attempt" }
            dd { @if pending { (html::time_of(&d["nextAttemptAt"])) } @else { "—" } }
            dt { "Event expires" } dd { (html::time_of(&d["eventExpiresAt"])) }
            dt { "Created" } dd { (html::time_of(&d["createdAt"])) }
            dt { "Delivery id" } dd { (html::copyable("delivery-id", id)) }
        }
        p.hint { "The delivery id is also the webhook-id header of every attempt." }
        @if page.signed.may_change() {
            form.actions method="post" action=(page.href(&format!("/events/{id}/retry"))) {
                (page.csrf())
                button type="submit" { "Retry now" }
                span.hint { "Delivers the event again now, with the same webhook-id, and starts a new retry window." }
            }
        }
        h2 id="request-body" { "Request body" }
        p.hint { "The body every attempt sends (and signs)." }
        (body_block(body))
        @if is_json(body) {
            details {
                summary { "Exact bytes sent" }
                pre.message tabindex="0" { code { (body) } }
            }
        }
        h2 id="attempts" { "Attempts" }
        @if attempts.is_empty() {
            (html::empty("No attempt yet: the first one is on its way.", None))
        } @else {
            @if d["attemptCount"].as_u64().unwrap_or(0) > attempts.len() as u64 {
                p.hint { "The latest " (attempts.len()) " attempts, newest first; older ones are no longer kept." }
            } @else {
                p.hint { "Newest first." }
            }
            @for a in attempts { (attempt(a)) }
        }
    }
}

async fn read(
    state: &DashboardState,
    at: &At,
    id: &str,
    subscription: &str,
) -> Result<(Value, Option<Value>), Response> {
    let r = at.resources(state);
    let (d, s) = tokio::join!(
        r.get(at.api(&format!("/deliveries/{id}"))),
        r.get(at.api(&format!("/subscriptions/{subscription}"))),
    );
    let d = d.map_err(failed)?.body;
    let s = match s {
        Ok(a) => Some(a.body),
        Err(CallError::NotFound) => None,
        Err(e) => return Err(failed(e)),
    };
    Ok((d, s))
}

async fn show(
    State(state): State<DashboardState>,
    at: At,
    Path(path): Path<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some((id, sub)) = delivery_path(&path) else {
        return html::not_found_page();
    };
    let (d, s) = match read(&state, &at, &id, &sub).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let retried = query_params(raw.as_deref(), &["retried"])
        .get("retried")
        .and_then(|n| n.parse::<u32>().ok());
    let text = retried.map(|n| format!("Retry queued: attempt {n} is being made now."));
    let page = at.page("Event delivery");
    page.render(
        "Events",
        delivery(&page, &d, s.as_ref(), text.as_deref().map(|t| ("ok", t))),
    )
}

async fn to_delivery(at: At, Path(path): Path<HashMap<String, String>>) -> Response {
    match delivery_path(&path) {
        Some((id, _)) => Redirect::to(&at.href(&format!("/events/{id}"))).into_response(),
        None => html::not_found_page(),
    }
}

async fn retry(
    State(state): State<DashboardState>,
    at: At,
    Path(path): Path<HashMap<String, String>>,
) -> Response {
    let Some((id, sub)) = delivery_path(&path) else {
        return html::not_found_page();
    };
    let written = at
        .resources(&state)
        .write(
            Method::POST,
            at.api(&format!("/deliveries/{id}/retry")),
            None,
            None,
        )
        .await;
    let (status, why) = match written {
        Ok(Written::Done(a)) => {
            tracing::info!(account = %at.account, delivery = %id, "delivery retried from the dashboard");
            let n = a.body["nextAttempt"].as_u64().unwrap_or(0);
            return Redirect::to(&at.href(&format!("/events/{id}?retried={n}"))).into_response();
        }
        Ok(Written::Refused(why)) => (StatusCode::CONFLICT, why),
        Ok(Written::Invalid(errors)) => (
            StatusCode::BAD_REQUEST,
            errors
                .others(&[])
                .map(|(f, m)| format!("{f} {m}"))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Err(CallError::NotFound) => return html::not_found_page(),
        Err(CallError::Failed { status, detail }) => {
            tracing::error!(%status, %detail, delivery = %id, "dashboard retry failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Herald could not queue the retry just now. Try again in a moment.".to_owned(),
            )
        }
    };
    let (d, s) = match read(&state, &at, &id, &sub).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let page = at.page("Event delivery");
    page.render_with(
        status,
        "Events",
        delivery(
            &page,
            &d,
            s.as_ref(),
            Some(("error", &format!("Not retried: {why}"))),
        ),
    )
}
