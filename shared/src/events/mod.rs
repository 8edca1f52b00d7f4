//! Publishing events: [`crate::events::publish::EventPublisher`] puts an event on the events queue, where
//! `webhook-fanout` matches it against the account's subscriptions; [`catalog`] lists every
//! event type: Herald's own, each with a sample payload made of the [`payload`] type the
//! event's emitter builds, and those the platform's services registered, with their examples
//! and the schemas their published data must satisfy.

pub mod catalog;
pub mod delivery;
pub mod destination;
pub mod envelope;
pub mod ids;
pub mod name;
pub mod payload;
pub mod publish;
pub mod subscription;
pub mod tag_filter;
pub mod webhook;
