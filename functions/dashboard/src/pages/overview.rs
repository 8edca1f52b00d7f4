//! Overview: the account at a glance. Every read runs at once (one round of store reads):
//! SMS and email settings, domains, subscriptions, recent failed deliveries, and the message
//! counts of the last 7 days.

use std::collections::HashSet;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use futures::future::join_all;
use herald::common::store::StoreError;
use herald::messaging::message::{Channel, MessageStatus};
use maud::{Markup, html};
use serde_json::Value;
use time::Duration;

use super::{At, failed};
use crate::DashboardState;
use crate::html::{self, Page};

/// The overview's message counts cover this long.
const WINDOW: Duration = Duration::days(7);

pub fn routes() -> Router<DashboardState> {
    Router::new().route("/dashboard/accounts/{account}", get(show))
}

/// The statuses counted per channel, with their labels.
fn counted(channel: Channel) -> &'static [(MessageStatus, &'static str)] {
    match channel {
        Channel::Sms => &[
            (MessageStatus::Sent, "Sent"),
            (MessageStatus::Delivered, "Delivered"),
            (MessageStatus::Failed, "Failed"),
        ],
        Channel::Email => &[
            (MessageStatus::Sent, "Sent"),
            (MessageStatus::Delivered, "Delivered"),
            (MessageStatus::Opened, "Opened"),
            (MessageStatus::Failed, "Failed"),
        ],
    }
}

async fn counts(
    state: &DashboardState,
    at: &At,
    channel: Channel,
) -> Result<Vec<(&'static str, u64)>, StoreError> {
    let now = state.app.clock.now();
    let reads = counted(channel).iter().map(|(status, label)| async move {
        state
            .app
            .messages
            .count(&at.account, channel, *status, now - WINDOW, now)
            .await
            .map(|n| (*label, n))
    });
    join_all(reads).await.into_iter().collect()
}

async fn show(State(state): State<DashboardState>, at: At) -> Response {
    let r = at.resources(&state);
    let (providers, sms, email, domains, subscriptions, failing, sms_counts, email_counts) = tokio::join!(
        r.get("/sms-providers"),
        r.get(at.api("/sms-settings")),
        r.get(at.api("/email-settings")),
        r.get(at.api("/domains")),
        r.get(at.api("/subscriptions")),
        r.get(at.api("/deliveries?status=failed&limit=100")),
        counts(&state, &at, Channel::Sms),
        counts(&state, &at, Channel::Email),
    );
    let (providers, sms, email, domains, subscriptions, failing) =
        match (providers, sms, email, domains, subscriptions, failing) {
            (Ok(p), Ok(a), Ok(b), Ok(c), Ok(d), Ok(e)) => {
                (p.body, a.body, b.body, c.body, d.body, e.body)
            }
            (Err(e), ..)
            | (_, Err(e), ..)
            | (_, _, Err(e), ..)
            | (_, _, _, Err(e), ..)
            | (.., Err(e), _)
            | (.., Err(e)) => {
                return failed(e);
            }
        };
    // Providers by their names, as the SMS page shows them.
    let provider = |id: &Value| -> String {
        let id = id.as_str().unwrap_or("");
        providers["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["id"] == id)
            .and_then(|p| p["name"].as_str())
            .unwrap_or(if id == super::custom_provider::ID {
                super::custom_provider::LABEL
            } else {
                id
            })
            .to_owned()
    };
    let (sms_counts, email_counts) = match (sms_counts, email_counts) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return html::internal(&e),
    };
    let failing: HashSet<&str> = failing["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["subscriptionId"].as_str())
        .collect();
    let page = at.page("Overview");
    let content = html! {
        div.cards {
            section.card aria-labelledby="ov-sms" {
                h2 id="ov-sms" { "SMS" }
                dl.facts {
                    dt { "Sender name" } dd { (sms["senderName"].as_str().unwrap_or("")) }
                    dt { "Primary provider" } dd { (provider(&sms["primaryProvider"])) }
                    dt { "Secondary provider" } dd {
                        @if sms["secondaryProvider"].is_string() { (provider(&sms["secondaryProvider"])) } @else { "Off" }
                    }
                }
                p { a href=(page.href("/sms")) { "SMS settings" } }
            }
            section.card aria-labelledby="ov-email" {
                h2 id="ov-email" { "Email" }
                dl.facts {
                    dt { "Sender" } dd { (email["defaultSender"].as_str().unwrap_or("")) }
                    dt { "Own SMTP server" } dd { @if email["smtp"].is_object() { (email["smtp"]["host"].as_str().unwrap_or("")) } @else { "Off" } }
                    @if email["customProvider"].is_object() {
                        dt { (super::custom_provider::LABEL) } dd { (email["customProvider"]["url"].as_str().unwrap_or("")) }
                    }
                }
                p { a href=(page.href("/email")) { "Email settings" } }
            }
            (message_counts(&page, "SMS messages, last 7 days", "ov-sms-count", "/logs/sms", &sms_counts))
            (message_counts(&page, "Emails, last 7 days", "ov-email-count", "/logs/email", &email_counts))
        }
        section aria-labelledby="ov-domains" {
            h2 id="ov-domains" { "My domains" }
            (domain_list(&page, &domains))
        }
        section aria-labelledby="ov-subs" {
            h2 id="ov-subs" { "Subscriptions" }
            (subscription_list(&page, &subscriptions, &failing))
        }
    };
    page.render("Overview", content)
}

fn message_counts(
    page: &Page,
    title: &str,
    id: &str,
    log: &str,
    counts: &[(&'static str, u64)],
) -> Markup {
    html! {
        section.card aria-labelledby=(id) {
            h2 id=(id) { (title) }
            dl.facts {
                @for (label, n) in counts {
                    dt { (label) }
                    dd { a href=(page.href(&format!("{log}?status={}", label.to_lowercase()))) { (n) } }
                }
            }
            p { a href=(page.href(log)) { "Message log" } }
        }
    }
}

fn domain_list(page: &Page, domains: &Value) -> Markup {
    let items = domains["items"].as_array().cloned().unwrap_or_default();
    html! {
        @if items.is_empty() {
            (html::empty("No sending domain yet. Add your own domain to send email from your own address.",
                page.signed.may_change().then_some((&page.href("/email/domains"), "Add a domain"))))
        } @else {
            ul {
                @for d in &items {
                    @let name = d["domain"].as_str().unwrap_or("");
                    li {
                        a href=(page.href(&format!("/email/domains/{name}"))) { (name) } " "
                        (html::status(d["status"].as_str().unwrap_or("")))
                        @if d["inUse"] == true { " " span.badge { "in use" } }
                    }
                }
            }
        }
    }
}

fn subscription_list(page: &Page, subs: &Value, failing: &HashSet<&str>) -> Markup {
    let items = subs["items"].as_array().cloned().unwrap_or_default();
    html! {
        @if items.is_empty() {
            (html::empty("No subscription yet. Subscribe to events to receive them at your endpoint.",
                page.signed.may_change().then_some((&page.href("/subscriptions/new"), "Add a subscription"))))
        } @else {
            ul {
                @for s in &items {
                    @let id = s["id"].as_str().unwrap_or("");
                    li {
                        a href=(page.href(&format!("/subscriptions/{id}"))) { (s["name"].as_str().unwrap_or(id)) } " "
                        @if s["disabledReason"].is_string() {
                            (html::status("disabled"))
                        } @else if failing.contains(id) {
                            span.badge.status-failing { "failing" } " "
                            a href=(page.href(&format!("/events?subscriptionId={id}&status=failed"))) { "see failed deliveries" }
                        } @else if s["active"] == true {
                            (html::status("active"))
                        } @else {
                            span.badge { "inactive" }
                        }
                    }
                }
            }
        }
    }
}
