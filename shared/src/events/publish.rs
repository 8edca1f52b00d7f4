//! The publish helper Herald's own functions use (and the API's publish route): builds the
//! envelope and enqueues it on the events queue.

use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::queue::{JobQueue, QueueError};
use crate::common::validation::FieldErrors;
use crate::events::payload::EventPayload;
use crate::events::webhook::{Event, EventId, NewEvent, Sender};

#[derive(Clone)]
pub struct EventPublisher {
    queue: Arc<dyn JobQueue<Event>>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("invalid event: {0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl EventPublisher {
    pub fn new(queue: Arc<dyn JobQueue<Event>>) -> Self {
        Self { queue }
    }

    /// Publishes an event Herald emits itself (`sender` is Herald), tagged as given: its name
    /// and `eventData` are the payload's.
    pub async fn herald_event(
        &self,
        account: &AccountId,
        payload: &impl EventPayload,
        tags: Vec<String>,
        now: OffsetDateTime,
    ) -> Result<Event, PublishError> {
        let data = payload.event_data().map_err(|e| {
            let mut errors = FieldErrors::new();
            errors.push("eventData", e.to_string());
            PublishError::Invalid(errors)
        })?;
        let new = NewEvent {
            sender: Sender::herald().as_str().to_owned(),
            event_name: payload.event_name(),
            event_data: Value::Object(data),
            organization_id: None,
            expires_at: None,
            tags,
        };
        let event = new
            .validate(EventId::new(now), account.clone(), now)
            .map_err(PublishError::Invalid)?;
        self.publish(&event).await?;
        Ok(event)
    }

    /// Enqueues an event already built and checked.
    pub async fn publish(&self, event: &Event) -> Result<(), QueueError> {
        self.queue.enqueue(event).await?;
        tracing::info!(account = %event.account_id(), event = %event.id(), name = %event.event_name(), "event published");
        Ok(())
    }
}
