//! The sending-domain store port: one behaviour, checked on the DynamoDB adapter (against moto,
//! on the table template.yaml declares) and on the in-memory adapter. One owner per domain, at
//! most one domain in use per account, and the pending index the schedule reads.

use std::sync::{Arc, OnceLock};

use herald::adapters::dynamo::domains::DynamoDomainStore;
use herald::common::account::AccountId;
use herald::common::clock::to_millis;
use herald::common::secret::SealedSecret;
use herald::domains::store::{DomainRecord, DomainStore, MemoryDomainStore, StoreError};
use herald::domains::{
    CheckedRecord, DkimKeyPair, DkimSelector, DomainStatus, SendingDomain, SesRegion, dns_records,
};
use herald::messaging::email::LocalPart;
use herald_tests::{aws, new_account, stack_var};

fn key() -> &'static DkimKeyPair {
    static KEY: OnceLock<DkimKeyPair> = OnceLock::new();
    KEY.get_or_init(|| DkimKeyPair::generate().expect("an RSA key"))
}

fn domain(account: &AccountId) -> DomainRecord {
    let name = SendingDomain::parse(&format!(
        "store-{}.com",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ))
    .expect("domain");
    let selector = DkimSelector::parse("herald").expect("selector");
    // As Herald stamps times: what the DynamoDB adapter reads back equals it.
    let now = to_millis(time::OffsetDateTime::now_utc());
    DomainRecord {
        records: dns_records(
            &name,
            &selector,
            key().public_key(),
            &SesRegion::parse("us-east-1").expect("region"),
        )
        .into_iter()
        .map(CheckedRecord::pending)
        .collect(),
        domain: name,
        account_id: account.clone(),
        selector,
        public_key: key().public_key().clone(),
        sealed_private_key: SealedSecret::from_bytes(vec![1, 2, 3]),
        status: DomainStatus::Pending,
        in_use: false,
        from_address_prefix: None,
        added_at: now,
        checked_at: None,
        verified_at: None,
        updated_at: now,
        version: 1,
    }
}

fn used(mut d: DomainRecord, prefix: &str) -> DomainRecord {
    d.status = DomainStatus::Verified;
    d.in_use = true;
    d.from_address_prefix = Some(LocalPart::parse(prefix).expect("prefix"));
    d
}

async fn conformance(store: Arc<dyn DomainStore>) {
    let account = new_account();
    let first = domain(&account);
    store.create(&first).await.expect("created");
    // One owner: the same domain again, from any account, is refused.
    let mut again = first.clone();
    again.account_id = new_account();
    assert!(matches!(
        store.create(&again).await,
        Err(StoreError::PreconditionFailed)
    ));
    assert_eq!(
        store.get(&first.domain).await.expect("read"),
        Some(first.clone())
    );
    assert!(
        store
            .pending(1000)
            .await
            .expect("pending")
            .iter()
            .any(|d| d.domain == first.domain)
    );

    // Verified and in use: off the pending index, the account's sender. The store writes the
    // next version and hands it back.
    let stale = first.clone();
    let mut first = used(first, "signing");
    store.put_in_use(&mut first).await.expect("in use");
    assert_eq!(first.version, stale.version + 1);
    assert_eq!(
        store.get(&first.domain).await.expect("read"),
        Some(first.clone())
    );
    assert!(
        !store
            .pending(1000)
            .await
            .expect("pending")
            .iter()
            .any(|d| d.domain == first.domain)
    );
    let in_use = store.in_use(&account).await.expect("read").expect("in use");
    assert_eq!(in_use.domain, first.domain);
    assert_eq!(in_use.prefix.as_str(), "signing");

    // A second domain of the account cannot be put in use as well.
    let second = domain(&account);
    store.create(&second).await.expect("created");
    let mut other = used(second.clone(), "other");
    assert!(matches!(
        store.put_in_use(&mut other).await,
        Err(StoreError::PreconditionFailed)
    ));
    assert_eq!(other.version, second.version, "not written: not bumped");
    // A stale version is refused, and keeps its version.
    let mut stale = stale;
    assert!(matches!(
        store.replace(&mut stale).await,
        Err(StoreError::PreconditionFailed)
    ));
    assert_eq!(stale.version, 1);
    // The current one is written as the next version.
    let mut checked = first.clone();
    checked.checked_at = Some(checked.updated_at);
    store.replace(&mut checked).await.expect("written");
    assert_eq!(checked.version, first.version + 1);
    assert_eq!(
        store.get(&first.domain).await.expect("read"),
        Some(checked.clone())
    );
    assert_eq!(
        store
            .in_use(&account)
            .await
            .expect("read")
            .map(|u| u.domain),
        Some(first.domain.clone())
    );
    let mut listed: Vec<_> = store
        .list(&account)
        .await
        .expect("list")
        .into_iter()
        .map(|d| d.domain)
        .collect();
    listed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut expected = vec![first.domain.clone(), second.domain.clone()];
    expected.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(listed, expected);
    store.delete(&second).await.expect("deleted");
    assert_eq!(store.get(&second.domain).await.expect("read"), None);
    assert_eq!(store.in_use(&new_account()).await.expect("read"), None);
}

#[tokio::test]
async fn dynamodb_adapter_on_moto() {
    let client = aws_sdk_dynamodb::Client::new(&aws().await);
    conformance(Arc::new(DynamoDomainStore::new(
        client,
        stack_var("HERALD_DOMAINS_TABLE"),
    )))
    .await;
}

#[tokio::test]
async fn memory_adapter() {
    conformance(Arc::new(MemoryDomainStore::new())).await;
}
