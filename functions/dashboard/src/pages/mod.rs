//! One module per page of the dashboard; each adds its routes in [`routes`].

pub mod custom_provider;
pub mod domains;
pub mod email;
pub mod events;
pub mod logs;
pub mod notifications;
pub mod overview;
pub mod sms;
pub mod subscriptions;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use herald::common::account::AccountId;
use serde_json::{Map, Value};

use crate::DashboardState;
use crate::html::{self, Page};
use crate::resources::{CallError, Resources};
use crate::session::Signed;

/// Every signed-in page (the session checks run in front of them).
pub fn routes() -> Router<DashboardState> {
    Router::new()
        .route("/dashboard", get(home))
        .route("/dashboard/", get(home))
        .route("/dashboard/switch", get(switch))
        .merge(overview::routes())
        .merge(sms::routes())
        .merge(logs::routes())
        .merge(events::routes())
        .merge(email::routes())
        .merge(domains::routes())
        .merge(subscriptions::routes())
        .merge(notifications::routes())
}

/// A signed-in request on one of its session's accounts (`{account}` in the path): the
/// session middleware has checked both.
pub struct At {
    pub signed: Signed,
    pub account: AccountId,
}

impl At {
    pub fn page<'a>(&'a self, title: &'a str) -> Page<'a> {
        self.signed.page(&self.account, title)
    }

    pub fn resources<'a>(&self, state: &'a DashboardState) -> Resources<'a> {
        Resources::new(state, &self.signed)
    }

    /// `/accounts/{id}` and `rest`, as the API routes it.
    pub fn api(&self, rest: &str) -> String {
        crate::resources::account_uri(&self.account, rest)
    }

    /// `/dashboard/accounts/{id}` and `rest`.
    pub fn href(&self, rest: &str) -> String {
        format!("/dashboard/accounts/{}{rest}", self.account)
    }

    /// For a page only those who may change the account open (a form, a confirmation): a
    /// viewer is sent back to `rest`, the page it came from.
    pub fn viewer_back_to(&self, rest: &str) -> Option<Response> {
        (!self.signed.may_change()).then(|| Redirect::to(&self.href(rest)).into_response())
    }
}

impl FromRequestParts<DashboardState> for At {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &DashboardState,
    ) -> Result<Self, Self::Rejection> {
        let signed = parts
            .extensions
            .get::<Signed>()
            .cloned()
            .ok_or_else(html::not_found_page)?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| html::not_found_page())?;
        let account = params
            .get("account")
            .and_then(|a| AccountId::parse(a).ok())
            .filter(|a| signed.session.grant.covers(a))
            .ok_or_else(html::not_found_page)?;
        Ok(Self { signed, account })
    }
}

/// A read the page cannot do without, as the answer to show instead.
pub fn failed(e: CallError) -> Response {
    match e {
        CallError::NotFound => html::not_found_page(),
        CallError::Failed { status, detail } => {
            tracing::error!(%status, %detail, "dashboard read failed");
            html::message_page(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "Not available",
                "Herald could not read this page's data just now. Try again in a moment.",
            )
        }
    }
}

/// A submitted form's fields; a field sent several times (checkboxes) keeps every value.
pub struct Form(pub HashMap<String, Vec<String>>);

impl Form {
    pub fn parse(body: &[u8]) -> Self {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            out.entry(k.into_owned()).or_default().push(v.into_owned());
        }
        Self(out)
    }

    /// A text field, trimmed.
    pub fn text(&self, name: &str) -> String {
        self.0
            .get(name)
            .and_then(|v| v.first())
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    }

    /// A text field, or none when left empty.
    pub fn optional(&self, name: &str) -> Option<String> {
        Some(self.text(name)).filter(|s| !s.is_empty())
    }

    /// A secret field as typed: not trimmed (spaces may be part of it).
    pub fn secret(&self, name: &str) -> String {
        self.0
            .get(name)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default()
    }

    pub fn checked(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.get(name).cloned().unwrap_or_default()
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, _: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(req.into_body(), crate::MAX_FORM_BYTES)
            .await
            .map_err(|_| html::not_found_page())?;
        Ok(Self::parse(&bytes))
    }
}

/// A JSON object from (name, value) pairs, leaving out `None`s.
pub fn object(fields: impl IntoIterator<Item = (&'static str, Option<Value>)>) -> Value {
    let mut m = Map::new();
    for (k, v) in fields {
        if let Some(v) = v {
            m.insert(k.to_owned(), v);
        }
    }
    Value::Object(m)
}

/// `/dashboard`: the session's first account.
async fn home(axum::Extension(signed): axum::Extension<Signed>) -> Response {
    Redirect::to(&format!(
        "/dashboard/accounts/{}",
        signed.session.grant.home()
    ))
    .into_response()
}

/// `/dashboard/switch?account=`: the top bar's account switcher (a plain form).
async fn switch(
    State(_): State<DashboardState>,
    axum::Extension(signed): axum::Extension<Signed>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match q
        .get("account")
        .and_then(|a| AccountId::parse(a).ok())
        .filter(|a| signed.session.grant.covers(a))
    {
        Some(a) => Redirect::to(&format!("/dashboard/accounts/{a}")).into_response(),
        None => html::not_found_page(),
    }
}

/// A write-only secret's input: always empty; a hint says what leaving it empty does.
pub(super) fn secret_field(
    name: &str,
    label: &str,
    what: &str,
    stored: bool,
    typed: bool,
    errors: &crate::resources::FieldMessages,
) -> maud::Markup {
    let hint = if typed {
        format!("Type the new {what} again: it was not saved, and is never shown on a page.")
    } else if stored {
        format!("Leave empty to keep the stored {what}.")
    } else {
        format!("No {what} is stored yet.")
    };
    crate::html::Field::text(name, label, "")
        .kind("password")
        .hint(&hint)
        .error(errors.get(name))
        .render()
}
