//! Accounts' own providers over HTTP: [`HttpCustomProvider`] POSTs each signed message with the
//! providers' timeout, through the address policy's resolver ([`crate::adapters::connect`]) and
//! without following redirects, and reads at most [`connect::MAX_BODY_READ`] of the answer.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use serde_json::Value;

use crate::adapters::connect::{self, Lookup};
use crate::adapters::provider_http::{PROVIDER_TIMEOUT, transport_failure};
use crate::common::destination::{AddressPolicy, check_url};
use crate::messaging::senders::Failure;
use crate::messaging::senders::custom::{Answer, CustomProviderClient, CustomRequest};

/// Its HTTP client is built by the first send through an account's own provider: most
/// dispatchers never make one, and a cold start need not pay for it.
pub struct HttpCustomProvider {
    policy: AddressPolicy,
    lookup: Arc<Lookup>,
    client: OnceLock<reqwest::Client>,
}

impl HttpCustomProvider {
    pub fn new(policy: AddressPolicy, lookup: Arc<Lookup>) -> Self {
        Self {
            policy,
            lookup,
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, Failure> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = connect::http_client(
            self.policy.clone(),
            self.lookup.clone(),
            PROVIDER_TIMEOUT,
            concat!("Herald/", env!("CARGO_PKG_VERSION")),
        )
        .map_err(|e| {
            Failure::temporary(
                format!("Herald could not make its HTTP client: {e}"),
                None,
                Value::Null,
            )
        })?;
        Ok(self.client.get_or_init(|| client))
    }
}

/// A destination the policy refuses will be refused on every try: permanent. Anything else by
/// the providers' transport rules.
fn failure(e: &reqwest::Error) -> Failure {
    match connect::blocked_in(e) {
        Some(blocked) => Failure::permanent(
            format!("the custom provider is refused: {blocked}"),
            None,
            Value::Null,
        ),
        None => transport_failure(e),
    }
}

#[async_trait]
impl CustomProviderClient for HttpCustomProvider {
    async fn post(&self, request: &CustomRequest) -> Result<Answer, Failure> {
        // An address literal never reaches the resolver: checked here, under today's policy.
        check_url(&request.url, &self.policy).map_err(|refusal| {
            Failure::permanent(
                format!("the custom provider's url {refusal}"),
                None,
                Value::Null,
            )
        })?;
        let mut http = self
            .client()?
            .post(request.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(request.body.clone());
        for (name, value) in &request.headers {
            http = http.header(*name, value);
        }
        let response = http.send().await.map_err(|e| failure(&e))?;
        let status = response.status().as_u16();
        // The status settles the outcome; a body cut short leaves only less to keep.
        let body = connect::read_bounded(response)
            .await
            .map(|(bytes, _)| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        Ok(Answer { status, body })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::messaging::senders::FailureKind;

    fn local() -> AddressPolicy {
        AddressPolicy {
            allow_http: true,
            allowed: vec!["127.0.0.0/8".parse().expect("net")],
            ..AddressPolicy::default()
        }
    }

    fn request(url: &str) -> CustomRequest {
        CustomRequest {
            url: url.parse().expect("a URL"),
            headers: vec![("webhook-id", "m-1".to_owned())],
            body: "{}".into(),
        }
    }

    /// A one-request server on loopback answering `reply` after `delay`; its URL.
    async fn server(reply: &'static str, delay: Duration) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}/sms", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            if let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                tokio::time::sleep(delay).await;
                let _ = socket.write_all(reply.as_bytes()).await;
            }
        });
        url
    }

    #[tokio::test]
    async fn answers_come_back_as_status_and_body() {
        let url = server(
            "HTTP/1.1 202 Accepted\r\ncontent-length: 13\r\nconnection: close\r\n\r\n{\"id\": \"p1\"}\n",
            Duration::ZERO,
        )
        .await;
        let client = HttpCustomProvider::new(local(), connect::system_lookup());
        let answer = client.post(&request(&url)).await.expect("answered");
        assert_eq!(answer.status, 202);
        assert_eq!(answer.body.trim(), r#"{"id": "p1"}"#);
    }

    #[tokio::test]
    async fn refused_destinations_are_permanent_and_no_connection_is_temporary() {
        let strict = HttpCustomProvider::new(AddressPolicy::default(), connect::system_lookup());
        let refused = strict
            .post(&request("https://127.0.0.1:9/sms"))
            .await
            .expect_err("refused");
        assert_eq!(refused.kind, FailureKind::Permanent);
        assert!(refused.reason.contains("loopback"), "{}", refused.reason);

        // Nothing listens there.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let closed = format!("http://{}/sms", listener.local_addr().expect("address"));
        drop(listener);
        let client = HttpCustomProvider::new(local(), connect::system_lookup());
        let down = client.post(&request(&closed)).await.expect_err("down");
        assert_eq!(down.kind, FailureKind::Temporary, "{}", down.reason);
    }
}
