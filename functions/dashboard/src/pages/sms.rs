//! SMS: sender name, primary provider, and the secondary provider that takes over when the
//! primary fails (off by default, never the primary). Either may be the account's own
//! provider ([`super::custom_provider`]). Edit / Save, and Reset to defaults behind a
//! confirmation.

use axum::Router;
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::custom_provider::{self, Values as Own};
use super::{At, Form, failed};
use crate::DashboardState;
use crate::html::{self, Field, Page};
use crate::resources::{FieldMessages, Written};

pub fn routes() -> Router<DashboardState> {
    Router::new()
        .route("/dashboard/accounts/{account}/sms", get(show).post(save))
        .route("/dashboard/accounts/{account}/sms/edit", get(edit))
        .route(
            "/dashboard/accounts/{account}/sms/reset",
            get(confirm_reset).post(reset),
        )
}

/// The offered providers and the account's own: (id, name, rules as a sentence).
fn providers(list: &Value) -> Vec<(String, String, String)> {
    let mut offered: Vec<(String, String, String)> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let r = &p["senderNameRules"];
            let mut rule = format!(
                "{} accepts sender names of {} to {} characters",
                p["name"].as_str().unwrap_or(""),
                r["minLength"],
                r["maxLength"]
            );
            if r["allowsSpaces"] == false {
                rule.push_str(", no spaces");
            }
            if r["allowsDots"] == false {
                rule.push_str(", no dots");
            }
            if r["requiresLetter"] == true {
                rule.push_str(", at least one letter");
            }
            rule.push('.');
            (
                p["id"].as_str().unwrap_or("").to_owned(),
                p["name"].as_str().unwrap_or("").to_owned(),
                rule,
            )
        })
        .collect();
    // Every account may send through its own provider, which takes Herald's own rule.
    offered.push((
        custom_provider::ID.to_owned(),
        custom_provider::LABEL.to_owned(),
        String::new(),
    ));
    offered
}

/// Whether the settings (or what was typed) name the account's own provider.
fn uses_own(settings: &Value) -> bool {
    [&settings["primaryProvider"], &settings["secondaryProvider"]]
        .iter()
        .any(|p| p.as_str() == Some(custom_provider::ID))
}

fn provider_name(list: &[(String, String, String)], id: &str) -> String {
    list.iter()
        .find(|(i, _, _)| i == id)
        .map_or_else(|| id.to_owned(), |(_, n, _)| n.clone())
}

async fn read(state: &DashboardState, at: &At) -> Result<(Value, Option<String>, Value), Response> {
    let r = at.resources(state);
    let (settings, offered) = tokio::join!(r.get(at.api("/sms-settings")), r.get("/sms-providers"));
    let settings = settings.map_err(failed)?;
    let offered = offered.map_err(failed)?;
    Ok((settings.body, settings.etag, offered.body))
}

fn summary(page: &Page, settings: &Value, offered: &[(String, String, String)]) -> Markup {
    let secondary = settings["secondaryProvider"].as_str();
    html! {
        dl.facts {
            dt { "Sender name" } dd { (settings["senderName"].as_str().unwrap_or("")) }
            dt { "Primary provider" } dd { (provider_name(offered, settings["primaryProvider"].as_str().unwrap_or(""))) }
            dt { "Secondary provider" }
            dd { @match secondary { Some(s) => (provider_name(offered, s)), None => "Off" } }
            @if settings["customProvider"].is_object() {
                (custom_provider::facts(&settings["customProvider"]))
            }
        }
        p.hint { "When the primary provider fails to send an SMS, Herald sends it again through the secondary provider, if one is set." }
        @if page.signed.may_change() {
            div.actions {
                a.button href=(page.href("/sms/edit")) { "Edit" }
                a.button.secondary href=(page.href("/sms/reset")) data-dialog="reset-dialog" { "Reset to defaults" }
            }
            (reset_dialog(page))
        }
    }
}

fn reset_dialog(page: &Page) -> Markup {
    html! {
        dialog id="reset-dialog" aria-labelledby="reset-title" {
            (reset_form(page))
        }
    }
}

fn reset_form(page: &Page) -> Markup {
    html! {
        form method="post" action=(page.href("/sms/reset")) {
            (page.csrf())
            h2 id="reset-title" { "Reset SMS settings?" }
            p { "The sender name and providers go back to the platform's defaults." }
            div.actions {
                button.danger type="submit" { "Reset to defaults" }
                button.secondary type="button" data-close { "Cancel" }
                a href=(page.href("/sms")) { "Back" }
            }
        }
    }
}

/// The edit form, with what was typed and each error next to its field.
fn form(
    page: &Page,
    values: &Value,
    own: &Own,
    etag: Option<&str>,
    offered: &[(String, String, String)],
    errors: &FieldMessages,
) -> Markup {
    let options: Vec<(String, String)> = offered
        .iter()
        .map(|(id, name, _)| (id.clone(), name.clone()))
        .collect();
    let mut secondary = vec![(String::new(), "Off".to_owned())];
    secondary.extend(options.iter().cloned());
    let rules: Vec<&str> = offered
        .iter()
        .map(|(_, _, r)| r.as_str())
        .filter(|r| !r.is_empty())
        .collect();
    let shown = [
        &["senderName", "primaryProvider", "secondaryProvider"][..],
        &custom_provider::SHOWN[..],
    ]
    .concat();
    html! {
        (html::other_errors(errors.others(&shown)))
        form method="post" action=(page.href("/sms")) novalidate {
            (page.csrf())
            @if let Some(tag) = etag { input type="hidden" name="etag" value=(tag); }
            (Field::text("senderName", "Sender name", values["senderName"].as_str().unwrap_or(""))
                .hint(&format!("Shown as the sender of every SMS. {}", rules.join(" ")))
                .error(errors.get("senderName"))
                .required()
                .render())
            (html::select("primaryProvider", "Primary provider", &options,
                values["primaryProvider"].as_str().unwrap_or(""), errors.get("primaryProvider"), false))
            (html::select("secondaryProvider", "Secondary provider", &secondary,
                values["secondaryProvider"].as_str().unwrap_or(""), errors.get("secondaryProvider"), false))
            p.hint { "Off by default. It takes over when the primary fails, so it cannot be the same provider." }
            fieldset id="custom-provider-fields" class=[errors.get("customProvider").map(|_| "invalid")]
                data-shown-when="primaryProvider=custom;secondaryProvider=custom" {
                legend { (custom_provider::LABEL) }
                @if let Some(e) = errors.get("customProvider") { p.error { (e) } }
                (custom_provider::fields(own,
                    "Used when the primary or secondary provider is My own provider.", errors))
            }
            div.actions {
                button type="submit" { "Save" }
                a href=(page.href("/sms")) { "Cancel" }
            }
        }
    }
}

async fn show(
    State(state): State<DashboardState>,
    at: At,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (settings, _, offered) = match read(&state, &at).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let notice = if q.contains_key("saved") {
        Some("SMS settings saved.")
    } else if q.contains_key("reset") {
        Some("SMS settings reset to defaults.")
    } else {
        None
    };
    let page = at.page("SMS");
    page.render(
        "SMS",
        html! {
            @if let Some(n) = notice { (html::notice("ok", n)) }
            (summary(&page, &settings, &providers(&offered)))
        },
    )
}

async fn edit(State(state): State<DashboardState>, at: At) -> Response {
    if let Some(back) = at.viewer_back_to("/sms") {
        return back;
    }
    let (settings, etag, offered) = match read(&state, &at).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let page = at.page("Edit SMS settings");
    page.render(
        "SMS",
        form(
            &page,
            &settings,
            &Own::stored(&settings["customProvider"]),
            etag.as_deref(),
            &providers(&offered),
            &FieldMessages::default(),
        ),
    )
}

async fn save(State(state): State<DashboardState>, at: At, f: Form) -> Response {
    let mut body = json!({
        "senderName": f.text("senderName"),
        "primaryProvider": f.text("primaryProvider"),
        "secondaryProvider": f.optional("secondaryProvider"),
    });
    if uses_own(&body) {
        body["customProvider"] = custom_provider::body(&f);
    }
    let r = at.resources(&state);
    let etag = f.optional("etag");
    let written = r
        .write(
            Method::PUT,
            &at.api("/sms-settings"),
            Some(body.clone()),
            etag.as_deref(),
        )
        .await;
    let offered = match r.get("/sms-providers").await {
        Ok(a) => providers(&a.body),
        Err(e) => return failed(e),
    };
    let page = at.page("Edit SMS settings");
    match written {
        Ok(Written::Done(answer)) => {
            tracing::info!(account = %at.account, "sms settings saved from the dashboard");
            match custom_provider::made(&answer.body) {
                Some(secret) => {
                    let page = at.page("SMS settings saved");
                    page.render(
                        "SMS",
                        custom_provider::secret_shown(
                            &page,
                            "Your provider's signing secret was made.",
                            "/sms",
                            secret,
                        ),
                    )
                }
                None => Redirect::to(&at.href("/sms?saved=1")).into_response(),
            }
        }
        Ok(Written::Invalid(errors)) => {
            // Whether a secret is stored, for what the secret's field says.
            let (stored, _, _) = match read(&state, &at).await {
                Ok(r) => r,
                Err(e) => return e,
            };
            let own = Own::submitted(&f, &Own::stored(&stored["customProvider"]));
            page.render_with(
                StatusCode::BAD_REQUEST,
                "SMS",
                form(&page, &body, &own, etag.as_deref(), &offered, &errors),
            )
        }
        Ok(Written::Refused(why)) => {
            // The stored settings, fresh, under the reason.
            let (settings, etag, _) = match read(&state, &at).await {
                Ok(r) => r,
                Err(e) => return e,
            };
            page.render_with(
                StatusCode::CONFLICT,
                "SMS",
                html! {
                    (html::notice("error", &why))
                    (form(&page, &settings, &Own::stored(&settings["customProvider"]),
                        etag.as_deref(), &offered, &FieldMessages::default()))
                },
            )
        }
        Err(e) => failed(e),
    }
}

async fn confirm_reset(at: At) -> Response {
    if let Some(back) = at.viewer_back_to("/sms") {
        return back;
    }
    let page = at.page("Reset SMS settings");
    page.render("SMS", reset_form(&page))
}

async fn reset(State(state): State<DashboardState>, at: At) -> Response {
    match at
        .resources(&state)
        .write(Method::DELETE, &at.api("/sms-settings"), None, None)
        .await
    {
        Ok(Written::Done(_)) => {
            tracing::info!(account = %at.account, "sms settings reset from the dashboard");
            Redirect::to(&at.href("/sms?reset=1")).into_response()
        }
        Ok(Written::Invalid(_) | Written::Refused(_)) => {
            Redirect::to(&at.href("/sms")).into_response()
        }
        Err(e) => failed(e),
    }
}
