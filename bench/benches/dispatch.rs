//! `send-dispatch`'s SQS handler on a batch of SMS, with in-memory stores and a Twilio stand-in
//! on loopback (the real Twilio adapter over reqwest). Two questions:
//! - does a batch of 10 take about one provider latency (records dispatched concurrently), not
//!   ten? `sms_batch/10 @50ms` against `sms_batch/1 @50ms`;
//! - how many messages does one invocation dispatch per second when the provider answers at
//!   once? `sms_batch/10 @0ms`, as throughput.
//!
//! `cargo xtask bench` runs this and prints the ratios.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use herald::adapters::provider_http::http_client;
use herald::adapters::smtp::SmtpMailer;
use herald::adapters::twilio::Twilio;
use herald::common::account::AccountId;
use herald::common::clock::SystemClock;
use herald::common::config::{EnvReader, PlatformConfig};
use herald::common::etag::Precondition;
use herald::common::queue::MemoryQueue;
use herald::common::seal::local::LocalSealer;
use herald::common::secret::Secret;
use herald::lambda::dispatch::handler::send_batch;
use herald::messaging::dispatch::SendJob;
use herald::messaging::dispatch::email::EmailDispatcher;
use herald::messaging::dispatch::sms::SmsDispatcher;
use herald::messaging::log::memory::MemoryMessageLog;
use herald::messaging::log::{Content, MessageId, MessageLog, MessageRecord};
use herald::messaging::message::{Channel, PhoneNumber, SmsMessage, SmsText};
use herald::messaging::senders::email::{EmailSender, OutgoingEmail};
use herald::messaging::senders::sms::SmsSender;
use herald::messaging::senders::{Accepted, Failure};
use herald::messaging::settings::Settings;
use herald::messaging::settings::memory::MemorySettingsStore;
use herald::messaging::sms::{SenderName, SmsProvider, SmsSettings};
use serde_json::json;
use time::OffsetDateTime;

/// Email is not benchmarked here; SMS batches never reach it.
struct NoEmail;

#[async_trait]
impl EmailSender for NoEmail {
    async fn send(&self, _: &OutgoingEmail) -> Result<Accepted, Failure> {
        Err(Failure::permanent(
            "not in this benchmark",
            None,
            json!(null),
        ))
    }
}

struct Bench {
    log: Arc<MemoryMessageLog>,
    sms: SmsDispatcher,
    email: EmailDispatcher,
    account: AccountId,
}

async fn bench_setup(provider_latency: Duration) -> Bench {
    let base_url = herald_bench::provider::twilio(provider_latency)
        .await
        .expect("a loopback port");
    let log = Arc::new(MemoryMessageLog::new());
    let settings = Settings::new(Arc::new(MemorySettingsStore::new()));
    let account = AccountId::parse("acme").expect("valid");
    let sms_settings = SmsSettings::new(
        SenderName::parse("Acme").expect("valid"),
        SmsProvider::Twilio,
        None,
    )
    .expect("valid");
    settings
        .save_sms(&account, &sms_settings, &Precondition::Any)
        .await
        .expect("saved");
    let twilio = Twilio::new(
        http_client().expect("client"),
        base_url,
        "AC00000000000000000000000000000000",
        Secret::parse("token").expect("valid"),
    );
    let providers: HashMap<SmsProvider, Arc<dyn SmsSender>> =
        HashMap::from([(SmsProvider::Twilio, Arc::new(twilio) as Arc<dyn SmsSender>)]);
    let platform = PlatformConfig::read(&mut EnvReader::new(|name: &str| {
        (name == "HERALD_DEFAULT_EMAIL_DOMAIN").then(|| "mail.example.com".to_owned())
    }))
    .expect("the defaults are valid");
    let custom = Arc::new(herald::adapters::custom_provider::HttpCustomProvider::new(
        platform.destinations.clone(),
        herald::adapters::connect::system_lookup(),
    ));
    let sealer = Arc::new(LocalSealer::random());
    let sms = SmsDispatcher {
        log: log.clone(),
        settings: settings.clone(),
        providers,
        custom: custom.clone(),
        sealer: sealer.clone(),
        failover: Arc::new(MemoryQueue::default()),
        events: herald::events::publish::EventPublisher::new(Arc::new(MemoryQueue::default())),
        clock: Arc::new(SystemClock),
        default_sender: platform.default_sms_sender.clone(),
        default_provider: SmsProvider::Twilio,
        max_receives: 3,
    };
    let email = EmailDispatcher {
        log: log.clone(),
        settings,
        sealer,
        ses: Arc::new(NoEmail),
        smtp: Arc::new(
            SmtpMailer::new(
                platform.destinations.clone(),
                herald::adapters::connect::system_lookup(),
                Vec::new(),
            )
            .expect("client"),
        ),
        custom,
        domains: Arc::new(herald::domains::store::MemoryDomainStore::new()),
        events: herald::events::publish::EventPublisher::new(Arc::new(MemoryQueue::default())),
        clock: Arc::new(SystemClock),
        platform,
        max_receives: 3,
    };
    Bench {
        log,
        sms,
        email,
        account,
    }
}

impl Bench {
    /// Logs `n` queued SMS (not timed) and returns their send-queue batch.
    async fn queue(&self, n: usize) -> aws_lambda_events::event::sqs::SqsEvent {
        let now = OffsetDateTime::now_utc();
        let mut bodies = Vec::with_capacity(n);
        for _ in 0..n {
            let record = MessageRecord::queued(
                MessageId::new(now),
                self.account.clone(),
                Content::Sms(SmsMessage {
                    to: PhoneNumber::parse("+4712345678").expect("valid"),
                    text: SmsText::parse("Your signing link: https://example.com/s/1")
                        .expect("valid"),
                }),
                vec![],
                now,
                time::Duration::days(90),
            );
            self.log.create(&record, None).await.expect("logged");
            let job = SendJob {
                account_id: self.account.clone(),
                channel: Channel::Sms,
                message_id: record.id,
            };
            bodies.push(serde_json::to_value(job).expect("JSON"));
        }
        herald_bench::sqs::event(bodies)
    }

    /// Times `iters` invocations of the handler on fresh batches of `n`.
    async fn run(&self, n: usize, iters: u64) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let event = self.queue(n).await;
            let started = Instant::now();
            let response = send_batch(event, &self.sms, &self.email).await;
            total += started.elapsed();
            assert!(
                response.batch_item_failures.is_empty(),
                "every message is sent"
            );
        }
        total
    }
}

fn sms_batches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("sms_batch");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));

    let slow = runtime.block_on(bench_setup(Duration::from_millis(50)));
    for n in [1usize, 10] {
        group.bench_function(format!("{n} @50ms"), |b| {
            b.iter_custom(|iters| runtime.block_on(slow.run(n, iters)));
        });
    }

    let instant = runtime.block_on(bench_setup(Duration::ZERO));
    group.throughput(Throughput::Elements(10));
    group.bench_function("10 @0ms", |b| {
        b.iter_custom(|iters| runtime.block_on(instant.run(10, iters)));
    });
    group.finish();
}

criterion_group!(benches, sms_batches);
criterion_main!(benches);
