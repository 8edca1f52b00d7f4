//! Publishing events: [`publish::EventPublisher`] puts an event on the events queue, where
//! `webhook-fanout` matches it against the account's subscriptions; [`catalog`] lists every
//! event Herald itself emits, with a sample payload for each.

pub mod catalog;
pub mod publish;
