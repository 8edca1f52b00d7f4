//! A counting proxy in front of the emulated AWS: the functions of the local stack reach moto
//! through it, and it counts every call by the function that made it (`app/{function}` in the
//! SDK's user agent) and by operation (`dynamodb:PutItem`, `sqs:SendMessageBatch`, ...).
//! `GET /__herald/aws-calls` answers the counts so far, which is how tests and the benchmark
//! measure what a unit of work costs in AWS calls.
//!
//! It also meters what those calls are billed for, and `GET /__herald/aws-capacity` answers it
//! (see [`Usage`]): DynamoDB read and write units by table and index, worked out from the items
//! moto stores because moto cannot report them ([`dynamo`]); SQS requests, each 64 KB of a
//! request's payload being one; and, recorded by the SQS-to-Lambda pumps that reach moto
//! directly ([`crate::pump`]), their receives, deletes and invocations. SNS and SES calls are
//! counted as calls only: their per-message fees are the providers', not Herald's.
//!
//! It also makes moto answer two things as AWS would, for the tests of Herald's AWS
//! destinations: `sts:AssumeRole` is refused unless the role's trust policy allows it (see
//! [`crate::trust`]), and an SQS queue whose name contains [`THROTTLED_MARK`] answers its first
//! [`THROTTLED_SENDS`] SendMessage calls with a throttling error, as a busy queue does.

mod capacity;
mod dynamo;

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
pub const CAPACITY_PATH: &str = "/__herald/aws-capacity";

// The keys of the usage, each a prefix followed by what it counts.
/// Calls the function made through the proxy, by operation (`call dynamodb:PutItem`).
pub const CALL: &str = "call ";
/// DynamoDB write units in thousandths, by table or `table/index`
/// (`wru herald-local-MessagesTable`).
pub const WRU: &str = "wru ";
/// DynamoDB read units in thousandths, by table or `table/index`.
pub const RRU: &str = "rru ";
/// SQS requests as billed (64 KB chunks of payload), by action and queue name
/// (`sqs SendMessageBatch herald-local-DeliveriesQueue`; the action alone when it names no queue).
pub const SQS: &str = "sqs ";
/// What the SQS-to-Lambda pump of the function did for it: `pump sqs:ReceiveMessage`,
/// `pump sqs:DeleteMessageBatch` and `pump lambda:Invoke` (requests and invocations, whole),
/// and `pump records` (the records it handed over, summed over invocations).
pub const PUMP: &str = "pump ";
/// Each 64 KB chunk of an SQS request's payload is billed as one request.
const SQS_CHUNK_BYTES: u64 = 64 * 1024;

/// Queues whose name contains this are throttled at first.
pub const THROTTLED_MARK: &str = "throttled";
/// How many SendMessage calls such a queue throttles: the SDK's three attempts of one call,
/// so that the call fails and the caller's own retry is what delivers.
pub const THROTTLED_SENDS: u32 = 3;

type Counts = BTreeMap<String, BTreeMap<String, u64>>;

/// What the local stack's functions used of AWS, by function, then by key ([`CALL`], [`WRU`],
/// [`RRU`], [`SQS`], [`PUMP`]). Only ever added to, so that a reading before a unit of work and
/// one after it differ by what the unit used. Shared by the proxy and the pumps.
#[derive(Clone, Default)]
pub struct Usage(Arc<Mutex<Counts>>);

impl Usage {
    pub fn add(&self, function: &str, key: &str, amount: u64) {
        if amount == 0 {
            return;
        }
        *self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(function.to_owned())
            .or_default()
            .entry(key.to_owned())
            .or_default() += amount;
    }

    /// Records what a pump did for `function`: `what` is an operation or `records`.
    pub fn pump(&self, function: &str, what: &str, amount: u64) {
        self.add(function, &format!("{PUMP}{what}"), amount);
    }

    fn snapshot(&self) -> Counts {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The calls alone, by function and operation.
    fn calls(&self) -> Counts {
        self.snapshot()
            .into_iter()
            .filter_map(|(function, keys)| {
                let calls: BTreeMap<String, u64> = keys
                    .into_iter()
                    .filter_map(|(k, n)| Some((k.strip_prefix(CALL)?.to_owned(), n)))
                    .collect();
                (!calls.is_empty()).then_some((function, calls))
            })
            .collect()
    }
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    usage: Usage,
    meter: dynamo::Meter,
    /// SendMessage calls throttled so far, by queue URL.
    throttled: Arc<Mutex<BTreeMap<String, u32>>>,
    sent: SentLog,
}

impl Proxy {
    /// Whether to answer this SendMessage with a throttling error (see [`THROTTLED_MARK`]).
    fn throttles(&self, op: &str, request: &serde_json::Value) -> bool {
        if op != "sqs:SendMessage" {
            return false;
        }
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
/// `request` is the body as JSON (SES's protocol), `body` as sent (SNS's is a form).
fn record_sent(sent: &SentLog, op: &str, request: &serde_json::Value, body: &[u8]) {
    match op {
        "ses:SendEmail" => {
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

/// The SQS requests a call is billed as: one per started 64 KB of the messages it sends (bodies
/// and attributes, summed over a batch's entries), and one for any other action.
fn sqs_requests(action: &str, request: &serde_json::Value) -> u64 {
    let message = |m: &serde_json::Value| -> u64 {
        let attributes: u64 = m["MessageAttributes"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, a)| {
                let text = |k: &str| a[k].as_str().map_or(0, str::len);
                (name.len() + text("DataType") + text("StringValue") + text("BinaryValue")) as u64
            })
            .sum();
        m["MessageBody"].as_str().map_or(0, str::len) as u64 + attributes
    };
    let payload = match action {
        "SendMessage" => message(request),
        "SendMessageBatch" => request["Entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(message)
            .sum(),
        _ => 0,
    };
    payload.div_ceil(SQS_CHUNK_BYTES).max(1)
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
    let function = caller(&headers);
    // The JSON protocols' request (null for the query protocol's forms), parsed once.
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    proxy.usage.add(&function, &format!("{CALL}{op}"), 1);
    if op == "sts:AssumeRole"
        && let Some(refusal) =
            crate::trust::refusal(&proxy.http, &proxy.upstream, &headers, &body).await
    {
        return refusal;
    }
    if proxy.throttles(&op, &request) {
        return throttled();
    }
    if let Some(action) = op.strip_prefix("sqs:") {
        let key = match request["QueueUrl"].as_str() {
            Some(url) => format!("{SQS}{action} {}", url.rsplit('/').next().unwrap_or(url)),
            None => format!("{SQS}{action}"),
        };
        proxy
            .usage
            .add(&function, &key, sqs_requests(action, &request));
    }
    let credentials = dynamo::Credentials::of(&headers);
    let metered = match op.strip_prefix("dynamodb:") {
        Some(action) => proxy.meter.before(&credentials, action, &request).await,
        None => None,
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let body_copy = body.clone();
    let mut upstream = proxy
        .http
        .request(method, format!("{}{path}", proxy.upstream))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            upstream = upstream.header(name, value);
        }
    }
    match upstream.send().await {
        Ok(answer) => {
            let status = answer.status();
            if status.is_success() {
                record_sent(&proxy.sent, &op, &request, &body_copy);
            }
            let mut headers = answer.headers().clone();
            headers.remove("content-length");
            headers.remove("transfer-encoding");
            let body = answer.bytes().await.unwrap_or_default();
            // Metered before answering, so that what the caller did next is never read
            // back as this call's outcome, and a reading taken once the caller is done
            // includes it.
            if let Some(pending) = metered {
                for (key, amount) in proxy
                    .meter
                    .after(&credentials, pending, status.is_success(), &body)
                    .await
                {
                    proxy.usage.add(&function, &key, amount);
                }
            }
            (status, headers, body).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

async fn counts(State(proxy): State<Proxy>) -> axum::Json<Counts> {
    axum::Json(proxy.usage.calls())
}

async fn capacity(State(proxy): State<Proxy>) -> axum::Json<Counts> {
    axum::Json(proxy.usage.snapshot())
}

/// Serves the proxy on `listener`, forwarding to `upstream` (moto) and recording into `usage`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    upstream: String,
    sent: SentLog,
    usage: Usage,
) {
    let http = reqwest::Client::new();
    let proxy = Proxy {
        meter: dynamo::Meter::new(upstream.clone(), http.clone()),
        upstream,
        http,
        usage,
        throttled: Arc::default(),
        sent,
    };
    let app = Router::new()
        .route(COUNTS_PATH, get(counts))
        .route(CAPACITY_PATH, get(capacity))
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

    #[test]
    fn sqs_requests_are_billed_per_64_kb_of_payload() {
        let small = serde_json::json!({"QueueUrl": "q", "MessageBody": "{}"});
        assert_eq!(sqs_requests("SendMessage", &small), 1);
        let big = serde_json::json!({"QueueUrl": "q", "MessageBody": "x".repeat(64 * 1024 + 1)});
        assert_eq!(sqs_requests("SendMessage", &big), 2);
        // A batch is billed on its entries' payloads summed.
        let entry = |id: &str| serde_json::json!({"Id": id, "MessageBody": "x".repeat(30_000)});
        let batch = serde_json::json!({"QueueUrl": "q", "Entries": [entry("0"), entry("1")]});
        assert_eq!(sqs_requests("SendMessageBatch", &batch), 1);
        let batch = serde_json::json!({"QueueUrl": "q",
                                       "Entries": [entry("0"), entry("1"), entry("2")]});
        assert_eq!(sqs_requests("SendMessageBatch", &batch), 2);
        let attributes = serde_json::json!({"MessageBody": "x".repeat(65_530),
            "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "job"}}});
        assert_eq!(sqs_requests("SendMessage", &attributes), 2);
        assert_eq!(sqs_requests("DeleteMessage", &serde_json::json!({})), 1);
    }

    #[test]
    fn calls_are_served_apart_from_the_rest_of_the_usage() {
        let usage = Usage::default();
        usage.add("api", "call dynamodb:PutItem", 1);
        usage.add("api", "wru t", 1000);
        usage.pump("notify", "lambda:Invoke", 1);
        usage.add("notify", "sqs ReceiveMessage", 0);
        let calls = usage.calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls["api"]["dynamodb:PutItem"], 1);
        assert_eq!(usage.snapshot()["notify"]["pump lambda:Invoke"], 1);
        assert_eq!(usage.snapshot()["notify"].len(), 1);
    }
}
