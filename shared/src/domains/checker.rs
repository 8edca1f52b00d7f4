//! Checking a domain's DNS records and recording the outcome: what `dns-verify` does for every
//! pending domain on its schedule, and what the API's "verify now" does for one. Each status
//! change publishes `domain.verified` or `domain.failed`.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::common::clock::{Clock, to_millis};
use crate::domains::store::{DomainRecord, DomainStore, StoreError};
use crate::domains::{DnsLookup, DomainStatus, verify_domain};
use crate::events::publish::EventPublisher;

/// The schedule checks at most this many domains a run; the rest wait for the next run.
pub const PER_RUN: usize = 200;

pub struct DomainChecker {
    pub store: Arc<dyn DomainStore>,
    pub dns: Arc<dyn DnsLookup>,
    pub events: EventPublisher,
    pub clock: Arc<dyn Clock>,
}

impl DomainChecker {
    /// Checks one domain, stores what was found, publishes a change. Returns the domain as
    /// stored (`PreconditionFailed` if it changed meanwhile).
    pub async fn check(&self, mut domain: DomainRecord) -> Result<DomainRecord, StoreError> {
        let now = self.clock.now();
        let records: Vec<_> = domain.records.iter().map(|c| c.record.clone()).collect();
        let previous = domain.status;
        let verification =
            verify_domain(self.dns.as_ref(), &records, previous, domain.added_at, now).await;
        let event = verification.event(previous);
        domain.status = verification.status;
        domain.records = verification.records;
        let at = to_millis(now);
        domain.checked_at = Some(at);
        if domain.status == DomainStatus::Verified && previous != DomainStatus::Verified {
            domain.verified_at = Some(at);
        }
        domain.updated_at = at;
        self.store.replace(&mut domain).await?;
        tracing::info!(account = %domain.account_id, domain = %domain.domain, status = ?domain.status, "domain checked");
        if let Some(event) = event {
            let mut data = Map::new();
            data.insert("domain".into(), json!(domain.domain.as_str()));
            data.insert(
                "status".into(),
                serde_json::to_value(domain.status).unwrap_or(Value::Null),
            );
            data.insert(
                "records".into(),
                serde_json::to_value(&domain.records).unwrap_or(Value::Null),
            );
            if let Err(e) = self
                .events
                .herald_event(&domain.account_id, event.name(), data, vec![], now)
                .await
            {
                // The status is stored; the event is lost only if the queue is down.
                tracing::error!(domain = %domain.domain, error = %e, "domain event not published");
            }
        }
        Ok(domain)
    }

    /// The scheduled run: every pending domain (up to [`PER_RUN`]), each on its own so that
    /// one failure leaves the others checked. Returns how many were checked.
    pub async fn run(&self) -> Result<usize, StoreError> {
        let pending = self.store.pending(PER_RUN).await?;
        let total = pending.len();
        let results = futures::future::join_all(pending.into_iter().map(|d| self.check(d))).await;
        let failed = results.iter().filter(|r| r.is_err()).count();
        for e in results.iter().filter_map(|r| r.as_ref().err()) {
            tracing::warn!(error = %e, "a domain was not checked; the next run will");
        }
        tracing::info!(checked = total - failed, failed, "dns verification run");
        Ok(total - failed)
    }
}
