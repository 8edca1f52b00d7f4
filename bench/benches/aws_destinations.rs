//! SQS deliveries through the AWS courier against a bare SDK loop:
//! - `aws_sqs_deliver/courier x10`: ten sends at once through the courier (assumed-role
//!   credentials and client from its caches, attributes built, the answer classified) to an
//!   in-process server speaking SQS's JSON protocol (and STS's, for the one AssumeRole).
//! - `aws_sqs_deliver/bare sdk x10`: ten SendMessage calls of the same body and attributes with
//!   a plain SDK client, to the same server at the same concurrency.
//!
//! The ratio is the courier's overhead per SQS delivery. `cargo xtask bench` prints it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use herald::adapters::destinations::aws::AwsCourier;
use herald::common::account::AccountId;
use herald::common::clock::{SystemClock, to_millis};
use herald::events::delivery::DeliveryId;
use herald::events::delivery::outcome::Verdict;
use herald::events::destination::aws::{AwsRole, ExternalId, QueueUrl, RoleArn};
use herald::events::destination::{
    AllowedEndpoints, Courier, Destination, Endpoint, Outbound, SqsDestination,
};
use herald::events::name::EventName;
use herald::events::subscription::{Subscription, SubscriptionId, SubscriptionName};
use herald::events::webhook::{EventId, TagFilter};
use serde_json::json;
use time::OffsetDateTime;

const QUEUE_URL: &str = "https://sqs.us-east-1.amazonaws.com/210987654321/herald-events";

/// SendMessage (JSON protocol) and AssumeRole (query protocol), answered at once.
async fn fake_aws(headers: HeaderMap, _body: Bytes) -> axum::response::Response {
    if headers.get("x-amz-target").is_some() {
        return (
            [("content-type", "application/x-amz-json-1.0")],
            r#"{"MessageId":"5fea7756-0ea4-451a-a703-a558b933e274","MD5OfMessageBody":"00"}"#,
        )
            .into_response();
    }
    (
        [("content-type", "text/xml")],
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>\
         <Credentials><AccessKeyId>ASIABENCH</AccessKeyId><SecretAccessKey>secret</SecretAccessKey>\
         <SessionToken>token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>\
         <AssumedRoleUser><Arn>arn:aws:sts::210987654321:assumed-role/herald/bench</Arn>\
         <AssumedRoleId>AROABENCH:bench</AssumedRoleId></AssumedRoleUser></AssumeRoleResult>\
         </AssumeRoleResponse>",
    )
        .into_response()
}

async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let origin = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, Router::new().fallback(fake_aws)).await;
    });
    origin
}

fn config(origin: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(origin)
        .credentials_provider(aws_sdk_sqs::config::SharedCredentialsProvider::new(
            aws_sdk_sqs::config::Credentials::new("herald", "secret", None, None, "bench"),
        ))
        .timeout_config(herald::adapters::aws::timeouts())
        .build()
}

fn subscription(origin: &str, now: OffsetDateTime) -> Subscription {
    Subscription {
        id: SubscriptionId::new(now),
        account_id: AccountId::parse("acme").expect("valid"),
        name: SubscriptionName::parse("bench").expect("valid"),
        destination: Destination::AwsSqs(SqsDestination {
            queue_url: QueueUrl::parse(QUEUE_URL).expect("valid"),
            role: AwsRole {
                role_arn: RoleArn::parse("arn:aws:iam::210987654321:role/herald").expect("valid"),
                external_id: ExternalId::generate(),
            },
            endpoint: Some(Endpoint::parse(origin).expect("an origin")),
        }),
        tag_filter: TagFilter::parse(vec![]).expect("valid"),
        events: serde_json::from_value(json!("all")).expect("valid"),
        active: true,
        disabled_reason: None,
        created_at: to_millis(now),
        updated_at: to_millis(now),
        version: 1,
    }
}

const CONCURRENCY: usize = 10;

fn deliveries(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let origin = runtime.block_on(serve());
    let base = config(&origin);
    let courier = AwsCourier::new(
        aws_sdk_sts::Client::new(&base),
        base.clone(),
        AllowedEndpoints::parse("http://127.0.0.1:*").expect("valid"),
        Arc::new(SystemClock),
    );
    let bare = aws_sdk_sqs::Client::new(&base);
    let now = OffsetDateTime::now_utc();
    let s = subscription(&origin, now);
    let event_id = EventId::new(now);
    let delivery_id = DeliveryId::of(&event_id, &s.id);
    let name = EventName::parse("order.completed").expect("valid");
    let body = json!({"id": event_id, "eventName": "order.completed",
        "eventData": {"orderId": "42", "documents": ["contract.pdf"], "signer": "Åse"}})
    .to_string();
    let outbound = Outbound {
        account_id: &s.account_id,
        subscription_id: &s.id,
        delivery_id: &delivery_id,
        event_id: &event_id,
        event_name: &name,
        body: &body,
        at: now,
    };

    let mut group = c.benchmark_group("aws_sqs_deliver");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(CONCURRENCY as u64));
    group.bench_function("courier x10", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    let reports =
                        join_all((0..CONCURRENCY).map(|_| courier.send(&s.destination, &outbound)))
                            .await;
                    assert!(
                        reports
                            .iter()
                            .all(|r| r.as_ref().is_ok_and(|r| r.verdict == Verdict::Delivered)),
                        "{reports:?}"
                    );
                }
                started.elapsed()
            })
        });
    });
    group.bench_function("bare sdk x10", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    let results = join_all((0..CONCURRENCY).map(|_| {
                        let mut send = bare.send_message().queue_url(QUEUE_URL).message_body(&body);
                        for (k, v) in outbound.attributes() {
                            send = send.message_attributes(
                                k,
                                aws_sdk_sqs::types::MessageAttributeValue::builder()
                                    .data_type("String")
                                    .string_value(v)
                                    .build()
                                    .expect("attribute"),
                            );
                        }
                        send.send()
                    }))
                    .await;
                    assert!(results.iter().all(Result::is_ok), "{results:?}");
                }
                started.elapsed()
            })
        });
    });
    group.finish();
}

criterion_group!(benches, deliveries);
criterion_main!(benches);
