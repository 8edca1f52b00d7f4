//! The API's handlers, called in process as the signed-in person: a page reads and writes
//! exactly what the REST API would, under the same rules, and shows the same messages.

use std::collections::BTreeMap;

use api::Caller;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use herald::common::account::AccountId;
use serde_json::Value;
use tower::ServiceExt;

use crate::DashboardState;
use crate::session::Signed;

/// What a call answered.
pub struct Answer {
    pub status: StatusCode,
    pub etag: Option<String>,
    pub body: Value,
}

/// A call the page cannot show as a result of its own.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("not found")]
    NotFound,
    #[error("{status}: {detail}")]
    Failed { status: StatusCode, detail: String },
}

/// Each invalid field's message, by the API's field name (`senderName`, `smtp.host`, ...).
#[derive(Debug, Default, Clone)]
pub struct FieldMessages(pub BTreeMap<String, String>);

impl FieldMessages {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problem's `errors`, one message per field (the first, if a field has several).
    pub fn of(problem: &Value) -> Self {
        let mut out = BTreeMap::new();
        for e in problem["errors"].as_array().into_iter().flatten() {
            if let (Some(f), Some(m)) = (e["field"].as_str(), e["message"].as_str()) {
                out.entry(f.to_owned()).or_insert_with(|| m.to_owned());
            }
        }
        Self(out)
    }

    /// Fields with messages that no form field shows, for the form's summary.
    pub fn others<'a>(&'a self, shown: &'a [&str]) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .iter()
            .filter(|(f, _)| !shown.contains(&f.as_str()))
            .map(|(f, m)| (f.as_str(), m.as_str()))
    }
}

/// The result of a write: done, refused with field messages, or refused otherwise.
pub enum Written {
    Done(Answer),
    Invalid(FieldMessages),
    Refused(String),
}

/// Calls on behalf of one signed-in person.
pub struct Resources<'a> {
    state: &'a DashboardState,
    caller: Caller,
}

impl<'a> Resources<'a> {
    pub fn new(state: &'a DashboardState, signed: &Signed) -> Self {
        let grant = &signed.session.grant;
        let subject = grant.user().unwrap_or("dashboard").to_owned();
        Self {
            state,
            caller: Caller::person(subject, grant.accounts().iter().cloned()),
        }
    }

    /// Calls as `caller`: a recipient's signed link acts for its one account only.
    pub fn as_caller(state: &'a DashboardState, caller: Caller) -> Self {
        Self { state, caller }
    }

    pub async fn call(
        &self,
        method: Method,
        uri: impl Into<String>,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri.into());
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(tag) = if_match {
            req = req.header(header::IF_MATCH, tag);
        }
        let body = body.map(|b| Body::from(b.to_string())).unwrap_or_default();
        let mut req = req.body(body).unwrap_or_default();
        req.extensions_mut().insert(self.caller.clone());
        let response = self
            .state
            .api
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| match e {});
        let status = response.status();
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer { status, etag, body }
    }

    /// A read: its JSON, or why there is none.
    pub async fn get(&self, uri: impl Into<String>) -> Result<Answer, CallError> {
        let a = self.call(Method::GET, uri, None, None).await;
        match a.status {
            s if s.is_success() => Ok(a),
            StatusCode::NOT_FOUND => Err(CallError::NotFound),
            status => Err(CallError::Failed {
                status,
                detail: detail(&a.body),
            }),
        }
    }

    /// A write: done, invalid fields, or refused with the API's explanation.
    pub async fn write(
        &self,
        method: Method,
        uri: impl Into<String>,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> Result<Written, CallError> {
        let a = self.call(method, uri, body, if_match).await;
        match a.status {
            s if s.is_success() => Ok(Written::Done(a)),
            StatusCode::NOT_FOUND => Err(CallError::NotFound),
            StatusCode::BAD_REQUEST if a.body["errors"].is_array() => {
                Ok(Written::Invalid(FieldMessages::of(&a.body)))
            }
            StatusCode::PRECONDITION_FAILED => Ok(Written::Refused(
                "Someone changed this meanwhile. The page now shows their version; make your \
                 change again."
                    .into(),
            )),
            s if s.is_client_error() => Ok(Written::Refused(detail(&a.body))),
            status => Err(CallError::Failed {
                status,
                detail: detail(&a.body),
            }),
        }
    }
}

fn detail(problem: &Value) -> String {
    problem["detail"]
        .as_str()
        .or_else(|| problem["title"].as_str())
        .unwrap_or("the request failed")
        .to_owned()
}

/// `/accounts/{id}` and what follows, as the API routes it.
pub fn account_uri(account: &AccountId, rest: &str) -> String {
    format!("/accounts/{account}{rest}")
}
