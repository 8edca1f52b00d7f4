//! Herald's integration and end-to-end tests, in one test binary: one module per area, so that
//! the shared crate and the tests' dependencies are linked once rather than once per file.
//! `cargo xtask test` runs them against its local stack; a test's name starts with its module
//! (`sms_dispatch::primary_unavailable_is_delivered_by_the_secondary`), so a module's name is
//! also a filter: `cargo xtask test sms_dispatch`.
//!
//! `browser_harness` needs no stack, only Chromium, ChromeDriver and axe-core, which `cargo
//! xtask test` installs (`cargo test -p herald-tests --test it browser_harness` runs it alone).
//!
//! `aws_calls` is ignored by the shared run: `cargo xtask test` runs it first, alone on the
//! fresh stack (`--ignored aws_calls::`), and `cargo xtask bench` on a stack of its own.

mod aws_calls;
mod aws_destinations;
mod browser_harness;
mod contract;
mod custom_provider;
mod dashboard_events_pages;
mod dashboard_gateway;
mod dashboard_pages;
mod dead_letters;
mod delivery_status;
mod domain_store;
mod domains_api;
mod email_dispatch;
mod event_type_store;
mod events_api;
mod gateway;
mod local_services;
mod message_log;
mod messages_api;
mod notification_pages;
mod notifications;
mod provider_secrets;
mod pubsub_delivery;
mod reminders;
mod sample_events;
mod sealing;
mod servicebus_delivery;
mod settings_api;
mod settings_store;
mod short_links;
mod sms_dispatch;
mod sms_receipts;
mod template;
mod webhook_delivery;
