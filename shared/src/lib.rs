//! Herald's shared crate, laid out by capability first and technology second.
//!
//! - [`common`]: what every capability uses: account ids, the clock, cursors, ETags, field
//!   validation, secrets and the seal, the queue and idempotency ports, the destination policy,
//!   store errors, configuration from the environment.
//! - [`messaging`]: SMS and email: settings, send requests, the message log, the sender ports
//!   and their one failure type, dispatch and failover, and receipts.
//! - [`events`]: the event envelope and names, the catalog, publishing, subscriptions and their
//!   tag filters, deliveries (records, fan-out, the deliverer, the retry schedule) and the
//!   webhook rules (URL policy, signatures, secrets).
//! - [`dashboard`]: who may use the account pages: one-time sign-in links and sessions.
//! - [`domains`]: sending domains: selectors, DKIM keys, DNS records and their verification.
//! - `adapters` (feature `aws`): DynamoDB stores, SQS, KMS, Secrets Manager, SES, SNS, Twilio,
//!   Vonage, SMTP, accounts' own providers, the DNS resolver and the webhook HTTP client.
//! - `lambda` (feature `aws`): each function's handler and its wiring from configuration, and
//!   the SQS batch runner.
//!
//! Without the `aws` feature the crate is the domain alone: no AWS SDK, HTTP or SMTP client,
//! DNS resolver or Lambda type, which `cargo xtask test` checks.
//!
//! One vocabulary, used throughout:
//! - **message**: one SMS or email an internal service asked Herald to send;
//! - **message log**: the record of every message, its attempts and its receipts;
//! - **send**: handing a message to a provider (an **attempt** each time);
//! - **failover**: sending an SMS through the secondary provider after the primary failed
//!   temporarily;
//! - **receipt**: a provider's report on a message it took (delivered, failed, opened, ...);
//! - **event**: something that happened, in the reference's envelope;
//! - **subscription**: an account's wish to receive some events at a destination;
//! - **delivery**: one event to one subscription, made of one or more **attempt**s.

#[cfg(feature = "aws")]
pub mod adapters;
pub mod common;
pub mod dashboard;
pub mod domains;
pub mod events;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod messaging;
pub mod notify;

/// `error: cause: cause ...`: an error with every source below it, so that one log line or
/// one recorded reason tells the whole story.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
