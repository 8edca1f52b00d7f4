//! An account's subscriptions, kept per warm Lambda instance for a short while: fan-out reads
//! them for every event, and most of those reads would fetch the same few items again. A
//! change made through the API reaches fan-out within [`TTL`]. (The deliverer reads the
//! subscription afresh for every attempt.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{StoreError, Subscription, SubscriptionStore};
use crate::account::AccountId;

/// Short: a subscription just made should get events within seconds. A busy account's events
/// still share one read per five seconds.
pub const TTL: Duration = Duration::from_secs(5);

/// Accounts kept at most; past it the cache starts over (a warm instance serving very many
/// accounts reads more, and never holds more than this).
const MAX_ACCOUNTS: usize = 10_000;

/// An account's subscriptions and when they were read.
type Entry = (Instant, Arc<Vec<Subscription>>);

pub struct CachedSubscriptions {
    store: Arc<dyn SubscriptionStore>,
    ttl: Duration,
    accounts: Mutex<HashMap<AccountId, Entry>>,
}

impl CachedSubscriptions {
    pub fn new(store: Arc<dyn SubscriptionStore>, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, account: &AccountId) -> Option<Arc<Vec<Subscription>>> {
        let accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        accounts
            .get(account)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, s)| s.clone())
    }

    async fn load(&self, account: &AccountId) -> Result<Arc<Vec<Subscription>>, StoreError> {
        let fresh = Arc::new(self.store.list(account).await?);
        let mut accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        if accounts.len() >= MAX_ACCOUNTS {
            accounts.clear();
        }
        accounts.insert(account.clone(), (Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// Every subscription of the account.
    pub async fn of_account(
        &self,
        account: &AccountId,
    ) -> Result<Arc<Vec<Subscription>>, StoreError> {
        match self.cached(account) {
            Some(s) => Ok(s),
            None => self.load(account).await,
        }
    }
}
