//! The message log in memory, for unit tests and in-process runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::messaging::log::{
    Created, IdempotencyClaim, IdempotencyKey, ListQuery, MessageId, MessageKey, MessageLog,
    MessageRecord, Order, Page, StoreError,
};
use crate::messaging::message::{Channel, MessageStatus};

struct Claim {
    id: MessageId,
    request_hash: String,
    expires_at: OffsetDateTime,
}

#[derive(Default)]
struct Inner {
    logs: HashMap<(AccountId, Channel), BTreeMap<MessageId, MessageRecord>>,
    claims: HashMap<(AccountId, IdempotencyKey), Claim>,
}

#[derive(Default)]
pub struct MemoryMessageLog {
    inner: Mutex<Inner>,
}

impl MemoryMessageLog {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl MessageLog for MemoryMessageLog {
    async fn create(
        &self,
        record: &MessageRecord,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<Created, StoreError> {
        let mut inner = self.lock();
        if let Some(claim) = idempotency {
            let key = (record.account_id.clone(), claim.key.clone());
            if let Some(c) = inner.claims.get(&key)
                && c.expires_at > claim.now
            {
                return Ok(Created::Replay {
                    id: c.id.clone(),
                    request_hash: c.request_hash.clone(),
                });
            }
            inner.claims.insert(
                key,
                Claim {
                    id: record.id.clone(),
                    request_hash: claim.request_hash.clone(),
                    expires_at: claim.expires_at,
                },
            );
        }
        let log = inner
            .logs
            .entry((record.account_id.clone(), record.channel()))
            .or_default();
        if log.contains_key(&record.id) {
            return Err(StoreError::PreconditionFailed);
        }
        log.insert(record.id.clone(), record.clone());
        Ok(Created::New)
    }

    async fn get(
        &self,
        account: &AccountId,
        channel: Channel,
        id: &MessageId,
        now: OffsetDateTime,
    ) -> Result<Option<MessageRecord>, StoreError> {
        Ok(self
            .lock()
            .logs
            .get(&(account.clone(), channel))
            .and_then(|log| log.get(id))
            .filter(|r| !r.expired(now))
            .cloned())
    }

    async fn count(
        &self,
        account: &AccountId,
        channel: Channel,
        status: MessageStatus,
        since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let inner = self.lock();
        let Some(log) = inner.logs.get(&(account.clone(), channel)) else {
            return Ok(0);
        };
        let n = log
            .range(MessageId::lowest_at(since)..)
            .filter(|(_, r)| !r.expired(now) && r.status == status)
            .count();
        Ok(n as u64)
    }

    async fn list(
        &self,
        account: &AccountId,
        channel: Channel,
        query: &ListQuery,
        now: OffsetDateTime,
    ) -> Result<Page, StoreError> {
        let inner = self.lock();
        let Some(log) = inner.logs.get(&(account.clone(), channel)) else {
            return Ok(Page {
                items: Vec::new(),
                last: None,
            });
        };
        let matches =
            |r: &&MessageRecord| !r.expired(now) && query.status.is_none_or(|s| r.status == s);
        let mut items: Vec<MessageRecord> = match (query.order, &query.after) {
            (Order::Asc, None) => log
                .values()
                .filter(matches)
                .take(query.limit + 1)
                .cloned()
                .collect(),
            (Order::Asc, Some(after)) => log
                .range::<MessageId, _>((
                    std::ops::Bound::Excluded(after),
                    std::ops::Bound::Unbounded,
                ))
                .map(|(_, r)| r)
                .filter(matches)
                .take(query.limit + 1)
                .cloned()
                .collect(),
            (Order::Desc, None) => log
                .values()
                .rev()
                .filter(matches)
                .take(query.limit + 1)
                .cloned()
                .collect(),
            (Order::Desc, Some(after)) => log
                .range::<MessageId, _>(..after.clone())
                .rev()
                .map(|(_, r)| r)
                .filter(matches)
                .take(query.limit + 1)
                .cloned()
                .collect(),
        };
        let more = items.len() > query.limit;
        items.truncate(query.limit);
        let last = if more {
            items.last().map(|r| r.id.clone())
        } else {
            None
        };
        Ok(Page { items, last })
    }

    async fn replace(&self, record: &mut MessageRecord) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let stored = inner
            .logs
            .get_mut(&(record.account_id.clone(), record.channel()))
            .and_then(|log| log.get_mut(&record.id))
            .ok_or(StoreError::PreconditionFailed)?;
        if stored.version != record.version {
            return Err(StoreError::PreconditionFailed);
        }
        let next = record
            .version
            .checked_add(1)
            .ok_or(StoreError::PreconditionFailed)?;
        *stored = MessageRecord {
            version: next,
            ..record.clone()
        };
        record.version = next;
        Ok(())
    }

    async fn find_by_provider_id(
        &self,
        provider: &str,
        provider_message_id: &str,
    ) -> Result<Option<MessageKey>, StoreError> {
        let wanted = format!("{provider}#{provider_message_id}");
        let inner = self.lock();
        Ok(inner
            .logs
            .values()
            .flat_map(|log| log.values())
            .find(|r| r.provider_lookup_key().as_deref() == Some(wanted.as_str()))
            .map(|r| MessageKey {
                account_id: r.account_id.clone(),
                channel: r.channel(),
                message_id: r.id.clone(),
            }))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::messaging::log::Content;
    use crate::messaging::message::{MessageStatus, PhoneNumber, SmsMessage, SmsText};

    #[tokio::test]
    async fn a_write_is_the_next_version_and_a_stale_one_changes_nothing() {
        let now = datetime!(2030-01-01 00:00:00 UTC);
        let log = MemoryMessageLog::new();
        let record = MessageRecord::queued(
            MessageId::new(now),
            AccountId::parse("acme").expect("valid"),
            Content::Sms(SmsMessage {
                to: PhoneNumber::parse("+4712345678").expect("valid"),
                text: SmsText::parse("hello").expect("valid"),
            }),
            vec![],
            now,
            time::Duration::days(90),
        );
        log.create(&record, None).await.expect("created");
        let read = || async {
            log.get(&record.account_id, Channel::Sms, &record.id, now)
                .await
                .expect("read")
                .expect("present")
        };

        let mut first = read().await;
        let mut second = read().await;
        first.enqueued = true;
        log.replace(&mut first).await.expect("written");
        assert_eq!(first.version, record.version + 1, "handed back");
        assert_eq!(read().await, first, "stored as the next version");

        // Read before that write: refused, and left as it was.
        second.set_status(MessageStatus::Failed, now, None);
        assert!(matches!(
            log.replace(&mut second).await,
            Err(StoreError::PreconditionFailed)
        ));
        assert_eq!(second.version, record.version);
        assert_eq!(read().await, first);

        // Written again from the version handed back.
        first.set_status(MessageStatus::Sent, now, None);
        log.replace(&mut first).await.expect("written");
        assert_eq!(first.version, record.version + 2);
        assert_eq!(read().await, first);
    }
}
