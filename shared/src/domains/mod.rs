//! Customer sending domains with Bring Your Own DKIM: an account adds its own domain, publishes
//! the DNS records Herald gives it, Herald checks them (on a schedule and on demand), and once
//! they are found the account sends from that domain, signed by SES with Herald's key.
//!
//! - [`name`]: [`SendingDomain`], the domain (punycode, public, short enough for its records).
//! - [`selector`]: [`DkimSelector`], 2 to 11 lowercase letters and digits, chosen or generated.
//! - [`dkim`]: [`DkimKeyPair`], the RSA-2048 key pair: the private key for SES, as a
//!   [`crate::common::secret::Secret`] to seal, and the [`DkimPublicKey`] for DNS.
//! - [`records`]: [`dns_records`], the DKIM, MAIL FROM MX and SPF, and DMARC records to publish.
//! - [`verify`]: the [`DnsLookup`] port and the rules: per-record [`RecordStatus`], the
//!   domain's [`DomainStatus`] (verified, or failed after 72 hours, never on a DNS outage) and
//!   the [`DomainEvent`] a change publishes.
//! - [`hickory`]: [`HickoryLookup`], the adapter over hickory-resolver.
//! - [`memory`]: [`MemoryDns`], the in-memory adapter for tests.
//! - [`store`]: [`crate::domains::store::DomainRecord`] and the [`crate::domains::store::DomainStore`] port (in memory), and
//!   [`dynamo`], its DynamoDB adapter.

pub mod checker;
pub mod dkim;
pub mod events;
pub mod identity;
pub mod memory;
pub mod name;
pub mod records;
pub mod selector;
pub mod store;
pub mod verify;

pub use dkim::{DkimKeyPair, DkimPublicKey};
pub use memory::MemoryDns;
pub use name::SendingDomain;
pub use records::{DnsRecord, RecordPurpose, RecordType, SesRegion, dns_records};
pub use selector::DkimSelector;
pub use verify::{
    CheckedRecord, DnsLookup, DomainEvent, DomainStatus, LookupError, RecordStatus, Verification,
    verify_domain,
};
