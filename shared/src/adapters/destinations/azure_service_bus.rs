//! The Azure Service Bus courier: `POST {resource}/messages` (REST "Send Message") with a
//! shared access signature made from the subscription's sealed key.
//!
//! Opening a key costs a KMS call and a token is valid for an hour, so both are kept per warm
//! instance: opened keys by their sealed bytes, tokens by resource and key until
//! [`SAS_REFRESH_BEFORE`] before they expire.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use async_trait::async_trait;

use crate::adapters::connect::{self, Lookup};
use crate::adapters::destinations::CourierParts;
use crate::adapters::webhook_http::read_answer;
use crate::common::account::AccountId;
use crate::common::clock::Clock;
use crate::common::destination::AddressPolicy;
use crate::common::seal::{SealError, SecretSealer};
use crate::common::secret::{SealedSecret, Secret};
use crate::events::delivery::DeliverError;
use crate::events::delivery::MAX_RESPONSE_BODY;
use crate::events::delivery::outcome::{ATTEMPT_TIMEOUT, Verdict};
use crate::events::destination::azure_service_bus::{
    SAS_REFRESH_BEFORE, SAS_VALIDITY, ServiceBusDestination, broker_properties, classify,
    custom_properties, sas_token,
};
use crate::events::destination::{AllowedEndpoints, Courier, Destination, Outbound, Report};

/// At most this many opened keys and tokens are kept; past it the cache starts over.
const MAX_CACHED: usize = 10_000;

/// What a token is for: the resource URI, the key's name and the sealed key.
type TokenFor = (String, String, Vec<u8>);

/// A token and when it expires (Unix seconds).
struct CachedToken {
    token: Arc<Secret>,
    expires_at: i64,
}

pub struct ServiceBusCourier {
    client: reqwest::Client,
    sealer: Arc<dyn SecretSealer>,
    clock: Arc<dyn Clock>,
    allowed: AllowedEndpoints,
    /// Opened keys by their sealed bytes.
    keys: Mutex<HashMap<Vec<u8>, Arc<Secret>>>,
    /// Tokens by resource URI, key name and sealed key.
    tokens: Mutex<HashMap<TokenFor, CachedToken>>,
}

fn bounded_insert<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, k: K, v: V) {
    if map.len() >= MAX_CACHED {
        map.clear();
    }
    map.insert(k, v);
}

impl ServiceBusCourier {
    /// Sends through `policy` (every address checked at connect time) to the public cloud or
    /// an endpoint in `allowed`.
    pub fn new(
        sealer: Arc<dyn SecretSealer>,
        clock: Arc<dyn Clock>,
        policy: AddressPolicy,
        lookup: Arc<Lookup>,
        allowed: AllowedEndpoints,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: connect::http_client(
                policy,
                lookup,
                ATTEMPT_TIMEOUT,
                concat!("Herald-Events/", env!("CARGO_PKG_VERSION")),
            )?,
            sealer,
            clock,
            allowed,
            keys: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    async fn key(
        &self,
        account: &AccountId,
        sealed: &SealedSecret,
    ) -> Result<Arc<Secret>, DeliverError> {
        if let Some(k) = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(sealed.as_bytes())
        {
            return Ok(k.clone());
        }
        let key = Arc::new(self.sealer.open(account, sealed).await?);
        bounded_insert(
            &mut self.keys.lock().unwrap_or_else(PoisonError::into_inner),
            sealed.as_bytes().to_vec(),
            key.clone(),
        );
        Ok(key)
    }

    /// A token for the destination's entity, valid for at least [`SAS_REFRESH_BEFORE`].
    async fn token(
        &self,
        account: &AccountId,
        d: &ServiceBusDestination,
    ) -> Result<Arc<Secret>, DeliverError> {
        let resource = d.resource_uri();
        let cache_key = (
            resource.clone(),
            d.key_name.as_str().to_owned(),
            d.key.as_bytes().to_vec(),
        );
        let now = self.clock.now().unix_timestamp();
        if let Some(t) = self
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&cache_key)
            .filter(|t| t.expires_at - SAS_REFRESH_BEFORE.whole_seconds() > now)
        {
            return Ok(t.token.clone());
        }
        let key = self.key(account, &d.key).await?;
        let expires_at = now + SAS_VALIDITY.whole_seconds();
        let token = Arc::new(sas_token(&resource, &d.key_name, &key, expires_at));
        bounded_insert(
            &mut self.tokens.lock().unwrap_or_else(PoisonError::into_inner),
            cache_key,
            CachedToken {
                token: token.clone(),
                expires_at,
            },
        );
        Ok(token)
    }
}

/// Why a request got no answer, and whether that passes.
fn request_error(e: &reqwest::Error) -> (Verdict, String) {
    if let Some(blocked) = connect::blocked_in(e) {
        return (
            Verdict::Fail,
            format!("Herald may not connect there: {blocked}"),
        );
    }
    if e.is_timeout() {
        return (
            Verdict::Retry,
            format!("Service Bus did not answer within {ATTEMPT_TIMEOUT:?}"),
        );
    }
    (Verdict::Retry, crate::error_chain(e))
}

#[async_trait]
impl Courier for ServiceBusCourier {
    async fn send(
        &self,
        destination: &Destination,
        outbound: &Outbound<'_>,
    ) -> Result<Report, DeliverError> {
        let Destination::AzureServiceBus(d) = destination else {
            return Err(DeliverError::Misrouted(destination.kind().as_str()));
        };
        let url = d.messages_url();
        let properties = custom_properties(outbound);
        let mut report = Report {
            target: url.clone(),
            request_headers: properties
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            response: None,
            verdict: Verdict::Fail,
            error: None,
            duration: std::time::Duration::ZERO,
        };
        let brokered = broker_properties(outbound);
        report
            .request_headers
            .insert("BrokerProperties".into(), brokered.clone());
        report
            .request_headers
            .insert("content-type".into(), "application/json".into());
        // The operator may have narrowed the list since the subscription was saved.
        if let Some(endpoint) = &d.endpoint
            && let Err(refusal) = self.allowed.check(endpoint)
        {
            report.error = Some(refusal);
            return Ok(report);
        }
        let token = match self.token(outbound.account_id, d).await {
            Ok(t) => t,
            // A key that no longer opens will not open on a retry either.
            Err(DeliverError::Seal(SealError::Unreadable)) => {
                report.error = Some(
                    "the subscription's SAS key cannot be opened: save the subscription again \
                     with the key"
                        .into(),
                );
                return Ok(report);
            }
            Err(e) => return Err(e),
        };
        let mut request = self
            .client
            .post(&url)
            .header(reqwest::header::AUTHORIZATION, token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("BrokerProperties", brokered)
            .body(outbound.body.to_owned());
        for (name, value) in &properties {
            request = request.header(*name, value);
        }
        let started = Instant::now();
        let result = match request.send().await {
            Ok(response) => read_answer(response, MAX_RESPONSE_BODY).await,
            Err(e) => Err(e),
        };
        report.duration = started.elapsed();
        match result {
            Ok(response) => {
                let (verdict, error) = classify(response.status, &response.body, d);
                report.verdict = verdict;
                report.error = error;
                report.response = Some(response);
            }
            Err(e) => {
                let (verdict, error) = request_error(&e);
                report.verdict = verdict;
                report.error = Some(error);
            }
        }
        Ok(report)
    }
}

pub fn courier(parts: &CourierParts) -> Result<Arc<dyn Courier>, reqwest::Error> {
    Ok(Arc::new(ServiceBusCourier::new(
        parts.sealer.clone(),
        parts.clock.clone(),
        parts.policy.clone(),
        parts.lookup.clone(),
        parts.allowed.clone(),
    )?))
}
