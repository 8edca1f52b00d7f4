//! Where Herald may connect on an account's behalf. An account chooses webhook URLs, OAuth token
//! endpoints and SMTP hosts, and Herald's functions run inside AWS next to an instance metadata
//! service and private networks: without one rule for all of them, any such field would let an
//! account make Herald request `http://169.254.169.254/` or `10.0.0.5` and read the answer
//! (server-side request forgery).
//!
//! - [`policy`]: the [`AddressPolicy`] and the refused ranges and names, pure rules. A
//!   destination is checked when it is saved ([`check_url`], [`check_host`]) and, because a
//!   public name may resolve to a private address later (DNS rebinding), again when connecting.
//! - [`connect`]: that second check: names resolved once, every address checked
//!   ([`crate::adapters::connect::resolve`]), and the connection made to a checked address, both for HTTP
//!   ([`crate::adapters::connect::http_client`]) and for SMTP.
//! - [`excerpt`]: what is kept of an account-controlled endpoint's reply: a status and a short
//!   bounded excerpt, never the whole body.

pub mod excerpt;
pub mod policy;

pub use crate::common::destination::policy::{
    AddressKind, AddressPolicy, Refusal, check_addr, check_host, check_url, classify,
};
