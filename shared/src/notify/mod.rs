//! Notifications: when something happens, the right people are told through the channels
//! they chose, with text the account controls.
//!
//! - [`types`]: what an account notifies about, its channels and defaults, mandatory or not;
//! - [`rules`]: on which event, to whom ([`recipients`]), every time or the first time only;
//! - [`template`]: MiniJinja templates per channel and locale;
//! - [`preferences`]: a recipient's choices and how they combine with the defaults;
//! - [`links`]: signed links to a recipient's preference page and one-click unsubscribe;
//! - [`log`]: every occurrence and its outcome; [`events`]: what subscribers hear of it;
//! - [`reminders`]: reminders after a rule's event, until its recipients act or it closes;
//! - [`short_links`]: Herald's own short links, counted on their message;
//! - [`notifier`]: the consumer of published events that ties them together.

pub mod events;
pub mod links;
pub mod log;
pub mod memory;
pub mod notifier;
pub mod preferences;
pub mod recipients;
pub mod reminders;
pub mod rule_id;
pub mod rules;
pub mod short_links;
pub mod store;
pub mod template;
pub mod types;
