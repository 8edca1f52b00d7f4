//! The events a sending domain emits as its verification ends, as their `eventData`.

use serde::Serialize;

use crate::domains::store::DomainRecord;
use crate::domains::verify::{CheckedRecord, DomainEvent, DomainStatus};
use crate::events::payload::EventPayload;

/// `domain.verified` and `domain.failed`: a sending domain's status changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainStatusEvent {
    #[serde(skip)]
    pub event: DomainEvent,
    pub domain: String,
    pub status: DomainStatus,
    /// Every record of the domain, as the check found it. Herald's own events always carry
    /// them; the catalog's samples leave them out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<CheckedRecord>,
}

impl DomainStatusEvent {
    /// `event` for the domain as it was just checked.
    pub fn of(event: DomainEvent, domain: &DomainRecord) -> Self {
        Self {
            event,
            domain: domain.domain.as_str().to_owned(),
            status: domain.status,
            records: domain.records.clone(),
        }
    }

    /// The catalog's sample of `event`.
    pub fn sample(event: DomainEvent) -> Self {
        Self {
            event,
            domain: "mail.acme.example".to_owned(),
            status: match event {
                DomainEvent::Verified => DomainStatus::Verified,
                DomainEvent::Failed => DomainStatus::Failed,
            },
            records: Vec::new(),
        }
    }
}

impl EventPayload for DomainStatusEvent {
    fn event_name(&self) -> String {
        self.event.name().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_payload() {
        use DomainEvent::{Failed, Verified};
        assert_eq!(
            DomainStatusEvent::sample(Verified).event_name(),
            "domain.verified"
        );
        assert_eq!(
            DomainStatusEvent::sample(Failed).event_name(),
            "domain.failed"
        );
    }
}
