//! Email, first tab: the sender (from-address prefix and sender name) and the account's own
//! SMTP server, with its authentication, or its own provider ([`super::custom_provider`]).
//! Edit / Save, and Reset to defaults behind a confirmation. Secrets are write-only: the page
//! says whether one is stored, never what it is, and an edit that leaves it empty keeps it.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use herald::common::secret::PLACEHOLDER;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::custom_provider::{self, Values as Own};
use super::secret_field;
use super::{At, Form, failed};
use crate::DashboardState;
use crate::html::{self, Field, Page};
use crate::resources::{FieldMessages, Written};

pub fn routes() -> Router<DashboardState> {
    Router::new()
        .route("/dashboard/accounts/{account}/email", get(show).post(save))
        .route("/dashboard/accounts/{account}/email/edit", get(edit))
        .route(
            "/dashboard/accounts/{account}/email/reset",
            get(confirm_reset).post(reset),
        )
}

/// The Email page's tabs: "Email settings" and "My domains", `current` marked.
pub fn tabs(page: &Page, current: &str) -> Markup {
    let tabs = [
        ("/email", "Email settings"),
        ("/email/domains", "My domains"),
    ];
    html! {
        nav.tabs aria-label="Email" {
            @for (path, label) in tabs {
                a href=(page.href(path)) aria-current=[(label == current).then_some("page")] { (label) }
            }
        }
    }
}

/// The ports the API takes.
const PORTS: [&str; 3] = ["25", "587", "465"];

/// The authentication choices: (API type, label).
const AUTH: [(&str, &str); 3] = [
    ("none", "None"),
    ("basic", "Username and password"),
    ("xoauth2", "XOAuth2"),
];

/// Every field the form shows a message next to, by the API's name.
const SHOWN: [&str; 13] = [
    "fromAddressPrefix",
    "senderName",
    "smtp.host",
    "smtp.port",
    "smtp.senderAddress",
    "smtp.senderLocked",
    "smtp.auth.type",
    "smtp.auth.username",
    "smtp.auth.password",
    "smtp.auth.clientId",
    "smtp.auth.clientSecret",
    "smtp.auth.scopes",
    "smtp.auth.tokenEndpoint",
];

/// What the edit form shows: the stored settings, or what was typed. Secrets are never here,
/// only whether one is stored.
#[derive(Default)]
struct Values {
    prefix: String,
    sender_name: String,
    smtp: bool,
    host: String,
    port: String,
    sender_address: String,
    sender_locked: bool,
    auth: String,
    username: String,
    client_id: String,
    scopes: String,
    token_endpoint: String,
    disable_cert: bool,
    /// A password (basic) or client secret (XOAuth2) is stored.
    password_stored: bool,
    client_secret_stored: bool,
    /// A new one was typed into a form that was then refused: it must be typed again.
    password_typed: bool,
    client_secret_typed: bool,
    /// Email goes through the account's own provider.
    custom: bool,
    own: Own,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or("").to_owned()
}

impl Values {
    fn stored(settings: &Value) -> Self {
        let smtp = &settings["smtp"];
        let auth = &smtp["auth"];
        let ty = auth["type"].as_str().unwrap_or("none");
        Self {
            prefix: text(&settings["fromAddressPrefix"]),
            sender_name: text(&settings["senderName"]),
            smtp: smtp.is_object(),
            host: text(&smtp["host"]),
            port: smtp["port"]
                .as_u64()
                .map_or_else(|| "25".to_owned(), |p| p.to_string()),
            sender_address: text(&smtp["senderAddress"]),
            sender_locked: smtp["senderLocked"] == true,
            auth: ty.to_owned(),
            username: text(&auth["username"]),
            client_id: text(&auth["clientId"]),
            scopes: auth["scopes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
            token_endpoint: text(&auth["tokenEndpoint"]),
            disable_cert: smtp["disableCertificateValidation"] == true,
            password_stored: ty == "basic" && auth["password"].is_string(),
            client_secret_stored: ty == "xoauth2" && auth["clientSecret"].is_string(),
            password_typed: false,
            client_secret_typed: false,
            custom: settings["customProvider"].is_object(),
            own: Own::stored(&settings["customProvider"]),
        }
    }

    /// What was submitted; `stored` says which secrets the account has.
    fn submitted(f: &Form, stored: &Values) -> Self {
        Self {
            prefix: f.text("fromAddressPrefix"),
            sender_name: f.text("senderName"),
            smtp: f.checked("smtp"),
            host: f.text("smtp.host"),
            port: f.text("smtp.port"),
            sender_address: f.text("smtp.senderAddress"),
            sender_locked: f.checked("smtp.senderLocked"),
            auth: f
                .optional("smtp.auth.type")
                .unwrap_or_else(|| "none".into()),
            username: f.text("smtp.auth.username"),
            client_id: f.text("smtp.auth.clientId"),
            scopes: f.text("smtp.auth.scopes"),
            token_endpoint: f.text("smtp.auth.tokenEndpoint"),
            disable_cert: f.checked("smtp.disableCertificateValidation"),
            password_stored: stored.password_stored,
            client_secret_stored: stored.client_secret_stored,
            password_typed: !f.secret("smtp.auth.password").is_empty(),
            client_secret_typed: !f.secret("smtp.auth.clientSecret").is_empty(),
            custom: f.checked("customProvider"),
            own: Own::submitted(f, &stored.own),
        }
    }

    /// The API's body: a secret left empty is the placeholder that keeps the stored one (if
    /// one of that kind is stored; otherwise empty, which the API refuses as missing).
    fn body(&self, f: &Form) -> Value {
        let kept = |name: &str, stored: bool| {
            let typed = f.secret(name);
            if typed.is_empty() && stored {
                PLACEHOLDER.to_owned()
            } else {
                typed
            }
        };
        let auth = match self.auth.as_str() {
            "basic" => json!({
                "type": "basic",
                "username": self.username,
                "password": kept("smtp.auth.password", self.password_stored),
            }),
            "xoauth2" => json!({
                "type": "xoauth2",
                "clientId": self.client_id,
                "clientSecret": kept("smtp.auth.clientSecret", self.client_secret_stored),
                "scopes": self.scopes.split_whitespace().collect::<Vec<_>>(),
                "tokenEndpoint": self.token_endpoint,
            }),
            other => json!({ "type": other }),
        };
        let smtp = self.smtp.then(|| {
            // A number when it is one; otherwise as sent, for the API to name.
            let port = self
                .port
                .parse::<u16>()
                .map_or_else(|_| json!(self.port), |p| json!(p));
            json!({
                "host": self.host,
                "port": port,
                "senderAddress": self.sender_address,
                "senderLocked": self.sender_locked,
                "auth": auth,
                "disableCertificateValidation": self.disable_cert,
            })
        });
        json!({
            "fromAddressPrefix": self.prefix,
            "senderName": self.sender_name,
            "smtp": smtp,
            "customProvider": self.custom.then(|| custom_provider::body(f)),
        })
    }
}

fn auth_label(ty: &str) -> &str {
    AUTH.iter()
        .find(|(t, _)| *t == ty)
        .map_or(ty, |(_, label)| label)
}

fn yes_no(b: bool) -> &'static str {
    if b { "Yes" } else { "No" }
}

fn set(v: &Value) -> &'static str {
    if v.is_string() { "Set" } else { "Not set" }
}

async fn read(state: &DashboardState, at: &At) -> Result<(Value, Option<String>), Response> {
    let a = at
        .resources(state)
        .get(at.api("/email-settings"))
        .await
        .map_err(failed)?;
    Ok((a.body, a.etag))
}

fn summary(page: &Page, settings: &Value, notice: Option<&str>) -> Markup {
    let smtp = &settings["smtp"];
    let custom = &settings["customProvider"];
    let auth = &smtp["auth"];
    let ty = auth["type"].as_str().unwrap_or("none");
    html! {
        (tabs(page, "Email settings"))
        @if let Some(n) = notice { (html::notice("ok", n)) }
        h2 { "Sender" }
        dl.facts {
            dt { "Default sender" } dd { (settings["defaultSender"].as_str().unwrap_or("")) }
            dt { "From address prefix" } dd { (settings["fromAddressPrefix"].as_str().unwrap_or("")) }
            dt { "Sender name" } dd { (settings["senderName"].as_str().unwrap_or("")) }
        }
        p.hint { "The sender address is {from address prefix}@{domain}: the domain in use from My domains, or the platform's. With your own SMTP server, its sender address is used instead." }
        h2 { "SMTP server" }
        dl.facts {
            dt { "Use my own SMTP server" } dd { @if smtp.is_object() { "On" } @else { "Off" } }
            @if smtp.is_object() {
                dt { "Host" } dd { (smtp["host"].as_str().unwrap_or("")) }
                dt { "Port" } dd { (smtp["port"]) }
                dt { "Sender address" } dd { (smtp["senderAddress"].as_str().unwrap_or("")) }
                dt { "Sender address cannot be overridden" } dd { (yes_no(smtp["senderLocked"] == true)) }
                dt { "Authentication" } dd { (auth_label(ty)) }
                @if ty == "basic" {
                    dt { "Username" } dd { (auth["username"].as_str().unwrap_or("")) }
                    dt { "Password" } dd { (set(&auth["password"])) }
                }
                @if ty == "xoauth2" {
                    dt { "Client ID" } dd { (auth["clientId"].as_str().unwrap_or("")) }
                    dt { "Client secret" } dd { (set(&auth["clientSecret"])) }
                    dt { "Scopes" } dd {
                        @for s in auth["scopes"].as_array().into_iter().flatten() {
                            code { (s.as_str().unwrap_or("")) } " "
                        }
                    }
                    dt { "Token endpoint" } dd { (auth["tokenEndpoint"].as_str().unwrap_or("")) }
                }
                dt { "Disable certificate validation" } dd { (yes_no(smtp["disableCertificateValidation"] == true)) }
            }
        }
        h2 { (custom_provider::LABEL) }
        dl.facts {
            dt { "Use my own provider" } dd { @if custom.is_object() { "On" } @else { "Off" } }
            @if custom.is_object() { (custom_provider::facts(custom)) }
        }
        @if page.signed.may_change() {
            div.actions {
                a.button href=(page.href("/email/edit")) { "Edit" }
                a.button.secondary href=(page.href("/email/reset")) data-dialog="reset-dialog" { "Reset to defaults" }
            }
            dialog id="reset-dialog" aria-labelledby="reset-title" {
                (reset_form(page))
            }
        }
    }
}

fn reset_form(page: &Page) -> Markup {
    html! {
        form method="post" action=(page.href("/email/reset")) {
            (page.csrf())
            h2 id="reset-title" { "Reset email settings?" }
            p { "The from address prefix and sender name go back to the platform's defaults, and your own SMTP server or provider is no longer used (its stored password, client secret or signing secret is deleted). Your domains stay as they are." }
            div.actions {
                button.danger type="submit" { "Reset to defaults" }
                button.secondary type="button" data-close { "Cancel" }
                a href=(page.href("/email")) { "Back" }
            }
        }
    }
}

/// The authentication choice, as radio buttons with their error.
fn auth_choice(v: &Values, errors: &FieldMessages) -> Markup {
    let error = errors.get("smtp.auth.type");
    html! {
        fieldset class=[error.map(|_| "invalid")] {
            legend { "Authentication" }
            @for (ty, label) in AUTH {
                @let id = format!("f-smtp-auth-type-{ty}");
                div.field.check {
                    input id=(id) type="radio" name="smtp.auth.type" value=(ty) checked[v.auth == ty]
                        aria-describedby=[error.map(|_| "f-smtp-auth-type-error")];
                    label for=(id) { (label) }
                }
            }
            @if let Some(e) = error { p.error id="f-smtp-auth-type-error" { (e) } }
        }
    }
}

/// The edit form, with what was typed and each error next to its field.
fn form(page: &Page, v: &Values, etag: Option<&str>, errors: &FieldMessages) -> Markup {
    let ports: Vec<(String, String)> = PORTS
        .iter()
        .map(|p| ((*p).to_owned(), (*p).to_owned()))
        .collect();
    let shown = [&SHOWN[..], &custom_provider::SHOWN[..]].concat();
    html! {
        (tabs(page, "Email settings"))
        (html::other_errors(errors.others(&shown)))
        form method="post" action=(page.href("/email")) novalidate {
            (page.csrf())
            @if let Some(tag) = etag { input type="hidden" name="etag" value=(tag); }
            (Field::text("fromAddressPrefix", "From address prefix", &v.prefix)
                .hint("The part before the @ of the sender address, such as noreply.")
                .error(errors.get("fromAddressPrefix"))
                .required()
                .render())
            (Field::text("senderName", "Sender name", &v.sender_name)
                .hint("The name recipients see as the sender of the email.")
                .error(errors.get("senderName"))
                .required()
                .render())
            (html::checkbox("smtp", "Use my own SMTP server", v.smtp, errors.get("smtp"), false))
            fieldset id="smtp-fields" data-shown-when="smtp=on" {
                legend { "SMTP server" }
                p.hint { "Used only when Use my own SMTP server is ticked." }
                (html::select("smtp.port", "Port", &ports, &v.port, errors.get("smtp.port"), false))
                (Field::text("smtp.host", "Host address", &v.host)
                    .hint("The SMTP host to connect to, such as smtp.mydomain.com.")
                    .error(errors.get("smtp.host"))
                    .render())
                (Field::text("smtp.senderAddress", "Sender address", &v.sender_address)
                    .kind("email")
                    .hint("The default sender address, such as noreply@email.mydomain.com.")
                    .error(errors.get("smtp.senderAddress"))
                    .render())
                (html::checkbox("smtp.senderLocked", "Sender address cannot be overridden",
                    v.sender_locked, errors.get("smtp.senderLocked"), false))
                (auth_choice(v, errors))
                div.group data-shown-when="smtp.auth.type=basic" {
                    (Field::text("smtp.auth.username", "Username", &v.username)
                        .error(errors.get("smtp.auth.username"))
                        .render())
                    (secret_field("smtp.auth.password", "Password", "password",
                        v.password_stored, v.password_typed, errors))
                }
                div.group data-shown-when="smtp.auth.type=xoauth2" {
                    (Field::text("smtp.auth.clientId", "Client ID", &v.client_id)
                        .error(errors.get("smtp.auth.clientId"))
                        .render())
                    (secret_field("smtp.auth.clientSecret", "Client secret", "client secret",
                        v.client_secret_stored, v.client_secret_typed, errors))
                    (Field::text("smtp.auth.scopes", "Scopes", &v.scopes)
                        .hint("Separated by spaces, such as https://outlook.office.com/SMTP.Send.")
                        .error(errors.get("smtp.auth.scopes"))
                        .render())
                    (Field::text("smtp.auth.tokenEndpoint", "Token endpoint", &v.token_endpoint)
                        .kind("url")
                        .hint("Where Herald gets an access token, such as https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token.")
                        .error(errors.get("smtp.auth.tokenEndpoint"))
                        .render())
                }
                (html::checkbox("smtp.disableCertificateValidation", "Disable certificate validation",
                    v.disable_cert, errors.get("smtp.disableCertificateValidation"), false))
                p.hint { "Off by default: the server's certificate must be signed by a globally trusted authority." }
            }
            (html::checkbox("customProvider", "Use my own provider", v.custom,
                errors.get("customProvider"), false))
            fieldset id="custom-provider-fields" data-shown-when="customProvider=on" {
                legend { (custom_provider::LABEL) }
                (custom_provider::fields(&v.own,
                    "Used only when Use my own provider is ticked, instead of an SMTP server.",
                    errors))
            }
            div.actions {
                button type="submit" { "Save" }
                a href=(page.href("/email")) { "Cancel" }
            }
        }
    }
}

async fn show(
    State(state): State<DashboardState>,
    at: At,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (settings, _) = match read(&state, &at).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let notice = if q.contains_key("saved") {
        Some("Email settings saved.")
    } else if q.contains_key("reset") {
        Some("Email settings reset to defaults.")
    } else {
        None
    };
    let page = at.page("Email");
    page.render("Email", summary(&page, &settings, notice))
}

async fn edit(State(state): State<DashboardState>, at: At) -> Response {
    if let Some(back) = at.viewer_back_to("/email") {
        return back;
    }
    let (settings, etag) = match read(&state, &at).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let page = at.page("Edit email settings");
    page.render(
        "Email",
        form(
            &page,
            &Values::stored(&settings),
            etag.as_deref(),
            &FieldMessages::default(),
        ),
    )
}

async fn save(State(state): State<DashboardState>, at: At, f: Form) -> Response {
    // Which secrets are stored decides what an empty secret field means.
    let (current, _) = match read(&state, &at).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let values = Values::submitted(&f, &Values::stored(&current));
    let etag = f.optional("etag");
    let written = at
        .resources(&state)
        .write(
            Method::PUT,
            at.api("/email-settings"),
            Some(values.body(&f)),
            etag.as_deref(),
        )
        .await;
    let page = at.page("Edit email settings");
    match written {
        Ok(Written::Done(answer)) => {
            tracing::info!(account = %at.account, "email settings saved from the dashboard");
            match custom_provider::made(&answer.body) {
                Some(secret) => {
                    let page = at.page("Email settings saved");
                    page.render(
                        "Email",
                        custom_provider::secret_shown(
                            &page,
                            "Your provider's signing secret was made.",
                            "/email",
                            secret,
                        ),
                    )
                }
                None => Redirect::to(&at.href("/email?saved=1")).into_response(),
            }
        }
        Ok(Written::Invalid(errors)) => page.render_with(
            StatusCode::BAD_REQUEST,
            "Email",
            form(&page, &values, etag.as_deref(), &errors),
        ),
        Ok(Written::Refused(why)) => {
            // The stored settings, fresh, under the reason.
            let (settings, etag) = match read(&state, &at).await {
                Ok(r) => r,
                Err(e) => return e,
            };
            page.render_with(
                StatusCode::CONFLICT,
                "Email",
                html! {
                    (html::notice("error", &why))
                    (form(&page, &Values::stored(&settings), etag.as_deref(), &FieldMessages::default()))
                },
            )
        }
        Err(e) => failed(e),
    }
}

async fn confirm_reset(at: At) -> Response {
    if let Some(back) = at.viewer_back_to("/email") {
        return back;
    }
    let page = at.page("Reset email settings");
    page.render("Email", reset_form(&page))
}

async fn reset(State(state): State<DashboardState>, at: At) -> Response {
    match at
        .resources(&state)
        .write(Method::DELETE, at.api("/email-settings"), None, None)
        .await
    {
        Ok(Written::Done(_)) => {
            tracing::info!(account = %at.account, "email settings reset from the dashboard");
            Redirect::to(&at.href("/email?reset=1")).into_response()
        }
        Ok(Written::Invalid(_) | Written::Refused(_)) => {
            Redirect::to(&at.href("/email")).into_response()
        }
        Err(e) => failed(e),
    }
}
