//! A local webhook receiver for `cargo xtask dev`: `POST /hooks` (or any path under it) answers
//! 204, records the request in the sent log, and says whether its Standard Webhooks signature
//! verifies. The inbox checks it as a receiver would, with the subscription's secret, which it
//! reads as the operator can: the subscription from the local DynamoDB, its sealed secrets
//! opened with the local KMS key.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use base64::Engine;
use herald::adapters::dynamo::subscriptions::DynamoSubscriptionStore;
use herald::adapters::kms::KmsSealer;
use herald::common::account::AccountId;
use herald::common::seal::SecretSealer;
use herald::events::subscription::{SubscriptionId, SubscriptionStore};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

use crate::sent::SentLog;

/// Opens the secrets of a subscription, once the stack's resources exist.
pub struct Secrets {
    pub store: DynamoSubscriptionStore,
    pub sealer: KmsSealer,
}

#[derive(Clone)]
struct Inbox {
    sent: SentLog,
    secrets: Arc<OnceLock<Secrets>>,
}

/// The inbox's routes, and the slot its secrets' source goes in once the stack is provisioned.
pub fn router(sent: SentLog) -> (Router, Arc<OnceLock<Secrets>>) {
    let secrets = Arc::new(OnceLock::new());
    let inbox = Inbox {
        sent,
        secrets: secrets.clone(),
    };
    let router = Router::new()
        .route("/hooks", post(receive))
        .route("/hooks/{*rest}", post(receive))
        .with_state(inbox);
    (router, secrets)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether one of `signatures` (`v1,<base64> v1,<base64>`) signs `id.timestamp.body` under
/// one of the secrets (`whsec_<base64>`), as the Standard Webhooks specification computes it.
pub fn verifies(
    secrets: &[String],
    id: &str,
    timestamp: &str,
    body: &[u8],
    signatures: &str,
) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    secrets.iter().any(|secret| {
        let Ok(key) = b64.decode(secret.strip_prefix("whsec_").unwrap_or(secret)) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&key) else {
            return false;
        };
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        let expected = b64.encode(mac.finalize().into_bytes());
        signatures
            .split_whitespace()
            .filter_map(|s| s.strip_prefix("v1,"))
            .any(|s| s == expected)
    })
}

impl Inbox {
    /// The signing secrets of the subscription a delivery id (`{eventId}-{subscriptionId}`)
    /// names, opened; `None` when it cannot be found.
    async fn secrets_for(&self, account: &str, delivery_id: &str) -> Option<Vec<String>> {
        let source = self.secrets.get()?;
        let account = AccountId::parse(account).ok()?;
        let id = SubscriptionId::parse(delivery_id.rsplit('-').next()?).ok()?;
        let subscription = source.store.get(&account, &id).await.ok()??;
        let mut opened = Vec::new();
        for secret in subscription.secrets() {
            opened.push(
                source
                    .sealer
                    .open(&account, &secret.sealed)
                    .await
                    .ok()?
                    .expose()
                    .to_owned(),
            );
        }
        Some(opened)
    }
}

async fn receive(
    State(inbox): State<Inbox>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let envelope: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = header(&headers, "webhook-id").unwrap_or_default();
    let signature = match (
        header(&headers, "webhook-signature"),
        header(&headers, "webhook-timestamp"),
    ) {
        (None, _) => "unsigned",
        (Some(_), None) => "does not verify (no webhook-timestamp)",
        (Some(signatures), Some(timestamp)) => {
            let account = envelope["accountId"].as_str().unwrap_or_default();
            match inbox.secrets_for(account, id).await {
                None => "not checked (subscription not found)",
                Some(secrets) if verifies(&secrets, id, timestamp, &body, signatures) => "verified",
                Some(_) => "does not verify",
            }
        }
    };
    let event = envelope["eventName"].as_str().unwrap_or("?").to_owned();
    inbox.sent.record(
        "webhook",
        json!({
            "path": uri.path(),
            "webhookId": id,
            "eventName": event,
            "signature": signature,
            "headers": {
                "webhook-id": id,
                "webhook-timestamp": header(&headers, "webhook-timestamp"),
                "webhook-signature": header(&headers, "webhook-signature"),
            },
            "body": envelope,
        }),
        &format!("{event} to {} (signature {signature})", uri.path()),
    );
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_example_verifies() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let ts = "1614265330";
        let body = br#"{"test": 2432232314}"#;
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert!(verifies(std::slice::from_ref(&secret), id, ts, body, good));
        assert!(verifies(
            std::slice::from_ref(&secret),
            id,
            ts,
            body,
            &format!("v1,AAAA {good}")
        ));
        assert!(!verifies(&[secret], id, "1614265331", body, good));
    }
}
