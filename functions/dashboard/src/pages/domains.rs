//! Email, second tab: My domains. The account's own sending domains with their status, an
//! "Add domain" form, and each domain's page: the DNS records to publish (each with a copy
//! button and what the last check found), Verify DNS, Use domain (once verified) and Delete
//! (when not in use, after typing the domain's name).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use herald::domains::SendingDomain;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::email::tabs;
use super::{At, Form, failed, object};
use crate::DashboardState;
use crate::html::{self, Field, Page};
use crate::resources::{FieldMessages, Written};

pub fn routes() -> Router<DashboardState> {
    Router::new()
        .route(
            "/dashboard/accounts/{account}/email/domains",
            get(list).post(add),
        )
        .route(
            "/dashboard/accounts/{account}/email/domains/{domain}",
            get(show),
        )
        .route(
            "/dashboard/accounts/{account}/email/domains/{domain}/verify",
            post(verify),
        )
        .route(
            "/dashboard/accounts/{account}/email/domains/{domain}/use",
            get(confirm_use).post(use_domain),
        )
        .route(
            "/dashboard/accounts/{account}/email/domains/{domain}/delete",
            get(confirm_delete).post(delete),
        )
}

/// The `{domain}` of the path, in its ASCII form, when it is a domain name at all (so that
/// nothing else reaches the API's path).
fn domain_of(path: &HashMap<String, String>) -> Option<String> {
    path.get("domain")
        .and_then(|d| SendingDomain::parse(d).ok())
        .map(|d| d.as_str().to_owned())
}

/// The dashboard's page of a domain, and what follows.
fn domain_href(page: &Page, domain: &str, rest: &str) -> String {
    page.href(&format!("/email/domains/{domain}{rest}"))
}

fn name(d: &Value) -> &str {
    d["domain"].as_str().unwrap_or("")
}

/// The domain as people write it, with its ASCII form when that differs.
fn shown_name(d: &Value) -> String {
    match d["unicode"].as_str() {
        Some(u) => format!("{u} ({})", name(d)),
        None => name(d).to_owned(),
    }
}

/// `{prefix}@{domain}` of a domain in use.
fn sender_of(d: &Value) -> Option<String> {
    d["fromAddressPrefix"]
        .as_str()
        .map(|p| format!("{p}@{}", name(d)))
}

// ---- The list, and adding a domain -------------------------------------------------------

fn list_content(
    page: &Page,
    domains: &Value,
    typed: &Value,
    errors: &FieldMessages,
    notice: Option<Markup>,
) -> Markup {
    let items = domains["items"].as_array().cloned().unwrap_or_default();
    let may_change = page.signed.may_change();
    html! {
        (tabs(page, "My domains"))
        @if let Some(n) = notice { (n) }
        p.hint { "Send email from an address at your own domain: add it, publish the DNS records Herald gives you at your DNS host, verify it, then use it." }
        @if items.is_empty() {
            @if may_change {
                (html::empty("No domain yet. Add your own domain below to send email from your own address.",
                    Some(("#add-domain-title", "Add domain"))))
            } @else {
                (html::empty("No domain yet. An administrator can add your own domain to send email from your own address.", None))
            }
        } @else {
            div.table-wrap {
                table {
                    caption.muted { "Your domains" }
                    thead {
                        tr {
                            th scope="col" { "Domain" }
                            th scope="col" { "Status" }
                            th scope="col" { "In use" }
                            th scope="col" { "Added" }
                            @if may_change { th scope="col" { "Actions" } }
                        }
                    }
                    tbody {
                        @for d in &items {
                            tr {
                                th scope="row" {
                                    a href=(domain_href(page, name(d), "")) { (shown_name(d)) }
                                }
                                td { (html::status(d["status"].as_str().unwrap_or(""))) }
                                td {
                                    @if d["inUse"] == true {
                                        span.badge { "in use" }
                                        @if let Some(s) = sender_of(d) { " " code { (s) } }
                                    } @else {
                                        "No"
                                    }
                                }
                                td { (html::time_of(&d["addedAt"])) }
                                @if may_change { td { (row_actions(page, d)) } }
                            }
                        }
                    }
                }
            }
        }
        @if may_change {
            section aria-labelledby="add-domain-title" {
                h2 id="add-domain-title" { "Add your own domain" }
                @if let Some(e) = errors.get("") { (html::notice("error", e)) }
                (html::other_errors(errors.others(&["", "domain", "dkimSelector"])))
                form method="post" action=(page.href("/email/domains")) novalidate {
                    (page.csrf())
                    (Field::text("domain", "Domain", typed["domain"].as_str().unwrap_or(""))
                        .hint("The domain to send from, such as my.domain.com.")
                        .error(errors.get("domain"))
                        .required()
                        .render())
                    (Field::text("dkimSelector", "DKIM selector (optional)", typed["dkimSelector"].as_str().unwrap_or(""))
                        .hint("2 to 11 lowercase letters and digits, such as selector1. Leave empty to have one generated.")
                        .error(errors.get("dkimSelector"))
                        .render())
                    div.actions { button type="submit" { "Add domain" } }
                }
            }
        }
    }
}

/// A listed domain's actions: its page, Use domain (only when it can be used) and Delete (only
/// when not in use), each to its confirmation page.
fn row_actions(page: &Page, d: &Value) -> Markup {
    let domain = name(d);
    let in_use = d["inUse"] == true;
    html! {
        ul.row-actions {
            li { a href=(domain_href(page, domain, "")) aria-label=(format!("DNS records of {domain}")) { "DNS records" } }
            @if !in_use && d["status"] == "verified" {
                li { a href=(domain_href(page, domain, "/use")) aria-label=(format!("Use domain {domain}")) { "Use domain" } }
            }
            @if !in_use {
                li { a href=(domain_href(page, domain, "/delete")) aria-label=(format!("Delete {domain}")) { "Delete" } }
            }
        }
    }
}

async fn list(
    State(state): State<DashboardState>,
    at: At,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let domains = match at.resources(&state).get(at.api("/domains")).await {
        Ok(a) => a.body,
        Err(e) => return failed(e),
    };
    let notice = q
        .contains_key("deleted")
        .then(|| html::notice("ok", "The domain was deleted."));
    let page = at.page("Email");
    page.render(
        "Email",
        list_content(
            &page,
            &domains,
            &Value::Null,
            &FieldMessages::default(),
            notice,
        ),
    )
}

async fn add(State(state): State<DashboardState>, at: At, f: Form) -> Response {
    let body = object([
        ("domain", Some(json!(f.text("domain")))),
        ("dkimSelector", f.optional("dkimSelector").map(Value::from)),
    ]);
    let r = at.resources(&state);
    let written = r
        .write(Method::POST, at.api("/domains"), Some(body.clone()), None)
        .await;
    let errors = match written {
        Ok(Written::Done(a)) => {
            tracing::info!(account = %at.account, "domain added from the dashboard");
            let added = format!("/email/domains/{}?added=1", name(&a.body));
            return Redirect::to(&at.href(&added)).into_response();
        }
        Ok(Written::Invalid(errors)) => errors,
        // Already this account's, or another's: about the name typed.
        Ok(Written::Refused(why)) => {
            FieldMessages([("domain".to_owned(), why)].into_iter().collect())
        }
        Err(e) => return failed(e),
    };
    let domains = match r.get(at.api("/domains")).await {
        Ok(a) => a.body,
        Err(e) => return failed(e),
    };
    let page = at.page("Email");
    page.render_with(
        StatusCode::BAD_REQUEST,
        "Email",
        list_content(&page, &domains, &body, &errors, None),
    )
}

// ---- One domain ----------------------------------------------------------------------------

/// The domain and the account's from-address prefix (the Use form's starting value), read at
/// once.
async fn read(state: &DashboardState, at: &At, domain: &str) -> Result<(Value, String), Response> {
    let r = at.resources(state);
    let (d, settings) = tokio::join!(
        r.get(at.api(&format!("/domains/{domain}"))),
        r.get(at.api("/email-settings"))
    );
    let d = d.map_err(failed)?.body;
    let prefix = settings.map_err(failed)?.body["fromAddressPrefix"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    Ok((d, prefix))
}

fn records(d: &Value) -> Markup {
    let items = d["dnsRecords"].as_array().cloned().unwrap_or_default();
    html! {
        div.table-wrap {
            table {
                caption.muted { "DNS records to publish at your DNS host" }
                thead {
                    tr {
                        th scope="col" { "Type" }
                        th scope="col" { "Name" }
                        th scope="col" { "Value" }
                        th scope="col" { "Status" }
                    }
                }
                tbody {
                    @for (i, r) in items.iter().enumerate() {
                        @let found: Vec<&str> = r["found"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                        tr {
                            th scope="row" { (r["type"].as_str().unwrap_or("")) }
                            td { (html::copyable(&format!("record-{i}-name"), r["name"].as_str().unwrap_or(""))) }
                            td {
                                (html::copyable(&format!("record-{i}-value"), r["value"].as_str().unwrap_or("")))
                                // Longer than one TXT string: the form split into strings too.
                                @if let (true, Some(q)) = (r["note"].is_string(), r["quotedValue"].as_str()) {
                                    p.hint { "This value is longer than one DNS text string (255 characters). Where your DNS host splits it itself (most web forms), copy the value above. Where it wants the strings (Route 53, BIND zone files, forms that refuse over 255 characters), copy this quoted form, quotes included:" }
                                    (html::copyable(&format!("record-{i}-quoted"), q))
                                }
                            }
                            td {
                                (html::status(r["status"].as_str().unwrap_or("")))
                                " "
                                span.muted { @if r["required"] == true { "required" } @else { "recommended" } }
                                @if r["status"] == "mismatch" && !found.is_empty() {
                                    p.hint { "Found instead: " @for (n, v) in found.iter().enumerate() { @if n > 0 { ", " } code { (v) } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What the last check means, after Verify DNS.
fn checked_notice(d: &Value) -> Markup {
    match d["status"].as_str() {
        Some("verified") => html::notice("ok", "DNS records verified: the domain is ready to use."),
        Some("failed") => html::notice(
            "error",
            "Verification failed: the required records were not found in time. Fix the records marked below, then Verify DNS again.",
        ),
        _ => html::notice(
            "error",
            "Not verified yet: some required records were not found. DNS changes can take a while to show; Herald keeps checking.",
        ),
    }
}

fn use_form(page: &Page, d: &Value, prefix: &str, error: Option<&str>) -> Markup {
    let domain = name(d);
    let id = html::field_id("fromAddressPrefix");
    html! {
        form method="post" action=(domain_href(page, domain, "/use")) novalidate {
            (page.csrf())
            h2 id="use-title" { "Use " (domain) "?" }
            p { "Emails without their own sender address will be sent from this address. Only one domain can be in use." }
            (Field::text("fromAddressPrefix", "From address prefix", prefix)
                .hint("The part before the @, such as mycompany.")
                .error(error)
                .required()
                .render())
            p { "Sender address: "
                output for=(id) data-preview-of=(id) data-preview=(format!("{{value}}@{domain}")) { (prefix) "@" (domain) }
            }
            div.actions {
                button type="submit" { "Confirm" }
                button.secondary type="button" data-close { "Cancel" }
                a href=(domain_href(page, domain, "")) { "Back" }
            }
        }
    }
}

fn delete_form(page: &Page, d: &Value, typed: &str, error: Option<&str>) -> Markup {
    let domain = name(d);
    let label = format!("Type {domain} to confirm");
    html! {
        form method="post" action=(domain_href(page, domain, "/delete")) novalidate {
            (page.csrf())
            h2 id="delete-title" { "Delete " (domain) "?" }
            p { "Herald stops signing email for this domain. You can add it again later, with new DNS records." }
            (Field::text("confirm", &label, typed)
                .hint("As a guard against deleting the wrong domain, type its name exactly.")
                .error(error)
                .required()
                .render())
            div.actions {
                button.danger type="submit" { "Delete domain" }
                button.secondary type="button" data-close { "Cancel" }
                a href=(domain_href(page, domain, "")) { "Back" }
            }
        }
    }
}

fn domain_content(page: &Page, d: &Value, prefix: &str, notice: Option<Markup>) -> Markup {
    let domain = name(d);
    let status = d["status"].as_str().unwrap_or("");
    let in_use = d["inUse"] == true;
    html! {
        (tabs(page, "My domains"))
        @if let Some(n) = notice { (n) }
        dl.facts {
            dt { "Status" } dd { (html::status(status)) }
            dt { "In use" } dd {
                @if in_use {
                    "Yes, the account sends from "
                    code { (sender_of(d).unwrap_or_default()) }
                } @else { "No" }
            }
            dt { "DKIM selector" } dd { code { (d["dkimSelector"].as_str().unwrap_or("")) } }
            dt { "Added" } dd { (html::time_of(&d["addedAt"])) }
            dt { "Last checked" } dd { (html::time_of(&d["checkedAt"])) }
            @if d["verifiedAt"].is_string() {
                dt { "Verified" } dd { (html::time_of(&d["verifiedAt"])) }
            }
        }
        h2 { "DNS records" }
        p.hint {
            "Publish these records at your DNS host. Herald checks them regularly"
            @if page.signed.may_change() { "; Verify DNS checks them now" }
            ". The domain is verified once every required record is found."
        }
        (records(d))
        @if page.signed.may_change() {
            div.actions {
                form method="post" action=(domain_href(page, domain, "/verify")) {
                    (page.csrf())
                    button type="submit" { "Verify DNS" }
                }
                @if in_use {
                } @else if status == "verified" {
                    a.button href=(domain_href(page, domain, "/use")) data-dialog="use-dialog" { "Use domain" }
                } @else {
                    button type="button" disabled aria-describedby="use-why" { "Use domain" }
                }
                @if !in_use {
                    a.button.secondary href=(domain_href(page, domain, "/delete")) data-dialog="delete-dialog" { "Delete" }
                }
            }
            @if in_use {
                p.hint { "This domain is in use, so it cannot be deleted." }
            } @else if status != "verified" {
                p.hint id="use-why" { "Use domain becomes available once the domain is verified: publish its DNS records, then Verify DNS." }
            }
            @if !in_use {
                @if status == "verified" {
                    dialog id="use-dialog" aria-labelledby="use-title" { (use_form(page, d, prefix, None)) }
                }
                dialog id="delete-dialog" aria-labelledby="delete-title" { (delete_form(page, d, "", None)) }
            }
        }
    }
}

async fn show(
    State(state): State<DashboardState>,
    at: At,
    Path(path): Path<HashMap<String, String>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(domain) = domain_of(&path) else {
        return html::not_found_page();
    };
    let (d, prefix) = match read(&state, &at, &domain).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let notice = if q.contains_key("added") {
        Some(html::notice(
            "ok",
            "Domain added. Publish the DNS records below at your DNS host, then verify the domain.",
        ))
    } else if q.contains_key("checked") {
        Some(checked_notice(&d))
    } else if q.contains_key("used") {
        Some(html::notice(
            "ok",
            &format!(
                "Domain in use: emails are now sent from {}.",
                sender_of(&d).unwrap_or_default()
            ),
        ))
    } else {
        None
    };
    let title = shown_name(&d);
    let page = at.page(&title);
    page.render("Email", domain_content(&page, &d, &prefix, notice))
}

async fn verify(
    State(state): State<DashboardState>,
    at: At,
    Path(path): Path<HashMap<String, String>>,
) -> Response {
    let Some(domain) = domain_of(&path) else {
        return html::not_found_page();
    };
    let written = at
        .resources(&state)
        .write(
            Method::POST,
            at.api(&format!("/domains/{domain}/verify")),
            None,
            None,
        )
        .await;
    match written {
        Ok(Written::Done(_)) => {
            Redirect::to(&at.href(&format!("/email/domains/{domain}?checked=1"))).into_response()
        }
        Ok(Written::Invalid(_)) => {
            refused_check(
                &state,
                &at,
                &domain,
                "The domain could not be checked just now. Try again.",
            )
            .await
        }
        Ok(Written::Refused(why)) => refused_check(&state, &at, &domain, &why).await,
        Err(e) => failed(e),
    }
}

/// The domain's page under the reason its check was refused.
async fn refused_check(state: &DashboardState, at: &At, domain: &str, why: &str) -> Response {
    let (d, prefix) = match read(state, at, domain).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let title = shown_name(&d);
    let page = at.page(&title);
    page.render_with(
        StatusCode::CONFLICT,
        "Email",
        domain_content(&page, &d, &prefix, Some(html::notice("error", why))),
    )
}

async fn confirm_use(
    State(state): State<DashboardState>,
    at: At,
    Path(path): Path<HashMap<String, String>>,
) -> Response {
    let Some(domain) = domain_of(&path) else {
        return html::not_found_page();
    };
    if let Some(back) = at.viewer_back_to(&format!("/email/domains/{domain}")) {
        return back;
    }
    let (d, prefix) = match read(&state, &at, &domain).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let page = at.page("Use domain");
    page.render("Email", use_content(&page, &d, &prefix, None, None))
}

/// The Use page: the form, or why the domain cannot be used (yet).
fn use_content(
    page: &Page,
    d: &Value,
    prefix: &str,
    error: Option<&str>,
    refused: Option<&str>,
) -> Markup {
    let domain = name(d);
    html! {
        @if let Some(why) = refused { (html::notice("error", why)) }
        @if d["inUse"] == true {
            p { (domain) " is already in use." }
            p { a href=(domain_href(page, domain, "")) { "Back to " (domain) } }
        } @else if d["status"] != "verified" {
            p { "Use domain becomes available once the domain is verified: publish its DNS records, then Verify DNS." }
            p { a href=(domain_href(page, domain, "")) { "Back to " (domain) } }
        } @else {
            (use_form(page, d, prefix, error))
        }
    }
}

async fn use_domain(
    State(state): State<DashboardState>,
    at: At,
    Path(path): Path<HashMap<String, String>>,
    f: Form,
) -> Response {
    let Some(domain) = domain_of(&path) else {
        return html::not_found_page();
    };
    let prefix = f.text("fromAddressPrefix");
    let written = at
        .resources(&state)
        .write(
            Method::POST,
            at.api(&format!("/domains/{domain}/use")),
            Some(json!({ "fromAddressPrefix": prefix })),
            None,
        )
        .await;
    let (status, error, refused) = match written {
        Ok(Written::Done(_)) => {
            tracing::info!(account = %at.account, domain = %domain, "domain put in use from the dashboard");
            return Redirect::to(&at.href(&format!("/email/domains/{domain}?used=1")))
                .into_response();
        }
        Ok(Written::Invalid(errors)) => {
            let message = errors
                .get("fromAddressPrefix")
                .or_else(|| errors.0.values().next().map(String::as_str))
                .unwrap_or("is not valid")
                .to_owned();
            (StatusCode::BAD_REQUEST, Some(message), None)
        }
        Ok(Written::Refused(why)) => (StatusCode::CONFLICT, None, Some(why)),
        Err(e) => return failed(e),
    };
    let (d, _) = match read(&state, &at, &domain).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let page = at.page("Use domain");
    page.render_with(
        status,
        "Email",
        use_content(&page, &d, &prefix, error.as_deref(), refused.as_deref()),
    )
}

async fn confirm_delete(
    State(state): State<DashboardState>,
    at: At,
    Path(path): Path<HashMap<String, String>>,
) -> Response {
    let Some(domain) = domain_of(&path) else {
        return html::not_found_page();
    };
    if let Some(back) = at.viewer_back_to(&format!("/email/domains/{domain}")) {
        return back;
    }
    let (d, _) = match read(&state, &at, &domain).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let page = at.page("Delete domain");
    page.render("Email", delete_content(&page, &d, "", None, None))
}

/// The Delete page: the form, or why the domain cannot be deleted.
fn delete_content(
    page: &Page,
    d: &Value,
    typed: &str,
    error: Option<&str>,
    refused: Option<&str>,
) -> Markup {
    let domain = name(d);
    html! {
        @if let Some(why) = refused { (html::notice("error", why)) }
        @if d["inUse"] == true {
            p { (domain) " is in use: the account sends from it, so it cannot be deleted." }
            p { a href=(domain_href(page, domain, "")) { "Back to " (domain) } }
        } @else {
            (delete_form(page, d, typed, error))
        }
    }
}

async fn delete(
    State(state): State<DashboardState>,
    at: At,
    Path(path): Path<HashMap<String, String>>,
    f: Form,
) -> Response {
    let Some(domain) = domain_of(&path) else {
        return html::not_found_page();
    };
    let (d, _) = match read(&state, &at, &domain).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    // Exactly the name shown (or, for an internationalised one, either of its forms).
    let typed = f.text("confirm");
    let confirmed = typed == name(&d) || d["unicode"].as_str() == Some(typed.as_str());
    let page = at.page("Delete domain");
    if !confirmed {
        let message = format!(
            "Type the domain exactly as shown, {}, to delete it.",
            name(&d)
        );
        return page.render_with(
            StatusCode::BAD_REQUEST,
            "Email",
            delete_content(&page, &d, &typed, Some(&message), None),
        );
    }
    let confirm: String = url::form_urlencoded::byte_serialize(typed.as_bytes()).collect();
    let written = at
        .resources(&state)
        .write(
            Method::DELETE,
            at.api(&format!("/domains/{domain}?confirm={confirm}")),
            None,
            None,
        )
        .await;
    match written {
        Ok(Written::Done(_)) => {
            tracing::info!(account = %at.account, domain = %domain, "domain deleted from the dashboard");
            Redirect::to(&at.href("/email/domains?deleted=1")).into_response()
        }
        Ok(Written::Invalid(errors)) => {
            let message = errors.get("confirm").unwrap_or("does not match").to_owned();
            page.render_with(
                StatusCode::BAD_REQUEST,
                "Email",
                delete_content(&page, &d, &typed, Some(&message), None),
            )
        }
        Ok(Written::Refused(why)) => page.render_with(
            StatusCode::CONFLICT,
            "Email",
            delete_content(&page, &d, &typed, None, Some(&why)),
        ),
        Err(e) => failed(e),
    }
}
