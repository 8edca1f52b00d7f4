//! The dashboard's pages in-process over in-memory adapters: sessions and the rules of each
//! form. The same pages in a real browser against the local stack: `tests/it/dashboard*`.

mod domains;
mod email;
mod events;
mod harness;
mod logs;
mod notifications;
mod sessions;
mod sms;
mod subscriptions;
