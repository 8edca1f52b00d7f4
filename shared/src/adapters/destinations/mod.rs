//! The couriers of cloud destinations (see [`crate::events::destination`]): Google Pub/Sub and
//! Azure Service Bus through their REST APIs, SQS, SNS and EventBridge through the AWS SDK with
//! an assumed role. Each is built once per warm instance and keeps what is costly to get
//! (access tokens, assumed-role credentials, opened keys) until shortly before it expires.

pub mod aws;
pub mod azure_service_bus;
pub mod google_pubsub;

use std::sync::Arc;

use async_trait::async_trait;

use crate::adapters::connect::Lookup;
use crate::common::clock::Clock;
use crate::common::destination::AddressPolicy;
use crate::common::seal::SecretSealer;
use crate::events::delivery::DeliverError;
use crate::events::destination::{AllowedEndpoints, Courier, Destination, Outbound, Report};

/// What every courier is built from.
#[derive(Clone)]
pub struct CourierParts {
    /// Opens the credentials sealed with the subscription.
    pub sealer: Arc<dyn SecretSealer>,
    pub clock: Arc<dyn Clock>,
    /// The address policy every connection goes through.
    pub policy: AddressPolicy,
    /// The endpoints besides the clouds' public ones the operator allows.
    pub allowed: AllowedEndpoints,
    pub lookup: Arc<Lookup>,
    /// Herald's own AWS clients: STS assumes the accounts' roles.
    pub aws: Arc<crate::adapters::aws::Clients>,
}

/// A courier built when the first delivery of its kind needs it: most deployments use one or
/// two kinds, and a cold start should not build the HTTP and SDK clients of the others.
pub struct CourierOnFirstUse {
    kind: &'static str,
    parts: CourierParts,
    make: fn(&CourierParts) -> Result<Arc<dyn Courier>, String>,
    built: std::sync::OnceLock<Arc<dyn Courier>>,
}

impl CourierOnFirstUse {
    pub fn new(
        kind: &'static str,
        parts: CourierParts,
        make: fn(&CourierParts) -> Result<Arc<dyn Courier>, String>,
    ) -> Self {
        Self {
            kind,
            parts,
            make,
            built: std::sync::OnceLock::new(),
        }
    }

    /// Whether a delivery needed it yet.
    pub fn is_built(&self) -> bool {
        self.built.get().is_some()
    }

    fn get(&self) -> Result<&Arc<dyn Courier>, DeliverError> {
        if let Some(c) = self.built.get() {
            return Ok(c);
        }
        let courier =
            (self.make)(&self.parts).map_err(|e| DeliverError::Unavailable(self.kind, e))?;
        Ok(self.built.get_or_init(|| courier))
    }
}

#[async_trait]
impl Courier for CourierOnFirstUse {
    async fn send(
        &self,
        destination: &Destination,
        outbound: &Outbound<'_>,
    ) -> Result<Report, DeliverError> {
        self.get()?.send(destination, outbound).await
    }
}
