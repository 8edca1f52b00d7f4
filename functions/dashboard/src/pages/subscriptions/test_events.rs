//! Test events (the reference's "Test events" button): a mock event of a chosen type, tagged
//! `mock`, sent to a subscription whatever its filters, and the request body it makes. From the
//! list (choose the subscription and the event) or from a subscription's page (the event).

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use herald::events::subscription::SubscriptionId;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::{SECTION, Sub, destination, event_groups, json_text, name_of, reindent, type_name};
use crate::DashboardState;
use crate::html::{self, Page};
use crate::pages::{At, Form, failed};
use crate::resources::{CallError, FieldMessages, Written};

/// Which subscription gets the event: one chosen from these, or this one.
enum Target<'a> {
    Any(&'a [Value]),
    One(&'a Sub, &'a Value),
}

/// The event types, in a select grouped by sender.
fn event_select(groups: &[(String, Vec<Value>)], selected: &str, error: Option<&str>) -> Markup {
    let id = html::field_id("eventName");
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { "Event type" }
            select id=(id) name="eventName" aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| format!("{id}-error"))] {
                @for (sender, types) in groups {
                    optgroup label=(sender) {
                        @for t in types {
                            @let name = type_name(t);
                            option value=(name) selected[name == selected] { (name) }
                        }
                    }
                }
            }
            @if let Some(e) = error { p.error id=(format!("{id}-error")) { (e) } }
        }
    }
}

fn form(
    page: &Page,
    target: &Target,
    groups: &[(String, Vec<Value>)],
    chosen: (&str, &str),
    errors: &FieldMessages,
) -> Markup {
    let (subscription, event) = chosen;
    let action = match target {
        Target::Any(_) => page.href("/subscriptions/test"),
        Target::One(sub, _) => sub.href(page, "/test"),
    };
    let shown = ["subscription", "eventName"];
    html! {
        (html::other_errors(errors.others(&shown)))
        form method="post" action=(action) {
            (page.csrf())
            @match target {
                Target::Any(subs) => {
                    @let options: Vec<(String, String)> = subs.iter()
                        .map(|s| (s["id"].as_str().unwrap_or("").to_owned(), name_of(s).to_owned()))
                        .collect();
                    (html::select("subscription", "Subscription", &options, subscription,
                        errors.get("subscription"), false))
                }
                Target::One(_, s) => {
                    dl.facts {
                        dt { "Subscription" } dd { (name_of(s)) }
                        dt { "Destination" } dd { (destination::summary(s)) }
                    }
                }
            }
            (event_select(groups, event, errors.get("eventName")))
            p.hint {
                "Herald sends a mock event of this type, tagged mock, to the subscription's \
                 destination, whatever its tag filter and events, even while it is inactive."
            }
            div.actions {
                button type="submit" { "Send" }
                a href=(page.href("/subscriptions")) { "Back to subscriptions" }
            }
        }
    }
}

/// What the API answered: the delivery, and the exact request body, pretty-printed.
fn sent(page: &Page, sub: &Value, event: &str, answer: &Value) -> Markup {
    let raw = answer["body"].as_str().unwrap_or("");
    // The exact body, in its own order; anything but JSON as it is.
    let body = if serde_json::from_str::<Value>(raw).is_ok() {
        reindent(raw)
    } else {
        raw.to_owned()
    };
    let id = sub["id"].as_str().unwrap_or("");
    html! {
        section.test-result aria-labelledby="test-sent" {
            h2 id="test-sent" { "Sent" }
            p role="status" {
                "A mock " code { (event) } " event is on its way to " strong { (name_of(sub)) }
                " (" (destination::summary(sub)) "), as delivery "
                code { (answer["deliveryId"].as_str().unwrap_or("")) } ". Follow it on the "
                a href=(page.href(&format!("/events?subscriptionId={id}"))) { "Events" } " page."
            }
            h3 { "Request body" }
            (json_text(&body))
        }
        h2 { "Send another" }
    }
}

fn no_subscription(page: &Page) -> Markup {
    html::empty(
        "No subscription to test yet. Add one with your endpoint's URL, then send it test events.",
        Some((&page.href("/subscriptions/new"), "Add subscription")),
    )
}

/// `GET /subscriptions/test[?subscription=]`: choose a subscription and an event.
pub(super) async fn choose(
    State(state): State<DashboardState>,
    at: At,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(back) = at.viewer_back_to("/subscriptions") {
        return back;
    }
    let r = at.resources(&state);
    let (subs, types) = tokio::join!(r.get(at.api("/subscriptions")), r.get("/event-types"));
    let (subs, types) = match (subs, types) {
        (Ok(s), Ok(t)) => (s.body, t.body),
        (Err(e), _) | (_, Err(e)) => return failed(e),
    };
    let items = subs["items"].as_array().cloned().unwrap_or_default();
    let groups = event_groups(&types);
    let page = at.page("Test events");
    let chosen = q.get("subscription").map(String::as_str).unwrap_or("");
    let content = if items.is_empty() {
        no_subscription(&page)
    } else {
        form(
            &page,
            &Target::Any(&items),
            &groups,
            (chosen, ""),
            &FieldMessages::default(),
        )
    };
    page.render(SECTION, content)
}

/// `POST /subscriptions/test`: sends the event to the subscription chosen.
pub(super) async fn send_chosen(State(state): State<DashboardState>, at: At, f: Form) -> Response {
    let chosen = f.text("subscription");
    let event = f.text("eventName");
    let id = SubscriptionId::parse(&chosen).ok();
    let r = at.resources(&state);
    let write = async {
        match &id {
            Some(id) => Some(
                r.write(
                    Method::POST,
                    at.api(&format!("/subscriptions/{}/test", id.as_str())),
                    Some(json!({ "eventName": event })),
                    None,
                )
                .await,
            ),
            None => None,
        }
    };
    let (written, subs, types) = tokio::join!(
        write,
        r.get(at.api("/subscriptions")),
        r.get("/event-types")
    );
    let (subs, types) = match (subs, types) {
        (Ok(s), Ok(t)) => (s.body, t.body),
        (Err(e), _) | (_, Err(e)) => return failed(e),
    };
    let items = subs["items"].as_array().cloned().unwrap_or_default();
    let groups = event_groups(&types);
    let page = at.page("Test events");
    let refusal = |field: &str, message: &str| {
        FieldMessages(BTreeMap::from([(field.to_owned(), message.to_owned())]))
    };
    let (status, errors, why) = match written {
        None => (
            StatusCode::BAD_REQUEST,
            refusal("subscription", "Choose a subscription."),
            None,
        ),
        Some(Ok(Written::Done(a))) => {
            tracing::info!(account = %at.account, subscription = %chosen, "test event sent from the dashboard");
            let sub = items
                .iter()
                .find(|s| s["id"] == chosen.as_str())
                .cloned()
                .unwrap_or_else(|| json!({"id": chosen}));
            return page.render(
                SECTION,
                html! {
                    (sent(&page, &sub, &event, &a.body))
                    (form(&page, &Target::Any(&items), &groups, (&chosen, &event), &FieldMessages::default()))
                },
            );
        }
        Some(Ok(Written::Invalid(errors))) => (StatusCode::BAD_REQUEST, errors, None),
        Some(Ok(Written::Refused(why))) => {
            (StatusCode::CONFLICT, FieldMessages::default(), Some(why))
        }
        Some(Err(CallError::NotFound)) => (
            StatusCode::BAD_REQUEST,
            refusal("subscription", "This subscription no longer exists."),
            None,
        ),
        Some(Err(e)) => return failed(e),
    };
    let content = if items.is_empty() {
        no_subscription(&page)
    } else {
        html! {
            @if let Some(why) = &why { (html::notice("error", why)) }
            (form(&page, &Target::Any(&items), &groups, (&chosen, &event), &errors))
        }
    };
    page.render_with(status, SECTION, content)
}

/// `GET /subscriptions/{id}/test`: choose an event for this subscription.
pub(super) async fn form_page(State(state): State<DashboardState>, at: At, sub: Sub) -> Response {
    if let Some(back) = at.viewer_back_to(&format!("/subscriptions/{}", sub.0)) {
        return back;
    }
    let r = at.resources(&state);
    let (current, types) = tokio::join!(r.get(sub.api(&at, "")), r.get("/event-types"));
    let (current, types) = match (current, types) {
        (Ok(s), Ok(t)) => (s.body, t.body),
        (Err(e), _) | (_, Err(e)) => return failed(e),
    };
    let groups = event_groups(&types);
    let page = at.page("Test events");
    page.render(
        SECTION,
        form(
            &page,
            &Target::One(&sub, &current),
            &groups,
            ("", ""),
            &FieldMessages::default(),
        ),
    )
}

/// `POST /subscriptions/{id}/test`: sends the event to this subscription.
pub(super) async fn send(
    State(state): State<DashboardState>,
    at: At,
    sub: Sub,
    f: Form,
) -> Response {
    let event = f.text("eventName");
    let r = at.resources(&state);
    let (written, current, types) = tokio::join!(
        r.write(
            Method::POST,
            sub.api(&at, "/test"),
            Some(json!({ "eventName": event })),
            None,
        ),
        r.get(sub.api(&at, "")),
        r.get("/event-types")
    );
    let (current, types) = match (current, types) {
        (Ok(s), Ok(t)) => (s.body, t.body),
        (Err(e), _) | (_, Err(e)) => return failed(e),
    };
    let groups = event_groups(&types);
    let page = at.page("Test events");
    let target = Target::One(&sub, &current);
    let (status, errors, why) = match written {
        Ok(Written::Done(a)) => {
            tracing::info!(account = %at.account, subscription = %sub.0, "test event sent from the dashboard");
            return page.render(
                SECTION,
                html! {
                    (sent(&page, &current, &event, &a.body))
                    (form(&page, &target, &groups, ("", &event), &FieldMessages::default()))
                },
            );
        }
        Ok(Written::Invalid(errors)) => (StatusCode::BAD_REQUEST, errors, None),
        Ok(Written::Refused(why)) => (StatusCode::CONFLICT, FieldMessages::default(), Some(why)),
        Err(e) => return failed(e),
    };
    page.render_with(
        status,
        SECTION,
        html! {
            @if let Some(why) = &why { (html::notice("error", why)) }
            (form(&page, &target, &groups, ("", &event), &errors))
        },
    )
}
