//! An HTTP client for the API of the local stack, with development tokens, that checks every
//! response against the OpenAPI contract.

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::contract::Contract;
use crate::{HTTP_TIMEOUT, stack_var};

/// A message log record's attempts, each as (provider, outcome).
pub fn attempts(record: &Value) -> Vec<(String, String)> {
    record["attempts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["provider"].as_str().unwrap_or_default().to_owned(),
                a["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

pub struct Api {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn etag(&self) -> String {
        self.headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no ETag in {self:?}"))
            .to_owned()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The fields named in a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["field"].as_str().map(str::to_owned))
            .collect()
    }
}

/// Claims for a development token.
pub struct Claims<'a> {
    pub accounts: &'a str,
    pub internal: bool,
    /// Seconds from now; negative for an expired token.
    pub expires_in: i64,
    /// Sign with another key (a forged token).
    pub wrong_key: bool,
}

/// A key no issuer publishes, for forged tokens.
fn forger_key() -> &'static [u8] {
    static KEY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
            .unwrap_or_else(|e| panic!("a key: {e}"));
        key.to_pkcs1_der()
            .unwrap_or_else(|e| panic!("DER: {e}"))
            .as_bytes()
            .to_vec()
    })
}

/// Signs `claims` (RS256) as the local issuer does, or with another key under the same key id.
pub fn sign(claims: &Value, forged: bool) -> String {
    let key = if forged {
        forger_key().to_vec()
    } else {
        let file = stack_var("HERALD_TEST_JWT_KEY_FILE");
        std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
    };
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(stack_var("HERALD_TEST_JWT_KID"));
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_rsa_der(&key),
    )
    .unwrap_or_else(|e| panic!("signing a token: {e}"))
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The claims of a valid token for `accounts`, to change before signing.
pub fn claims(accounts: &str, internal: bool) -> Value {
    let now = now();
    let mut body = json!({
        "sub": "test",
        "iss": stack_var("HERALD_TEST_JWT_ISSUER"),
        "aud": stack_var("HERALD_TEST_JWT_AUDIENCE"),
        "iat": now,
        "exp": now + 3600,
        "herald:accounts": accounts,
    });
    if internal {
        body["scope"] = json!("herald:internal");
    }
    body
}

pub fn token(c: Claims<'_>) -> String {
    let mut body = claims(c.accounts, c.internal);
    body["exp"] = json!(now() + c.expires_in);
    sign(&body, c.wrong_key)
}

impl Api {
    /// A client whose token administers `accounts` (space-separated).
    pub fn for_accounts(accounts: &str) -> Self {
        Self::with_token(Some(token(Claims {
            accounts,
            internal: false,
            expires_in: 3600,
            wrong_key: false,
        })))
    }

    /// A client for an internal service (may send messages) administering `accounts`.
    pub fn internal(accounts: &str) -> Self {
        Self::with_token(Some(token(Claims {
            accounts,
            internal: true,
            expires_in: 3600,
            wrong_key: false,
        })))
    }

    pub fn with_token(token: Option<String>) -> Self {
        Self {
            base: stack_var("HERALD_TEST_API_URL"),
            http: reqwest::Client::builder()
                .timeout(HTTP_TIMEOUT)
                .build()
                .unwrap_or_else(|e| panic!("http client: {e}")),
            token,
        }
    }

    /// Sends a request; `body` is sent as JSON unless it is a raw string with its content type.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Body>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req = match body {
            None => req,
            Some(Body::Json(v)) => req.json(&v),
            Some(Body::Raw(content_type, bytes)) => {
                req.header("content-type", content_type).body(bytes)
            }
        };
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: reading the body: {e}"));
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{method} {path} {status}: body is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        let reply = Reply {
            status,
            headers,
            body,
        };
        Contract::get().check(
            method.as_str(),
            path,
            status,
            reply.content_type(),
            &reply.body,
        );
        reply
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(Body::Json(body)), &[])
            .await
    }

    pub async fn put_if(&self, path: &str, body: Value, if_match: &str) -> Reply {
        self.send(
            Method::PUT,
            path,
            Some(Body::Json(body)),
            &[("if-match", if_match)],
        )
        .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(Body::Json(body)), &[])
            .await
    }

    /// A message's log record once it has left `queued` (the local stack's pumps poll every
    /// second).
    pub async fn settled(&self, account: &str, channel: &str, id: &str) -> Value {
        for _ in 0..120 {
            let record = self
                .get(&format!("/accounts/{account}/logs/{channel}/{id}"))
                .await;
            if record.body["status"] != "queued" {
                return record.body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        panic!("message {id} is still queued after 30 s");
    }

    /// Saves `account`'s SMS settings: sender name `Acme`, with these providers.
    pub async fn save_sms_settings(&self, account: &str, primary: &str, secondary: Option<&str>) {
        let reply = self
            .put(
                &format!("/accounts/{account}/sms-settings"),
                json!({"senderName": "Acme", "primaryProvider": primary,
                       "secondaryProvider": secondary}),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }

    /// Sends a message (`channel` is `sms` or `email`), which must be accepted; its id.
    pub async fn send_message(&self, account: &str, channel: &str, body: Value) -> String {
        let reply = self
            .post(&format!("/accounts/{account}/messages/{channel}"), body)
            .await;
        assert_eq!(reply.status, 202, "{:?}", reply.body);
        reply.body["id"].as_str().expect("id").to_owned()
    }

    /// Makes a subscription for `account`, which must be created; the reply, with its id.
    pub async fn subscribe(&self, account: &str, body: Value) -> Reply {
        let reply = self
            .post(&format!("/accounts/{account}/subscriptions"), body)
            .await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        reply
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None, &[]).await
    }
}

pub enum Body {
    Json(Value),
    Raw(&'static str, Vec<u8>),
}
