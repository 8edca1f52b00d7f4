//! Signing in, the session cookie, and the checks every signed-in request passes before its
//! page runs: an open session, an account the session covers, a CSRF token on every change,
//! and no change at all by a viewer.

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use herald::common::account::AccountId;
use herald::dashboard::{IDLE_TIMEOUT, SessionError, SignInError};
use serde::Deserialize;

use crate::html;
pub use crate::signed::{CSRF_FIELD, CSRF_HEADER, Signed};
use crate::{DashboardState, MAX_FORM_BYTES};

/// The cookie's name over https: `__Host-` binds it to this host, path `/` and Secure.
const SECURE_COOKIE: &str = "__Host-herald-session";
/// Its name over plain http (the local stack only): browsers refuse `__Host-` there.
const PLAIN_COOKIE: &str = "herald-session";

/// Whether the request came over https. API Gateway always says so; the local gateway says
/// `http`.
fn https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|p| p.eq_ignore_ascii_case("https"))
}

fn cookie_name(headers: &HeaderMap) -> &'static str {
    if https(headers) {
        SECURE_COOKIE
    } else {
        PLAIN_COOKIE
    }
}

/// The session cookie's value, if the request carries one.
fn cookie(headers: &HeaderMap) -> Option<String> {
    let name = cookie_name(headers);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// The `Set-Cookie` of a session (or, with no value, of its removal). `SameSite=Lax` lets the
/// platform's link open a signed-in page; embedding in another site's frame needs `None`,
/// which only a Secure cookie may carry, and then CSRF tokens alone stop cross-site changes.
fn set_cookie(state: &DashboardState, headers: &HeaderMap, value: Option<&str>) -> HeaderValue {
    let secure = https(headers);
    let same_site = if state.frame_ancestors.is_some() && secure {
        "None"
    } else {
        "Lax"
    };
    let mut c = format!(
        "{}={}; Path=/; HttpOnly; SameSite={same_site}",
        cookie_name(headers),
        value.unwrap_or("")
    );
    if secure {
        c.push_str("; Secure");
    }
    match value {
        // Idle expiry is the server's; the browser may keep it as long as it could be valid.
        Some(_) => c.push_str(&format!("; Max-Age={}", IDLE_TIMEOUT.whole_seconds())),
        None => c.push_str("; Max-Age=0"),
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[derive(Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    token: String,
}

/// `GET /dashboard/sign-in?token=`: uses up the link, sets the cookie, and sends the browser to
/// the first account's overview (dropping the token from the address bar and history).
pub async fn sign_in(
    State(state): State<DashboardState>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Response {
    let now = state.app.clock.now();
    match state.sessions.sign_in(&q.token, now).await {
        Ok((token, session)) => {
            tracing::info!(account = %session.grant.home(), role = session.grant.role().as_str(), "dashboard session opened");
            let mut response =
                Redirect::to(&format!("/dashboard/accounts/{}", session.grant.home()))
                    .into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&state, &headers, Some(token.expose())),
            );
            response
        }
        Err(SignInError::LinkInvalid) => {
            tracing::info!("dashboard sign-in refused: link unknown, used or expired");
            html::message_page(
                StatusCode::GONE,
                "Sign-in link expired",
                "This sign-in link has expired or was already used. Links work once, for 10 \
                 minutes: open the dashboard again from your platform to get a new one.",
            )
        }
        Err(SignInError::Store(e)) => html::internal(&e),
    }
}

/// `POST /dashboard/sign-out`: ends the session (the CSRF check has run).
pub async fn sign_out(State(state): State<DashboardState>, headers: HeaderMap) -> Response {
    if let Some(c) = cookie(&headers)
        && let Err(e) = state.sessions.sign_out(&c).await
    {
        return html::internal(&e);
    }
    let mut response = html::message_page(
        StatusCode::OK,
        "Signed out",
        "You are signed out. Open the dashboard again from your platform to sign in.",
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(&state, &headers, None));
    response
}

/// The account a path names (`/dashboard/accounts/{id}/...`), if it names one.
fn path_account(path: &str) -> Option<&str> {
    path.strip_prefix("/dashboard/accounts/")
        .map(|rest| rest.split('/').next().unwrap_or(""))
}

/// The CSRF token a change carries: its header (htmx), or its form field.
fn presented_csrf(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    if let Some(h) = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(h.to_owned());
    }
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned())
}

/// Middleware of every signed-in route: refuses what may not pass, then runs the page with
/// [`Signed`] in its extensions.
pub async fn require(State(state): State<DashboardState>, req: Request, next: Next) -> Response {
    let now = state.app.clock.now();
    let headers = req.headers().clone();
    let session = match cookie(&headers) {
        None => Err(SessionError::Missing),
        Some(c) => state.sessions.check(&c, now).await,
    };
    let session = match session {
        Ok(s) => s,
        Err(SessionError::Store(e)) => return html::internal(&e),
        Err(_) => {
            let mut response = html::message_page(
                StatusCode::UNAUTHORIZED,
                "Signed out",
                "Your session has ended or this browser is not signed in. Open the dashboard \
                 again from your platform to sign in.",
            );
            if cookie(&headers).is_some() {
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, set_cookie(&state, &headers, None));
            }
            return response;
        }
    };
    if let Some(raw) = path_account(req.uri().path()) {
        let covered = AccountId::parse(raw).is_ok_and(|a| session.grant.covers(&a));
        if !covered {
            // Another account's page is answered as one that does not exist.
            return html::not_found_page();
        }
    }
    let signed = Signed { session };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    let req = if safe {
        req
    } else {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
            return html::message_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much",
                "The form sent more than the dashboard takes.",
            );
        };
        let token = presented_csrf(&parts.headers, &bytes);
        if !token.is_some_and(|t| signed.session.csrf_matches(&t)) {
            tracing::warn!(account = %signed.session.grant.home(), path = %parts.uri.path(), "dashboard change refused: missing or wrong CSRF token");
            return html::message_page(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form is out of date or did not come from the dashboard. Go back, reload \
                 the page and try again.",
            );
        }
        let sign_out = parts.uri.path() == "/dashboard/sign-out";
        if !signed.may_change() && !sign_out {
            tracing::warn!(account = %signed.session.grant.home(), path = %parts.uri.path(), "dashboard change refused: viewer");
            return html::message_page(
                StatusCode::FORBIDDEN,
                "View only",
                "You can view this account but not change it. Ask an administrator.",
            );
        }
        Request::from_parts(parts, Body::from(bytes))
    };
    let mut req = req;
    req.extensions_mut().insert(signed);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_names_follow_the_scheme() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-herald-session=abc; herald-session=plain"),
        );
        assert_eq!(cookie(&h).as_deref(), Some("abc"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("http"));
        assert_eq!(cookie(&h).as_deref(), Some("plain"));
    }

    #[test]
    fn csrf_from_header_or_form() {
        let mut h = HeaderMap::new();
        assert_eq!(
            presented_csrf(&h, b"a=1&csrf=tok%2Ben").as_deref(),
            Some("tok+en")
        );
        h.insert(CSRF_HEADER, HeaderValue::from_static("hdr"));
        assert_eq!(presented_csrf(&h, b"csrf=form").as_deref(), Some("hdr"));
        assert_eq!(presented_csrf(&HeaderMap::new(), b"a=1"), None);
    }

    #[test]
    fn account_of_a_path() {
        assert_eq!(path_account("/dashboard/accounts/acme/sms"), Some("acme"));
        assert_eq!(path_account("/dashboard/accounts/acme"), Some("acme"));
        assert_eq!(path_account("/dashboard/sign-out"), None);
    }
}
