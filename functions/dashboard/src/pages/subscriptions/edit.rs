//! Adding a subscription, a subscription's page, and its update form: name, destination (a
//! webhook and its signing, or a cloud queue, topic or bus: see [`destination`]), tag filter,
//! active, and the events it listens to (all, or those ticked, grouped by sender, each with a
//! preview of its payload).

use std::collections::HashSet;

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use herald::events::destination::Kind;
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::destination::{self, DestinationDraft, Stored};
use super::{
    SECTION, Sub, envelope_text, event_groups, json_text, manage, name_of, status, tag_entries,
    type_name,
};
use crate::DashboardState;
use crate::html::{self, Field, Page};
use crate::pages::{At, Form, failed};
use crate::resources::{Answer, FieldMessages, Written};

/// The tag filter's rule, under its field.
const TAG_HINT: &str = "Tags separated by commas or spaces. An event must carry every tag \
    listed; a tag ending in * matches any tag that starts with what comes before it (test-* \
    matches test-tag and test-event). Leave it empty to receive events whatever their tags.";

/// Shown when the subscription changed between reading it and saving the form.
const STALE: &str = "Someone changed this subscription meanwhile. The page now shows their \
    version; make your change again.";

/// The version of a subscription as read: the API's `ETag`, sent back as `If-Match`.
fn version(a: &Answer) -> String {
    a.etag.clone().unwrap_or_default()
}

/// What the form holds: as read, or as typed.
struct Draft {
    name: String,
    destination: DestinationDraft,
    /// The tag filter as typed (entries separated by commas or spaces).
    tags: String,
    active: bool,
    /// Listen to every event (the "All available services" radio button).
    all: bool,
    /// The events ticked, in the form's order.
    events: Vec<String>,
}

impl Draft {
    /// A new subscription: signed, active, listening to everything.
    fn blank() -> Self {
        Self {
            name: String::new(),
            destination: DestinationDraft::blank(),
            tags: String::new(),
            active: true,
            all: true,
            events: Vec::new(),
        }
    }

    fn of(sub: &Value) -> Self {
        let events: Vec<String> = sub["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        Self {
            name: sub["name"].as_str().unwrap_or("").to_owned(),
            destination: DestinationDraft::of(sub),
            tags: tag_entries(sub).join(", "),
            active: sub["active"] == true,
            all: !sub["events"].is_array(),
            events,
        }
    }

    fn typed(f: &Form) -> Self {
        Self {
            name: f.text("name"),
            destination: DestinationDraft::typed(f),
            tags: f.text("tagFilter"),
            active: f.checked("active"),
            all: f.text("listen") != "selected",
            events: f.all("event"),
        }
    }

    /// The tag filter's entries, in the order typed.
    fn tag_list(&self) -> Vec<String> {
        self.tags
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The API's body: exactly what the API takes, the chosen destination's fields only.
    fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("name".into(), json!(self.name));
        self.destination.write_body(&mut body);
        body.insert("tagFilter".into(), json!(self.tag_list()));
        body.insert("active".into(), json!(self.active));
        body.insert(
            "events".into(),
            if self.all {
                json!("all")
            } else {
                json!(self.events)
            },
        );
        Value::Object(body)
    }
}

/// The messages of `field` and of its items (`field[2]`, each naming the item as typed), as
/// one message for the one place that shows them.
fn with_items(errors: &FieldMessages, field: &str, items: &[String]) -> Option<String> {
    let mut indexed: Vec<(usize, String)> = Vec::new();
    for (key, message) in &errors.0 {
        let index = key.strip_prefix(field).and_then(|rest| {
            rest.strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .or_else(|| rest.strip_prefix('/'))
                .and_then(|i| i.parse::<usize>().ok())
        });
        if let Some(i) = index {
            indexed.push((
                i,
                match items.get(i) {
                    Some(item) => format!("“{item}” {message}"),
                    None => message.clone(),
                },
            ));
        }
    }
    indexed.sort_by_key(|(i, _)| *i);
    let all: Vec<String> = errors
        .get(field)
        .map(str::to_owned)
        .into_iter()
        .chain(indexed.into_iter().map(|(_, m)| m))
        .collect();
    (!all.is_empty()).then(|| all.join("; "))
}

/// Whether the form shows this field's message next to a field of its own.
fn shown_in_form(key: &str) -> bool {
    let base = key.split(['[', '/']).next().unwrap_or(key);
    matches!(base, "name" | "tagFilter" | "active" | "events") || destination::has_field(base)
}

/// A checkbox with its label, a hint and its error.
fn check(name: &str, label: &str, checked: bool, hint: &str, error: Option<&str>) -> Markup {
    let id = html::field_id(name);
    let mut described = format!("{id}-hint");
    if error.is_some() {
        described.push_str(&format!(" {id}-error"));
    }
    html! {
        div.field.check.invalid[error.is_some()] {
            input id=(id) type="checkbox" name=(name) value="on" checked[checked]
                aria-invalid=[error.map(|_| "true")] aria-describedby=(described);
            label for=(id) { (label) }
            p.hint id=(format!("{id}-hint")) { (hint) }
            @if let Some(e) = error { p.error id=(format!("{id}-error")) { (e) } }
        }
    }
}

/// One event type: its checkbox, what it means, and its preview (a whole sample event).
fn event_type(id: &str, t: &Value, checked: bool) -> Markup {
    let name = type_name(t);
    let description = t["description"].as_str().unwrap_or("");
    html! {
        li {
            div.field.check {
                input id=(id) type="checkbox" name="event" value=(name) checked[checked]
                    aria-describedby=(format!("{id}-hint"));
                label for=(id) { code { (name) } }
                p.hint id=(format!("{id}-hint")) { (description) }
            }
            @if !t["sample"].is_null() {
                details.preview {
                    summary aria-label=(format!("Preview {name}")) { "Preview" }
                    (json_text(&envelope_text(&t["sample"])))
                }
            }
        }
    }
}

/// "Listen to": all events, or those ticked, grouped by sender. The list is there without
/// JavaScript; with it, it hides while "All available services" is chosen.
fn listen(draft: &Draft, groups: &[(String, Vec<Value>)], error: Option<&str>) -> Markup {
    let known: HashSet<&str> = groups
        .iter()
        .flat_map(|(_, types)| types.iter().map(type_name))
        .collect();
    // Names the subscription holds that the catalog no longer lists: kept, so that saving
    // does not drop them unnoticed.
    let mut unknown: Vec<&str> = Vec::new();
    for e in &draft.events {
        if !known.contains(e.as_str()) && !unknown.contains(&e.as_str()) {
            unknown.push(e);
        }
    }
    html! {
        fieldset.listen.invalid[error.is_some()] aria-describedby=[error.map(|_| "f-events-error")] {
            legend { "Listen to" }
            div.field.check {
                input id="f-listen-all" type="radio" name="listen" value="all" checked[draft.all];
                label for="f-listen-all" { "All available services" }
            }
            div.field.check {
                input id="f-listen-selected" type="radio" name="listen" value="selected" checked[!draft.all];
                label for="f-listen-selected" { "Selected events" }
            }
            @if let Some(e) = error { p.error id="f-events-error" { (e) } }
            div.event-groups id="f-events" data-shown-when="listen=selected" {
                p.hint {
                    "With Selected events, tick each event to listen to. Preview shows a whole \
                     event of that type as your endpoint receives it."
                }
                @for (g, (sender, types)) in groups.iter().enumerate() {
                    fieldset.event-group {
                        legend { (sender) }
                        ul.event-types {
                            @for (i, t) in types.iter().enumerate() {
                                (event_type(&format!("f-event-{g}-{i}"), t,
                                    draft.events.iter().any(|e| e == type_name(t))))
                            }
                        }
                    }
                }
                @if !unknown.is_empty() {
                    fieldset.event-group {
                        legend { "Other events" }
                        p.hint { "Chosen before, but no longer among the event types." }
                        ul.event-types {
                            @for (i, name) in unknown.iter().enumerate() {
                                @let id = format!("f-event-other-{i}");
                                li {
                                    div.field.check {
                                        input id=(id) type="checkbox" name="event" value=(name) checked;
                                        label for=(id) { code { (name) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Adding, or editing the subscription read with this version tag (and whether its requests
/// are signed now).
enum Mode<'a> {
    Create,
    Edit {
        sub: &'a Sub,
        /// The subscription as stored.
        current: &'a Value,
        tag: &'a str,
        signed: bool,
    },
}

/// The form, with what was typed and each error next to its field.
fn form(
    page: &Page,
    mode: &Mode,
    draft: &Draft,
    groups: &[(String, Vec<Value>)],
    errors: &FieldMessages,
) -> Markup {
    let (action, submit, secret_hint) = match mode {
        Mode::Create => (
            page.href("/subscriptions"),
            "Add",
            "Recommended. Herald generates the secret and shows it once, when you add the \
             subscription; each request then carries an HMAC-SHA256 signature of its body made \
             with it, so that your endpoint can check that the request came from Herald.",
        ),
        Mode::Edit { sub, signed, .. } => (
            sub.href(page, ""),
            "Update",
            if *signed {
                "Requests are signed. Untick to stop signing: the secret is discarded, and \
                 ticking it again makes a new one."
            } else {
                "Requests are not signed. Tick it and Herald generates a secret, shown once \
                 when you update."
            },
        ),
    };
    let stored = match mode {
        Mode::Create => None,
        Mode::Edit { current, .. } => Some(Stored { sub: current }),
    };
    let tag_error = with_items(errors, "tagFilter", &draft.tag_list());
    let events_error = with_items(errors, "events", &draft.events);
    let shown: Vec<&str> = errors
        .0
        .keys()
        .filter(|k| shown_in_form(k))
        .map(String::as_str)
        .collect();
    html! {
        (html::other_errors(errors.others(&shown)))
        form method="post" action=(action) novalidate {
            (page.csrf())
            @if let Mode::Edit { tag, .. } = mode { input type="hidden" name="etag" value=(tag); }
            (Field::text("name", "Name", &draft.name)
                .error(errors.get("name"))
                .required()
                .render())
            (destination::fields(&draft.destination, stored.as_ref(), errors,
                check("secret", "Sign requests with a secret", draft.destination.secret,
                    secret_hint, errors.get("secret"))))
            (Field::text("tagFilter", "Tag filter", &draft.tags)
                .hint(TAG_HINT)
                .error(tag_error.as_deref())
                .render())
            (check("active", "Active", draft.active,
                "Only an active subscription receives events.", errors.get("active")))
            (listen(draft, groups, events_error.as_deref()))
            div.actions {
                button type="submit" { (submit) }
                a href=(page.href("/subscriptions")) { "Cancel" }
            }
        }
    }
}

/// The facts every role sees: status, signing, times, deliveries.
fn facts(page: &Page, sub: &Sub, current: &Value) -> Markup {
    let replaced: Vec<&str> = current["replacedSecretsExpireAt"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    html! {
        dl.facts {
            dt { "Status" } dd { (status(current)) }
            dt { "Destination" } dd { (destination::summary(current)) }
            @if destination::kind_of(current) == Kind::Webhook {
                dt { "Signing" }
                dd {
                    @if current["secret"] == true {
                        "Requests are signed with a secret."
                        @if let Some(until) = replaced.first().copied().or(current["previousSecretExpiresAt"].as_str()) {
                            " The previous secret also signs them until " (html::time(until)) "."
                        }
                    } @else {
                        "Requests are not signed."
                    }
                }
            }
            dt { "Created" } dd { (html::time_of(&current["createdAt"])) }
            dt { "Updated" } dd { (html::time_of(&current["updatedAt"])) }
            dt { "Deliveries" }
            dd { a href=(page.href(&format!("/events?subscriptionId={}", sub.0))) { "See its deliveries" } }
        }
    }
}

/// A viewer's view of the settings.
fn read_only(current: &Value) -> Markup {
    let tags = tag_entries(current);
    html! {
        h2 { "Settings" }
        dl.facts {
            dt { "Name" } dd { (name_of(current)) }
            (destination::facts(current))
            dt { "Tag filter" }
            dd {
                @if tags.is_empty() { "None: events whatever their tags" }
                @else { @for (i, t) in tags.iter().enumerate() { @if i > 0 { " " } code { (t) } } }
            }
            dt { "Listen to" }
            dd {
                @match current["events"].as_array() {
                    Some(names) => {
                        "Selected events"
                        ul { @for n in names { li { code { (n.as_str().unwrap_or("")) } } } }
                    }
                    None => "All available services",
                }
            }
        }
        @if current["externalId"].is_string() { (destination::role_setup(current)) }
    }
}

/// A subscription's page: its facts, and for those who may change it, the update form and
/// its actions (test events, rotate secret, delete).
#[allow(clippy::too_many_arguments)]
fn detail(
    page: &Page,
    sub: &Sub,
    current: &Value,
    tag: &str,
    draft: &Draft,
    groups: &[(String, Vec<Value>)],
    errors: &FieldMessages,
    notice: Option<&str>,
) -> Markup {
    let may_change = page.signed.may_change();
    let signed = current["secret"] == true;
    html! {
        @if let Some(n) = notice { (html::notice("error", n)) }
        @if let Some(reason) = current["disabledReason"].as_str() {
            (html::notice("error", &if may_change {
                format!("Herald disabled this subscription: {reason}. Once the endpoint \
                         takes events again, tick Active and update to enable it.")
            } else {
                format!("Herald disabled this subscription: {reason}.")
            }))
        }
        (facts(page, sub, current))
        @if may_change {
            div.actions {
                a.button.secondary href=(sub.href(page, "/test")) { "Test events" }
                @if signed {
                    a.button.secondary href=(sub.href(page, "/rotate-secret"))
                        data-dialog="rotate-dialog" { "Rotate secret" }
                }
                a.button.secondary href=(sub.href(page, "/delete"))
                    data-dialog="delete-dialog" { "Delete subscription" }
            }
            @if signed { (manage::rotate_dialog(page, sub)) }
            (manage::delete_dialog(page, sub, current))
            h2 { "Settings" }
            (form(page, &Mode::Edit { sub, current, tag, signed }, draft, groups, errors))
        } @else {
            (read_only(current))
        }
    }
}

/// After adding an AWS destination: what its role needs before Herald can send there.
fn role_to_finish(page: &Page, id: &str, done: &str, sub: &Value) -> Markup {
    html! {
        (html::notice("ok", done))
        h2 { "Finish setting up the role" }
        p {
            "Herald sends to " (destination::summary(sub)) " by assuming the role "
            code { (sub["roleArn"].as_str().unwrap_or("")) } ". Until the role trusts Herald, \
             deliveries fail with a message that says so."
        }
        (destination::role_setup(sub))
        div.actions {
            a.button href=(page.href(&format!("/subscriptions/{id}"))) { "Go to the subscription" }
            a href=(page.href("/subscriptions")) { "Back to subscriptions" }
        }
    }
}

/// `GET /subscriptions/new`.
pub(super) async fn new(State(state): State<DashboardState>, at: At) -> Response {
    if let Some(back) = at.viewer_back_to("/subscriptions") {
        return back;
    }
    let groups = match at.resources(&state).get("/event-types").await {
        Ok(a) => event_groups(&a.body),
        Err(e) => return failed(e),
    };
    let page = at.page("Add subscription");
    page.render(
        SECTION,
        form(
            &page,
            &Mode::Create,
            &Draft::blank(),
            &groups,
            &FieldMessages::default(),
        ),
    )
}

/// `POST /subscriptions`: adds it; with a secret, shows the secret its one time.
pub(super) async fn create(State(state): State<DashboardState>, at: At, f: Form) -> Response {
    let draft = Draft::typed(&f);
    let r = at.resources(&state);
    let (written, types) = tokio::join!(
        r.write(
            Method::POST,
            at.api("/subscriptions"),
            Some(draft.body()),
            None
        ),
        r.get("/event-types"),
    );
    let page = at.page("Add subscription");
    let (status, errors, why) = match written {
        Ok(Written::Done(a)) => {
            tracing::info!(account = %at.account, "subscription added from the dashboard");
            let page = at.page("Subscription added");
            let id = a.body["id"].as_str().unwrap_or("");
            let done = format!("Subscription {} added.", name_of(&a.body));
            if a.body["externalId"].is_string() {
                // The role cannot be assumed until its trust policy names this external id.
                return page.render_with(
                    StatusCode::CREATED,
                    SECTION,
                    role_to_finish(&page, id, &done, &a.body),
                );
            }
            let Some(secret) = a.body["signingSecret"].as_str() else {
                return Redirect::to(&at.href("/subscriptions?created=1")).into_response();
            };
            return page.render_with(
                StatusCode::CREATED,
                SECTION,
                manage::secret_shown(&page, id, &done, secret, None),
            );
        }
        Ok(Written::Invalid(errors)) => (StatusCode::BAD_REQUEST, errors, None),
        Ok(Written::Refused(why)) => (StatusCode::CONFLICT, FieldMessages::default(), Some(why)),
        Err(e) => return failed(e),
    };
    let groups = match types {
        Ok(a) => event_groups(&a.body),
        Err(e) => return failed(e),
    };
    page.render_with(
        status,
        SECTION,
        html! {
            @if let Some(why) = &why { (html::notice("error", why)) }
            (form(&page, &Mode::Create, &draft, &groups, &errors))
        },
    )
}

/// The subscription and the event types, read at once.
async fn read(
    state: &DashboardState,
    at: &At,
    sub: &Sub,
) -> Result<(Answer, Vec<(String, Vec<Value>)>), Response> {
    let r = at.resources(state);
    let (current, types) = tokio::join!(r.get(sub.api(at, "")), r.get("/event-types"));
    let current = current.map_err(failed)?;
    let types = types.map_err(failed)?;
    Ok((current, event_groups(&types.body)))
}

/// `GET /subscriptions/{id}`: the subscription's page.
pub(super) async fn show(State(state): State<DashboardState>, at: At, sub: Sub) -> Response {
    let (current, groups) = match read(&state, &at, &sub).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let tag = version(&current);
    let page = at.page(name_of(&current.body));
    page.render(
        SECTION,
        detail(
            &page,
            &sub,
            &current.body,
            &tag,
            &Draft::of(&current.body),
            &groups,
            &FieldMessages::default(),
            None,
        ),
    )
}

/// `POST /subscriptions/{id}`: updates it, unless it changed since the form was read.
pub(super) async fn update(
    State(state): State<DashboardState>,
    at: At,
    sub: Sub,
    f: Form,
) -> Response {
    let draft = Draft::typed(&f);
    let submitted = f.optional("etag");
    let (current, groups) = match read(&state, &at, &sub).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let tag = version(&current);
    let stale = |current: &Answer| {
        let tag = version(current);
        let page = at.page(name_of(&current.body));
        page.render_with(
            StatusCode::CONFLICT,
            SECTION,
            detail(
                &page,
                &sub,
                &current.body,
                &tag,
                &Draft::of(&current.body),
                &groups,
                &FieldMessages::default(),
                Some(STALE),
            ),
        )
    };
    if submitted.as_deref().is_some_and(|t| t != tag) {
        tracing::info!(account = %at.account, subscription = %sub.0, "subscription update refused: changed meanwhile");
        return stale(&current);
    }
    let written = at
        .resources(&state)
        .write(
            Method::PUT,
            sub.api(&at, ""),
            Some(draft.body()),
            submitted.as_deref(),
        )
        .await;
    match written {
        Ok(Written::Done(a)) => {
            tracing::info!(account = %at.account, subscription = %sub.0, "subscription updated from the dashboard");
            match a.body["signingSecret"].as_str() {
                Some(secret) => {
                    let page = at.page("Subscription updated");
                    page.render(
                        SECTION,
                        manage::secret_shown(
                            &page,
                            &sub.0,
                            &format!(
                                "Subscription {} updated: its requests are now signed.",
                                name_of(&a.body)
                            ),
                            secret,
                            None,
                        ),
                    )
                }
                None => Redirect::to(&at.href("/subscriptions?saved=1")).into_response(),
            }
        }
        Ok(Written::Invalid(errors)) => {
            let page = at.page(name_of(&current.body));
            page.render_with(
                StatusCode::BAD_REQUEST,
                SECTION,
                detail(
                    &page,
                    &sub,
                    &current.body,
                    &tag,
                    &draft,
                    &groups,
                    &errors,
                    None,
                ),
            )
        }
        Ok(Written::Refused(why)) => {
            // The stored subscription, fresh, under the reason.
            let fresh = match at.resources(&state).get(sub.api(&at, "")).await {
                Ok(a) => a,
                Err(e) => return failed(e),
            };
            let tag = version(&fresh);
            let page = at.page(name_of(&fresh.body));
            page.render_with(
                StatusCode::CONFLICT,
                SECTION,
                detail(
                    &page,
                    &sub,
                    &fresh.body,
                    &tag,
                    &Draft::of(&fresh.body),
                    &groups,
                    &FieldMessages::default(),
                    Some(&why),
                ),
            )
        }
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn tags_split_on_commas_and_spaces() {
        let mut d = Draft::blank();
        d.tags = "order-*, eu  mock,,x".into();
        assert_eq!(d.tag_list(), ["order-*", "eu", "mock", "x"]);
        assert_eq!(d.body()["tagFilter"], json!(["order-*", "eu", "mock", "x"]));
        assert_eq!(d.body()["events"], json!("all"));
        d.all = false;
        d.events = vec!["sms.sent".into()];
        assert_eq!(d.body()["events"], json!(["sms.sent"]));
    }

    #[test]
    fn item_messages_name_what_was_typed_in_order() {
        let errors = FieldMessages(BTreeMap::from([
            ("tagFilter[10]".to_owned(), "ten".to_owned()),
            ("tagFilter[2]".to_owned(), "two".to_owned()),
            ("tagFilter".to_owned(), "too many".to_owned()),
            ("name".to_owned(), "bad".to_owned()),
        ]));
        let items: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert_eq!(
            with_items(&errors, "tagFilter", &items).as_deref(),
            Some("too many; “t2” two; “t10” ten")
        );
        assert_eq!(with_items(&errors, "events", &items), None);
        assert!(shown_in_form("tagFilter[3]") && shown_in_form("events"));
        assert!(shown_in_form("type") && shown_in_form("roleArn") && shown_in_form("sasKey"));
        assert!(!shown_in_form("colour") && !shown_in_form("serviceAccount"));
    }
}
