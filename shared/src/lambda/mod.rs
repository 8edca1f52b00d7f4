//! Each function's handler and its wiring from configuration. A function's `main` only sets
//! up tracing, builds its handler with `from_env()` and runs it: what a function does, and
//! which adapters it does it with, is read here.
//!
//! - [`api`] holds the API's configuration and adapters (its routes are in `functions/api`).
//! - [`dispatch`] holds `send-dispatch` and `sms-failover`.
//! - [`webhooks`] holds `webhook-fanout` and `webhook-deliver`.
//! - [`domains`] holds `dns-verify`.
//! - [`receipts`] holds `delivery-status`.
//! - [`notify`] holds `notify`.
//! - [`sqs_batch`] holds the runner every SQS-triggered function shares.

pub mod api;
pub mod dispatch;
pub mod domains;
pub mod notify;
pub mod receipts;
pub mod sqs_batch;
pub mod webhooks;

/// What a handler fails with: the Lambda runtime's error type, which logs it and reports the
/// invocation failed.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
