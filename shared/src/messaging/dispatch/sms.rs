//! SMS dispatch: the primary provider first; on a temporary failure the secondary's turn is
//! queued (the `sms-failover` queue) when the account has one, else the queue retries until the
//! attempts run out; a permanent failure is final at once. Either may be the account's own
//! provider (`custom`), reached through its settings.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::common::account::AccountId;
use crate::common::clock::Clock;
use crate::common::queue::JobQueue;
use crate::common::seal::SecretSealer;
use crate::messaging::dispatch::SendJob;
use crate::messaging::log::{Content, MessageLog};
use crate::messaging::message::MessageStatus;
use crate::messaging::senders::custom::CustomProviderClient;
use crate::messaging::senders::sms::{OutgoingSms, SmsSender};
use crate::messaging::senders::{Accepted, Failure, FailureKind, Settled};
use crate::messaging::settings::Settings;
use crate::messaging::sms::{SenderName, SmsProvider, SmsSettings};

use crate::messaging::dispatch::{Attempt, DispatchError, Leg, Outcome};

pub struct SmsDispatcher {
    pub log: Arc<dyn MessageLog>,
    pub settings: Settings,
    pub providers: HashMap<SmsProvider, Arc<dyn SmsSender>>,
    /// Accounts' own providers, and the sealer that opens their signing secrets.
    pub custom: Arc<dyn CustomProviderClient>,
    pub sealer: Arc<dyn SecretSealer>,
    pub failover: Arc<dyn JobQueue<SendJob>>,
    pub clock: Arc<dyn Clock>,
    /// `sms.sent` and `sms.failed` go here.
    pub events: crate::events::publish::EventPublisher,
    /// The sender name of accounts that never set one, and their primary provider.
    pub default_sender: SenderName,
    pub default_provider: SmsProvider,
    /// After this many deliveries of one queue record, a temporary failure is final.
    pub max_receives: u32,
}

impl SmsDispatcher {
    /// Handles one job from the send queue (`Leg::Primary`) or the failover queue
    /// (`Leg::Secondary`); `receive_count` is the queue's count of deliveries of the record.
    pub async fn dispatch(
        &self,
        job: &SendJob,
        leg: Leg,
        receive_count: u32,
    ) -> Result<Outcome, DispatchError> {
        let now = self.clock.now();
        let mut record = match crate::messaging::dispatch::load(self.log.as_ref(), job, now).await?
        {
            crate::messaging::dispatch::Loaded::Ready(record) => *record,
            crate::messaging::dispatch::Loaded::Done(outcome) => return Ok(outcome),
        };
        if leg == Leg::Primary && record.failed_over {
            // The secondary's turn was recorded but perhaps never queued: queue it (again).
            // The secondary leg claims before sending, so a second job sends nothing.
            self.failover.enqueue(job).await?;
            return Ok(Outcome::FailedOver);
        }
        let Content::Sms(sms) = record.message.clone() else {
            tracing::error!(message = %job.message_id, "an SMS job names an email");
            return Ok(Outcome::Skipped);
        };

        if !crate::messaging::dispatch::claim(self.log.as_ref(), &mut record, now).await? {
            return Ok(Outcome::Retry);
        }

        let settings = self.settings.sms(&job.account_id).await?.settings;
        let (sender_name, primary, secondary) = match &settings {
            Some(s) => (
                s.sender_name().clone(),
                s.primary_provider(),
                s.secondary_provider(),
            ),
            None => (self.default_sender.clone(), self.default_provider, None),
        };
        let provider = match leg {
            Leg::Primary => Some(primary),
            Leg::Secondary => secondary,
        };
        let outgoing = OutgoingSms {
            account_id: job.account_id.as_str(),
            message_id: job.message_id.as_str(),
            from: &sender_name,
            to: &sms.to,
            text: &sms.text,
        };
        // The last try went out and no answer came: the provider may have the message. Ask it
        // before sending again; with no way to tell, wait for its receipt.
        if let Some(unsettled) = record.unsettled() {
            let asked = SmsProvider::parse(&unsettled.provider)
                .ok()
                .and_then(|p| self.providers.get(&p).map(|s| (p, s)));
            let settled = match asked {
                Some((_, sender)) => sender.settle(outgoing, unsettled.at).await,
                None => Settled::CannotTell,
            };
            match settled {
                Settled::NotTaken => {}
                Settled::Taken(accepted) => {
                    let now = self.clock.now();
                    let mut attempt = Attempt::started(&unsettled.provider, Some(leg), now);
                    attempt.provider_message_id = Some(accepted.provider_message_id);
                    attempt.response = accepted.response;
                    record.push_attempt(attempt);
                    record.claimed_until = None;
                    record.next_attempt_at = None;
                    record.sent_via = Some(unsettled.provider.clone());
                    record.set_status(MessageStatus::Sent, now, None);
                    self.log.replace(&mut record).await?;
                    tracing::info!(account = %job.account_id, message = %job.message_id, provider = unsettled.provider, "unknown outcome settled: the provider had taken it");
                    crate::messaging::events::publish_status(
                        &self.events,
                        &record,
                        None,
                        None,
                        now,
                    )
                    .await;
                    return Ok(Outcome::Sent);
                }
                Settled::CannotTell => {
                    let now = self.clock.now();
                    record.claimed_until = None;
                    if receive_count < self.max_receives {
                        record.next_attempt_at =
                            crate::messaging::dispatch::next_attempt_at(&Outcome::Retry, now);
                        self.log.replace(&mut record).await?;
                        return Ok(Outcome::Retry);
                    }
                    // Never sent again: it may have been delivered.
                    let reason = format!(
                        "outcome unknown: {} did not answer in time and no receipt came; not sent again, so that it cannot arrive twice",
                        unsettled.provider
                    );
                    record.next_attempt_at = None;
                    record.set_status(MessageStatus::Failed, now, Some(reason.clone()));
                    self.log.replace(&mut record).await?;
                    crate::messaging::events::publish_status(
                        &self.events,
                        &record,
                        Some(reason),
                        None,
                        now,
                    )
                    .await;
                    return Ok(Outcome::Failed);
                }
            }
        }
        let started = Instant::now();
        let at = self.clock.now();
        let mut attempt = Attempt::started(provider.map_or("none", SmsProvider::id), Some(leg), at);
        let result = self
            .send(&job.account_id, provider, settings.as_ref(), outgoing, at)
            .await?;
        attempt.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

        let now = self.clock.now();
        record.claimed_until = None;
        crate::messaging::dispatch::settle(&mut attempt, &result);
        record.push_attempt(attempt);
        let outcome = match result {
            Ok(_) => {
                record.sent_via = provider.map(|p| p.id().to_owned());
                if provider == Some(SmsProvider::Custom) {
                    record.tracking = Some(crate::messaging::custom::TRACKING.to_owned());
                }
                record.set_status(MessageStatus::Sent, now, None);
                Outcome::Sent
            }
            Err(failure) => {
                let can_fail_over = leg == Leg::Primary && secondary.is_some();
                match failure.kind {
                    // Neither the secondary nor a resend until the outcome is settled.
                    FailureKind::Unknown => Outcome::Retry,
                    FailureKind::Temporary if can_fail_over => {
                        record.failed_over = true;
                        Outcome::FailedOver
                    }
                    FailureKind::Temporary if receive_count < self.max_receives => Outcome::Retry,
                    _ => {
                        record.set_status(MessageStatus::Failed, now, Some(failure.reason));
                        Outcome::Failed
                    }
                }
            }
        };
        record.next_attempt_at = crate::messaging::dispatch::next_attempt_at(&outcome, now);
        self.log.replace(&mut record).await?;
        if outcome == Outcome::FailedOver {
            // Recorded first, so a redelivered primary job never sends again; if this enqueue
            // fails the record stays queued and failed-over, and the primary job's redelivery
            // queues the failover (below) without sending.
            self.failover.enqueue(job).await?;
        }
        tracing::info!(
            account = %job.account_id,
            message = %job.message_id,
            provider = provider.map_or("none", SmsProvider::id),
            leg = ?leg,
            outcome = ?outcome,
            "sms dispatched"
        );
        if matches!(outcome, Outcome::Sent | Outcome::Failed) {
            let reason = record.status_history.last().and_then(|c| c.reason.clone());
            crate::messaging::events::publish_status(&self.events, &record, reason, None, now)
                .await;
        }
        Ok(outcome)
    }

    /// Hands the SMS to `provider`: one of the operator's, or the account's own, whose secret
    /// is opened for this send.
    async fn send(
        &self,
        account: &AccountId,
        provider: Option<SmsProvider>,
        settings: Option<&SmsSettings>,
        sms: OutgoingSms<'_>,
        at: time::OffsetDateTime,
    ) -> Result<Result<Accepted, Failure>, DispatchError> {
        let not_configured = |why: String| Failure::permanent(why, None, serde_json::Value::Null);
        Ok(match provider {
            Some(SmsProvider::Custom) => match settings.and_then(SmsSettings::custom_provider) {
                Some(custom) => {
                    crate::messaging::senders::custom::deliver(
                        self.custom.as_ref(),
                        self.sealer.as_ref(),
                        account,
                        custom,
                        sms.message_id,
                        crate::messaging::senders::custom::sms_body(&sms),
                        at,
                    )
                    .await?
                }
                None => Err(not_configured(
                    "the account no longer has a custom provider".to_owned(),
                )),
            },
            Some(p) => match self.providers.get(&p) {
                Some(sender) => sender.send(sms).await,
                None => Err(not_configured(format!(
                    "the provider {p} is not configured by the operator"
                ))),
            },
            None => Err(not_configured(
                "the account no longer has a secondary provider".to_owned(),
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::common::account::AccountId;
    use crate::common::clock::ManualClock;
    use crate::common::destination::AddressPolicy;
    use crate::common::etag::Precondition;
    use crate::common::queue::MemoryQueue;
    use crate::common::seal::local::LocalSealer;
    use crate::common::secret::Secret;
    use crate::events::webhook::{WebhookSecret, verify_standard};
    use crate::messaging::custom::{CustomEndpoint, CustomProvider};
    use crate::messaging::log::memory::MemoryMessageLog;
    use crate::messaging::log::{AttemptOutcome, MessageId, MessageRecord};
    use crate::messaging::message::{Channel, PhoneNumber, SmsMessage, SmsText};
    use crate::messaging::senders::custom::{Answer, CustomRequest};
    use crate::messaging::settings::memory::MemorySettingsStore;

    /// A provider answering from a script (then accepting), counting its sends.
    struct Scripted {
        provider: SmsProvider,
        script: Mutex<VecDeque<FailureKind>>,
        sent: Mutex<Vec<String>>,
        /// What a lookup after an unknown outcome finds.
        lookup: Mutex<Settled>,
    }

    impl Scripted {
        fn new(provider: SmsProvider, script: &[FailureKind]) -> Arc<Self> {
            Arc::new(Self {
                provider,
                script: Mutex::new(script.iter().copied().collect()),
                sent: Mutex::new(Vec::new()),
                lookup: Mutex::new(Settled::CannotTell),
            })
        }

        fn finds(&self, settled: Settled) {
            *self.lookup.lock().expect("lock") = settled;
        }

        fn sends(&self) -> usize {
            self.sent.lock().expect("lock").len()
        }
    }

    #[async_trait]
    impl SmsSender for Scripted {
        fn provider(&self) -> SmsProvider {
            self.provider
        }

        async fn send(&self, sms: OutgoingSms<'_>) -> Result<Accepted, Failure> {
            self.sent
                .lock()
                .expect("lock")
                .push(sms.from.as_str().to_owned());
            match self.script.lock().expect("lock").pop_front() {
                None => Ok(Accepted {
                    provider_message_id: format!("{}-1", self.provider),
                    response: json!({"ok": true}),
                }),
                Some(FailureKind::Temporary) => Err(Failure::temporary(
                    "503 Service Unavailable",
                    Some("20503".into()),
                    json!({"status": 503}),
                )),
                Some(FailureKind::Permanent) => Err(Failure::permanent(
                    "Invalid 'To' Phone Number",
                    Some("21211".into()),
                    json!({"status": 400}),
                )),
                // It took the message, and the answer never came.
                Some(FailureKind::Unknown) => {
                    Err(Failure::unknown("no answer in time", json!(null)))
                }
            }
        }

        async fn settle(&self, _: OutgoingSms<'_>, _: time::OffsetDateTime) -> Settled {
            self.lookup.lock().expect("lock").clone()
        }
    }

    /// An account's own provider answering from a script (then 200), recording each request.
    #[derive(Default)]
    struct OwnProvider {
        script: Mutex<VecDeque<Result<Answer, Failure>>>,
        requests: Mutex<Vec<CustomRequest>>,
    }

    #[async_trait]
    impl CustomProviderClient for OwnProvider {
        async fn post(&self, request: &CustomRequest) -> Result<Answer, Failure> {
            self.requests.lock().expect("lock").push(request.clone());
            self.script
                .lock()
                .expect("lock")
                .pop_front()
                .unwrap_or(Ok(Answer {
                    status: 200,
                    body: String::new(),
                }))
        }
    }

    const OWN_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    struct Fixture {
        dispatcher: SmsDispatcher,
        log: Arc<MemoryMessageLog>,
        failover: Arc<MemoryQueue<SendJob>>,
        twilio: Arc<Scripted>,
        vonage: Arc<Scripted>,
        own: Arc<OwnProvider>,
        job: SendJob,
    }

    async fn fixture(
        secondary: Option<SmsProvider>,
        twilio: &[FailureKind],
        vonage: &[FailureKind],
    ) -> Fixture {
        fixture_with(SmsProvider::Twilio, secondary, twilio, vonage).await
    }

    async fn fixture_with(
        primary: SmsProvider,
        secondary: Option<SmsProvider>,
        twilio: &[FailureKind],
        vonage: &[FailureKind],
    ) -> Fixture {
        let now = datetime!(2030-01-01 00:00:00 UTC);
        let clock = Arc::new(ManualClock::at(now));
        let log = Arc::new(MemoryMessageLog::new());
        let settings = Settings::new(Arc::new(MemorySettingsStore::new()));
        let account = AccountId::parse("acme").expect("valid");
        let sealer = Arc::new(LocalSealer::random());
        let uses_custom = primary == SmsProvider::Custom || secondary == Some(SmsProvider::Custom);
        let custom = if uses_custom {
            let sealed = sealer
                .seal(&account, &Secret::parse(OWN_SECRET).expect("valid"))
                .await
                .expect("sealed");
            Some(CustomProvider {
                url: CustomEndpoint::parse(
                    "https://sms.acme.example/herald",
                    &AddressPolicy::default(),
                )
                .expect("valid"),
                signing_secret: sealed,
            })
        } else {
            None
        };
        let sms_settings = SmsSettings::with_custom_provider(
            SenderName::parse("Acme").expect("valid"),
            primary,
            secondary,
            custom,
        )
        .expect("valid");
        settings
            .save_sms(&account, &sms_settings, &Precondition::Any)
            .await
            .expect("saved");
        let record = MessageRecord::queued(
            MessageId::new(now),
            account.clone(),
            Content::Sms(SmsMessage {
                to: PhoneNumber::parse("+4712345678").expect("valid"),
                text: SmsText::parse("hello").expect("valid"),
            }),
            vec![],
            now,
            time::Duration::days(90),
        );
        log.create(&record, None).await.expect("created");
        let twilio = Scripted::new(SmsProvider::Twilio, twilio);
        let vonage = Scripted::new(SmsProvider::Vonage, vonage);
        let failover = Arc::new(MemoryQueue::default());
        let providers: HashMap<SmsProvider, Arc<dyn SmsSender>> = HashMap::from([
            (SmsProvider::Twilio, twilio.clone() as Arc<dyn SmsSender>),
            (SmsProvider::Vonage, vonage.clone() as Arc<dyn SmsSender>),
        ]);
        let own = Arc::new(OwnProvider::default());
        Fixture {
            dispatcher: SmsDispatcher {
                log: log.clone(),
                settings,
                providers,
                custom: own.clone(),
                sealer,
                failover: failover.clone(),
                clock,
                events: crate::events::publish::EventPublisher::new(Arc::new(
                    MemoryQueue::default(),
                )),
                default_sender: SenderName::parse("Herald").expect("valid"),
                default_provider: SmsProvider::Twilio,
                max_receives: 3,
            },
            log,
            failover,
            twilio,
            vonage,
            own,
            job: SendJob {
                account_id: account,
                channel: Channel::Sms,
                message_id: record.id,
            },
        }
    }

    async fn record(f: &Fixture) -> MessageRecord {
        f.log
            .get(
                &f.job.account_id,
                Channel::Sms,
                &f.job.message_id,
                datetime!(2030-01-01 00:00:00 UTC),
            )
            .await
            .expect("read")
            .expect("present")
    }

    #[tokio::test]
    async fn sends_through_the_primary_once_even_when_redelivered() {
        let f = fixture(Some(SmsProvider::Vonage), &[], &[]).await;
        let d = &f.dispatcher;
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 1).await.expect("ok"),
            Outcome::Sent
        );
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 2).await.expect("ok"),
            Outcome::Skipped
        );
        assert_eq!(
            d.dispatch(&f.job, Leg::Secondary, 1).await.expect("ok"),
            Outcome::Skipped
        );
        assert_eq!(f.twilio.sends(), 1);
        assert_eq!(f.vonage.sends(), 0);
        let r = record(&f).await;
        assert_eq!(r.status, MessageStatus::Sent);
        assert_eq!(r.sent_via.as_deref(), Some("twilio"));
        assert_eq!(r.attempts.len(), 1);
        assert_eq!(
            r.attempts[0].provider_message_id.as_deref(),
            Some("twilio-1")
        );
        assert_eq!(f.twilio.sent.lock().expect("lock")[0], "Acme");
    }

    #[tokio::test]
    async fn an_unknown_outcome_neither_fails_over_nor_resends_until_settled() {
        let f = fixture(Some(SmsProvider::Vonage), &[FailureKind::Unknown], &[]).await;
        let d = &f.dispatcher;
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 1).await.expect("ok"),
            Outcome::Retry
        );
        assert!(
            f.failover.jobs().is_empty(),
            "no failover on an unknown outcome"
        );
        let r = record(&f).await;
        assert_eq!(r.status, MessageStatus::Queued);
        assert_eq!(r.attempts[0].outcome, AttemptOutcome::Unknown);
        assert!(!r.failed_over);

        // The provider cannot tell: wait, then fail without sending again.
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 2).await.expect("ok"),
            Outcome::Retry
        );
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 3).await.expect("ok"),
            Outcome::Failed
        );
        assert_eq!(f.twilio.sends(), 1, "sent once");
        assert_eq!(f.vonage.sends(), 0);
        let r = record(&f).await;
        assert_eq!(r.status, MessageStatus::Failed);
        let reason = r.status_history.last().and_then(|c| c.reason.clone());
        assert!(reason.is_some_and(|r| r.starts_with("outcome unknown")));
    }

    #[tokio::test]
    async fn an_unknown_outcome_is_settled_by_the_providers_records() {
        let f = fixture(Some(SmsProvider::Vonage), &[FailureKind::Unknown], &[]).await;
        let d = &f.dispatcher;
        d.dispatch(&f.job, Leg::Primary, 1).await.expect("ok");
        f.twilio.finds(Settled::Taken(Accepted {
            provider_message_id: "SM-found".into(),
            response: json!({"settledBy": "lookup"}),
        }));
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 2).await.expect("ok"),
            Outcome::Sent
        );
        assert_eq!(f.twilio.sends(), 1, "found, not sent again");
        let r = record(&f).await;
        assert_eq!(r.status, MessageStatus::Sent);
        assert_eq!(r.provider_message_id(), Some("SM-found"));

        // Not found: it never reached the provider, so it is sent (once more).
        let g = fixture(None, &[FailureKind::Unknown], &[]).await;
        g.dispatcher
            .dispatch(&g.job, Leg::Primary, 1)
            .await
            .expect("ok");
        g.twilio.finds(Settled::NotTaken);
        assert_eq!(
            g.dispatcher
                .dispatch(&g.job, Leg::Primary, 2)
                .await
                .expect("ok"),
            Outcome::Sent
        );
        assert_eq!(g.twilio.sends(), 2);
    }

    #[tokio::test]
    async fn temporary_failure_fails_over_to_the_secondary() {
        let f = fixture(Some(SmsProvider::Vonage), &[FailureKind::Temporary], &[]).await;
        let d = &f.dispatcher;
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 1).await.expect("ok"),
            Outcome::FailedOver
        );
        assert_eq!(f.failover.jobs(), vec![f.job.clone()]);
        // A redelivered primary job never sends through the primary again.
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 2).await.expect("ok"),
            Outcome::FailedOver
        );
        assert_eq!(f.twilio.sends(), 1);
        assert_eq!(
            d.dispatch(&f.job, Leg::Secondary, 1).await.expect("ok"),
            Outcome::Sent
        );
        // The second failover job finds it sent.
        assert_eq!(
            d.dispatch(&f.job, Leg::Secondary, 1).await.expect("ok"),
            Outcome::Skipped
        );
        assert_eq!(f.vonage.sends(), 1);
        let r = record(&f).await;
        assert_eq!(r.status, MessageStatus::Sent);
        assert_eq!(r.sent_via.as_deref(), Some("vonage"));
        let outcomes: Vec<_> = r
            .attempts
            .iter()
            .map(|a| (a.provider.as_str(), a.leg, a.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                (
                    "twilio",
                    Some(Leg::Primary),
                    AttemptOutcome::TemporaryFailure
                ),
                ("vonage", Some(Leg::Secondary), AttemptOutcome::Accepted)
            ]
        );
    }

    #[tokio::test]
    async fn permanent_failure_is_final_without_failover() {
        let f = fixture(Some(SmsProvider::Vonage), &[FailureKind::Permanent], &[]).await;
        assert_eq!(
            f.dispatcher
                .dispatch(&f.job, Leg::Primary, 1)
                .await
                .expect("ok"),
            Outcome::Failed
        );
        assert!(f.failover.jobs().is_empty());
        assert_eq!(f.vonage.sends(), 0);
        let r = record(&f).await;
        assert_eq!(r.status, MessageStatus::Failed);
        assert_eq!(
            r.status_history
                .last()
                .and_then(|c| c.reason.clone())
                .as_deref(),
            Some("Invalid 'To' Phone Number")
        );
    }

    #[tokio::test]
    async fn without_a_secondary_temporary_failures_retry_then_fail() {
        let t = FailureKind::Temporary;
        let f = fixture(None, &[t, t, t], &[]).await;
        let d = &f.dispatcher;
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 1).await.expect("ok"),
            Outcome::Retry
        );
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 2).await.expect("ok"),
            Outcome::Retry
        );
        let waiting = record(&f).await;
        assert_eq!(waiting.status, MessageStatus::Queued);
        // The log says when the job comes back.
        let due = waiting.next_attempt_at.expect("a next attempt");
        assert_eq!(
            due,
            f.dispatcher.clock.now() + crate::messaging::dispatch::RETRY_AFTER
        );
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 3).await.expect("ok"),
            Outcome::Failed
        );
        let r = record(&f).await;
        assert_eq!(r.next_attempt_at, None);
        assert_eq!(r.status, MessageStatus::Failed);
        assert_eq!(r.attempts.len(), 3);
        assert_eq!(f.twilio.sends(), 3);
    }

    fn header<'a>(request: &'a CustomRequest, name: &str) -> &'a str {
        request
            .headers
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    #[tokio::test]
    async fn the_accounts_own_provider_gets_the_sms_signed_and_a_503_fails_over() {
        let f = fixture_with(SmsProvider::Custom, Some(SmsProvider::Vonage), &[], &[]).await;
        f.own.script.lock().expect("lock").push_back(Ok(Answer {
            status: 503,
            body: "maintenance".into(),
        }));
        let d = &f.dispatcher;
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 1).await.expect("ok"),
            Outcome::FailedOver
        );
        assert_eq!(
            d.dispatch(&f.job, Leg::Secondary, 1).await.expect("ok"),
            Outcome::Sent
        );
        let requests = f.own.requests.lock().expect("lock").clone();
        assert_eq!(requests.len(), 1, "the primary is not tried again");
        let request = &requests[0];
        assert_eq!(request.url.as_str(), "https://sms.acme.example/herald");
        assert_eq!(header(request, "webhook-id"), f.job.message_id.as_str());
        let secret = WebhookSecret::parse(OWN_SECRET).expect("valid");
        let timestamp: i64 = header(request, "webhook-timestamp")
            .parse()
            .expect("a number");
        assert!(verify_standard(
            &secret,
            f.job.message_id.as_str(),
            timestamp,
            request.body.as_bytes(),
            header(request, "webhook-signature"),
        ));
        let body: serde_json::Value = serde_json::from_str(&request.body).expect("JSON");
        assert_eq!(
            body,
            json!({"channel": "sms", "messageId": f.job.message_id, "accountId": "acme",
                   "from": "Acme", "to": "+4712345678", "text": "hello"})
        );
        let r = record(&f).await;
        assert_eq!(r.sent_via.as_deref(), Some("vonage"));
        assert_eq!(r.attempts[0].provider, "custom");
        assert_eq!(r.attempts[0].outcome, AttemptOutcome::TemporaryFailure);
        assert_eq!(r.attempts[0].response["status"], 503);
    }

    #[tokio::test]
    async fn the_accounts_own_provider_refusing_fails_the_sms_and_taking_it_sends_it() {
        let f = fixture_with(SmsProvider::Custom, Some(SmsProvider::Vonage), &[], &[]).await;
        f.own.script.lock().expect("lock").push_back(Ok(Answer {
            status: 422,
            body: r#"{"error": "unknown number"}"#.into(),
        }));
        assert_eq!(
            f.dispatcher
                .dispatch(&f.job, Leg::Primary, 1)
                .await
                .expect("ok"),
            Outcome::Failed
        );
        assert!(f.failover.jobs().is_empty());
        let r = record(&f).await;
        assert_eq!(r.status, MessageStatus::Failed);
        assert!(
            r.status_history
                .last()
                .and_then(|c| c.reason.as_deref())
                .is_some_and(|why| why.contains("422") && why.contains("unknown number"))
        );

        // As the secondary, after the primary's 503.
        let g = fixture_with(
            SmsProvider::Twilio,
            Some(SmsProvider::Custom),
            &[FailureKind::Temporary],
            &[],
        )
        .await;
        g.own.script.lock().expect("lock").push_back(Ok(Answer {
            status: 202,
            body: r#"{"id": "own-7"}"#.into(),
        }));
        g.dispatcher
            .dispatch(&g.job, Leg::Primary, 1)
            .await
            .expect("ok");
        assert_eq!(
            g.dispatcher
                .dispatch(&g.job, Leg::Secondary, 1)
                .await
                .expect("ok"),
            Outcome::Sent
        );
        let r = record(&g).await;
        assert_eq!(r.sent_via.as_deref(), Some("custom"));
        assert_eq!(r.provider_message_id(), Some("own-7"));
        assert!(r.tracking.is_some());
        assert_eq!(r.attempts[1].leg, Some(Leg::Secondary));
    }

    #[tokio::test]
    async fn no_answer_from_the_accounts_own_provider_neither_fails_over_nor_resends() {
        let f = fixture_with(SmsProvider::Custom, Some(SmsProvider::Vonage), &[], &[]).await;
        f.own
            .script
            .lock()
            .expect("lock")
            .push_back(Err(Failure::unknown("no answer in time", json!(null))));
        let d = &f.dispatcher;
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 1).await.expect("ok"),
            Outcome::Retry
        );
        assert!(f.failover.jobs().is_empty());
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 2).await.expect("ok"),
            Outcome::Retry
        );
        assert_eq!(
            d.dispatch(&f.job, Leg::Primary, 3).await.expect("ok"),
            Outcome::Failed
        );
        assert_eq!(f.own.requests.lock().expect("lock").len(), 1, "sent once");
        assert_eq!(f.vonage.sends(), 0);
    }

    #[tokio::test]
    async fn a_claimed_message_is_left_to_its_dispatcher() {
        let f = fixture(None, &[], &[]).await;
        let mut r = record(&f).await;
        r.claimed_until = Some(datetime!(2030-01-01 00:00:30 UTC));
        f.log.replace(&mut r).await.expect("claimed");
        assert_eq!(
            f.dispatcher
                .dispatch(&f.job, Leg::Primary, 1)
                .await
                .expect("ok"),
            Outcome::Retry
        );
        assert_eq!(f.twilio.sends(), 0);
    }
}
