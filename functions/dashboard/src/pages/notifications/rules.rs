//! Notification rules: which event, which type, who receives it (a path into the event and
//! the fields of each recipient), how often, and the templates, written in the fallback locale
//! here (other locales as JSON). A rule's page previews what it renders for an event and sends
//! a test to an address or number.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::{Deletion, Rule, SECTION, tabs, under};
use crate::DashboardState;
use crate::html::{self, Field, Page};
use crate::pages::{At, Form, failed};
use crate::resources::{FieldMessages, Written};

const TEMPLATE_HINT: &str = "MiniJinja templates: {{ data.orderId }} (the event's data), \
    {{ recipient.name }} (the recipient's item), {{ type.name }}, {{ preferences_url }}, \
    {% if ... %}. A mistake is shown with its line and column.";

/// What the form holds: as read, or as typed.
#[derive(Default)]
struct Draft {
    name: String,
    event_name: String,
    tags: String,
    type_key: String,
    path: String,
    /// The recipient fields as JSON (empty: the defaults).
    fields: String,
    frequency: String,
    first_key: String,
    enabled: bool,
    locale: String,
    subject: String,
    text: String,
    html: String,
    sms: String,
    /// Templates of other locales, as JSON: `{"email": {"nb": {...}}, "sms": {...}}`.
    more: String,
    reminders: Reminders,
}

/// The reminder settings as the form holds them: lists as text, templates in the fallback
/// locale (other locales of stored reminders are kept as they are).
#[derive(Default)]
struct Reminders {
    on: bool,
    /// ISO 8601 durations separated by commas.
    after: String,
    subject: String,
    /// One `event.name path.to.recipient.id` per line.
    acted_on: String,
    /// Event names separated by commas.
    closed_by: String,
    email_subject: String,
    email_text: String,
    sms: String,
    /// The stored reminders' templates of other locales.
    others: Map<String, Value>,
}

impl Reminders {
    fn of(r: &Value, locale: &str) -> Self {
        if !r.is_object() {
            return Self::default();
        }
        let list = |v: &Value, sep: &str| {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(sep)
        };
        let t = &r["templates"];
        let mut others = Map::new();
        for channel in ["email", "sms"] {
            for (l, v) in t[channel].as_object().into_iter().flatten() {
                if l != locale {
                    others
                        .entry(channel)
                        .or_insert_with(|| json!({}))
                        .as_object_mut()
                        .map(|m| m.insert(l.clone(), v.clone()));
                }
            }
        }
        Self {
            on: true,
            after: list(&r["after"], ", "),
            subject: s(&r["subject"]),
            acted_on: r["actedOn"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| format!("{} {}", s(&a["eventName"]), s(&a["recipient"])))
                .collect::<Vec<_>>()
                .join("\n"),
            closed_by: list(&r["closedBy"], ", "),
            email_subject: s(&t["email"][locale]["subject"]),
            email_text: s(&t["email"][locale]["text"]),
            sms: s(&t["sms"][locale]["text"]),
            others,
        }
    }

    /// The API's `reminders`, or the message of a line of `actedOn` that is not two words.
    fn body(&self, locale: &str, errors: &mut FieldMessages) -> Option<Value> {
        if !self.on {
            return None;
        }
        let words = |text: &str| -> Vec<String> {
            text.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let mut acted = Vec::new();
        for line in self.acted_on.lines().filter(|l| !l.trim().is_empty()) {
            match line.split_whitespace().collect::<Vec<_>>()[..] {
                [event, path] => acted.push(json!({"eventName": event, "recipient": path})),
                _ => {
                    errors.0.insert(
                        "reminders.actedOn".into(),
                        format!("{:?}: each line is an event name and a path, as request.signed eventData.signerId", line.trim()),
                    );
                }
            }
        }
        let mut templates = Map::new();
        templates.insert("fallbackLocale".into(), json!(locale));
        let mut email = self.others.get("email").cloned().unwrap_or(json!({}));
        let mut sms = self.others.get("sms").cloned().unwrap_or(json!({}));
        if !(self.email_subject.is_empty() && self.email_text.is_empty()) {
            email[locale] = json!({"subject": self.email_subject, "text": self.email_text});
        }
        if !self.sms.is_empty() {
            sms[locale] = json!({"text": self.sms});
        }
        for (channel, t) in [("email", email), ("sms", sms)] {
            if t.as_object().is_some_and(|m| !m.is_empty()) {
                templates.insert(channel.into(), t);
            }
        }
        let mut body = json!({
            "subject": self.subject,
            "actedOn": acted,
            "closedBy": words(&self.closed_by),
            "templates": templates,
        });
        let after = words(&self.after);
        if !after.is_empty() {
            body["after"] = json!(after);
        }
        Some(body)
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or("").to_owned()
}

impl Draft {
    fn blank() -> Self {
        Self {
            frequency: "every".into(),
            enabled: true,
            locale: "en".into(),
            path: "eventData.recipients[*]".into(),
            ..Self::default()
        }
    }

    fn of(rule: &Value) -> Self {
        let t = &rule["templates"];
        let locale = s(&t["fallbackLocale"]);
        let mut more = Map::new();
        for channel in ["email", "sms"] {
            let others: Map<String, Value> = t[channel]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(l, _)| **l != locale)
                .map(|(l, v)| (l.clone(), v.clone()))
                .collect();
            if !others.is_empty() {
                more.insert(channel.into(), Value::Object(others));
            }
        }
        let fields = &rule["recipients"]["fields"];
        Self {
            name: s(&rule["name"]),
            event_name: s(&rule["eventName"]),
            tags: rule["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            type_key: s(&rule["type"]),
            path: s(&rule["recipients"]["path"]),
            fields: if fields.is_object() {
                serde_json::to_string_pretty(fields).unwrap_or_default()
            } else {
                String::new()
            },
            frequency: rule["frequency"].as_str().unwrap_or("every").to_owned(),
            first_key: s(&rule["firstKey"]),
            enabled: rule["enabled"] != false,
            subject: s(&t["email"][&locale]["subject"]),
            text: s(&t["email"][&locale]["text"]),
            html: s(&t["email"][&locale]["html"]),
            sms: s(&t["sms"][&locale]["text"]),
            more: if more.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(&more).unwrap_or_default()
            },
            reminders: Reminders::of(&rule["reminders"], &locale),
            locale,
        }
    }

    fn typed(f: &Form) -> Self {
        // Templates keep their whitespace; other fields are trimmed.
        let raw = |name: &str| {
            f.0.get(name)
                .and_then(|v| v.first())
                .cloned()
                .unwrap_or_default()
                .replace("\r\n", "\n")
        };
        Self {
            name: f.text("name"),
            event_name: f.text("eventName"),
            tags: f.text("tags"),
            type_key: f.text("type"),
            path: f.text("recipients.path"),
            fields: f.text("recipients.fields"),
            frequency: f.text("frequency"),
            first_key: f.text("firstKey"),
            enabled: f.checked("enabled"),
            locale: f.text("templates.fallbackLocale"),
            subject: raw("subject"),
            text: raw("text"),
            html: raw("html"),
            sms: raw("sms"),
            more: f.text("more"),
            reminders: Reminders {
                on: f.checked("reminders"),
                after: f.text("reminders.after"),
                subject: f.text("reminders.subject"),
                acted_on: raw("reminders.actedOn"),
                closed_by: f.text("reminders.closedBy"),
                email_subject: raw("reminders.emailSubject"),
                email_text: raw("reminders.emailText"),
                sms: raw("reminders.sms"),
                // Carried through the form unseen: the form edits the fallback locale only.
                others: serde_json::from_str(&f.text("reminders.others")).unwrap_or_default(),
            },
        }
    }

    /// The API's body, or the messages of fields that are not JSON.
    fn body(&self) -> Result<Value, FieldMessages> {
        let mut errors = FieldMessages::default();
        let json_of = |text: &str, field: &str, errors: &mut FieldMessages| -> Option<Value> {
            if text.trim().is_empty() {
                return None;
            }
            match serde_json::from_str::<Value>(text) {
                Ok(v @ Value::Object(_)) => Some(v),
                Ok(_) => {
                    errors
                        .0
                        .insert(field.into(), "must be a JSON object".into());
                    None
                }
                Err(e) => {
                    errors.0.insert(field.into(), format!("is not JSON: {e}"));
                    None
                }
            }
        };
        let fields = json_of(&self.fields, "recipients.fields", &mut errors);
        let more = json_of(&self.more, "more", &mut errors);
        let reminders = self.reminders.body(&self.locale, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut templates = Map::new();
        templates.insert("fallbackLocale".into(), json!(self.locale));
        let mut email = Map::new();
        let mut sms = Map::new();
        if let Some(Value::Object(more)) = &more {
            for (channel, target) in [("email", &mut email), ("sms", &mut sms)] {
                if let Some(Value::Object(m)) = more.get(channel) {
                    target.extend(m.clone());
                }
            }
        }
        if !(self.subject.is_empty() && self.text.is_empty() && self.html.is_empty()) {
            let mut e = Map::new();
            e.insert("subject".into(), json!(self.subject));
            if !self.text.is_empty() {
                e.insert("text".into(), json!(self.text));
            }
            if !self.html.is_empty() {
                e.insert("html".into(), json!(self.html));
            }
            email.insert(self.locale.clone(), Value::Object(e));
        }
        if !self.sms.is_empty() {
            sms.insert(self.locale.clone(), json!({ "text": self.sms }));
        }
        if !email.is_empty() {
            templates.insert("email".into(), Value::Object(email));
        }
        if !sms.is_empty() {
            templates.insert("sms".into(), Value::Object(sms));
        }
        let mut recipients = Map::new();
        recipients.insert("path".into(), json!(self.path));
        if let Some(f) = fields {
            recipients.insert("fields".into(), f);
        }
        let tags: Vec<&str> = self
            .tags
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .collect();
        let mut body = json!({
            "name": self.name,
            "eventName": self.event_name,
            "tags": tags,
            "type": self.type_key,
            "recipients": recipients,
            "frequency": self.frequency,
            "enabled": self.enabled,
            "templates": templates,
        });
        if self.frequency == "first" {
            body["firstKey"] = json!(self.first_key);
        }
        if let Some(r) = reminders {
            body["reminders"] = r;
        }
        Ok(body)
    }
}

/// The field of the form showing the API's message for `key`.
fn template_field(key: &str, locale: &str) -> Option<&'static str> {
    let rest = key.strip_prefix("templates.")?;
    if rest == "fallbackLocale" {
        return Some("templates.fallbackLocale");
    }
    let (channel, rest) = rest.split_once('.')?;
    let (l, part) = rest.split_once('.')?;
    if l != locale {
        return None;
    }
    match (channel, part) {
        ("email", "subject") => Some("subject"),
        ("email", "text") => Some("text"),
        ("email", "html") => Some("html"),
        ("sms", "text") => Some("sms"),
        _ => None,
    }
}

/// The reminder field showing the API's message for `key` (`reminders.…`).
fn reminder_field(key: &str, locale: &str) -> Option<&'static str> {
    let rest = key.strip_prefix("reminders.")?;
    match rest {
        "after" => return Some("reminders.after"),
        "subject" => return Some("reminders.subject"),
        "closedBy" => return Some("reminders.closedBy"),
        _ if rest.starts_with("actedOn") => return Some("reminders.actedOn"),
        _ => {}
    }
    match template_field(rest, locale)? {
        "subject" => Some("reminders.emailSubject"),
        "text" => Some("reminders.emailText"),
        "sms" => Some("reminders.sms"),
        _ => None,
    }
}

/// The messages of the form's own fields, the API's names mapped to them.
fn placed(errors: &FieldMessages, locale: &str) -> (FieldMessages, Vec<String>) {
    let mut out = FieldMessages::default();
    let mut shown = Vec::new();
    for (k, m) in &errors.0 {
        let field = template_field(k, locale)
            .or_else(|| reminder_field(k, locale))
            .map(str::to_owned)
            .or_else(|| {
                let base = [
                    "name",
                    "eventName",
                    "tags",
                    "type",
                    "frequency",
                    "firstKey",
                    "enabled",
                ];
                if base.contains(&k.as_str()) || k.starts_with("tags[") {
                    Some(if k.starts_with("tags") {
                        "tags".into()
                    } else {
                        k.clone()
                    })
                } else if k == "recipients.path" || k == "recipients" {
                    Some("recipients.path".into())
                } else if k.starts_with("recipients.fields") {
                    Some("recipients.fields".into())
                } else if k == "more" {
                    Some("more".into())
                } else {
                    None
                }
            });
        if let Some(f) = field {
            out.0
                .entry(f)
                .and_modify(|e| {
                    e.push_str("; ");
                    e.push_str(m);
                })
                .or_insert_with(|| m.clone());
            shown.push(k.clone());
        }
    }
    (out, shown)
}

fn form(
    page: &Page,
    action: &str,
    draft: &Draft,
    types: &[Value],
    errors: &FieldMessages,
    submit: &str,
) -> Markup {
    let (mine, shown) = placed(errors, &draft.locale);
    let shown: Vec<&str> = shown.iter().map(String::as_str).collect();
    let mut type_options: Vec<(String, String)> = vec![(String::new(), "Choose a type".into())];
    for t in types {
        let key = s(&t["key"]);
        type_options.push((key.clone(), format!("{} ({key})", s(&t["name"]))));
    }
    if !draft.type_key.is_empty() && !types.iter().any(|t| t["key"] == draft.type_key.as_str()) {
        type_options.push((draft.type_key.clone(), draft.type_key.clone()));
    }
    let frequencies = [
        ("every".to_owned(), "Every occurrence".to_owned()),
        (
            "first".to_owned(),
            "Only the first, by the first key".to_owned(),
        ),
    ];
    html! {
        (html::other_errors(errors.others(&shown)))
        form method="post" action=(action) novalidate {
            (page.csrf())
            (Field::text("name", "Name", &draft.name).error(mine.get("name")).required().render())
            (Field::text("eventName", "Event", &draft.event_name)
                .hint("The event type the rule listens to, such as order.completed.")
                .error(mine.get("eventName")).required().render())
            (Field::text("tags", "Tag filter", &draft.tags)
                .hint("Tags separated by commas; empty: whatever the event's tags.")
                .error(mine.get("tags")).render())
            (html::select("type", "Notification type", &type_options, &draft.type_key,
                mine.get("type"), false))
            fieldset {
                legend { "Recipients" }
                (Field::text("recipients.path", "Path to the recipients", &draft.path)
                    .hint("Where in the event the recipients are: eventData.signers[*] for each \
                           item of a list.")
                    .error(mine.get("recipients.path")).required().render())
                (Field::text("recipients.fields", "Recipient fields (JSON)", &draft.fields)
                    .textarea(5)
                    .hint("Optional: where in each recipient its id, email, phone, locale, role, \
                           sendToEmail and sendToSms are, as {\"email\": \"mail\"}. Empty: those \
                           names.")
                    .error(mine.get("recipients.fields")).render())
            }
            fieldset {
                legend { "Frequency" }
                (html::select("frequency", "How often", &frequencies, &draft.frequency,
                    mine.get("frequency"), false))
                (Field::text("firstKey", "First key", &draft.first_key)
                    .hint("With Only the first: a template such as {{ data.orderId }}; \
                           later events with the same key for a recipient are not sent.")
                    .error(mine.get("firstKey")).render())
            }
            (html::checkbox("enabled", "Enabled", draft.enabled, mine.get("enabled"), false))
            fieldset.templates {
                legend { "Templates" }
                p.hint { (TEMPLATE_HINT) }
                (Field::text("templates.fallbackLocale", "Fallback locale", &draft.locale)
                    .hint("The locale of these templates, used when a recipient's has none.")
                    .error(mine.get("templates.fallbackLocale")).required().render())
                // Fieldsets, not headings: the form's parts have no place in the page's outline.
                fieldset {
                    legend { "Email" }
                    (Field::text("subject", "Subject", &draft.subject)
                        .error(mine.get("subject")).render())
                    (Field::text("text", "Text", &draft.text).textarea(8)
                        .error(mine.get("text")).render())
                    (Field::text("html", "HTML", &draft.html).textarea(8)
                        .error(mine.get("html")).render())
                }
                fieldset {
                    legend { "SMS" }
                    (Field::text("sms", "SMS text", &draft.sms).textarea(4)
                        .error(mine.get("sms")).render())
                }
                (Field::text("more", "Other locales (JSON)", &draft.more).textarea(4)
                    .hint("Optional: {\"email\": {\"nb\": {\"subject\": \"...\", \"text\": \"...\"}}, \
                           \"sms\": {\"nb\": {\"text\": \"...\"}}}.")
                    .error(mine.get("more")).render())
            }
            (reminder_fields(&draft.reminders, &mine))
            div.actions {
                button type="submit" { (submit) }
                a href=(page.href("/notifications/rules")) { "Cancel" }
            }
        }
    }
}

/// The reminder settings: when, about what, who has acted, what closes the matter, and the
/// reminder's own templates.
fn reminder_fields(r: &Reminders, mine: &FieldMessages) -> Markup {
    html! {
        fieldset.templates {
            legend { "Reminders" }
            @if !r.others.is_empty() {
                input type="hidden" name="reminders.others"
                    value=(serde_json::to_string(&r.others).unwrap_or_default());
            }
            (html::checkbox("reminders", "Remind recipients who have not acted", r.on,
                mine.get("reminders"), false))
            (Field::text("reminders.after", "Remind after", &r.after)
                .hint("ISO 8601 durations after the event, separated by commas: P3D, P7D, P14D \
                       (the default when empty). Weeks, days, hours and minutes.")
                .error(mine.get("reminders.after")).render())
            (Field::text("reminders.subject", "What the reminders are about", &r.subject)
                .hint("The path to the same value in every event of the matter, such as \
                       eventData.requestId.")
                .error(mine.get("reminders.subject")).render())
            (Field::text("reminders.actedOn", "Events that mean a recipient acted", &r.acted_on)
                .textarea(3)
                .hint("One per line: the event name and the path to the id of the recipient who \
                       acted, as request.signed eventData.signerId. That recipient gets no more \
                       reminders.")
                .error(mine.get("reminders.actedOn")).render())
            (Field::text("reminders.closedBy", "Events that end all reminders", &r.closed_by)
                .hint("Event names separated by commas, such as request.completed, \
                       request.cancelled.")
                .error(mine.get("reminders.closedBy")).render())
            p.hint { "The reminder's templates, in the fallback locale; they also see \
                      {{ event.reminder.number }}, of, after and dueAt." }
            fieldset {
                legend { "Reminder email" }
                (Field::text("reminders.emailSubject", "Reminder subject", &r.email_subject)
                    .error(mine.get("reminders.emailSubject")).render())
                (Field::text("reminders.emailText", "Reminder text", &r.email_text).textarea(6)
                    .error(mine.get("reminders.emailText")).render())
            }
            fieldset {
                legend { "Reminder SMS" }
                (Field::text("reminders.sms", "Reminder SMS text", &r.sms).textarea(3)
                    .error(mine.get("reminders.sms")).render())
            }
        }
    }
}

async fn types_of(state: &DashboardState, at: &At) -> Vec<Value> {
    at.resources(state)
        .get(at.api("/notification-types"))
        .await
        .ok()
        .and_then(|a| a.body["items"].as_array().cloned())
        .unwrap_or_default()
}

/// `GET /notifications/rules`.
pub async fn list(
    State(state): State<DashboardState>,
    at: At,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let rules = match at
        .resources(&state)
        .get(at.api("/notification-rules"))
        .await
    {
        Ok(a) => a.body,
        Err(e) => return failed(e),
    };
    let items = rules["items"].as_array().cloned().unwrap_or_default();
    let page = at.page("Notification rules");
    let done = [
        ("created", "Rule added."),
        ("saved", "Rule saved."),
        ("deleted", "Rule deleted."),
    ]
    .into_iter()
    .find(|(k, _)| q.contains_key(*k));
    let content = html! {
        (tabs(&page, "Rules"))
        @if let Some((_, text)) = done { (html::notice("ok", text)) }
        p.hint {
            "A rule turns an event into messages to the recipients it names, with templates, \
             as their preferences allow."
        }
        @if page.signed.may_change() {
            div.actions { a.button href=(page.href("/notifications/rules/new")) { "Add rule" } }
        }
        @if items.is_empty() {
            (html::empty("No notification rule yet.", None))
        } @else {
            div.table-wrap {
                table {
                    thead {
                        tr {
                            th scope="col" { "Name" }
                            th scope="col" { "Event" }
                            th scope="col" { "Type" }
                            th scope="col" { "Frequency" }
                            th scope="col" { "Status" }
                        }
                    }
                    tbody {
                        @for r in &items {
                            @let id = r["id"].as_str().unwrap_or("");
                            tr {
                                th scope="row" {
                                    a href=(page.href(&format!("/notifications/rules/{id}"))) { (s(&r["name"])) }
                                }
                                td { code { (s(&r["eventName"])) } }
                                td { code { (s(&r["type"])) } }
                                td { (if r["frequency"] == "first" { "First only" } else { "Every" }) }
                                td { (if r["enabled"] == false { "Disabled" } else { "Enabled" }) }
                            }
                        }
                    }
                }
            }
        }
    };
    page.render(SECTION, content)
}

/// `GET /notifications/rules/new`.
pub async fn new(State(state): State<DashboardState>, at: At) -> Response {
    if let Some(r) = at.viewer_back_to("/notifications/rules") {
        return r;
    }
    let types = types_of(&state, &at).await;
    let page = at.page("Add notification rule");
    let content = html! {
        (tabs(&page, "Rules"))
        @if types.is_empty() {
            (html::notice("error", "Add a notification type first: every rule has one."))
        }
        (form(&page, &page.href("/notifications/rules"), &Draft::blank(), &types,
            &FieldMessages::default(), "Add rule"))
    };
    page.render(SECTION, content)
}

async fn write(
    state: &DashboardState,
    at: &At,
    method: Method,
    uri: String,
    draft: &Draft,
) -> Result<Value, Result<FieldMessages, Response>> {
    let body = draft.body().map_err(Ok)?;
    match at
        .resources(state)
        .write(method, uri, Some(body), None)
        .await
    {
        Ok(Written::Done(a)) => Ok(a.body),
        Ok(Written::Invalid(f)) => Err(Ok(f)),
        Ok(Written::Refused(why)) => {
            let mut f = FieldMessages::default();
            f.0.insert("(rule)".into(), why);
            Err(Ok(f))
        }
        Err(e) => Err(Err(failed(e))),
    }
}

/// `POST /notifications/rules`.
pub async fn create(State(state): State<DashboardState>, at: At, form: Form) -> Response {
    let draft = Draft::typed(&form);
    match write(
        &state,
        &at,
        Method::POST,
        at.api("/notification-rules"),
        &draft,
    )
    .await
    {
        Ok(rule) => {
            let id = s(&rule["id"]);
            Redirect::to(&at.href(&format!("/notifications/rules/{id}?created"))).into_response()
        }
        Err(Err(r)) => r,
        Err(Ok(errors)) => {
            let types = types_of(&state, &at).await;
            let page = at.page("Add notification rule");
            let content = html! {
                (tabs(&page, "Rules"))
                (self::form(&page, &page.href("/notifications/rules"), &draft, &types, &errors, "Add rule"))
            };
            page.render_with(StatusCode::BAD_REQUEST, SECTION, content)
        }
    }
}

/// The preview and test forms under a rule.
fn tools(page: &Page, rule: &Rule, event: &str, may_change: bool) -> Markup {
    html! {
        section aria-labelledby="preview-h" {
            h2 id="preview-h" { "Preview" }
            form method="get" action=(page.href(&format!("/notifications/rules/{}/preview", rule.0))) {
                (Field::text("event", "Event data (JSON)", event).textarea(6)
                    .hint("The eventData to render with; empty: the event type's sample.")
                    .render())
                div.actions { button type="submit" { "Preview" } }
            }
        }
        @if may_change {
            p { a.button.secondary href=(page.href(&format!("/notifications/rules/{}/test", rule.0))) { "Test send" } }
            p { a.button.danger href=(page.href(&format!("/notifications/rules/{}/delete", rule.0))) { "Delete rule" } }
        }
    }
}

async fn rule_page(
    state: &DashboardState,
    at: &At,
    rule: &Rule,
    notice: Option<&str>,
    extra: Markup,
    event: &str,
) -> Response {
    let current = match at
        .resources(state)
        .get(at.api(&format!("/notification-rules/{}", rule.0)))
        .await
    {
        Ok(a) => a.body,
        Err(e) => return failed(e),
    };
    let types = types_of(state, at).await;
    let title = format!("Rule {}", s(&current["name"]));
    let page = at.page(&title);
    let may_change = page.signed.may_change();
    let draft = Draft::of(&current);
    let content = html! {
        (tabs(&page, "Rules"))
        @if let Some(n) = notice { (html::notice("ok", n)) }
        (extra)
        @if may_change {
            (form(&page, &page.href(&format!("/notifications/rules/{}", rule.0)), &draft, &types,
                &FieldMessages::default(), "Save"))
        } @else {
            dl.facts {
                dt { "Event" } dd { code { (draft.event_name) } }
                dt { "Type" } dd { code { (draft.type_key) } }
                dt { "Recipients" } dd { code { (draft.path) } }
                dt { "Frequency" } dd { (draft.frequency) @if !draft.first_key.is_empty() { " (" code { (draft.first_key) } ")" } }
                dt { "Enabled" } dd { (if draft.enabled { "Yes" } else { "No" }) }
                dt { "Reminders" }
                dd {
                    @if draft.reminders.on {
                        "After " (draft.reminders.after) ", about " code { (draft.reminders.subject) }
                        @if !draft.reminders.closed_by.is_empty() {
                            "; ended by " (draft.reminders.closed_by)
                        }
                    } @else { "None" }
                }
            }
            h2 { "Templates" }
            (html::json_block(&current["templates"]))
        }
        (tools(&page, rule, event, may_change))
    };
    page.render(SECTION, content)
}

/// `GET /notifications/rules/{rule}`.
pub async fn show(
    State(state): State<DashboardState>,
    at: At,
    rule: Rule,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let notice = if q.contains_key("created") {
        Some("Rule added.")
    } else if q.contains_key("saved") {
        Some("Rule saved.")
    } else {
        None
    };
    rule_page(&state, &at, &rule, notice, html! {}, "").await
}

/// `POST /notifications/rules/{rule}`.
pub async fn update(
    State(state): State<DashboardState>,
    at: At,
    rule: Rule,
    form: Form,
) -> Response {
    let draft = Draft::typed(&form);
    let uri = at.api(&format!("/notification-rules/{}", rule.0));
    match write(&state, &at, Method::PUT, uri, &draft).await {
        Ok(_) => Redirect::to(&at.href(&format!("/notifications/rules/{}?saved", rule.0)))
            .into_response(),
        Err(Err(r)) => r,
        Err(Ok(errors)) => {
            let types = types_of(&state, &at).await;
            let page = at.page("Edit notification rule");
            let content = html! {
                (tabs(&page, "Rules"))
                (self::form(&page, &page.href(&format!("/notifications/rules/{}", rule.0)),
                    &draft, &types, &errors, "Save"))
            };
            page.render_with(StatusCode::BAD_REQUEST, SECTION, content)
        }
    }
}

/// Where a template error is: "line L, column C", when known.
fn position(e: &Value) -> String {
    match (e["line"].as_u64(), e["column"].as_u64()) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        (Some(l), None) => format!(" (line {l})"),
        _ => String::new(),
    }
}

fn rendered(channel: &Value) -> Markup {
    let name = s(&channel["channel"]);
    html! {
        div.rendered {
            h4 {
                (if name == "sms" { "SMS" } else { "Email" })
                @if channel["requested"] == false { " " span.muted { "(not requested by the recipient's data)" } }
            }
            @if let Some(e) = channel["email"].as_object() {
                dl.facts {
                    dt { "Locale" } dd { (s(&e["locale"].clone())) }
                    dt { "Subject" } dd { (s(&e["subject"].clone())) }
                }
                @if let Some(t) = e.get("text").and_then(Value::as_str) {
                    h5 { "Text" } pre.rendered-text tabindex="0" { (t) }
                }
                @if let Some(h) = e.get("html").and_then(Value::as_str) {
                    h5 { "HTML source" } pre.rendered-html tabindex="0" { (h) }
                }
            }
            @if let Some(m) = channel["sms"].as_object() {
                @let shape = m.get("shape").cloned().unwrap_or(Value::Null);
                pre.rendered-text tabindex="0" { (m.get("text").and_then(Value::as_str).unwrap_or("")) }
                p.sms-shape {
                    (shape["characters"].as_u64().unwrap_or(0)) " characters, "
                    (shape["segments"].as_u64().unwrap_or(0)) " segment"
                    @if shape["segments"].as_u64() != Some(1) { "s" }
                    " (" (s(&shape["encoding"])) ")"
                }
            }
            @if channel["error"].is_object() {
                @let e = &channel["error"];
                div.notice.error role="alert" {
                    "Template error in " code { (s(&e["field"])) } ": " (s(&e["message"])) (position(e))
                }
            }
        }
    }
}

/// `GET /notifications/rules/{rule}/preview?event=`: what the rule renders for each recipient
/// of the event (the API's preview sends nothing, so viewers may use it too).
pub async fn preview(
    State(state): State<DashboardState>,
    at: At,
    rule: Rule,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let event = q
        .get("event")
        .map(|e| e.trim().to_owned())
        .unwrap_or_default();
    let body = if event.is_empty() {
        Ok(json!({}))
    } else {
        serde_json::from_str::<Value>(&event)
            .map(|data| json!({"event": {"eventData": data}}))
            .map_err(|e| format!("The event data is not JSON: {e}"))
    };
    let result = match body {
        Err(e) => html! { (html::notice("error", &e)) },
        Ok(body) => {
            let a = at
                .resources(&state)
                .call(
                    Method::POST,
                    at.api(&format!("/notification-rules/{}/preview", rule.0)),
                    Some(body),
                    None,
                )
                .await;
            if a.status == StatusCode::NOT_FOUND {
                return html::not_found_page();
            }
            if !a.status.is_success() {
                let errors = FieldMessages::of(&a.body);
                let detail = a.body["detail"]
                    .as_str()
                    .unwrap_or("The preview failed.")
                    .to_owned();
                html! {
                    div.notice.error role="alert" {
                        p { "No preview: " (detail) }
                        @if !errors.is_empty() {
                            ul { @for (f, m) in &errors.0 { li { code { (f) } " " (m) } } }
                        }
                    }
                }
            } else {
                let recipients = a.body["recipients"].as_array().cloned().unwrap_or_default();
                html! {
                    @if recipients.is_empty() {
                        (html::notice("error", "The event names no recipient at the rule's path."))
                    }
                    @for r in &recipients {
                        article.preview-recipient {
                            h3 { "To " (r["recipientId"].as_str().or(r["email"].as_str()).or(r["phone"].as_str()).unwrap_or("a recipient without id")) }
                            p.hint {
                                @if let Some(e) = r["email"].as_str() { "Email " (e) ". " }
                                @if let Some(p) = r["phone"].as_str() { "Phone " (p) ". " }
                                @if let Some(l) = r["locale"].as_str() { "Locale " (l) ". " }
                                @if let Some(role) = r["role"].as_str() { "Role " (role) ". " }
                                @if let Some(k) = r["firstKey"].as_str() { "First key " code { (k) } "." }
                            }
                            @for c in r["channels"].as_array().into_iter().flatten() { (rendered(c)) }
                        }
                    }
                }
            }
        }
    };
    let extra = html! {
        section.preview-result aria-labelledby="preview-result-h" {
            h2 id="preview-result-h" { "Preview result" }
            (result)
        }
    };
    rule_page(&state, &at, &rule, None, extra, &event).await
}

fn test_form(
    page: &Page,
    rule: &Rule,
    email: &str,
    phone: &str,
    event: &str,
    errors: &FieldMessages,
) -> Markup {
    let shown = ["email", "phone", "event"];
    let event_error = under(errors, "event");
    html! {
        (html::other_errors(errors.others(&shown).filter(|(f, _)| !f.starts_with("event"))))
        p.hint { "Sends the rule's messages, rendered for the first recipient of the event, to this address or number instead." }
        form method="post" action=(page.href(&format!("/notifications/rules/{}/test", rule.0))) novalidate {
            (page.csrf())
            (Field::text("email", "Email address", email).kind("email").error(errors.get("email")).render())
            (Field::text("phone", "Phone number", phone).kind("tel")
                .hint("E.164, such as +4712345678.").error(errors.get("phone")).render())
            (Field::text("event", "Event data (JSON)", event).textarea(6)
                .hint("Empty: the event type's sample.").error(event_error.as_deref()).render())
            div.actions {
                button type="submit" { "Send test" }
                a href=(page.href(&format!("/notifications/rules/{}", rule.0))) { "Back to the rule" }
            }
        }
    }
}

/// `GET /notifications/rules/{rule}/test`.
pub async fn test_page(at: At, rule: Rule) -> Response {
    if let Some(r) = at.viewer_back_to(&format!("/notifications/rules/{}", rule.0)) {
        return r;
    }
    let page = at.page("Test send");
    let content = html! {
        (tabs(&page, "Rules"))
        (test_form(&page, &rule, "", "", "", &FieldMessages::default()))
    };
    page.render(SECTION, content)
}

/// `POST /notifications/rules/{rule}/test`.
pub async fn test(State(state): State<DashboardState>, at: At, rule: Rule, form: Form) -> Response {
    let (email, phone, event) = (form.text("email"), form.text("phone"), form.text("event"));
    let mut body = Map::new();
    if !email.is_empty() {
        body.insert("email".into(), json!(email));
    }
    if !phone.is_empty() {
        body.insert("phone".into(), json!(phone));
    }
    let mut errors = FieldMessages::default();
    if !event.is_empty() {
        match serde_json::from_str::<Value>(&event) {
            Ok(data) => {
                body.insert("event".into(), json!({ "eventData": data }));
            }
            Err(e) => {
                errors.0.insert("event".into(), format!("is not JSON: {e}"));
            }
        }
    }
    let page = at.page("Test send");
    if errors.is_empty() {
        match at
            .resources(&state)
            .write(
                Method::POST,
                at.api(&format!("/notification-rules/{}/test", rule.0)),
                Some(Value::Object(body)),
                None,
            )
            .await
        {
            Ok(Written::Done(a)) => {
                let sent = a.body["messages"].as_array().cloned().unwrap_or_default();
                let content = html! {
                    (tabs(&page, "Rules"))
                    (html::notice("ok", "Test sent."))
                    ul {
                        @for m in &sent {
                            @let channel = s(&m["channel"]);
                            @let id = s(&m["messageId"]);
                            li {
                                (if channel == "sms" { "SMS" } else { "Email" }) ": "
                                a href=(page.href(&format!("/logs/{channel}/{id}/message"))) { code { (id) } }
                            }
                        }
                    }
                    (test_form(&page, &rule, &email, &phone, &event, &FieldMessages::default()))
                };
                return page.render(SECTION, content);
            }
            Ok(Written::Invalid(f)) => errors = f,
            Ok(Written::Refused(why)) => {
                errors.0.insert("(test)".into(), why);
            }
            Err(e) => return failed(e),
        }
    }
    let content = html! {
        (tabs(&page, "Rules"))
        (test_form(&page, &rule, &email, &phone, &event, &errors))
    };
    page.render_with(StatusCode::BAD_REQUEST, SECTION, content)
}

fn deletion(rule: &Rule) -> Deletion {
    Deletion {
        tab: "Rules",
        title: "Delete notification rule",
        path: format!("/notifications/rules/{}", rule.0),
        api: format!("/notification-rules/{}", rule.0),
        list: "/notifications/rules",
        question: html! { "Delete this rule? Its events no longer notify anyone." },
    }
}

/// `GET /notifications/rules/{rule}/delete`.
pub async fn confirm_delete(at: At, rule: Rule) -> Response {
    super::confirm_delete(&at, deletion(&rule))
}

/// `POST /notifications/rules/{rule}/delete`.
pub async fn delete(State(state): State<DashboardState>, at: At, rule: Rule) -> Response {
    super::delete(&state, &at, deletion(&rule)).await
}
