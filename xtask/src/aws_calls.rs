//! A counting proxy in front of the emulated AWS: the functions of the local stack reach moto
//! through it, and it counts every call by the function that made it (`app/{function}` in the
//! SDK's user agent) and by operation (`dynamodb:PutItem`, `sqs:SendMessageBatch`, ...).
//! `GET /__herald/aws-calls` answers the counts so far, which is how tests and the benchmark
//! measure what a unit of work costs in AWS calls.
//!
//! It also makes moto answer two things as AWS would, for the tests of Herald's AWS
//! destinations: `sts:AssumeRole` is refused unless the role's trust policy allows it (see
//! [`crate::trust`]), and an SQS queue whose name contains [`THROTTLED_MARK`] answers its first
//! [`THROTTLED_SENDS`] SendMessage calls with a throttling error, as a busy queue does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::sent::SentLog;

pub const COUNTS_PATH: &str = "/__herald/aws-calls";

/// Queues whose name contains this are throttled at first.
pub const THROTTLED_MARK: &str = "throttled";
/// How many SendMessage calls such a queue throttles: the SDK's three attempts of one call,
/// so that the call fails and the caller's own retry is what delivers.
pub const THROTTLED_SENDS: u32 = 3;

type Counts = BTreeMap<String, BTreeMap<String, u64>>;

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    counts: Arc<Mutex<Counts>>,
    /// SendMessage calls throttled so far, by queue URL.
    throttled: Arc<Mutex<BTreeMap<String, u32>>>,
    sent: SentLog,
}

impl Proxy {
    /// Whether to answer this SendMessage with a throttling error (see [`THROTTLED_MARK`]).
    fn throttles(&self, op: &str, body: &[u8]) -> bool {
        if op != "sqs:SendMessage" {
            return false;
        }
        let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let Some(queue) = request["QueueUrl"].as_str() else {
            return false;
        };
        let name = queue.rsplit('/').next().unwrap_or_default();
        if !name.contains(THROTTLED_MARK) {
            return false;
        }
        let mut throttled = self
            .throttled
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = throttled.entry(queue.to_owned()).or_default();
        *count += 1;
        *count <= THROTTLED_SENDS
    }
}

/// SQS's throttling error, in its JSON protocol.
fn throttled() -> Response {
    (
        StatusCode::BAD_REQUEST,
        [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amzn-query-error", "RequestThrottled;Sender"),
        ],
        r#"{"__type":"com.amazonaws.sqs#RequestThrottled","message":"Rate exceeded"}"#,
    )
        .into_response()
}

/// Records a message the functions handed to AWS to send: an SES email or an SNS SMS.
fn record_sent(sent: &SentLog, op: &str, body: &[u8]) {
    match op {
        "ses:SendEmail" => {
            let request: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let simple = &request["Content"]["Simple"];
            let to = &request["Destination"]["ToAddresses"];
            let from = request["FromEmailAddress"].as_str().unwrap_or("?");
            let subject = simple["Subject"]["Data"].as_str().unwrap_or_default();
            sent.record(
                "email",
                serde_json::json!({
                    "via": "ses",
                    "from": from,
                    "to": to,
                    "subject": subject,
                    "text": simple["Body"]["Text"]["Data"],
                    "html": simple["Body"]["Html"]["Data"],
                }),
                &format!("ses from {from} to {to}: {subject:?}"),
            );
        }
        "sns:Publish" => {
            let form: BTreeMap<String, String> = url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            if let Some(to) = form.get("PhoneNumber") {
                let text = form.get("Message").cloned().unwrap_or_default();
                sent.record(
                    "sms",
                    serde_json::json!({"provider": "sns", "to": to, "text": text}),
                    &format!("sns to {to}: {text:?}"),
                );
            }
        }
        _ => {}
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The function a call came from: `app/{name}` in the SDK's user agent.
fn caller(headers: &HeaderMap) -> String {
    ["x-amz-user-agent", "user-agent"]
        .iter()
        .filter_map(|h| header(headers, h))
        .flat_map(str::split_whitespace)
        .find_map(|part| part.strip_prefix("app/"))
        .unwrap_or("other")
        .to_owned()
}

/// `service:Operation`: the service from SigV4's credential scope, the operation from the
/// JSON protocols' `X-Amz-Target`, the query protocol's `Action`, or the REST method and path.
fn operation(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> String {
    let service = header(headers, "authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unknown");
    let action = header(headers, "x-amz-target")
        .and_then(|t| t.rsplit('.').next())
        .map(str::to_owned)
        .or_else(|| {
            url::form_urlencoded::parse(body)
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_else(|| match (method.as_str(), uri.path()) {
            ("POST", "/v2/email/outbound-emails") => "SendEmail".to_owned(),
            (m, p) => format!("{m} {p}"),
        });
    format!("{service}:{action}")
}

async fn forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = operation(&method, &uri, &headers, &body);
    *proxy
        .counts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(caller(&headers))
        .or_default()
        .entry(op.clone())
        .or_default() += 1;
    if op == "sts:AssumeRole"
        && let Some(refusal) =
            crate::trust::refusal(&proxy.http, &proxy.upstream, &headers, &body).await
    {
        return refusal;
    }
    if proxy.throttles(&op, &body) {
        return throttled();
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let body_copy = body.clone();
    let mut request = proxy
        .http
        .request(method, format!("{}{path}", proxy.upstream))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            if status.is_success() {
                record_sent(&proxy.sent, &op, &body_copy);
            }
            let mut headers = answer.headers().clone();
            headers.remove("content-length");
            headers.remove("transfer-encoding");
            let body = answer.bytes().await.unwrap_or_default();
            (status, headers, body).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

async fn counts(State(proxy): State<Proxy>) -> axum::Json<Counts> {
    axum::Json(
        proxy
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone(),
    )
}

/// Serves the proxy on `listener`, forwarding to `upstream` (moto).
pub async fn serve(listener: tokio::net::TcpListener, upstream: String, sent: SentLog) {
    let proxy = Proxy {
        upstream,
        http: reqwest::Client::new(),
        counts: Arc::default(),
        throttled: Arc::default(),
        sent,
    };
    let app = Router::new()
        .route(COUNTS_PATH, get(counts))
        .fallback(forward)
        .with_state(proxy);
    let _ = axum::serve(listener, app).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_named_by_function_and_operation() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-amz-user-agent",
            "aws-sdk-rust/1.3.9 ua/2.1 api/dynamodb/1.104.0 os/linux lang/rust/1.91.0 app/send-dispatch"
                .parse()
                .expect("valid"),
        );
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261124/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00"
                .parse()
                .expect("valid"),
        );
        h.insert(
            "x-amz-target",
            "DynamoDB_20120810.PutItem".parse().expect("valid"),
        );
        let uri: Uri = "/".parse().expect("valid");
        assert_eq!(caller(&h), "send-dispatch");
        assert_eq!(
            operation(&Method::POST, &uri, &h, b"{}"),
            "dynamodb:PutItem"
        );
        h.remove("x-amz-target");
        assert_eq!(
            operation(
                &Method::POST,
                &uri,
                &h,
                b"Action=Publish&Version=2010-03-31"
            ),
            "dynamodb:Publish"
        );
        let ses: Uri = "/v2/email/outbound-emails".parse().expect("valid");
        assert_eq!(
            operation(&Method::POST, &ses, &h, b"{}"),
            "dynamodb:SendEmail"
        );
        assert_eq!(caller(&HeaderMap::new()), "other");
    }
}
