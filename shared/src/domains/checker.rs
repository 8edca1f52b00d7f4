//! Checking a domain's DNS records and recording the outcome: what `dns-verify` does for every
//! pending domain on its schedule, and what the API's "verify now" does for one. Each status
//! change publishes `domain.verified` or `domain.failed`.

use std::sync::Arc;

use crate::common::clock::{Clock, to_millis};
use crate::domains::events::DomainStatusEvent;
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
            let payload = DomainStatusEvent::of(event, &domain);
            if let Err(e) = self
                .events
                .herald_event(&domain.account_id, &payload, vec![], now)
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use time::macros::datetime;

    use super::*;
    use crate::common::account::AccountId;
    use crate::common::clock::ManualClock;
    use crate::common::queue::MemoryQueue;
    use crate::common::secret::SealedSecret;
    use crate::domains::CheckedRecord;
    use crate::domains::memory::MemoryDns;
    use crate::domains::name::SendingDomain;
    use crate::domains::records::{RecordType, SesRegion, dns_records};
    use crate::domains::selector::DkimSelector;
    use crate::domains::store::MemoryDomainStore;
    use crate::events::webhook::Event;

    /// What `domain.verified` and `domain.failed` carry: the domain, its status and every
    /// record as the check found it.
    #[tokio::test]
    async fn a_status_change_publishes_the_domain_with_its_records() {
        let now = datetime!(2030-01-10 00:00:00 UTC);
        let queue = Arc::new(MemoryQueue::<Event>::default());
        let dns = Arc::new(MemoryDns::new());
        let store = Arc::new(MemoryDomainStore::new());
        let checker = DomainChecker {
            store: store.clone(),
            dns: dns.clone(),
            events: EventPublisher::new(queue.clone()),
            clock: Arc::new(ManualClock::at(now)),
        };
        let pending = |domain: &str, added| {
            let domain = SendingDomain::parse(domain).expect("valid");
            let records = dns_records(
                &domain,
                &DkimSelector::parse("herald").expect("valid"),
                crate::domains::dkim::test_key_pair().public_key(),
                &SesRegion::parse("eu-west-1").expect("valid"),
            );
            DomainRecord {
                domain,
                account_id: AccountId::parse("acme").expect("valid"),
                selector: DkimSelector::parse("herald").expect("valid"),
                public_key: crate::domains::dkim::test_key_pair().public_key().clone(),
                sealed_private_key: SealedSecret::from_bytes(vec![1, 2, 3]),
                status: DomainStatus::Pending,
                records: records.into_iter().map(CheckedRecord::pending).collect(),
                in_use: false,
                from_address_prefix: None,
                added_at: added,
                checked_at: None,
                verified_at: None,
                updated_at: added,
                version: 1,
            }
        };
        let published = pending("mail.acme.com", now - time::Duration::hours(1));
        for r in &published.records {
            match r.record.record_type {
                RecordType::Txt => dns.set_txt(&r.record.name, [r.record.value.as_str()]),
                RecordType::Mx => {
                    let (preference, host) = r.record.value.split_once(' ').expect("an MX");
                    dns.set_mx(&r.record.name, [(preference.parse().expect("u16"), host)]);
                }
            }
        }
        let missing = pending("mail.acme.org", now - time::Duration::hours(73));
        for d in [&published, &missing] {
            store.create(d).await.expect("created");
        }
        let verified = checker.check(published).await.expect("checked");
        let failed = checker.check(missing).await.expect("checked");

        let events = queue.jobs();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event_name().as_str(), "domain.verified");
        assert_eq!(
            Value::Object(events[0].event_data().clone()),
            json!({"domain": "mail.acme.com", "status": "verified",
                   "records": serde_json::to_value(&verified.records).expect("json")})
        );
        assert_eq!(
            events[0].event_data()["records"][1],
            json!({"type": "MX", "name": "bounce.mail.acme.com",
                   "value": "10 feedback-smtp.eu-west-1.amazonses.com", "purpose": "mailFromMx",
                   "required": true, "status": "verified",
                   "found": ["10 feedback-smtp.eu-west-1.amazonses.com"]})
        );
        assert_eq!(events[1].event_name().as_str(), "domain.failed");
        assert_eq!(
            Value::Object(events[1].event_data().clone()),
            json!({"domain": "mail.acme.org", "status": "failed",
                   "records": serde_json::to_value(&failed.records).expect("json")})
        );
        assert_eq!(
            events[1].event_data()["records"][1],
            json!({"type": "MX", "name": "bounce.mail.acme.org",
                   "value": "10 feedback-smtp.eu-west-1.amazonses.com", "purpose": "mailFromMx",
                   "required": true, "status": "missing", "found": []})
        );
    }
}
