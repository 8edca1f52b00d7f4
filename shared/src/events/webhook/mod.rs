//! The events service's domain core: what an event is, which subscriptions it goes to, where it
//! may be sent, how the request is signed and when a failed delivery is tried again. Pure rules
//! only (no AWS, no HTTP client, no I/O), so that `webhook-fanout`, `webhook-deliver` and the API
//! share one definition of each and every rule is tested without a network.
//!
//! - [`event_name`]: [`EventName`] (`sms.sent`) and a subscription's [`EventSelection`]
//!   (`"all"` or a list of names).
//! - [`ids`]: the envelope's identifiers: [`EventId`], [`Sender`], [`OrganizationId`].
//! - [`envelope`]: the [`Event`] envelope (the reference's nine fields) and [`NewEvent`], a
//!   publish request checked field by field. An event's tags are [`Tag`]s, the same type as a
//!   message's: Herald's own events carry the tags of the message they are about, and one rule
//!   for both means such an event never fails on a tag its message was accepted with.
//! - [`tag_filter`]: a subscription's [`TagFilter`]: the event must carry every listed tag, `x*`
//!   matching any tag that starts with `x`.
//! - [`url`]: [`WebhookUrl`], a URL that passed the [`AddressPolicy`] every account-controlled
//!   destination goes through (see [`crate::common::destination`]), checked when the URL is saved and
//!   again against every address it resolves to when delivering ([`check_addr`]).
//! - [`secret`]: [`WebhookSecret`], the `whsec_` signing secret.
//! - [`signature`]: the `X-Herald-Signature` (the reference's scheme) and Standard Webhooks
//!   headers a request carries.
//! - [`outcome`]: what one attempt's response means: delivered, retry, fail, or disable the
//!   subscription.
//! - [`retry`]: when to try again: the backoff schedule with jitter, the five-day and `expiresAt`
//!   limits, and `Retry-After`.
//! - [`retry_after`]: the `Retry-After` header, in both of its forms.
//! - [`sqs_hop`]: a wait longer than SQS's 15-minute delay cut into hops.

pub mod secret;
pub mod signature;
pub mod url;

pub use crate::events::delivery::outcome::{ATTEMPT_TIMEOUT, AttemptOutcome, Verdict};
pub use crate::events::delivery::retry::{MAX_RETRY_WINDOW, RetryState, next_attempt_at};
pub use crate::events::delivery::retry_after::RetryAfter;
pub use crate::events::delivery::sqs_hop::{MAX_SQS_DELAY_SECS, next_hop, remaining_until};
pub use crate::events::envelope::{Event, NewEvent};
pub use crate::events::ids::{
    EventId, InvalidEventId, InvalidOrganizationId, InvalidSender, OrganizationId, Sender,
};
pub use crate::events::name::{EventName, EventSelection, InvalidEventName};
pub use crate::events::tag_filter::TagFilter;
pub use crate::events::webhook::secret::{InvalidWebhookSecret, WebhookSecret};
pub use crate::events::webhook::signature::{
    HERALD_SIGNATURE_HEADER, SignedHeaders, herald_signature, sign, standard_signature,
    verify_standard,
};
pub use crate::events::webhook::url::{
    AddressKind, AddressPolicy, Refusal, WebhookUrl, check_addr,
};
pub use crate::messaging::message::Tag;

/// The conversions every string newtype here has: from a `String` through its `parse`, back into
/// a `String`, `Display` and `AsRef<str>` (so serde and format strings see the plain value).
macro_rules! string_newtype_conversions {
    ($ty:ident, $err:ty) => {
        impl TryFrom<String> for $ty {
            type Error = $err;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.0
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}
pub(crate) use string_newtype_conversions;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::account::AccountId;
    use time::macros::datetime;

    /// The pieces together, as `webhook-fanout` and `webhook-deliver` will use them.
    #[test]
    fn an_event_from_publish_to_a_signed_retried_request() {
        let now = datetime!(2024-05-01 12:00 UTC);
        let account = AccountId::parse("acc-1").expect("valid");
        let event = NewEvent {
            sender: Sender::HERALD.into(),
            event_name: "sms.sent".into(),
            event_data: serde_json::json!({"messageId": "m-1"}),
            organization_id: None,
            expires_at: None,
            tags: vec!["test-tag".into(), "eu".into()],
        }
        .validate(EventId::new(now), account, now)
        .expect("valid event");

        // Fan-out: which subscriptions get it.
        let events = EventSelection::parse(&serde_json::json!(["sms.sent"])).expect("valid");
        let filter = TagFilter::parse(vec!["test-*".into()]).expect("valid");
        assert!(events.matches(event.event_name()) && filter.matches(event.tags()));
        let other = TagFilter::parse(vec!["us".into()]).expect("valid");
        assert!(!other.matches(event.tags()));

        // Delivery: where, and signed how.
        let url = WebhookUrl::parse(
            "https://hooks.example.com/herald",
            &AddressPolicy::default(),
        )
        .expect("valid url");
        assert!(
            url.check_resolved(
                "93.184.215.14".parse().expect("ip"),
                &AddressPolicy::default()
            )
            .is_ok()
        );
        let secret = WebhookSecret::generate();
        let body = serde_json::to_vec(&event).expect("serializes");
        let headers = sign(&[&secret], event.id().as_str(), now.unix_timestamp(), &body);
        assert!(verify_standard(
            &secret,
            event.id().as_str(),
            now.unix_timestamp(),
            &body,
            headers.webhook_signature.as_deref().unwrap_or_default()
        ));
        assert_eq!(
            headers.herald_signature,
            Some(herald_signature(secret.expose().as_bytes(), &body))
        );

        // A 503 with Retry-After: 60 after the first attempt.
        assert_eq!(AttemptOutcome::Status(503).verdict(), Verdict::Retry);
        let state = RetryState {
            first_attempt_at: now,
            failed_attempts: 1,
            expires_at: event.expires_at(),
        };
        let next = next_attempt_at(&state, now, RetryAfter::parse("60"), &mut rand::rng())
            .expect("retried");
        assert_eq!(next, now + time::Duration::seconds(60));
        let (delay, rest) = next_hop(remaining_until(next, now));
        assert_eq!((delay, rest), (60, std::time::Duration::ZERO));
    }
}
