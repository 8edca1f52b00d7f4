//! Deleting a subscription and rotating its signing secret, each behind a confirmation (a
//! dialog with JavaScript, a page without), and the page that shows a signing secret its one
//! time.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::Value;

use super::{SECTION, Sub, destination, name_of};
use crate::DashboardState;
use crate::html::{self, Page};
use crate::pages::{At, failed};
use crate::resources::Written;

/// A signing secret, shown this once: with a copy button, the warning that it will not be
/// shown again, when the previous one stops signing (after a rotation), and links on.
pub(super) fn secret_shown(
    page: &Page,
    id: &str,
    done: &str,
    secret: &str,
    previous_until: Option<&str>,
) -> Markup {
    html! {
        (html::notice("ok", done))
        h2 { "Signing secret" }
        (html::secret_once(secret, "If it is lost, rotate the secret to get a new one."))
        p.hint {
            "Your endpoint checks each request with it: the signature header holds the \
             HMAC-SHA256 of the exact request body keyed by this secret, in uppercase hex, and \
             webhook-signature the Standard Webhooks signature."
        }
        @if let Some(until) = previous_until {
            p {
                "The previous secret keeps signing requests beside the new one until "
                (html::time(until)) ". Switch your endpoint to the new secret before then."
            }
        }
        div.actions {
            a.button href=(page.href(&format!("/subscriptions/{id}"))) { "Go to the subscription" }
            a href=(page.href("/subscriptions")) { "Back to subscriptions" }
        }
    }
}

pub(super) fn delete_dialog(page: &Page, sub: &Sub, current: &Value) -> Markup {
    html! {
        dialog id="delete-dialog" aria-labelledby="delete-title" {
            (delete_form(page, sub, current))
        }
    }
}

fn delete_form(page: &Page, sub: &Sub, current: &Value) -> Markup {
    html! {
        form method="post" action=(sub.href(page, "/delete")) {
            (page.csrf())
            h2 id="delete-title" { "Delete " (name_of(current)) "?" }
            p {
                "Herald stops sending events to " (destination::summary(current))
                ". Deliveries still pending fail. This cannot be undone."
            }
            div.actions {
                button.danger type="submit" { "Delete subscription" }
                button.secondary type="button" data-close { "Cancel" }
                a href=(sub.href(page, "")) { "Back" }
            }
        }
    }
}

pub(super) fn rotate_dialog(page: &Page, sub: &Sub) -> Markup {
    html! {
        dialog id="rotate-dialog" aria-labelledby="rotate-title" {
            (rotate_form(page, sub))
        }
    }
}

fn rotate_form(page: &Page, sub: &Sub) -> Markup {
    html! {
        form method="post" action=(sub.href(page, "/rotate-secret")) {
            (page.csrf())
            h2 id="rotate-title" { "Rotate the signing secret?" }
            p {
                "Herald makes a new secret and shows it once. The current secret keeps signing \
                 beside it for 24 hours, so that your endpoint can switch to the new one without \
                 missing a request."
            }
            div.actions {
                button type="submit" { "Rotate secret" }
                button.secondary type="button" data-close { "Cancel" }
                a href=(sub.href(page, "")) { "Back" }
            }
        }
    }
}

/// The subscription, or the answer to show instead.
async fn current(state: &DashboardState, at: &At, sub: &Sub) -> Result<Value, Response> {
    at.resources(state)
        .get(sub.api(at, ""))
        .await
        .map(|a| a.body)
        .map_err(failed)
}

/// `GET /subscriptions/{id}/delete`: the confirmation, as a page.
pub(super) async fn confirm_delete(
    State(state): State<DashboardState>,
    at: At,
    sub: Sub,
) -> Response {
    if let Some(back) = at.viewer_back_to(&format!("/subscriptions/{}", sub.0)) {
        return back;
    }
    let current = match current(&state, &at, &sub).await {
        Ok(c) => c,
        Err(e) => return e,
    };
    let page = at.page("Delete subscription");
    page.render(SECTION, delete_form(&page, &sub, &current))
}

/// `POST /subscriptions/{id}/delete`.
pub(super) async fn delete(State(state): State<DashboardState>, at: At, sub: Sub) -> Response {
    match at
        .resources(&state)
        .write(Method::DELETE, sub.api(&at, ""), None, None)
        .await
    {
        Ok(Written::Done(_)) => {
            tracing::info!(account = %at.account, subscription = %sub.0, "subscription deleted from the dashboard");
            Redirect::to(&at.href("/subscriptions?deleted=1")).into_response()
        }
        // Already gone (a second click), or refused: the list says what there is.
        Ok(Written::Invalid(_) | Written::Refused(_))
        | Err(crate::resources::CallError::NotFound) => {
            Redirect::to(&at.href("/subscriptions")).into_response()
        }
        Err(e) => failed(e),
    }
}

/// `GET /subscriptions/{id}/rotate-secret`: the confirmation, as a page.
pub(super) async fn confirm_rotate(
    State(state): State<DashboardState>,
    at: At,
    sub: Sub,
) -> Response {
    if let Some(back) = at.viewer_back_to(&format!("/subscriptions/{}", sub.0)) {
        return back;
    }
    // Only to know that it exists: a page for a subscription that does not is not found.
    if let Err(e) = current(&state, &at, &sub).await {
        return e;
    }
    let page = at.page("Rotate secret");
    page.render(SECTION, rotate_form(&page, &sub))
}

/// `POST /subscriptions/{id}/rotate-secret`: the new secret, shown once.
pub(super) async fn rotate(State(state): State<DashboardState>, at: At, sub: Sub) -> Response {
    let written = at
        .resources(&state)
        .write(Method::POST, sub.api(&at, "/rotate-secret"), None, None)
        .await;
    match written {
        Ok(Written::Done(a)) => {
            tracing::info!(account = %at.account, subscription = %sub.0, "subscription secret rotated from the dashboard");
            let Some(secret) = a.body["signingSecret"].as_str() else {
                return Redirect::to(&at.href(&format!("/subscriptions/{}", sub.0)))
                    .into_response();
            };
            let page = at.page("New signing secret");
            page.render(
                SECTION,
                secret_shown(
                    &page,
                    &sub.0,
                    &format!("New signing secret for {}.", name_of(&a.body)),
                    secret,
                    a.body["previousSecretExpiresAt"].as_str(),
                ),
            )
        }
        Ok(Written::Invalid(_)) => {
            Redirect::to(&at.href(&format!("/subscriptions/{}", sub.0))).into_response()
        }
        Ok(Written::Refused(why)) => {
            let page = at.page("Rotate secret");
            page.render_with(
                StatusCode::CONFLICT,
                SECTION,
                html! {
                    (html::notice("error", &why))
                    (rotate_form(&page, &sub))
                },
            )
        }
        Err(e) => failed(e),
    }
}
