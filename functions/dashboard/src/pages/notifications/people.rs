//! A recipient's preferences as an administrator sees and changes them, and the notification
//! log with its filters and pages.

use std::collections::HashMap;

use axum::extract::{Query, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use herald::notify::log::Outcome;
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::{SECTION, encode, tabs};
use crate::DashboardState;
use crate::html::{self, Field, Page};
use crate::pages::logs::{Listed, items, query_params, query_string, read_list};
use crate::pages::{At, Form, failed};
use crate::resources::{FieldMessages, Written};

const CHANNELS: [(&str, &str); 2] = [("email", "Email"), ("sms", "SMS")];

fn preferences_uri(at: &At, recipient: &str, role: &str) -> String {
    let mut uri = at.api(&format!("/recipients/{}/preferences", encode(recipient)));
    if !role.is_empty() {
        uri.push_str(&format!("?role={}", encode(role)));
    }
    uri
}

fn lookup(page: &Page, recipient: &str, role: &str, errors: &FieldMessages) -> Markup {
    html! {
        form.filters method="get" action=(page.href("/notifications/preferences")) {
            (Field::text("recipient", "Recipient id", recipient)
                .hint("The id the rules read from the event, such as an email address or a user id.")
                .error(errors.get("recipient")).render())
            (Field::text("role", "Role", role)
                .hint("Optional: shows what a recipient of this role may change.")
                .error(errors.get("role")).render())
            div.actions { button type="submit" { "Show preferences" } }
        }
    }
}

fn cell(key: &str, c: &str, ch: &Value, mandatory: bool, may_change: bool) -> Markup {
    let state = if ch["on"] == true { "On" } else { "Off" };
    let choice = match ch["choice"].as_bool() {
        Some(true) => "on",
        Some(false) => "off",
        None => "default",
    };
    let name = format!("pref.{key}.{c}");
    let because = ch["because"].as_str().unwrap_or("");
    html! {
        @if mandatory {
            strong { "Always on" }
        } @else if may_change {
            @let id = html::field_id(&name);
            label.visually-hidden for=(id) { (key) " " (c) }
            select id=(id) name=(name) {
                option value="default" selected[choice == "default"] { "Default (" (state) ")" }
                option value="on" selected[choice == "on"] { "On" }
                option value="off" selected[choice == "off"] { "Off" }
            }
            @if !because.is_empty() { p.hint { (because) } }
        } @else {
            (state) @if !because.is_empty() { " " span.muted { "(" (because) ")" } }
        }
    }
}

fn table(page: &Page, prefs: &Value, recipient: &str, role: &str) -> Markup {
    let types = prefs["types"].as_array().cloned().unwrap_or_default();
    let may_change = page.signed.may_change();
    let grid = html! {
        div.table-wrap {
            table {
                caption { "Preferences of " (recipient) }
                thead {
                    tr {
                        th scope="col" { "Type" }
                        @for (_, label) in CHANNELS { th scope="col" { (label) } }
                        th scope="col" { "Recipient may change" }
                    }
                }
                tbody {
                    @for t in &types {
                        @let key = t["key"].as_str().unwrap_or("");
                        @let mandatory = t["mandatory"] == true;
                        tr {
                            th scope="row" { (t["name"].as_str().unwrap_or(key)) " " code { (key) } }
                            @for (c, _) in CHANNELS {
                                td {
                                    @if t["channels"][c].is_object() {
                                        (cell(key, c, &t["channels"][c], mandatory, may_change))
                                    } @else { span.muted { "Not used" } }
                                }
                            }
                            td {
                                @let changeable: Vec<&str> = CHANNELS.iter()
                                    .filter(|(c, _)| t["channels"][c]["changeable"] == true)
                                    .map(|(_, l)| *l).collect();
                                @if changeable.is_empty() { "No" } @else { (changeable.join(", ")) }
                            }
                        }
                    }
                }
            }
        }
    };
    html! {
        @if types.is_empty() {
            (html::empty("The account has no notification type yet.", None))
        } @else if may_change {
            form method="post" action=(page.href("/notifications/preferences")) {
                (page.csrf())
                input type="hidden" name="recipient" value=(recipient);
                input type="hidden" name="role" value=(role);
                (grid)
                div.actions { button type="submit" { "Save preferences" } }
            }
        } @else {
            (grid)
        }
        @if let Some(t) = prefs["updatedAt"].as_str() { p.hint { "Last changed " (html::time(t)) "." } }
    }
}

async fn show(
    state: &DashboardState,
    at: &At,
    recipient: &str,
    role: &str,
    notice: Option<Markup>,
    status: StatusCode,
) -> Response {
    let page = at.page("Recipient preferences");
    let mut errors = FieldMessages::default();
    let mut body = html! {};
    if !recipient.is_empty() {
        let a = at
            .resources(state)
            .call(
                Method::GET,
                preferences_uri(at, recipient, role),
                None,
                None,
            )
            .await;
        if a.status.is_success() {
            body = table(&page, &a.body, recipient, role);
        } else if a.status == StatusCode::NOT_FOUND {
            errors.0.insert(
                "recipient".into(),
                "is not a recipient id Herald accepts".into(),
            );
        } else if a.status == StatusCode::BAD_REQUEST {
            errors = FieldMessages::of(&a.body);
        } else {
            return failed(crate::resources::CallError::Failed {
                status: a.status,
                detail: a.body["detail"].as_str().unwrap_or("").to_owned(),
            });
        }
    }
    let content = html! {
        (tabs(&page, "Preferences"))
        @if let Some(n) = notice { (n) }
        p.hint { "What a recipient chose for each type and channel. Mandatory types are always on." }
        (lookup(&page, recipient, role, &errors))
        (body)
    };
    page.render_with(status, SECTION, content)
}

/// `GET /notifications/preferences?recipient=&role=`.
pub async fn preferences(
    State(state): State<DashboardState>,
    at: At,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let recipient = q.get("recipient").map(|s| s.trim()).unwrap_or("");
    let role = q.get("role").map(|s| s.trim()).unwrap_or("");
    show(&state, &at, recipient, role, None, StatusCode::OK).await
}

/// `POST /notifications/preferences`: each non-mandatory type's choices (default clears one).
pub async fn save_preferences(State(state): State<DashboardState>, at: At, form: Form) -> Response {
    let recipient = form.text("recipient");
    let role = form.text("role");
    let mut types: Map<String, Value> = Map::new();
    for (name, values) in &form.0 {
        let Some(rest) = name.strip_prefix("pref.") else {
            continue;
        };
        let Some((key, channel)) = rest.rsplit_once('.') else {
            continue;
        };
        if !matches!(channel, "email" | "sms") {
            continue;
        }
        let v = match values.first().map(String::as_str) {
            Some("on") => json!(true),
            Some("off") => json!(false),
            _ => Value::Null,
        };
        types
            .entry(key.to_owned())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|o| o.insert(channel.to_owned(), v));
    }
    let written = at
        .resources(&state)
        .write(
            Method::PUT,
            preferences_uri(&at, &recipient, &role),
            Some(json!({ "types": types })),
            None,
        )
        .await;
    let (notice, status) = match written {
        Ok(Written::Done(_)) => (html::notice("ok", "Preferences saved."), StatusCode::OK),
        Ok(Written::Invalid(f)) => {
            let text: Vec<String> = f.0.iter().map(|(k, m)| format!("{k} {m}")).collect();
            (
                html::notice("error", &format!("Not saved: {}", text.join("; "))),
                StatusCode::BAD_REQUEST,
            )
        }
        Ok(Written::Refused(why)) => (
            html::notice("error", &format!("Not saved: {why}")),
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => return failed(e),
    };
    show(&state, &at, &recipient, &role, Some(notice), status).await
}

const LOG_PARAMS: [&str; 6] = ["rule", "recipient", "outcome", "from", "to", "cursor"];

/// `GET /notifications/log?rule=&recipient=&outcome=&from=&to=&cursor=`.
pub async fn log(State(state): State<DashboardState>, at: At, RawQuery(raw): RawQuery) -> Response {
    let q = query_params(raw.as_deref(), &LOG_PARAMS);
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let r = at.resources(&state);
    let rules: Vec<Value> = r
        .get(at.api("/notification-rules"))
        .await
        .ok()
        .and_then(|a| a.body["items"].as_array().cloned())
        .unwrap_or_default();
    let filters: Vec<(&str, &str)> = LOG_PARAMS.iter().map(|k| (*k, get(k))).collect();
    let listed = match read_list(
        &r,
        format!("{}{}", at.api("/notifications"), query_string(&filters)),
    )
    .await
    {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    let page = at.page("Notification log");
    let (list, errors) = match listed {
        Listed::Page(p) => (p, FieldMessages::default()),
        Listed::Invalid(e) => (json!({"items": []}), e),
    };
    let mut rule_options = vec![(String::new(), "Any rule".to_owned())];
    rule_options.extend(rules.iter().map(|r| {
        (
            r["id"].as_str().unwrap_or("").to_owned(),
            r["name"].as_str().unwrap_or("").to_owned(),
        )
    }));
    let mut outcome_options = vec![(String::new(), "Any outcome".to_owned())];
    outcome_options.extend(
        Outcome::ALL
            .iter()
            .map(|o| (o.as_str().to_owned(), o.label().to_owned())),
    );
    let rule_names: HashMap<&str, &str> = rules
        .iter()
        .filter_map(|r| Some((r["id"].as_str()?, r["name"].as_str()?)))
        .collect();
    let next = list["nextCursor"].as_str().map(|c| {
        let mut pairs: Vec<(&str, &str)> = LOG_PARAMS[..5].iter().map(|k| (*k, get(k))).collect();
        pairs.push(("cursor", c));
        page.href(&format!("/notifications/log{}", query_string(&pairs)))
    });
    let rows = items(&list);
    let shown = ["rule", "recipient", "outcome", "from", "to"];
    let content = html! {
        (tabs(&page, "Log"))
        (html::other_errors(errors.others(&shown)))
        form.filters method="get" action=(page.href("/notifications/log")) {
            (html::select("rule", "Rule", &rule_options, get("rule"), errors.get("rule"), false))
            (Field::text("recipient", "Recipient", get("recipient")).error(errors.get("recipient")).render())
            (html::select("outcome", "Outcome", &outcome_options, get("outcome"), errors.get("outcome"), false))
            (Field::text("from", "From", get("from")).hint("RFC 3339, such as 2030-01-01T00:00:00Z.")
                .error(errors.get("from")).render())
            (Field::text("to", "To", get("to")).error(errors.get("to")).render())
            div.actions { button type="submit" { "Filter" } }
        }
        @if rows.is_empty() {
            (html::empty("No notification matches.", None))
        } @else {
            div.table-wrap {
                table {
                    thead {
                        tr {
                            th scope="col" { "Time" }
                            th scope="col" { "Rule" }
                            th scope="col" { "Recipient" }
                            th scope="col" { "Channel" }
                            th scope="col" { "Outcome" }
                            th scope="col" { "Detail" }
                            th scope="col" { "Message" }
                        }
                    }
                    tbody {
                        @for n in rows {
                            @let rule = n["ruleId"].as_str().unwrap_or("");
                            @let channel = n["channel"].as_str().unwrap_or("");
                            @let outcome = n["outcome"].as_str().unwrap_or("");
                            tr {
                                td { (html::time_of(&n["occurredAt"])) }
                                td { a href=(page.href(&format!("/notifications/rules/{rule}"))) { (rule_names.get(rule).copied().unwrap_or(rule)) } }
                                td { (n["recipientId"].as_str().unwrap_or("—")) }
                                td { (if channel == "sms" { "SMS" } else { "Email" }) }
                                td { (Outcome::parse(outcome).map(Outcome::label).unwrap_or(outcome)) }
                                td { (n["detail"].as_str().unwrap_or("")) }
                                td {
                                    @if let Some(id) = n["messageId"].as_str() {
                                        a href=(page.href(&format!("/logs/{channel}/{id}/message"))) { "View message" }
                                    } @else { "—" }
                                }
                            }
                        }
                    }
                }
            }
        }
        (html::pager(next))
    };
    page.render(SECTION, content)
}
