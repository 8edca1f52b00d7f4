//! An in-memory [`DnsLookup`] for tests: records set by hand, and names that time out.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::domains::records::RecordType;
use crate::domains::verify::{DnsLookup, LookupError};

#[derive(Debug, Clone)]
enum Entry {
    Txt(Vec<String>),
    Mx(Vec<(u16, String)>),
}

/// DNS held in memory. A name not set is NXDOMAIN; a name marked unavailable answers every
/// lookup with [`LookupError::Unavailable`], as a timing-out server would.
#[derive(Debug, Default)]
pub struct MemoryDns {
    records: Mutex<HashMap<(String, RecordType), Entry>>,
    unavailable: Mutex<Vec<String>>,
}

/// Names compare without case and without the final dot, as in DNS.
fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl MemoryDns {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the TXT records at `name`, one string per record.
    pub fn set_txt<'a>(&self, name: &str, values: impl IntoIterator<Item = &'a str>) {
        let values = values.into_iter().map(str::to_owned).collect();
        self.lock_records()
            .insert((key(name), RecordType::Txt), Entry::Txt(values));
    }

    /// Replaces the MX records at `name`.
    pub fn set_mx<'a>(&self, name: &str, values: impl IntoIterator<Item = (u16, &'a str)>) {
        let values = values.into_iter().map(|(p, h)| (p, h.to_owned())).collect();
        self.lock_records()
            .insert((key(name), RecordType::Mx), Entry::Mx(values));
    }

    /// Removes every record at `name`.
    pub fn remove(&self, name: &str) {
        let name = key(name);
        self.lock_records().retain(|(n, _), _| *n != name);
    }

    /// Makes every lookup of `name` fail as unavailable.
    pub fn set_unavailable(&self, name: &str) {
        self.lock_unavailable().push(key(name));
    }

    /// Undoes [`MemoryDns::set_unavailable`].
    pub fn set_available(&self, name: &str) {
        let name = key(name);
        self.lock_unavailable().retain(|n| *n != name);
    }

    fn lock_records(&self) -> std::sync::MutexGuard<'_, HashMap<(String, RecordType), Entry>> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_unavailable(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.unavailable
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, name: &str, record_type: RecordType) -> Result<Entry, LookupError> {
        let name = key(name);
        if self.lock_unavailable().contains(&name) {
            return Err(LookupError::Unavailable("request timed out".into()));
        }
        self.lock_records()
            .get(&(name, record_type))
            .cloned()
            .ok_or(LookupError::NotFound)
    }
}

#[async_trait]
impl DnsLookup for MemoryDns {
    async fn txt(&self, name: &str) -> Result<Vec<String>, LookupError> {
        match self.get(name, RecordType::Txt)? {
            Entry::Txt(v) => Ok(v),
            Entry::Mx(_) => Err(LookupError::NotFound),
        }
    }

    async fn mx(&self, name: &str) -> Result<Vec<(u16, String)>, LookupError> {
        match self.get(name, RecordType::Mx)? {
            Entry::Mx(v) => Ok(v),
            Entry::Txt(_) => Err(LookupError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_as_set() {
        let dns = MemoryDns::new();
        dns.set_txt("A.example.com.", ["x", "y"]);
        dns.set_mx("a.example.com", [(10, "mx.example.com.")]);
        assert_eq!(
            dns.txt("a.example.com").await,
            Ok(vec!["x".into(), "y".into()])
        );
        assert_eq!(
            dns.mx("a.example.com.").await,
            Ok(vec![(10, "mx.example.com.".into())])
        );
        assert_eq!(dns.txt("b.example.com").await, Err(LookupError::NotFound));

        dns.set_unavailable("a.example.com");
        assert!(matches!(
            dns.txt("a.example.com").await,
            Err(LookupError::Unavailable(_))
        ));
        dns.set_available("a.example.com");
        assert!(dns.txt("a.example.com").await.is_ok());

        dns.remove("a.example.com");
        assert_eq!(dns.txt("a.example.com").await, Err(LookupError::NotFound));
        assert_eq!(dns.mx("a.example.com").await, Err(LookupError::NotFound));
    }
}
