//! Notification types: what recipients choose by. Each has a key, a name, a description, the
//! channels it uses (each on or off for a recipient who chose nothing, or the operator's
//! default), whether it is mandatory, and the recipient roles that may change it.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::{Deletion, Key, SECTION, tabs, under};
use crate::DashboardState;
use crate::html::{self, Field, Page};
use crate::pages::{At, Form, failed};
use crate::resources::{FieldMessages, Written};

const DEFAULTS: [(&str, &str); 4] = [
    ("", "Not used"),
    ("operator", "Used: Herald's default"),
    ("on", "Used: on unless turned off"),
    ("off", "Used: off unless turned on"),
];

const CHANNELS: [(&str, &str); 2] = [("email", "Email"), ("sms", "SMS")];

struct Draft {
    key: String,
    name: String,
    description: String,
    email: String,
    sms: String,
    mandatory: bool,
    roles: String,
}

fn default_of(channel: &Value) -> String {
    if !channel.is_object() {
        return String::new();
    }
    match channel["default"].as_bool() {
        Some(true) => "on".into(),
        Some(false) => "off".into(),
        None => "operator".into(),
    }
}

impl Draft {
    fn blank() -> Self {
        Self {
            key: String::new(),
            name: String::new(),
            description: String::new(),
            email: "operator".into(),
            sms: String::new(),
            mandatory: false,
            roles: String::new(),
        }
    }

    fn of(t: &Value) -> Self {
        Self {
            key: t["key"].as_str().unwrap_or("").to_owned(),
            name: t["name"].as_str().unwrap_or("").to_owned(),
            description: t["description"].as_str().unwrap_or("").to_owned(),
            email: default_of(&t["channels"]["email"]),
            sms: default_of(&t["channels"]["sms"]),
            mandatory: t["mandatory"] == true,
            roles: t["changeableBy"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    fn typed(f: &Form, key: Option<&str>) -> Self {
        Self {
            key: key.map(str::to_owned).unwrap_or_else(|| f.text("key")),
            name: f.text("name"),
            description: f.text("description"),
            email: f.text("email"),
            sms: f.text("sms"),
            mandatory: f.checked("mandatory"),
            roles: f.text("changeableBy"),
        }
    }

    fn body(&self) -> Value {
        let mut channels = Map::new();
        for (c, v) in [("email", &self.email), ("sms", &self.sms)] {
            let d = match v.as_str() {
                "on" => Some(json!(true)),
                "off" => Some(json!(false)),
                "operator" => Some(Value::Null),
                _ => None,
            };
            if let Some(d) = d {
                channels.insert(c.into(), json!({ "default": d }));
            }
        }
        let roles: Vec<&str> = self
            .roles
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|r| !r.is_empty())
            .collect();
        json!({
            "name": self.name,
            "description": self.description,
            "channels": channels,
            "mandatory": self.mandatory,
            "changeableBy": roles,
        })
    }
}

fn form(page: &Page, draft: &Draft, editing: bool, errors: &FieldMessages) -> Markup {
    let action = if editing {
        page.href(&format!("/notifications/types/{}", draft.key))
    } else {
        page.href("/notifications/types")
    };
    let shown = [
        "key",
        "name",
        "description",
        "channels",
        "channels.email",
        "channels.sms",
        "mandatory",
        "changeableBy",
    ];
    let options: Vec<(String, String)> = DEFAULTS
        .iter()
        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
        .collect();
    let roles_error = under(errors, "changeableBy");
    html! {
        (html::other_errors(errors.others(&shown)))
        form method="post" action=(action) novalidate {
            (page.csrf())
            (Field::text("key", "Key", &draft.key)
                .hint("Lower-case letters, digits and dashes, such as order-updates. Rules and \
                       preferences name the type by it; it cannot change.")
                .error(errors.get("key"))
                .disabled(editing)
                .required()
                .render())
            (Field::text("name", "Name", &draft.name)
                .hint("What recipients see on their preference page.")
                .error(errors.get("name"))
                .required()
                .render())
            (Field::text("description", "Description", &draft.description)
                .textarea(3)
                .error(errors.get("description"))
                .render())
            fieldset.invalid[errors.get("channels").is_some()] {
                legend { "Channels" }
                @if let Some(e) = errors.get("channels") { p.error { (e) } }
                @for (c, label) in CHANNELS {
                    (html::select(c, label, &options,
                        if c == "email" { &draft.email } else { &draft.sms },
                        errors.get(&format!("channels.{c}")), false))
                }
            }
            (html::checkbox("mandatory",
                "Mandatory: sent whatever the recipient chose (shown as always on)",
                draft.mandatory, errors.get("mandatory"), false))
            (Field::text("changeableBy", "Roles that may change it", &draft.roles)
                .hint("Recipient roles separated by commas, such as signer, viewer. Empty: \
                       every recipient may.")
                .error(roles_error.as_deref())
                .render())
            div.actions {
                button type="submit" { (if editing { "Save" } else { "Add type" }) }
                a href=(page.href("/notifications/types")) { "Cancel" }
            }
        }
    }
}

fn channels_summary(t: &Value) -> String {
    let used: Vec<String> = CHANNELS
        .iter()
        .filter(|(c, _)| t["channels"][c].is_object())
        .map(|(c, label)| {
            let d = match t["channels"][c]["default"].as_bool() {
                Some(true) => "on",
                Some(false) => "off",
                None => "Herald's default",
            };
            format!("{label} ({d})")
        })
        .collect();
    used.join(", ")
}

/// `GET /notifications/types`.
pub async fn list(
    State(state): State<DashboardState>,
    at: At,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let types = match at
        .resources(&state)
        .get(at.api("/notification-types"))
        .await
    {
        Ok(a) => a.body,
        Err(e) => return failed(e),
    };
    let items = types["items"].as_array().cloned().unwrap_or_default();
    let page = at.page("Notification types");
    let may_change = page.signed.may_change();
    let done = [
        ("created", "Type added."),
        ("saved", "Type saved."),
        ("deleted", "Type deleted."),
    ]
    .into_iter()
    .find(|(k, _)| q.contains_key(*k));
    let content = html! {
        (tabs(&page, "Types"))
        @if let Some((_, text)) = done { (html::notice("ok", text)) }
        p.hint {
            "A type groups notifications that recipients turn on or off together, per channel."
        }
        @if may_change {
            div.actions { a.button href=(page.href("/notifications/types/new")) { "Add type" } }
        }
        @if items.is_empty() {
            (html::empty("No notification type yet. Rules need a type: add one first.", None))
        } @else {
            div.table-wrap {
                table {
                    thead {
                        tr {
                            th scope="col" { "Name" }
                            th scope="col" { "Key" }
                            th scope="col" { "Channels" }
                            th scope="col" { "Mandatory" }
                        }
                    }
                    tbody {
                        @for t in &items {
                            @let key = t["key"].as_str().unwrap_or("");
                            tr {
                                th scope="row" {
                                    a href=(page.href(&format!("/notifications/types/{key}"))) {
                                        (t["name"].as_str().unwrap_or(key))
                                    }
                                }
                                td { code { (key) } }
                                td { (channels_summary(t)) }
                                td { (if t["mandatory"] == true { "Yes" } else { "No" }) }
                            }
                        }
                    }
                }
            }
        }
    };
    page.render(SECTION, content)
}

/// `GET /notifications/types/new`.
pub async fn new(at: At) -> Response {
    if let Some(r) = at.viewer_back_to("/notifications/types") {
        return r;
    }
    let page = at.page("Add notification type");
    let content = html! {
        (tabs(&page, "Types"))
        (form(&page, &Draft::blank(), false, &FieldMessages::default()))
    };
    page.render(SECTION, content)
}

/// `GET /notifications/types/{key}`: the form (an admin), or the facts (a viewer).
pub async fn show(State(state): State<DashboardState>, at: At, key: Key) -> Response {
    let t = match at
        .resources(&state)
        .get(at.api(&format!("/notification-types/{}", key.0)))
        .await
    {
        Ok(a) => a.body,
        Err(e) => return failed(e),
    };
    let title = format!("Notification type {}", t["name"].as_str().unwrap_or(&key.0));
    let page = at.page(&title);
    let content = if page.signed.may_change() {
        html! {
            (tabs(&page, "Types"))
            (form(&page, &Draft::of(&t), true, &FieldMessages::default()))
            p { a.button.danger href=(page.href(&format!("/notifications/types/{}/delete", key.0))) { "Delete type" } }
        }
    } else {
        let d = Draft::of(&t);
        html! {
            (tabs(&page, "Types"))
            dl.facts {
                dt { "Key" } dd { code { (d.key) } }
                dt { "Name" } dd { (d.name) }
                dt { "Description" } dd { (d.description) }
                dt { "Channels" } dd { (channels_summary(&t)) }
                dt { "Mandatory" } dd { (if d.mandatory { "Yes" } else { "No" }) }
                dt { "Roles that may change it" }
                dd { @if d.roles.is_empty() { "Every role" } @else { (d.roles) } }
            }
        }
    };
    page.render(SECTION, content)
}

async fn save(state: &DashboardState, at: &At, draft: Draft, editing: bool) -> Response {
    let key_ok = herald::notify::types::TypeKey::parse(&draft.key);
    let page_title = if editing {
        "Edit notification type"
    } else {
        "Add notification type"
    };
    let errors = match key_ok {
        Err(e) => {
            let mut f = FieldMessages::default();
            f.0.insert("key".into(), e);
            f
        }
        Ok(_) => {
            let uri = at.api(&format!("/notification-types/{}", draft.key));
            if !editing {
                // PUT replaces: adding must not overwrite a type of the same key.
                if at.resources(state).get(uri.clone()).await.is_ok() {
                    let mut f = FieldMessages::default();
                    f.0.insert("key".into(), "is already a type's key".into());
                    return invalid(at, page_title, &draft, editing, &f);
                }
            }
            match at
                .resources(state)
                .write(Method::PUT, uri, Some(draft.body()), None)
                .await
            {
                Ok(Written::Done(_)) => {
                    let done = if editing { "saved" } else { "created" };
                    return Redirect::to(&at.href(&format!("/notifications/types?{done}")))
                        .into_response();
                }
                Ok(Written::Invalid(f)) => f,
                Ok(Written::Refused(why)) => {
                    let mut f = FieldMessages::default();
                    f.0.insert("(type)".into(), why);
                    f
                }
                Err(e) => return failed(e),
            }
        }
    };
    invalid(at, page_title, &draft, editing, &errors)
}

fn invalid(at: &At, title: &str, draft: &Draft, editing: bool, errors: &FieldMessages) -> Response {
    let page = at.page(title);
    let content = html! {
        (tabs(&page, "Types"))
        (form(&page, draft, editing, errors))
    };
    page.render_with(StatusCode::BAD_REQUEST, SECTION, content)
}

/// `POST /notifications/types`.
pub async fn create(State(state): State<DashboardState>, at: At, form: Form) -> Response {
    save(&state, &at, Draft::typed(&form, None), false).await
}

/// `POST /notifications/types/{key}`.
pub async fn update(State(state): State<DashboardState>, at: At, key: Key, form: Form) -> Response {
    save(&state, &at, Draft::typed(&form, Some(&key.0)), true).await
}

fn deletion(key: &Key) -> Deletion {
    Deletion {
        tab: "Types",
        title: "Delete notification type",
        path: format!("/notifications/types/{}", key.0),
        api: format!("/notification-types/{}", key.0),
        list: "/notifications/types",
        question: html! {
            "Delete the type " code { (key.0) } "? Recipients' choices for it are no longer used."
        },
    }
}

/// `GET /notifications/types/{key}/delete`.
pub async fn confirm_delete(at: At, key: Key) -> Response {
    super::confirm_delete(&at, deletion(&key))
}

/// `POST /notifications/types/{key}/delete`: refused while rules use it.
pub async fn delete(State(state): State<DashboardState>, at: At, key: Key) -> Response {
    super::delete(&state, &at, deletion(&key)).await
}
