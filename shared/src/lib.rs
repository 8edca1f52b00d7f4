//! Herald's shared core: domain types that cannot hold invalid values, the rules between them,
//! the ports (traits) Herald's functions talk through, and their AWS and in-memory adapters.
//!
//! Nothing here knows about HTTP or Lambda events; the functions in `functions/` do.

pub mod account;
pub mod aws;
pub mod clock;
pub mod config;
pub mod cursor;
pub mod delivery;
pub mod destination;
pub mod dispatch;
pub mod dynamo;
pub mod email;
pub mod email_sender;
pub mod etag;
pub mod events;
pub mod idempotency;
pub mod json_fields;
pub mod message;
pub mod message_log;
pub mod provider_secrets;
pub mod queue;
pub mod seal;
pub mod secret;
pub mod sending_domain;
pub mod settings;
pub mod sms;
pub mod sms_provider;
pub mod sqs_batch;
pub mod status;
pub mod store;
pub mod subscription;
pub mod validation;
pub mod webhook;

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
