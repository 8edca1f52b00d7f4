//! Notifications: the account's rules (events turned into messages by templates), the types
//! recipients choose by, a recipient's preferences, and the notification log.
//!
//! - [`types`]: the types, adding, editing and deleting one;
//! - [`rules`]: the rules, the template editor, preview and test send;
//! - [`people`]: a recipient's preferences, and the notification log.

mod people;
mod rules;
mod types;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};

use super::At;
use crate::DashboardState;
use crate::html::{self, Page};
use crate::pages::failed;
use crate::resources::{FieldMessages, Written};

/// The navigation section of every page here.
const SECTION: &str = "Notifications";

pub fn routes() -> Router<DashboardState> {
    let base = "/dashboard/accounts/{account}/notifications";
    Router::new()
        .route(base, get(to_rules))
        .route(
            &format!("{base}/types"),
            get(types::list).post(types::create),
        )
        .route(&format!("{base}/types/new"), get(types::new))
        .route(
            &format!("{base}/types/{{key}}"),
            get(types::show).post(types::update),
        )
        .route(
            &format!("{base}/types/{{key}}/delete"),
            get(types::confirm_delete).post(types::delete),
        )
        .route(
            &format!("{base}/rules"),
            get(rules::list).post(rules::create),
        )
        .route(&format!("{base}/rules/new"), get(rules::new))
        .route(
            &format!("{base}/rules/{{rule}}"),
            get(rules::show).post(rules::update),
        )
        .route(
            &format!("{base}/rules/{{rule}}/delete"),
            get(rules::confirm_delete).post(rules::delete),
        )
        .route(
            &format!("{base}/rules/{{rule}}/preview"),
            get(rules::preview),
        )
        .route(
            &format!("{base}/rules/{{rule}}/test"),
            get(rules::test_page).post(rules::test),
        )
        .route(
            &format!("{base}/preferences"),
            get(people::preferences).post(people::save_preferences),
        )
        .route(&format!("{base}/log"), get(people::log))
}

async fn to_rules(at: At) -> Response {
    Redirect::to(&at.href("/notifications/rules")).into_response()
}

/// The tabs of the section: `current` marked.
/// A type or rule to delete: the tab it sits under, its page (`/notifications/types/{key}`),
/// its API resource, and the question the confirmation asks.
struct Deletion {
    tab: &'static str,
    title: &'static str,
    path: String,
    api: String,
    list: &'static str,
    question: Markup,
}

/// The confirmation page of a deletion (viewers are sent back to the item).
fn confirm_delete(at: &At, d: Deletion) -> Response {
    if let Some(r) = at.viewer_back_to(&d.path) {
        return r;
    }
    let page = at.page(d.title);
    let content = html! {
        (tabs(&page, d.tab))
        p { (d.question) }
        form method="post" action=(page.href(&format!("{}/delete", d.path))) {
            (page.csrf())
            div.actions {
                button.danger type="submit" { "Delete" }
                a href=(page.href(&d.path)) { "Cancel" }
            }
        }
    };
    page.render(SECTION, content)
}

/// Deletes through the API: back to the list, or a page saying why it was refused (a type
/// that rules use).
async fn delete(state: &DashboardState, at: &At, d: Deletion) -> Response {
    let why = match at
        .resources(state)
        .write(axum::http::Method::DELETE, at.api(&d.api), None, None)
        .await
    {
        Ok(Written::Done(_)) => {
            return Redirect::to(&at.href(&format!("{}?deleted", d.list))).into_response();
        }
        Ok(Written::Invalid(f)) => f.0.values().cloned().collect::<Vec<_>>().join("; "),
        Ok(Written::Refused(why)) => why,
        Err(e) => return failed(e),
    };
    let page = at.page(d.title);
    let content = html! {
        (tabs(&page, d.tab))
        (html::notice("error", &format!("Not deleted: {why}")))
        p { a href=(page.href(d.list)) { "Back to the list" } }
    };
    page.render_with(axum::http::StatusCode::CONFLICT, SECTION, content)
}

fn tabs(page: &Page, current: &str) -> Markup {
    html! {
        nav.tabs aria-label="Notifications" {
            @for (path, label) in [
                ("/notifications/rules", "Rules"),
                ("/notifications/types", "Types"),
                ("/notifications/preferences", "Preferences"),
                ("/notifications/log", "Log"),
            ] {
                a href=(page.href(path)) aria-current=[(label == current).then_some("page")] { (label) }
            }
        }
    }
}

/// A path segment (`{key}`, `{rule}`) that the API's own parsing accepts, or the page is not
/// found.
pub struct Segment(pub String);

impl Segment {
    fn from(parts_params: &HashMap<String, String>, name: &str) -> Option<Self> {
        let raw = parts_params.get(name)?;
        let ok = match name {
            "key" => herald::notify::types::TypeKey::parse(raw).is_ok(),
            "rule" => herald::notify::rules::RuleId::parse(raw).is_ok(),
            _ => false,
        };
        ok.then(|| Self(raw.clone()))
    }
}

/// The type key of a path.
pub struct Key(pub String);
/// The rule id of a path.
pub struct Rule(pub String);

async fn params(
    parts: &mut Parts,
    state: &DashboardState,
) -> Result<HashMap<String, String>, Response> {
    Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map(|Path(p)| p)
        .map_err(|_| html::not_found_page())
}

impl FromRequestParts<DashboardState> for Key {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DashboardState,
    ) -> Result<Self, Self::Rejection> {
        let p = params(parts, state).await?;
        Segment::from(&p, "key")
            .map(|s| Self(s.0))
            .ok_or_else(html::not_found_page)
    }
}

impl FromRequestParts<DashboardState> for Rule {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DashboardState,
    ) -> Result<Self, Self::Rejection> {
        let p = params(parts, state).await?;
        Segment::from(&p, "rule")
            .map(|s| Self(s.0))
            .ok_or_else(html::not_found_page)
    }
}

/// The messages of `field` and of every field under it (`field.x`, `field[0]`), as one.
fn under(errors: &FieldMessages, field: &str) -> Option<String> {
    let all: Vec<String> = errors
        .0
        .iter()
        .filter(|(k, _)| {
            k.as_str() == field
                || k.strip_prefix(field)
                    .is_some_and(|r| r.starts_with('.') || r.starts_with('['))
        })
        .map(|(k, m)| {
            if k == field {
                m.clone()
            } else {
                format!("{k}: {m}")
            }
        })
        .collect();
    (!all.is_empty()).then(|| all.join("; "))
}

/// A value percent-encoded for a path segment or query.
fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
