//! The pages recipients reach from a notification email, with no session: their preferences
//! (`/dashboard/preferences/{token}`) and the one-click unsubscribe of RFC 8058
//! (`/dashboard/unsubscribe/{token}`). The signed token is the only credential: it names the
//! account, the recipient, their role and, to unsubscribe, the type. The pages call the API's
//! preference routes in process for that one account.
//!
//! Mail scanners follow links: a GET never changes anything. Unsubscribing takes a POST, the
//! one a mail client sends for `List-Unsubscribe-Post`, or the page's own button.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use herald::notify::links::{LinkError, LinkSigner, RecipientLink};
use maud::{DOCTYPE, Markup, html};
use serde_json::{Map, Value, json};

use crate::DashboardState;
use crate::assets;
use crate::pages::Form;
use crate::resources::{Resources, Written};

/// The key of recipients' links: given, read from Secrets Manager on first use, or none.
pub struct LinkKey {
    signer: OnceLock<LinkSigner>,
    source: Option<(Arc<herald::adapters::aws::Clients>, String)>,
}

impl LinkKey {
    pub fn none() -> Self {
        Self {
            signer: OnceLock::new(),
            source: None,
        }
    }

    /// The key in the secret `secret_id`, read at first use (a failed read is tried again).
    pub fn from_secret(aws: Arc<herald::adapters::aws::Clients>, secret_id: String) -> Self {
        Self {
            signer: OnceLock::new(),
            source: Some((aws, secret_id)),
        }
    }

    pub fn set(&self, signer: LinkSigner) {
        let _ = self.signer.set(signer);
    }

    /// The signer, or none where no key is configured or it cannot be read just now.
    pub async fn signer(&self) -> Option<LinkSigner> {
        if let Some(s) = self.signer.get() {
            return Some(s.clone());
        }
        let (aws, secret_id) = self.source.as_ref()?;
        let out = match aws
            .secrets_manager()
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                tracing::error!(error = %herald::error_chain(&e), secret = %secret_id, "reading the link key failed");
                return None;
            }
        };
        let key = out
            .secret_string()
            .and_then(|s| herald::common::secret::Secret::parse(s.trim()).ok());
        match key.map(LinkSigner::new) {
            Some(Ok(signer)) => {
                self.set(signer.clone());
                Some(signer)
            }
            Some(Err(e)) => {
                tracing::error!(secret = %secret_id, error = %e, "the link key is not usable");
                None
            }
            None => {
                tracing::error!(secret = %secret_id, "the link key holds no usable string");
                None
            }
        }
    }
}

pub fn routes() -> Router<DashboardState> {
    Router::new()
        .route(
            "/dashboard/preferences/{token}",
            get(preferences).post(save_preferences),
        )
        .route(
            "/dashboard/unsubscribe/{token}",
            get(confirm_unsubscribe).post(unsubscribe),
        )
}

/// A page of its own: no navigation, no session.
fn page(status: StatusCode, title: &str, content: Markup) -> Response {
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " · Herald" }
                link rel="stylesheet" href=(assets::href("dashboard.css"));
            }
            body {
                main id="main" class="message recipient" {
                    h1 { (title) }
                    (content)
                }
            }
        }
    };
    (status, body).into_response()
}

fn text_page(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, title, html! { p { (text) } })
}

/// The link's grant, or the page that says why it gives none.
async fn open(state: &DashboardState, token: &str) -> Result<RecipientLink, Response> {
    let Some(signer) = state.links.signer().await else {
        return Err(text_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not available",
            "Preferences cannot be shown just now. Try the link again in a moment.",
        ));
    };
    signer
        .open(token, state.app.clock.now())
        .map_err(|e| match e {
            LinkError::Invalid => {
                tracing::info!("recipient link refused: invalid");
                text_page(
                    StatusCode::BAD_REQUEST,
                    "Link not valid",
                    "This link is not valid: it may have been cut short or changed when it was \
                     copied. Open it again from the email.",
                )
            }
            LinkError::Expired => {
                tracing::info!("recipient link refused: expired");
                text_page(
                    StatusCode::FORBIDDEN,
                    "Link expired",
                    "This link has expired. A newer email from the same sender holds one that \
                     works.",
                )
            }
        })
}

/// Calls for the link's one account, as the recipient it names.
fn resources<'a>(state: &'a DashboardState, link: &RecipientLink) -> Resources<'a> {
    Resources::as_caller(
        state,
        api::Caller::person(
            format!("recipient:{}", link.recipient_id.as_str()),
            [link.account_id.clone()],
        ),
    )
}

/// The API's preferences path of the link's recipient, with their role.
fn api_path(link: &RecipientLink) -> String {
    let id: String =
        url::form_urlencoded::byte_serialize(link.recipient_id.as_str().as_bytes()).collect();
    let mut uri = format!("/accounts/{}/recipients/{id}/preferences", link.account_id);
    if let Some(role) = &link.role {
        let role: String = url::form_urlencoded::byte_serialize(role.as_str().as_bytes()).collect();
        uri.push_str(&format!("?role={role}"));
    }
    uri
}

fn unavailable() -> Response {
    text_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Not available",
        "Preferences cannot be shown just now. Try again in a moment.",
    )
}

const CHANNELS: [(&str, &str); 2] = [("email", "Email"), ("sms", "SMS")];

/// What a recipient sees of a type: mandatory ones, and those with a channel they may change.
fn shown(t: &Value) -> bool {
    t["mandatory"] == true
        || CHANNELS
            .iter()
            .any(|(c, _)| t["channels"][c]["changeable"] == true)
}

fn preferences_form(token: &str, prefs: &Value, notice: Option<&str>) -> Markup {
    let types: Vec<&Value> = prefs["types"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| shown(t))
        .collect();
    html! {
        @if let Some(n) = notice { div.notice.ok role="status" { (n) } }
        @if types.is_empty() {
            p { "There are no notifications you can choose here." }
        } @else {
            form method="post" action=(format!("/dashboard/preferences/{token}")) {
                @for t in &types {
                    @let key = t["key"].as_str().unwrap_or("");
                    fieldset.preference {
                        legend { (t["name"].as_str().unwrap_or(key)) }
                        @if let Some(d) = t["description"].as_str().filter(|d| !d.is_empty()) {
                            p.hint { (d) }
                        }
                        @for (c, label) in CHANNELS {
                            @let ch = &t["channels"][c];
                            @if ch.is_object() {
                                @if t["mandatory"] == true {
                                    p { (label) ": " strong { "always on" } }
                                } @else if ch["changeable"] == true {
                                    @let id = format!("p-{key}-{c}");
                                    div.field.check {
                                        input id=(id) type="checkbox" name=(format!("{key}.{c}"))
                                            value="on" checked[ch["on"] == true];
                                        label for=(id) { (label) }
                                    }
                                } @else {
                                    p { (label) ": " (if ch["on"] == true { "on" } else { "off" }) }
                                }
                            }
                        }
                    }
                }
                div.actions { button type="submit" { "Save preferences" } }
            }
        }
    }
}

/// `GET /dashboard/preferences/{token}`.
async fn preferences(State(state): State<DashboardState>, Path(token): Path<String>) -> Response {
    let link = match open(&state, &token).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    match resources(&state, &link).get(api_path(&link)).await {
        Ok(a) => page(
            StatusCode::OK,
            "Notification preferences",
            preferences_form(&token, &a.body, None),
        ),
        Err(_) => unavailable(),
    }
}

/// `POST /dashboard/preferences/{token}`: each channel the recipient may change, on if ticked.
async fn save_preferences(
    State(state): State<DashboardState>,
    Path(token): Path<String>,
    form: Form,
) -> Response {
    let link = match open(&state, &token).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let r = resources(&state, &link);
    let current = match r.get(api_path(&link)).await {
        Ok(a) => a.body,
        Err(_) => return unavailable(),
    };
    let mut types = Map::new();
    for t in current["types"].as_array().into_iter().flatten() {
        if t["mandatory"] == true {
            continue;
        }
        let key = t["key"].as_str().unwrap_or("");
        let mut choice = Map::new();
        for (c, _) in CHANNELS {
            if t["channels"][c]["changeable"] == true {
                choice.insert(c.into(), json!(form.checked(&format!("{key}.{c}"))));
            }
        }
        if !choice.is_empty() {
            types.insert(key.to_owned(), Value::Object(choice));
        }
    }
    match r
        .write(
            Method::PUT,
            api_path(&link),
            Some(json!({"types": types})),
            None,
        )
        .await
    {
        Ok(Written::Done(a)) => {
            tracing::info!(account = %link.account_id, "recipient saved preferences by link");
            page(
                StatusCode::OK,
                "Notification preferences",
                preferences_form(&token, &a.body, Some("Your preferences are saved.")),
            )
        }
        Ok(Written::Invalid(errors)) => {
            let text: Vec<String> = errors.0.values().cloned().collect();
            text_page(
                StatusCode::BAD_REQUEST,
                "Not saved",
                &format!("Your preferences were not saved: {}", text.join("; ")),
            )
        }
        Ok(Written::Refused(why)) => text_page(StatusCode::BAD_REQUEST, "Not saved", &why),
        Err(_) => unavailable(),
    }
}

/// `GET /dashboard/unsubscribe/{token}`: a button, never the change itself.
async fn confirm_unsubscribe(
    State(state): State<DashboardState>,
    Path(token): Path<String>,
) -> Response {
    let link = match open(&state, &token).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let Some(key) = &link.unsubscribe else {
        return not_an_unsubscribe_link();
    };
    page(
        StatusCode::OK,
        "Unsubscribe",
        html! {
            p { "Stop receiving " strong { (key.as_str()) } " notifications by email?" }
            form method="post" action=(format!("/dashboard/unsubscribe/{token}")) {
                input type="hidden" name="List-Unsubscribe" value="One-Click";
                div.actions { button type="submit" { "Unsubscribe" } }
            }
        },
    )
}

/// Whether a body says `List-Unsubscribe=One-Click`: url-encoded, or as RFC 8058 also
/// allows, multipart form data.
fn one_click(body: &[u8]) -> bool {
    if Form::parse(body).text("List-Unsubscribe") == "One-Click" {
        return true;
    }
    let text = String::from_utf8_lossy(body);
    text.contains("name=\"List-Unsubscribe\"")
        && text
            .split("name=\"List-Unsubscribe\"")
            .nth(1)
            .and_then(|rest| rest.split("\r\n\r\n").nth(1))
            .is_some_and(|value| value.trim_start().starts_with("One-Click"))
}

fn not_an_unsubscribe_link() -> Response {
    text_page(
        StatusCode::BAD_REQUEST,
        "Link not valid",
        "This link does not unsubscribe from anything. Open the unsubscribe link of the email.",
    )
}

/// `POST /dashboard/unsubscribe/{token}` with `List-Unsubscribe=One-Click` (RFC 8058): the
/// type's email turned off.
async fn unsubscribe(
    State(state): State<DashboardState>,
    Path(token): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let link = match open(&state, &token).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let Some(key) = link.unsubscribe.clone() else {
        return not_an_unsubscribe_link();
    };
    if !one_click(&body) {
        return text_page(
            StatusCode::BAD_REQUEST,
            "Not unsubscribed",
            "The request did not ask to unsubscribe. Use the button on the unsubscribe page.",
        );
    }
    let body = json!({"types": {key.as_str(): {"email": false}}});
    match resources(&state, &link)
        .write(Method::PUT, api_path(&link), Some(body), None)
        .await
    {
        Ok(Written::Done(_)) => {
            tracing::info!(account = %link.account_id, r#type = %key, "recipient unsubscribed by link");
            text_page(
                StatusCode::OK,
                "Unsubscribed",
                &format!("You will no longer receive {key} notifications by email."),
            )
        }
        Ok(Written::Invalid(_)) | Ok(Written::Refused(_)) => text_page(
            StatusCode::BAD_REQUEST,
            "Not unsubscribed",
            "These notifications cannot be turned off: they are required for your account.",
        ),
        Err(_) => unavailable(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_click_bodies() {
        assert!(one_click(b"List-Unsubscribe=One-Click"));
        assert!(one_click(
            b"--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n"
        ));
        assert!(!one_click(b""));
        assert!(!one_click(b"List-Unsubscribe=No"));
    }
}
