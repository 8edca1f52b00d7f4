//! Bring your own provider: an account's own https endpoint that sends its SMS or email.
//!
//! Herald POSTs each rendered message there as JSON ([`crate::messaging::senders::custom`]), signed with
//! the account's `whsec_` secret in the Standard Webhooks scheme by the same signer as webhooks
//! ([`crate::events::webhook::sign`]). `webhook-id` is Herald's message id, the same on every
//! try, so a receiver recognises a retried message. The answer is sorted by the rules every
//! sender follows ([`crate::messaging::senders`]): 2xx took it, 408, 429 and 5xx
//! are temporary (an SMS fails over to the secondary provider), any other status is permanent,
//! and no answer in time after sending is an unknown outcome. The account later reports what
//! became of the message with `POST /accounts/{id}/messages/{id}/receipts`
//! ([`crate::messaging::receipts::custom`]).
//!
//! The endpoint is a destination the account controls: it passes the one address policy when
//! it is saved ([`CustomEndpoint::parse`]) and again before every request and at connect time
//! (the adapter, `crate::adapters::custom_provider`).

use serde::{Deserialize, Serialize};
use url::Url;

use crate::common::destination::{AddressPolicy, Refusal, check_url};
use crate::common::secret::SealedSecret;
use crate::events::webhook::WebhookUrl;

/// How the message log names the account's own provider: an attempt's `provider`, a record's
/// `sentVia`, a receipt's `source`.
pub const PROVIDER: &str = "custom";

/// What a message record says of a message the account's own provider took: its status moves
/// on only by the account's receipts.
pub const TRACKING: &str = "sent through the account's own provider, whose receipts \
     (POST /accounts/{accountId}/messages/{messageId}/receipts) move the status on";

/// Where an account's own provider takes messages: an absolute https URL (http only where the
/// operator allows it) whose host passes the address policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomEndpoint(Url);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be an http or https URL")]
pub struct InvalidCustomEndpoint;

impl CustomEndpoint {
    /// An endpoint as an account gives it: the rules of a webhook URL, which it is.
    pub fn parse(s: &str, policy: &AddressPolicy) -> Result<Self, Refusal> {
        WebhookUrl::parse(s, policy).map(|url| Self(url.url().clone()))
    }

    /// Checks the endpoint against the policy in force now, before a request: a stored
    /// endpoint was checked under the policy of its day.
    pub fn check(&self, policy: &AddressPolicy) -> Result<(), Refusal> {
        check_url(&self.0, policy)
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<String> for CustomEndpoint {
    type Error = InvalidCustomEndpoint;
    /// A stored endpoint, checked for its form only: the policy it is held to is the one in
    /// force when it is used.
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Url::parse(&s)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .map(Self)
            .ok_or(InvalidCustomEndpoint)
    }
}

impl From<CustomEndpoint> for String {
    fn from(e: CustomEndpoint) -> String {
        e.0.into()
    }
}

/// An account's own provider: where Herald POSTs its messages, and the secret that signs them.
/// `S` is how the secret is held: sealed when stored, as given in a write request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomProvider<S = SealedSecret> {
    pub url: CustomEndpoint,
    pub signing_secret: S,
}

impl<S> CustomProvider<S> {
    pub fn map_secret<T>(self, f: impl FnOnce(S) -> T) -> CustomProvider<T> {
        CustomProvider {
            url: self.url,
            signing_secret: f(self.signing_secret),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoints_pass_the_address_policy_when_saved_and_before_each_request() {
        let strict = AddressPolicy::default();
        for refused in [
            "http://sms.acme.example/",
            "https://127.0.0.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://localhost/hook",
            "https://printer.local/",
            "https://u:p@sms.acme.example/",
            "not a url",
        ] {
            assert!(
                CustomEndpoint::parse(refused, &strict).is_err(),
                "{refused}"
            );
        }
        let local = AddressPolicy {
            allow_http: true,
            allowed: vec!["127.0.0.0/8".parse().expect("net")],
            ..AddressPolicy::default()
        };
        let loopback = CustomEndpoint::parse("http://127.0.0.1:8080/sms", &local).expect("ok");
        assert!(loopback.check(&local).is_ok());
        // Stored under a looser policy, refused under today's.
        assert!(loopback.check(&strict).is_err());
        // A stored value is read back by its form alone.
        let stored: CustomEndpoint =
            serde_json::from_value(json!("http://127.0.0.1:8080/sms")).expect("read back");
        assert_eq!(stored, loopback);
        assert!(serde_json::from_value::<CustomEndpoint>(json!("ftp://x.example/")).is_err());
    }
}
