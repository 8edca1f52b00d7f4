//! Publishing events: [`crate::events::publish::EventPublisher`] puts an event on the events queue, where
//! `webhook-fanout` matches it against the account's subscriptions; [`catalog`] lists every
//! event Herald itself emits, with a sample payload for each, made of the [`payload`] type
//! the event's emitter builds.

pub mod catalog;
pub mod delivery;
pub mod envelope;
pub mod ids;
pub mod name;
pub mod payload;
pub mod publish;
pub mod subscription;
pub mod tag_filter;
pub mod webhook;
