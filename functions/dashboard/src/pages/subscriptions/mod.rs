//! Subscriptions (the reference's Events › Subscriptions page): the account's subscriptions
//! (to a webhook or a cloud queue, topic or bus), adding and editing one (the events it listens to, each with a preview of
//! its payload), deleting one, rotating its signing secret, and sending test events.
//!
//! - [`destination`]: where a subscription sends its events, as the pages show and edit it;
//! - [`edit`]: the list's add form, a subscription's page and its update form;
//! - [`manage`]: delete and rotate secret, each behind a confirmation, and the page that shows
//!   a signing secret its one time;
//! - [`test_events`]: mock events sent to a subscription, with the request body they make.

mod destination;
mod edit;
mod manage;
mod test_events;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use herald::events::subscription::SubscriptionId;
use maud::{Markup, html};
use serde_json::Value;

use super::{At, failed};
use crate::DashboardState;
use crate::html::{self, Page};

/// The navigation section of every page here.
const SECTION: &str = "Subscriptions";

/// The sender of the events of the catalog's older answer, which names none.
const DEFAULT_SENDER: &str = "herald";

pub fn routes() -> Router<DashboardState> {
    let base = "/dashboard/accounts/{account}/subscriptions";
    Router::new()
        .route(base, get(list).post(edit::create))
        .route(&format!("{base}/new"), get(edit::new))
        .route(
            &format!("{base}/test"),
            get(test_events::choose).post(test_events::send_chosen),
        )
        .route(
            &format!("{base}/{{subscription}}"),
            get(edit::show).post(edit::update),
        )
        .route(
            &format!("{base}/{{subscription}}/delete"),
            get(manage::confirm_delete).post(manage::delete),
        )
        .route(
            &format!("{base}/{{subscription}}/rotate-secret"),
            get(manage::confirm_rotate).post(manage::rotate),
        )
        .route(
            &format!("{base}/{{subscription}}/test"),
            get(test_events::form_page).post(test_events::send),
        )
}

/// The subscription a path names (`{subscription}`): a well-formed id, or the page is not
/// found (nothing else reaches the API's paths).
pub struct Sub(pub String);

impl FromRequestParts<DashboardState> for Sub {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DashboardState,
    ) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| html::not_found_page())?;
        params
            .get("subscription")
            .and_then(|s| SubscriptionId::parse(s).ok())
            .map(|id| Self(id.as_str().to_owned()))
            .ok_or_else(html::not_found_page)
    }
}

impl Sub {
    /// The API's path of this subscription, and `rest`.
    fn api(&self, at: &At, rest: &str) -> String {
        at.api(&format!("/subscriptions/{}{rest}", self.0))
    }

    /// The dashboard's path of this subscription, and `rest`.
    fn href(&self, page: &Page, rest: &str) -> String {
        page.href(&format!("/subscriptions/{}{rest}", self.0))
    }
}

/// The event types of `GET /event-types`, grouped by sender, in the catalog's order. Reads
/// both of its shapes: `{"senders": [{"sender", "eventTypes": [...]}]}`, and the older
/// `{"items": [...]}`, whose types carry their sender in `sender` or in their sample, or else
/// are Herald's own.
pub fn event_groups(catalog: &Value) -> Vec<(String, Vec<Value>)> {
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    let mut add = |sender: &str, t: &Value| {
        if t["name"].as_str().is_none_or(str::is_empty) {
            return;
        }
        match groups.iter_mut().find(|(s, _)| s == sender) {
            Some((_, types)) => types.push(t.clone()),
            None => groups.push((sender.to_owned(), vec![t.clone()])),
        }
    };
    if let Some(senders) = catalog["senders"].as_array() {
        for g in senders {
            let sender = g["sender"].as_str().unwrap_or(DEFAULT_SENDER);
            for t in g["eventTypes"].as_array().into_iter().flatten() {
                add(t["sender"].as_str().unwrap_or(sender), t);
            }
        }
    } else {
        for t in catalog["items"].as_array().into_iter().flatten() {
            let sender = t["sender"]
                .as_str()
                .or_else(|| t["sample"]["sender"].as_str())
                .unwrap_or(DEFAULT_SENDER);
            add(sender, t);
        }
    }
    groups
}

/// The event envelope's fields, in the reference's order.
const ENVELOPE: [&str; 9] = [
    "id",
    "timestamp",
    "sender",
    "eventName",
    "eventData",
    "accountId",
    "organizationId",
    "expiresAt",
    "tags",
];

/// An event pretty-printed with its fields in the envelope's order (a parsed JSON object
/// keeps its keys sorted), any others after them.
fn envelope_text(event: &Value) -> String {
    let Some(obj) = event.as_object() else {
        return serde_json::to_string_pretty(event).unwrap_or_default();
    };
    let keys = ENVELOPE
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .chain(
            obj.keys()
                .map(String::as_str)
                .filter(|k| !ENVELOPE.contains(k)),
        );
    let fields: Vec<String> = keys
        .map(|k| {
            // Pretty JSON holds no line break inside a string: each one starts a line.
            let value = serde_json::to_string_pretty(&obj[k])
                .unwrap_or_default()
                .replace('\n', "\n  ");
            format!("  {}: {value}", Value::from(k))
        })
        .collect();
    if fields.is_empty() {
        "{}".to_owned()
    } else {
        format!("{{\n{}\n}}", fields.join(",\n"))
    }
}

/// JSON text re-indented as it stands, its fields in their order: the exact body a test event
/// sends, made readable.
fn reindent(raw: &str) -> String {
    fn newline(out: &mut String, depth: usize) {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
    let mut out = String::with_capacity(raw.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.next_if(|c| c.is_whitespace()).is_some() {}
                if let Some(close) = chars.next_if(|c| *c == '}' || *c == ']') {
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// JSON text as [`html::json_block`] shows a value.
fn json_text(text: &str) -> Markup {
    html! { pre.json tabindex="0" { code { (text) } } }
}

/// An event type's name.
fn type_name(t: &Value) -> &str {
    t["name"].as_str().unwrap_or("")
}

/// A subscription's name, or its id when it has none.
fn name_of(sub: &Value) -> &str {
    sub["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .or_else(|| sub["id"].as_str())
        .unwrap_or("")
}

/// "All", or how many events a subscription listens to.
fn events_summary(sub: &Value) -> String {
    match sub["events"].as_array() {
        Some(names) => format!("{} selected", names.len()),
        None => "All".to_owned(),
    }
}

/// The tag filter's entries as written, or none.
fn tag_entries(sub: &Value) -> Vec<&str> {
    sub["tagFilter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Active, inactive, or disabled by Herald with its reason.
fn status(sub: &Value) -> Markup {
    html! {
        @if let Some(reason) = sub["disabledReason"].as_str() {
            (html::status("disabled")) " " span.reason { "Disabled by Herald: " (reason) }
        } @else if sub["active"] == true {
            (html::status("active"))
        } @else {
            span.badge.status-inactive { "inactive" }
        }
    }
}

/// `GET /subscriptions`: every subscription (an account holds at most 100: one page).
async fn list(
    State(state): State<DashboardState>,
    at: At,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let subs = match at.resources(&state).get(at.api("/subscriptions")).await {
        Ok(a) => a.body,
        Err(e) => return failed(e),
    };
    let items = subs["items"].as_array().cloned().unwrap_or_default();
    let page = at.page("Subscriptions");
    let may_change = page.signed.may_change();
    let done = [
        ("created", "Subscription added."),
        ("saved", "Subscription updated."),
        ("deleted", "Subscription deleted."),
    ]
    .into_iter()
    .find(|(k, _)| q.contains_key(*k));
    let content = html! {
        @if let Some((_, text)) = done { (html::notice("ok", text)) }
        p.hint {
            "A subscription sends the events you choose to your endpoint as they happen. "
            "Follow their deliveries on the " a href=(page.href("/events")) { "Events" } " page."
        }
        @if may_change && !items.is_empty() {
            div.actions {
                a.button href=(page.href("/subscriptions/new")) { "Add subscription" }
                a.button.secondary href=(page.href("/subscriptions/test")) { "Test events" }
            }
        }
        @if items.is_empty() {
            @if may_change {
                (html::empty(
                    "No subscription yet. A subscription sends the events you choose (messages \
                     sent, delivered or failed, domains verified, ...) to a URL of yours, signed \
                     with a secret if you wish. Add one with your endpoint's URL.",
                    Some((&page.href("/subscriptions/new"), "Add subscription")),
                ))
            } @else {
                (html::empty(
                    "No subscription yet. A subscription sends the events chosen to an endpoint \
                     of the account's as they happen; an administrator of the account can add one.",
                    None,
                ))
            }
        } @else {
            div.table-wrap {
                table {
                    thead {
                        tr {
                            th scope="col" { "Name" }
                            th scope="col" { "Destination" }
                            th scope="col" { "Events" }
                            th scope="col" { "Tag filter" }
                            th scope="col" { "Status" }
                        }
                    }
                    tbody {
                        @for s in &items {
                            @let id = s["id"].as_str().unwrap_or("");
                            @let tags = tag_entries(s);
                            tr {
                                th scope="row" {
                                    a href=(page.href(&format!("/subscriptions/{id}"))) { (name_of(s)) }
                                }
                                td { (destination::summary(s)) }
                                td { (events_summary(s)) }
                                td {
                                    @if tags.is_empty() { span.muted { "None" } }
                                    @else { @for (i, t) in tags.iter().enumerate() { @if i > 0 { " " } code { (t) } } }
                                }
                                td { (status(s)) }
                            }
                        }
                    }
                }
            }
        }
    };
    page.render(SECTION, content)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn names(groups: &[(String, Vec<Value>)]) -> Vec<(String, Vec<String>)> {
        groups
            .iter()
            .map(|(s, ts)| {
                (
                    s.clone(),
                    ts.iter().map(|t| type_name(t).to_owned()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn event_groups_read_the_older_shape_as_heralds() {
        let catalog = json!({"items": [
            {"name": "sms.sent", "description": "d", "sample": {"sender": "herald"}},
            {"name": "email.sent", "description": "d", "sample": {}},
            {"name": "order.completed", "description": "d", "sample": {"sender": "shop"}},
        ]});
        assert_eq!(
            names(&event_groups(&catalog)),
            [
                (
                    "herald".into(),
                    vec!["sms.sent".into(), "email.sent".into()]
                ),
                ("shop".into(), vec!["order.completed".into()]),
            ]
        );
    }

    #[test]
    fn event_groups_read_the_grouped_shape() {
        let catalog = json!({"senders": [
            {"sender": "herald", "eventTypes": [
                {"name": "sms.sent", "sender": "herald", "description": "d", "builtIn": true, "sample": {}},
                {"name": "", "sender": "herald"},
            ]},
            {"sender": "shop", "eventTypes": [
                {"name": "order.completed", "sender": "shop", "description": "d", "builtIn": false, "sample": {}},
            ]},
            {"sender": "empty", "eventTypes": []},
        ]});
        assert_eq!(
            names(&event_groups(&catalog)),
            [
                ("herald".into(), vec!["sms.sent".into()]),
                ("shop".into(), vec!["order.completed".into()]),
            ]
        );
        assert!(event_groups(&json!(null)).is_empty());
    }

    #[test]
    fn a_body_keeps_its_order_when_reindented() {
        let raw = r#"{"id":"e1","b":[],"a":{"s":"x,\"y: {z}","n":[1,{}]},"t":null}"#;
        let pretty = reindent(raw);
        assert_eq!(
            pretty,
            "{\n  \"id\": \"e1\",\n  \"b\": [],\n  \"a\": {\n    \"s\": \"x,\\\"y: {z}\",\n    \
             \"n\": [\n      1,\n      {}\n    ]\n  },\n  \"t\": null\n}"
        );
        let parsed: Value = serde_json::from_str(&pretty).expect("still JSON");
        assert_eq!(parsed, serde_json::from_str::<Value>(raw).expect("JSON"));
    }

    #[test]
    fn an_envelope_reads_in_the_references_order() {
        let event = json!({"tags": ["mock"], "id": "e1", "eventData": {"b": 1, "a": 2}, "zz": 0});
        assert_eq!(
            envelope_text(&event),
            "{\n  \"id\": \"e1\",\n  \"eventData\": {\n    \"a\": 2,\n    \"b\": 1\n  },\n  \
             \"tags\": [\n    \"mock\"\n  ],\n  \"zz\": 0\n}"
        );
    }
}
