//! Webhook destinations: an https URL and the secrets that sign each request, and the courier
//! that signs and POSTs.
//!
//! The URL is stored as text and parsed against the operator's current
//! [`AddressPolicy`] each time it is used, so a tightened policy applies to subscriptions
//! saved before it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::clock::{Clock, rfc3339, rfc3339_serde, to_millis};
use crate::common::seal::{SealError, SecretSealer};
use crate::common::secret::SealedSecret;
use crate::events::delivery::DeliverError;
use crate::events::delivery::client::{SendError, WebhookClient};
use crate::events::destination::{Courier, Destination, Outbound, Report};
use crate::events::webhook::{
    AddressPolicy, AttemptOutcome, Verdict, WebhookSecret, WebhookUrl, sign,
};

/// How long a rotated-out secret keeps signing beside its successor, so that receivers can
/// switch without dropping a request.
pub const ROTATION_OVERLAP: time::Duration = time::Duration::hours(24);

/// At most this many secrets sign at once: the current one and those it replaced within
/// [`ROTATION_OVERLAP`]. Each adds a signature to every request (`webhook-signature`), and a
/// receiver tries each; the reference sets no number. Past it, a rotation is refused until
/// the oldest retires, rather than cutting a replaced secret's day short.
pub const MAX_SIGNING_SECRETS: usize = 5;

/// A rotation refused: [`MAX_SIGNING_SECRETS`] already sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{MAX_SIGNING_SECRETS} secrets already sign this subscription's requests; the oldest \
     stops at {}, and a rotation is possible from then", rfc3339(*.oldest_retires_at)
)]
pub struct TooManySecrets {
    pub oldest_retires_at: OffsetDateTime,
}

/// One signing secret, sealed. `retires_at` is set when a newer secret replaced it: until then
/// it keeps signing beside the newer one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSecret {
    pub sealed: SealedSecret,
    #[serde(with = "rfc3339_serde")]
    pub created_at: OffsetDateTime,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "rfc3339_serde::option"
    )]
    pub retires_at: Option<OffsetDateTime>,
}

impl StoredSecret {
    fn signs_at(&self, now: OffsetDateTime) -> bool {
        self.retires_at.is_none_or(|t| t > now)
    }
}

/// A webhook: where to POST, and the secrets that sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDestination {
    /// Checked against the URL policy when saved and again before every delivery.
    pub url: String,
    /// Newest first. Empty: requests are not signed.
    #[serde(default)]
    pub secrets: Vec<StoredSecret>,
}

impl WebhookDestination {
    /// The secrets that sign a request made at `now`, newest first.
    pub fn signing_secrets(&self, now: OffsetDateTime) -> impl Iterator<Item = &StoredSecret> {
        self.secrets.iter().filter(move |s| s.signs_at(now))
    }

    /// Makes `sealed` the newest secret. The current one keeps signing for
    /// [`ROTATION_OVERLAP`], and so does every one it replaced for its own
    /// [`ROTATION_OVERLAP`]; secrets already retired are dropped. Returns when the previous
    /// secret stops signing, if there was one. Refused, changing nothing, while
    /// [`MAX_SIGNING_SECRETS`] still sign.
    pub fn rotate(
        &mut self,
        sealed: SealedSecret,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, TooManySecrets> {
        let signing = self.signing_secrets(now).count();
        if signing >= MAX_SIGNING_SECRETS {
            // All but the newest of them were replaced, so at least one retires.
            let oldest_retires_at = self
                .signing_secrets(now)
                .filter_map(|s| s.retires_at)
                .min()
                .unwrap_or(now);
            return Err(TooManySecrets { oldest_retires_at });
        }
        self.secrets.retain(|s| s.signs_at(now));
        let mut previous_retires = None;
        if let Some(current) = self.secrets.first_mut() {
            let retires_at = to_millis(now + ROTATION_OVERLAP);
            current.retires_at = Some(retires_at);
            previous_retires = Some(retires_at);
        }
        self.secrets.insert(
            0,
            StoredSecret {
                sealed,
                created_at: to_millis(now),
                retires_at: None,
            },
        );
        Ok(previous_retires)
    }

    /// When each replaced secret that still signs stops, the latest first.
    pub fn replaced_secrets_retire_at(&self, now: OffsetDateTime) -> Vec<OffsetDateTime> {
        self.signing_secrets(now)
            .filter_map(|s| s.retires_at)
            .collect()
    }
}

/// What a response keeps of its headers: enough to debug, bounded so that a delivery's record
/// always fits DynamoDB's item limit.
const MAX_HEADERS_KEPT: usize = 40;
const MAX_HEADER_VALUE: usize = 256;

/// Signs and POSTs the envelope.
pub struct WebhookCourier {
    pub client: Arc<dyn WebhookClient>,
    pub sealer: Arc<dyn SecretSealer>,
    pub clock: Arc<dyn Clock>,
    pub policy: AddressPolicy,
    /// The name of the reference-scheme signature header (`X-Herald-Signature`).
    pub signature_header: String,
    /// Secrets opened once per warm instance: opening costs a KMS call.
    pub opened: Mutex<BTreeMap<Vec<u8>, Arc<WebhookSecret>>>,
}

impl WebhookCourier {
    async fn open(
        &self,
        account: &AccountId,
        sealed: &SealedSecret,
    ) -> Result<Arc<WebhookSecret>, DeliverError> {
        let key = sealed.as_bytes().to_vec();
        if let Some(s) = self
            .opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(s.clone());
        }
        let secret = self.sealer.open(account, sealed).await?;
        let secret =
            Arc::new(WebhookSecret::parse(secret.expose()).map_err(|_| SealError::Unreadable)?);
        let mut opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        if opened.len() >= 10_000 {
            opened.clear();
        }
        opened.insert(key, secret.clone());
        Ok(secret)
    }
}

/// A response header value cut to [`MAX_HEADER_VALUE`] bytes, on a character boundary.
fn bounded(mut v: String) -> String {
    if v.len() > MAX_HEADER_VALUE {
        let mut end = MAX_HEADER_VALUE;
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        v.truncate(end);
    }
    v
}

#[async_trait]
impl Courier for WebhookCourier {
    async fn send(
        &self,
        destination: &Destination,
        outbound: &Outbound<'_>,
    ) -> Result<Report, DeliverError> {
        let Some(webhook) = destination.webhook() else {
            return Err(DeliverError::Misrouted(destination.kind().as_str()));
        };
        let mut report = Report {
            target: webhook.url.clone(),
            request_headers: BTreeMap::new(),
            response: None,
            verdict: Verdict::Fail,
            error: None,
            duration: std::time::Duration::ZERO,
        };
        let url = match WebhookUrl::parse(&webhook.url, &self.policy) {
            Ok(url) => url,
            Err(refusal) => {
                report.error = Some(format!("the URL is refused: {refusal}"));
                return Ok(report);
            }
        };
        let now = self.clock.now();
        let mut secrets = Vec::new();
        for stored in webhook.signing_secrets(now) {
            match self.open(outbound.account_id, &stored.sealed).await {
                Ok(s) => secrets.push(s),
                // A secret that no longer opens will not open on a retry either.
                Err(DeliverError::Seal(SealError::Unreadable)) => {
                    report.error = Some(
                        "the subscription's signing secret cannot be opened; rotate it".into(),
                    );
                    return Ok(report);
                }
                Err(e) => return Err(e),
            }
        }
        let secrets: Vec<&WebhookSecret> = secrets.iter().map(AsRef::as_ref).collect();
        let signed = sign(
            &secrets,
            outbound.delivery_id.as_str(),
            now.unix_timestamp(),
            outbound.body.as_bytes(),
        );
        let headers: Vec<(String, String)> = signed
            .pairs(&self.signature_header)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        report.request_headers = headers.iter().cloned().collect();
        report
            .request_headers
            .insert("content-type".into(), "application/json".into());
        let started = Instant::now();
        let result = self.client.post(url.url(), &headers, outbound.body).await;
        report.duration = started.elapsed();
        let outcome = match result {
            Ok(mut response) => {
                response.headers = std::mem::take(&mut response.headers)
                    .into_iter()
                    .take(MAX_HEADERS_KEPT)
                    .map(|(k, v)| (k, bounded(v)))
                    .collect();
                let status = response.status;
                report.response = Some(response);
                AttemptOutcome::Status(status)
            }
            Err(e) => {
                report.error = Some(e.to_string());
                match e {
                    SendError::TimedOut(_) => AttemptOutcome::TimedOut,
                    SendError::Network(_) => AttemptOutcome::NetworkError,
                    SendError::Blocked(_) => AttemptOutcome::Blocked,
                }
            }
        };
        report.verdict = outcome.verdict();
        if report.verdict == Verdict::DisableSubscription {
            report.error = Some(GONE.to_owned());
        }
        Ok(report)
    }
}

/// Why a webhook subscription is disabled.
pub const GONE: &str = "the endpoint answered 410 Gone";

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn sealed(b: u8) -> SealedSecret {
        SealedSecret::from_bytes(vec![b; 4])
    }

    fn subscription() -> WebhookDestination {
        WebhookDestination {
            url: "https://hooks.acme.example/herald".into(),
            secrets: vec![],
        }
    }

    fn at(s: &WebhookDestination, t: OffsetDateTime) -> Vec<SealedSecret> {
        s.signing_secrets(t).map(|x| x.sealed.clone()).collect()
    }

    #[test]
    fn rotation_keeps_the_previous_secret_for_a_day() {
        let mut s = subscription();
        let t0 = datetime!(2030-01-01 00:00:00 UTC);
        assert_eq!(s.rotate(sealed(1), t0), Ok(None));
        let t1 = t0 + time::Duration::hours(1);
        assert_eq!(
            s.rotate(sealed(2), t1),
            Ok(Some(datetime!(2030-01-02 01:00:00 UTC)))
        );
        assert_eq!(at(&s, t1), vec![sealed(2), sealed(1)]);
        assert_eq!(at(&s, t1 + time::Duration::hours(25)), vec![sealed(2)]);
    }

    #[test]
    fn every_replaced_secret_keeps_its_own_day() {
        let mut s = subscription();
        let t0 = datetime!(2030-01-01 00:00:00 UTC);
        let hours = |h| t0 + time::Duration::hours(h);
        assert_eq!(s.rotate(sealed(1), t0), Ok(None));
        s.rotate(sealed(2), hours(1)).expect("rotated");
        // A second rotation within the overlap: secret 1 still has its day.
        s.rotate(sealed(3), hours(2)).expect("rotated");
        assert_eq!(at(&s, hours(2)), vec![sealed(3), sealed(2), sealed(1)]);
        assert_eq!(
            s.replaced_secrets_retire_at(hours(2)),
            [
                datetime!(2030-01-02 02:00:00 UTC),
                datetime!(2030-01-02 01:00:00 UTC)
            ]
        );
        // Each retires 24 hours after it was replaced, not before.
        assert_eq!(at(&s, hours(24)), vec![sealed(3), sealed(2), sealed(1)]);
        assert_eq!(at(&s, hours(25)), vec![sealed(3), sealed(2)]);
        assert_eq!(at(&s, hours(26)), vec![sealed(3)]);
        // Retired secrets are dropped at the next rotation.
        s.rotate(sealed(4), hours(27)).expect("rotated");
        assert_eq!(s.secrets.len(), 2);
    }

    #[test]
    fn at_most_five_secrets_sign_and_a_sixth_waits_for_the_oldest_to_retire() {
        let mut s = subscription();
        let t0 = datetime!(2030-01-01 00:00:00 UTC);
        let minutes = |m| t0 + time::Duration::minutes(m);
        for i in 0..5u8 {
            s.rotate(sealed(i), minutes(i64::from(i))).expect("rotated");
        }
        let before = s.clone();
        let refused = s.rotate(sealed(9), minutes(10));
        assert_eq!(
            refused,
            Err(TooManySecrets {
                oldest_retires_at: datetime!(2030-01-02 00:01:00 UTC)
            })
        );
        assert!(
            refused
                .expect_err("refused")
                .to_string()
                .contains("the oldest stops at 2030-01-02T00:01:00Z,"),
            "the message names the time as the API writes times"
        );
        assert_eq!(s, before, "a refused rotation changes nothing");
        // Once the oldest replaced secret retires, a rotation goes through.
        s.rotate(sealed(9), minutes(24 * 60 + 1)).expect("rotated");
        assert_eq!(at(&s, minutes(24 * 60 + 1)).len(), 5);
    }
}
