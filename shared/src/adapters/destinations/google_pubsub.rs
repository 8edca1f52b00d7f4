//! The Google Pub/Sub courier: opens the subscription's service-account key, exchanges a signed
//! assertion for an access token at the key's token endpoint, and publishes the envelope to the
//! topic through the REST API. Opened keys and tokens are kept per warm instance: a key costs a
//! KMS call to open, a token a round trip to Google, and a token serves for most of an hour.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use async_trait::async_trait;
use url::Url;

use crate::adapters::connect;
use crate::adapters::destinations::CourierParts;
use crate::adapters::webhook_http::{cut, read_answer};
use crate::common::account::AccountId;
use crate::common::clock::Clock;
use crate::common::destination::{AddressPolicy, check_url};
use crate::common::seal::{SealError, SecretSealer};
use crate::events::delivery::DeliverError;
use crate::events::delivery::MAX_RESPONSE_BODY;
use crate::events::delivery::client::WebhookResponse;
use crate::events::delivery::outcome::{ATTEMPT_TIMEOUT, Verdict};
use crate::events::destination::google_pubsub::{
    AssertionClaims, GOOGLE_TOKEN_URI, Grant, PubSubDestination, ServiceAccountKey, TokenAnswer,
    publish_answer, publish_attributes, publish_body, token_answer, token_request_form,
};
use crate::events::destination::{AllowedEndpoints, Courier, Destination, Outbound, Report};

/// How much of the token endpoint's answer is read: a token with room to spare.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

/// Keys and tokens kept per warm instance, at most this many of each.
const MAX_CACHED: usize = 10_000;

/// Publishes to Pub/Sub topics with the accounts' service-account keys.
pub struct PubSubCourier {
    http: reqwest::Client,
    sealer: Arc<dyn SecretSealer>,
    clock: Arc<dyn Clock>,
    policy: AddressPolicy,
    allowed: AllowedEndpoints,
    /// Keys opened, by their sealed bytes.
    keys: Mutex<BTreeMap<Vec<u8>, Arc<ServiceAccountKey>>>,
    /// Tokens, by the key's (`client_email`, `private_key_id`).
    tokens: Mutex<HashMap<(String, String), Grant>>,
}

/// An attempt that ends before the topic answers: what the delivery log records.
struct Stop {
    verdict: Verdict,
    error: String,
    response: Option<WebhookResponse>,
}

impl Stop {
    fn fail(error: String) -> Self {
        Self {
            verdict: Verdict::Fail,
            error,
            response: None,
        }
    }
}

impl PubSubCourier {
    pub fn new(parts: &CourierParts) -> Result<Self, reqwest::Error> {
        let http = connect::http_client(
            parts.policy.clone(),
            parts.lookup.clone(),
            ATTEMPT_TIMEOUT,
            concat!("Herald-Events/", env!("CARGO_PKG_VERSION")),
        )?;
        Ok(Self {
            http,
            sealer: parts.sealer.clone(),
            clock: parts.clock.clone(),
            policy: parts.policy.clone(),
            allowed: parts.allowed.clone(),
            keys: Mutex::new(BTreeMap::new()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    async fn key(
        &self,
        account: &AccountId,
        dest: &PubSubDestination,
    ) -> Result<Result<Arc<ServiceAccountKey>, Stop>, DeliverError> {
        let cache_key = dest.key.as_bytes().to_vec();
        if let Some(k) = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&cache_key)
        {
            return Ok(Ok(k.clone()));
        }
        let unreadable = || {
            Stop::fail(
                "the subscription's service-account key cannot be opened: upload the key again"
                    .into(),
            )
        };
        let secret = match self.sealer.open(account, &dest.key).await {
            Ok(s) => s,
            // A key that does not open now will not open on a retry either.
            Err(SealError::Unreadable) => return Ok(Err(unreadable())),
            Err(e) => return Err(e.into()),
        };
        let Some(key) = ServiceAccountKey::from_secret(&secret) else {
            return Ok(Err(unreadable()));
        };
        let key = Arc::new(key);
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if keys.len() >= MAX_CACHED {
            keys.clear();
        }
        keys.insert(cache_key, key.clone());
        Ok(Ok(key))
    }

    fn cached_token(&self, key: &ServiceAccountKey) -> Option<Grant> {
        let now = self.clock.now();
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&token_cache_key(key))
            .filter(|g| g.usable_at(now))
            .cloned()
    }

    fn forget_token(&self, key: &ServiceAccountKey) {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&token_cache_key(key));
    }

    /// A new token for `key`, from its token endpoint.
    async fn mint(&self, key: &ServiceAccountKey) -> Result<Grant, Stop> {
        let uri = Url::parse(&key.token_uri).map_err(|_| {
            Stop::fail("the key's token_uri is not a URL: upload a valid key".into())
        })?;
        // The key was checked when it was saved; the operator's lists may have tightened since.
        if key.token_uri != GOOGLE_TOKEN_URI {
            if !self.allowed.allows(&uri) {
                return Err(Stop::fail(format!(
                    "the key's token_uri {} is not an endpoint this Herald may use: upload a key \
                     whose token_uri is {GOOGLE_TOKEN_URI}",
                    key.token_uri
                )));
            }
            if let Err(refusal) = check_url(&uri, &self.policy) {
                return Err(Stop::fail(format!(
                    "the key's token_uri {} is refused: {refusal}",
                    key.token_uri
                )));
            }
        }
        let now = self.clock.now();
        let assertion = sign_assertion(key, now).map_err(|_| {
            Stop::fail(format!(
                "the private key of the service account key {} cannot sign: upload a valid key",
                key.private_key_id
            ))
        })?;
        let response = self
            .http
            .post(uri)
            .form(&token_request_form(&assertion))
            .send()
            .await
            .map_err(|e| unanswered(&e, "the token endpoint"))?;
        let status = response.status().as_u16();
        // Read whole (a token may be longer than what the log keeps of a body); only
        // refusals, cut to size, are kept for the log.
        let mut answer = read_answer(response, MAX_TOKEN_RESPONSE)
            .await
            .map_err(|e| unanswered(&e, "the token endpoint"))?;
        let verdict = token_answer(key, status, &answer.body, now);
        if (200..300).contains(&status) {
            answer.body.clear();
        } else {
            answer.truncated |= cut(&mut answer.body, MAX_RESPONSE_BODY);
        }
        match verdict {
            TokenAnswer::Granted(grant) => {
                let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
                if tokens.len() >= MAX_CACHED {
                    tokens.clear();
                }
                tokens.insert(token_cache_key(key), grant.clone());
                Ok(grant)
            }
            TokenAnswer::Refused(error) => Err(Stop {
                verdict: Verdict::Fail,
                error,
                response: Some(answer),
            }),
            TokenAnswer::Unavailable(error) => Err(Stop {
                verdict: Verdict::Retry,
                error,
                response: Some(answer),
            }),
        }
    }

    async fn publish(&self, url: &str, grant: &Grant, body: &str) -> Result<WebhookResponse, Stop> {
        let response = self
            .http
            .post(url)
            .bearer_auth(grant.token.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| unanswered(&e, "Pub/Sub"))?;
        read_answer(response, MAX_RESPONSE_BODY)
            .await
            .map_err(|e| unanswered(&e, "Pub/Sub"))
    }

    /// Everything past the checks: a token, then the publish (once more with a new token if a
    /// kept one was refused: it may have been revoked).
    async fn attempt(
        &self,
        dest: &PubSubDestination,
        key: &ServiceAccountKey,
        body: &str,
    ) -> Result<WebhookResponse, Stop> {
        let url = dest.publish_url();
        if let Some(grant) = self.cached_token(key) {
            let response = self.publish(&url, &grant, body).await?;
            if response.status != 401 {
                return Ok(response);
            }
            self.forget_token(key);
        }
        let grant = self.mint(key).await?;
        let response = self.publish(&url, &grant, body).await?;
        if response.status == 401 {
            self.forget_token(key);
        }
        Ok(response)
    }
}

/// The assertion `key` exchanges for a token at `now`: its claims, signed RS256 with the key,
/// which the header names (`kid`) so that Google checks it against the right public key.
pub fn sign_assertion(
    key: &ServiceAccountKey,
    now: time::OffsetDateTime,
) -> Result<String, jsonwebtoken::errors::Error> {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(key.private_key_id.clone());
    let signer = jsonwebtoken::EncodingKey::from_rsa_der(&pkcs1_der(&key.private_key)?);
    jsonwebtoken::encode(&header, &AssertionClaims::new(key, now), &signer)
}

/// Keys come as PKCS#8 PEM; the signer takes PKCS#1 DER.
fn pkcs1_der(pem: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, jsonwebtoken::errors::Error> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let invalid = |_| jsonwebtoken::errors::ErrorKind::InvalidRsaKey("not an RSA key".into());
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem).map_err(invalid)?;
    let der = key
        .to_pkcs1_der()
        .map_err(|_| jsonwebtoken::errors::ErrorKind::InvalidRsaKey("not an RSA key".into()))?;
    Ok(zeroize::Zeroizing::new(der.as_bytes().to_vec()))
}

fn token_cache_key(key: &ServiceAccountKey) -> (String, String) {
    (key.client_email.clone(), key.private_key_id.clone())
}

/// No answer from `who`: refused by the address policy (final), or a timeout or network error
/// (retried).
fn unanswered(e: &reqwest::Error, who: &str) -> Stop {
    if let Some(blocked) = connect::blocked_in(e) {
        return Stop::fail(format!("{who} is refused: {blocked}"));
    }
    let error = if e.is_timeout() {
        format!("{who} did not answer within {ATTEMPT_TIMEOUT:?}")
    } else {
        format!("{who} could not be reached: {}", crate::error_chain(e))
    };
    Stop {
        verdict: Verdict::Retry,
        error,
        response: None,
    }
}

#[async_trait]
impl Courier for PubSubCourier {
    async fn send(
        &self,
        destination: &Destination,
        outbound: &Outbound<'_>,
    ) -> Result<Report, DeliverError> {
        let crate::events::destination::Destination::GooglePubsub(dest) = destination else {
            return Err(DeliverError::Misrouted(destination.kind().as_str()));
        };
        let mut report = Report {
            target: dest.publish_url(),
            request_headers: publish_attributes(outbound, dest.ordering_key.as_ref()),
            response: None,
            verdict: Verdict::Fail,
            error: None,
            duration: std::time::Duration::ZERO,
        };
        if let Some(endpoint) = &dest.endpoint {
            // Saved subscriptions meet the operator's current lists, not those of their day.
            let refused = self.allowed.check(endpoint).err().or_else(|| {
                check_url(endpoint.url(), &self.policy)
                    .err()
                    .map(|r| format!("the endpoint {} is refused: {r}", endpoint.origin()))
            });
            if let Some(error) = refused {
                report.error = Some(error);
                return Ok(report);
            }
        }
        let key = match self.key(outbound.account_id, dest).await? {
            Ok(key) => key,
            Err(stop) => {
                report.error = Some(stop.error);
                return Ok(report);
            }
        };
        let body = publish_body(outbound, dest.ordering_key.as_ref());
        let started = Instant::now();
        let result = self.attempt(dest, &key, &body).await;
        report.duration = started.elapsed();
        match result {
            Ok(response) => {
                let (verdict, error) = publish_answer(dest, response.status, &response.body);
                report.verdict = verdict;
                report.error = error;
                report.response = Some(response);
            }
            Err(stop) => {
                report.verdict = stop.verdict;
                report.error = Some(stop.error);
                report.response = stop.response;
            }
        }
        Ok(report)
    }
}

pub fn courier(parts: &CourierParts) -> Result<Arc<dyn Courier>, reqwest::Error> {
    Ok(Arc::new(PubSubCourier::new(parts)?))
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1::EncodeRsaPublicKey;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    use time::macros::datetime;

    use super::*;
    use crate::events::destination::google_pubsub::{ASSERTION_LIFETIME_SECS, PUBSUB_SCOPE};

    #[test]
    fn the_assertion_is_signed_with_the_key_and_names_it() {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("a key");
        let key = ServiceAccountKey {
            client_email: "herald@acme-prod.iam.gserviceaccount.com".into(),
            private_key_id: "0123abcd".into(),
            private_key: private
                .to_pkcs8_pem(LineEnding::LF)
                .expect("pem")
                .to_string(),
            token_uri: GOOGLE_TOKEN_URI.into(),
        };
        let now = datetime!(2030-01-01 00:00:00 UTC);
        let assertion = sign_assertion(&key, now).expect("signed");

        let header = jsonwebtoken::decode_header(&assertion).expect("a header");
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some("0123abcd"));
        let public = private.to_public_key().to_pkcs1_der().expect("der");
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[GOOGLE_TOKEN_URI]);
        validation.set_issuer(&["herald@acme-prod.iam.gserviceaccount.com"]);
        // The claims are for a fixed moment long past: the signature is what is checked here.
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<AssertionClaims>(
            &assertion,
            &jsonwebtoken::DecodingKey::from_rsa_der(public.as_bytes()),
            &validation,
        )
        .expect("verified with the key's public half")
        .claims;
        assert_eq!(
            claims,
            AssertionClaims {
                iss: key.client_email.clone(),
                sub: key.client_email.clone(),
                scope: PUBSUB_SCOPE.into(),
                aud: GOOGLE_TOKEN_URI.into(),
                iat: now.unix_timestamp(),
                exp: now.unix_timestamp() + ASSERTION_LIFETIME_SECS,
            }
        );

        let other = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("a key");
        let other = other.to_public_key().to_pkcs1_der().expect("der");
        assert!(
            jsonwebtoken::decode::<AssertionClaims>(
                &assertion,
                &jsonwebtoken::DecodingKey::from_rsa_der(other.as_bytes()),
                &validation,
            )
            .is_err(),
            "another key's public half does not verify it"
        );
    }

    #[test]
    fn a_key_that_is_not_rsa_does_not_sign() {
        let key = ServiceAccountKey {
            client_email: "herald@acme-prod.iam.gserviceaccount.com".into(),
            private_key_id: "0123abcd".into(),
            private_key: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(),
            token_uri: GOOGLE_TOKEN_URI.into(),
        };
        assert!(sign_assertion(&key, datetime!(2030-01-01 00:00:00 UTC)).is_err());
    }
}
