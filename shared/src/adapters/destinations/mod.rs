//! The couriers of cloud destinations (see [`crate::events::destination`]): Google Pub/Sub and
//! Azure Service Bus through their REST APIs, SQS, SNS and EventBridge through the AWS SDK with
//! an assumed role. Each is built once per warm instance and keeps what is costly to get
//! (access tokens, assumed-role credentials, opened keys) until shortly before it expires.

pub mod aws;
pub mod azure_service_bus;
pub mod google_pubsub;

use std::sync::Arc;

use crate::adapters::connect::Lookup;
use crate::common::clock::Clock;
use crate::common::destination::AddressPolicy;
use crate::common::seal::SecretSealer;
use crate::events::destination::AllowedEndpoints;

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
