//! The account's own provider on the SMS and Email pages: where it takes messages and the
//! secret Herald signs them with, the API's `customProvider`. The secret is write-only: the
//! page says whether one is stored, never what it is; left empty, the stored one is kept, or,
//! when none is stored, Herald makes one and shows it this once, after saving.

use maud::{Markup, html};
use serde_json::{Value, json};

use super::Form;
use super::secret_field;
use crate::html::{self, Field, Page};
use crate::resources::FieldMessages;

/// What the API and the dashboard call the provider chosen as an SMS provider.
pub const ID: &str = "custom";
pub const LABEL: &str = "My own provider";

const URL: &str = "customProvider.url";
const SECRET: &str = "customProvider.signingSecret";

/// Every field the form shows a message next to, by the API's name.
pub const SHOWN: [&str; 3] = ["customProvider", URL, SECRET];

/// What the form shows: the URL stored or typed, and whether a secret is stored or was typed.
#[derive(Default)]
pub struct Values {
    url: String,
    secret_stored: bool,
    secret_typed: bool,
}

impl Values {
    /// From the API's `customProvider` (null when there is none).
    pub fn stored(custom: &Value) -> Self {
        Self {
            url: custom["url"].as_str().unwrap_or("").to_owned(),
            secret_stored: custom["signingSecret"].is_string(),
            secret_typed: false,
        }
    }

    /// What was submitted; `stored` says whether a secret is stored.
    pub fn submitted(f: &Form, stored: &Values) -> Self {
        Self {
            url: f.text(URL),
            secret_stored: stored.secret_stored,
            secret_typed: !f.secret(SECRET).is_empty(),
        }
    }
}

/// `customProvider` for the API, from the form: a secret left empty is left out, which keeps
/// the stored one or has Herald make one.
pub fn body(f: &Form) -> Value {
    let typed = f.secret(SECRET);
    let mut body = json!({ "url": f.text(URL) });
    if !typed.is_empty() {
        body["signingSecret"] = json!(typed);
    }
    body
}

/// The URL and secret fields, with their errors; `used_when` says when they count.
pub fn fields(v: &Values, used_when: &str, errors: &FieldMessages) -> Markup {
    html! {
        p.hint { (used_when) }
        (Field::text(URL, "Provider URL", &v.url)
            .kind("url")
            .hint("Herald POSTs each message there as JSON, signed with the Standard Webhooks \
                   headers (webhook-id, webhook-timestamp, webhook-signature), such as \
                   https://sms.mydomain.com/herald.")
            .error(errors.get(URL))
            .render())
        (secret_field(SECRET, "Signing secret", "signing secret", v.secret_stored,
            v.secret_typed, errors))
        p.hint {
            "Leave it empty and Herald makes one, shown once after saving; or paste your own, "
            code { "whsec_" } " and base64."
        }
    }
}

/// The provider's rows of a settings summary.
pub fn facts(custom: &Value) -> Markup {
    html! {
        dt { "Provider URL" } dd { (custom["url"].as_str().unwrap_or("")) }
        dt { "Signing secret" } dd { @if custom["signingSecret"].is_string() { "Set" } @else { "Not set" } }
    }
}

/// The secret Herald made in answer to a write, if it made one: shown in place of the
/// placeholder that one time.
pub fn made(answer: &Value) -> Option<&str> {
    answer["customProvider"]["signingSecret"]
        .as_str()
        .filter(|s| s.starts_with("whsec_"))
}

/// A secret Herald made, shown this once: with a copy button and the warning that it will not
/// be shown again.
pub fn secret_shown(page: &Page, done: &str, back: &str, secret: &str) -> Markup {
    html! {
        (html::notice("ok", done))
        h2 { "Signing secret" }
        (html::secret_once(secret, "If it is lost, save a new one of your own."))
        p.hint {
            "Your provider checks each request with it, as the Standard Webhooks libraries do: \
             webhook-signature is the HMAC-SHA256 of webhook-id, webhook-timestamp and the body."
        }
        div.actions {
            a.button href=(page.href(back)) { "Done" }
        }
    }
}
