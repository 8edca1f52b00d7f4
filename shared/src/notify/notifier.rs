//! From a published event to notifications: each enabled rule that wants the event, each
//! recipient it names, each channel with a template; decided, logged, and sent through
//! Herald's own message intake.
//!
//! At least once and idempotent. Every occurrence (event × rule × recipient × channel) has a
//! fixed id. It is logged `pending` before anything else (a conditional write), and finished
//! only after its message was taken in and its event published; the message is taken in
//! under an idempotency key that is the occurrence's id. An event processed again finds each
//! finished occurrence and skips it, and finishes a pending one without a second message.
//! A first-occurrence key is claimed for the event that first reached it, so the same
//! event processed again still owns it.

use std::sync::Arc;

use futures::StreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::idempotency::{IdempotencyClaim, IdempotencyKey};
use crate::common::store::StoreError;
use crate::common::validation::FieldErrors;
use crate::events::publish::{EventPublisher, PublishError};
use crate::events::webhook::Event;
use crate::messaging::accept::{AcceptError, Intake};
use crate::messaging::email::EmailAddress;
use crate::messaging::log::{Content, MessageId, MessageRecord};
use crate::messaging::message::{Channel, EmailMessage, PhoneNumber, SmsMessage};
use crate::notify::events::NotificationEvent;
use crate::notify::links::Links;
use crate::notify::log::{NotificationId, NotificationRecord, Outcome};
use crate::notify::preferences::{Because, Preferences, decide};
use crate::notify::recipients::{MAX_RECIPIENTS, Recipient};
use crate::notify::rules::{NotificationRule, RuleInput, refused_event};
use crate::notify::short_links::{LinkCollector, ShortLinkSettings, ShortLinkStore};
use crate::notify::store::{FirstClaim, NotifyStore};
use crate::notify::template::{
    Compiled, EventContext, RenderedEmail, RenderedSms, TemplateError, context,
};
use crate::notify::types::NotificationType;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Accept(#[from] AcceptError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// What one event did, for the log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub rules: usize,
    pub sent: usize,
    pub suppressed: usize,
    /// Occurrences finished before: the event was processed already.
    pub skipped: usize,
}

pub struct Notifier {
    pub store: Arc<dyn NotifyStore>,
    pub intake: Intake,
    pub events: EventPublisher,
    /// Signs `preferences_url` and the unsubscribe header; without it both are left out.
    pub links: Option<Links>,
    /// Whether a channel is on when neither the type nor the recipient says.
    pub operator_default: bool,
    /// How long log entries, first-occurrence keys and messages are kept.
    pub retention: time::Duration,
    /// Where the `shorten` filter's links are kept, and their base URL; without it the filter
    /// fails the rendering (a template error, logged).
    pub short_links: Option<(Arc<dyn ShortLinkStore>, ShortLinkSettings)>,
}

/// A channel's rendering for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    Email(RenderedEmail),
    Sms(RenderedSms),
}

/// Renders `channel` for `recipient`.
pub fn render(
    compiled: &Compiled,
    channel: Channel,
    recipient: &Recipient,
    ctx: &minijinja::Value,
) -> Result<Rendered, TemplateError> {
    let wanted = recipient.locale.as_deref();
    match channel {
        Channel::Email => compiled.email(wanted, ctx).map(Rendered::Email),
        Channel::Sms => compiled.sms(wanted, ctx).map(Rendered::Sms),
    }
}

/// The template context for `recipient` of `event`.
pub fn recipient_context(
    event: &EventContext,
    recipient: &Recipient,
    t: &NotificationType,
    preferences_url: &str,
    short_links: Option<&Arc<LinkCollector>>,
) -> minijinja::Value {
    context(
        event,
        &recipient.item,
        recipient.id.as_ref().map_or("", |i| i.as_str()),
        recipient.locale.as_deref(),
        (t.key.as_str(), &t.name),
        preferences_url,
        short_links,
    )
}

/// Checks a rule before it is saved: its type uses every channel it has templates for, its
/// recipient path reaches someone in the event type's `sample`, and every template of every
/// locale (and the first-occurrence key) renders for that recipient.
pub fn check_rule(
    input: &RuleInput,
    t: &NotificationType,
    sample: &Value,
) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    for channel in input.templates.channels() {
        if t.channels.get(channel).is_none() {
            errors.push(
                format!("templates.{}", channel.as_str()),
                format!(
                    "the type {} does not use {}: add the channel to the type or remove these templates",
                    t.key,
                    channel.as_str()
                ),
            );
        }
    }
    let compiled = match input.templates.compile(input.frequency.key()) {
        Ok(c) => c,
        Err(found) => {
            crate::notify::template::push_errors(&mut errors, found);
            return Err(errors);
        }
    };
    let recipients = input.recipients.recipients(sample);
    let Some(recipient) = recipients.first() else {
        errors.push(
            "recipients.path",
            format!(
                "reaches no item in the sample of {}: the templates cannot be checked against it (correct the path, or the event type's sample)",
                input.event_name
            ),
        );
        return Err(errors);
    };
    // Links shortened here are thrown away: only that the templates render is checked.
    let ctx = recipient_context(
        &EventContext::of(sample),
        recipient,
        t,
        "https://herald.example/preferences",
        Some(&LinkCollector::new("https://herald.example/l")),
    );
    let mut found = Vec::new();
    for locale in input.templates.email.keys() {
        if let Err(e) = compiled.email(Some(locale.as_str()), &ctx) {
            found.push(e);
        }
    }
    for locale in input.templates.sms.keys() {
        if let Err(e) = compiled.sms(Some(locale.as_str()), &ctx) {
            found.push(e);
        }
    }
    if input.frequency.key().is_some()
        && let Err(e) = compiled.first_key(&ctx)
    {
        found.push(e);
    }
    crate::notify::template::push_errors(&mut errors, found);
    errors.into_result(())
}

/// One occurrence's decision, before it is logged.
struct Decided {
    outcome: Outcome,
    detail: Option<String>,
    message_id: Option<MessageId>,
}

impl Decided {
    fn not_sent(outcome: Outcome, detail: impl Into<String>) -> Self {
        Self {
            outcome,
            detail: Some(detail.into()),
            message_id: None,
        }
    }
}

/// What every recipient of one rule shares for one event.
struct RuleRun<'a> {
    event: &'a Event,
    context: &'a EventContext,
    rule: &'a NotificationRule,
    t: &'a NotificationType,
    compiled: Result<Compiled, String>,
    now: OffsetDateTime,
}

impl Notifier {
    /// Notifies for `event`. Errors leave the work for the event's redelivery.
    pub async fn handle(&self, event: &Event, now: OffsetDateTime) -> Result<Tally, NotifyError> {
        let mut tally = Tally::default();
        if refused_event(event.event_name()) {
            return Ok(tally);
        }
        // As fan-out does: an event past its expiresAt is news no one should get now.
        if event.is_expired(now) {
            tracing::info!(event = %event.id(), "expired before notifications; none sent");
            return Ok(tally);
        }
        let account = event.account_id();
        let rules: Vec<NotificationRule> = self
            .store
            .rules(account)
            .await?
            .into_iter()
            .filter(|r| r.wants(event.event_name(), event.tags()))
            .collect();
        if rules.is_empty() {
            return Ok(tally);
        }
        let types = self.store.types(account).await?;
        let json = serde_json::to_value(event).expect("an event serialises");
        let context = EventContext::of(&json);
        for rule in &rules {
            let Some(t) = types.iter().find(|t| t.key == rule.type_key) else {
                tracing::warn!(account = %account, rule = %rule.id, r#type = %rule.type_key, "the rule's type no longer exists; not notified");
                continue;
            };
            tally.rules += 1;
            let run = RuleRun {
                event,
                context: &context,
                rule,
                t,
                compiled: rule.templates.compile(rule.frequency.key()).map_err(|e| {
                    e.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                }),
                now,
            };
            let mut recipients = rule.recipients.recipients(&json);
            if recipients.len() > MAX_RECIPIENTS {
                tracing::warn!(account = %account, rule = %rule.id, found = recipients.len(), "more recipients than a rule notifies; the rest are not notified");
                recipients.truncate(MAX_RECIPIENTS);
            }
            // Recipients in parallel, a few at a time: each costs a handful of store and
            // queue calls, and one event may name a thousand.
            let results: Vec<Result<Tally, NotifyError>> = futures::stream::iter(&recipients)
                .map(|r| self.recipient(&run, r))
                .buffer_unordered(16)
                .collect()
                .await;
            for r in results {
                let t = r?;
                tally.sent += t.sent;
                tally.suppressed += t.suppressed;
                tally.skipped += t.skipped;
            }
        }
        tracing::info!(account = %account, event = %event.id(), rules = tally.rules, sent = tally.sent, suppressed = tally.suppressed, skipped = tally.skipped, "notifications done");
        Ok(tally)
    }

    async fn recipient(
        &self,
        run: &RuleRun<'_>,
        recipient: &Recipient,
    ) -> Result<Tally, NotifyError> {
        let account = run.event.account_id();
        let key = recipient.id.as_ref().map_or("-", |i| i.as_str());
        let preferences = match &recipient.id {
            Some(id) => self.store.preferences(account, id).await?,
            None => Preferences::none(
                crate::notify::recipients::RecipientId::parse("-").expect("valid"),
            ),
        };
        let preferences_url = match (&self.links, &recipient.id) {
            (Some(links), Some(id)) => {
                links.preferences_url(account, id, recipient.role.as_ref(), run.now)
            }
            _ => String::new(),
        };
        // One collector per recipient: their channels render one after the other, and each
        // message takes the links its own rendering made.
        let collector = self
            .short_links
            .as_ref()
            .map(|(_, settings)| LinkCollector::new(&settings.base_url));
        let ctx = recipient_context(
            run.context,
            recipient,
            run.t,
            &preferences_url,
            collector.as_ref(),
        );
        // `first`: the key, and whether this event is the first to reach it.
        let first = match (&run.compiled, run.rule.frequency.key()) {
            (Ok(compiled), Some(_)) => Some(match compiled.first_key(&ctx) {
                Ok(first_key) => {
                    let scoped = hex::encode(
                        Sha256::new()
                            .chain_update(run.rule.id.as_str())
                            .chain_update([0])
                            .chain_update(key)
                            .chain_update([0])
                            .chain_update(&first_key)
                            .finalize(),
                    );
                    let claim = self
                        .store
                        .claim_first(
                            account,
                            &scoped,
                            run.event.id().as_str(),
                            run.now + self.retention,
                        )
                        .await?;
                    Ok((first_key, claim))
                }
                Err(e) => Err(e),
            }),
            _ => None,
        };
        let mut tally = Tally::default();
        for channel in run.rule.templates.channels() {
            if run.t.channels.get(channel).is_none() {
                continue;
            }
            let id = NotificationId::of(
                run.event.timestamp(),
                run.event.id(),
                &run.rule.id,
                key,
                channel,
            );
            let mut record = NotificationRecord {
                id,
                account_id: account.clone(),
                rule_id: run.rule.id.clone(),
                type_key: run.t.key.clone(),
                event_id: run.event.id().clone(),
                event_name: run.event.event_name().clone(),
                recipient_id: recipient.id.clone(),
                channel,
                outcome: Outcome::Pending,
                detail: None,
                message_id: None,
                first_key: first
                    .as_ref()
                    .and_then(|f| f.as_ref().ok())
                    .map(|(k, _)| k.clone()),
                occurred_at: run.event.timestamp(),
                recorded_at: run.now,
                expires_at: run.now + self.retention,
            };
            if let Some(found) = self.store.begin(&record).await?
                && found.outcome != Outcome::Pending
            {
                tally.skipped += 1;
                continue;
            }
            let decided = self
                .decide(
                    run,
                    recipient,
                    channel,
                    &preferences,
                    (&ctx, collector.as_ref()),
                    first.as_ref(),
                    &record.id,
                )
                .await?;
            record.outcome = decided.outcome;
            record.detail = decided.detail;
            record.message_id = decided.message_id;
            record.recorded_at = run.now;
            // Published before the entry is finished: a crash in between publishes twice
            // (subscribers see at least once), never not at all.
            self.events
                .herald_event(
                    account,
                    &NotificationEvent::of(&record),
                    run.event
                        .tags()
                        .iter()
                        .map(|t| t.as_str().to_owned())
                        .collect(),
                    run.now,
                )
                .await?;
            self.store.finish(&record).await?;
            if record.outcome == Outcome::Sent {
                tally.sent += 1;
            } else {
                tally.suppressed += 1;
            }
        }
        Ok(tally)
    }

    #[allow(clippy::too_many_arguments)]
    async fn decide(
        &self,
        run: &RuleRun<'_>,
        recipient: &Recipient,
        channel: Channel,
        preferences: &Preferences,
        (ctx, collector): (&minijinja::Value, Option<&Arc<LinkCollector>>),
        first: Option<&Result<(String, FirstClaim), TemplateError>>,
        id: &NotificationId,
    ) -> Result<Decided, NotifyError> {
        match first {
            Some(Err(e)) => {
                return Ok(Decided::not_sent(Outcome::TemplateError, e.to_string()));
            }
            Some(Ok((key, FirstClaim::Taken { by }))) => {
                return Ok(Decided::not_sent(
                    Outcome::SuppressedRepeat,
                    format!("the first occurrence of {key} was notified already (event {by})"),
                ));
            }
            _ => {}
        }
        if !recipient.requested(channel) {
            return Ok(Decided::not_sent(
                Outcome::SuppressedPreference,
                format!("the event's send-to flag for {} is off", channel.as_str()),
            ));
        }
        let decision = decide(
            run.t,
            channel,
            preferences,
            recipient.role.as_ref(),
            self.operator_default,
        );
        if !decision.on {
            let why = match decision.because {
                Because::Recipient => "turned off by the recipient",
                Because::Account => "off by default for this type",
                _ => "off by default",
            };
            return Ok(Decided::not_sent(Outcome::SuppressedPreference, why));
        }
        let contact = match channel {
            Channel::Email => match recipient.email.as_deref().map(EmailAddress::parse) {
                None => Err("the recipient has no email address".to_owned()),
                Some(Err(_)) => Err(format!(
                    "{:?} is not a valid email address",
                    recipient.email.as_deref().unwrap_or_default()
                )),
                Some(Ok(a)) => Ok(Contact::Email(a)),
            },
            Channel::Sms => match recipient.phone.as_deref().map(PhoneNumber::parse) {
                None => Err("the recipient has no phone number".to_owned()),
                Some(Err(_)) => Err(format!(
                    "{:?} is not a phone number in E.164 form",
                    recipient.phone.as_deref().unwrap_or_default()
                )),
                Some(Ok(p)) => Ok(Contact::Phone(p)),
            },
        };
        let contact = match contact {
            Ok(c) => c,
            Err(detail) => return Ok(Decided::not_sent(Outcome::NoContact, detail)),
        };
        let compiled = match &run.compiled {
            Ok(c) => c,
            Err(e) => return Ok(Decided::not_sent(Outcome::TemplateError, e.clone())),
        };
        let rendered = match render(compiled, channel, recipient, ctx) {
            Ok(r) => r,
            Err(e) => return Ok(Decided::not_sent(Outcome::TemplateError, e.to_string())),
        };
        let account = run.event.account_id();
        let content = match (rendered, contact) {
            (Rendered::Sms(sms), Contact::Phone(to)) => {
                Content::Sms(SmsMessage { to, text: sms.text })
            }
            (Rendered::Email(email), Contact::Email(to)) => Content::Email(EmailMessage {
                to: vec![to],
                subject: email.subject,
                text: email.text,
                html: email.html,
                from: None,
                reply_to: None,
                list_unsubscribe: self.unsubscribe(account, run, recipient),
            }),
            _ => unreachable!("a channel renders for its own contact"),
        };
        let message_id = MessageId::new(run.now);
        // Stored before the message is taken in, so that no message carries a link that leads
        // nowhere; a repeat whose message is replayed leaves its own links unused.
        if let (Some(c), Some((store, settings))) = (collector, &self.short_links) {
            let links = c.take(account, channel, &message_id, run.now, settings.lifetime);
            if !links.is_empty() {
                store.put_all(&links).await?;
            }
        }
        let record = MessageRecord::queued(
            message_id,
            account.clone(),
            content,
            Vec::new(),
            run.now,
            self.retention,
        );
        let key = IdempotencyKey::parse(&format!("notification-{id}")).expect("a printable key");
        let claim = IdempotencyClaim::new(key, &serde_json::json!({"notification": id}), run.now);
        let (record, _) = self.intake.accept(record, Some(&claim), true).await?;
        Ok(Decided {
            outcome: Outcome::Sent,
            detail: None,
            message_id: Some(record.id),
        })
    }

    /// The one-click unsubscribe URL, for emails of a type this recipient may turn off.
    fn unsubscribe(
        &self,
        account: &AccountId,
        run: &RuleRun<'_>,
        recipient: &Recipient,
    ) -> Option<String> {
        let links = self.links.as_ref()?;
        let id = recipient.id.as_ref()?;
        run.t
            .changeable(Channel::Email, recipient.role.as_ref())
            .then(|| {
                links.unsubscribe_url(account, id, recipient.role.as_ref(), &run.t.key, run.now)
            })
    }
}

enum Contact {
    Email(EmailAddress),
    Phone(PhoneNumber),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::queue::MemoryQueue;
    use crate::events::ids::EventId;
    use crate::events::webhook::NewEvent;
    use crate::messaging::dispatch::SendJob;
    use crate::messaging::log::memory::MemoryMessageLog;
    use crate::notify::links::LinkSigner;
    use crate::notify::log::LogQuery;
    use crate::notify::memory::MemoryNotifyStore;
    use crate::notify::preferences::ChannelChoices;
    use crate::notify::recipients::RecipientId;
    use crate::notify::rules::{RuleId, read_rule};
    use crate::notify::short_links::{MemoryShortLinks, ShortCode};
    use crate::notify::types::{TypeKey, read_type};
    use serde_json::json;

    struct World {
        notifier: Notifier,
        store: Arc<MemoryNotifyStore>,
        sends: Arc<MemoryQueue<SendJob>>,
        events: Arc<MemoryQueue<Event>>,
        short_links: Arc<MemoryShortLinks>,
        account: AccountId,
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap()
    }

    async fn world(type_body: Value, rule_body: Value) -> (World, RuleId) {
        let store = Arc::new(MemoryNotifyStore::new());
        let sends = Arc::new(MemoryQueue::default());
        let events = Arc::new(MemoryQueue::default());
        let short_links = Arc::new(MemoryShortLinks::default());
        let account = AccountId::parse("acc-1").unwrap();
        let key = TypeKey::parse("message-received").unwrap();
        let t = NotificationType::new(key, read_type(type_body).expect("type"), now());
        store.put_type(&account, &t, true).await.unwrap();
        let rule = NotificationRule::new(
            RuleId::new(now()),
            read_rule(rule_body).expect("rule"),
            now(),
        );
        store.put_rule(&account, &rule).await.unwrap();
        let notifier = Notifier {
            store: store.clone(),
            intake: Intake {
                messages: Arc::new(MemoryMessageLog::new()),
                send_queue: sends.clone(),
            },
            events: EventPublisher::new(events.clone()),
            links: Some(Links {
                signer: LinkSigner::new(
                    crate::common::secret::Secret::parse(&"k".repeat(32)).unwrap(),
                )
                .unwrap(),
                base_url: "https://herald.example".into(),
            }),
            operator_default: true,
            retention: time::Duration::days(30),
            short_links: Some((
                short_links.clone(),
                ShortLinkSettings {
                    base_url: "https://go.example".into(),
                    lifetime: ShortLinkSettings::DEFAULT_LIFETIME,
                },
            )),
        };
        (
            World {
                notifier,
                store,
                sends,
                events,
                short_links,
                account,
            },
            rule.id,
        )
    }

    impl World {
        /// The whole notification log, newest first.
        async fn log(&self) -> Vec<NotificationRecord> {
            let all = LogQuery {
                limit: 100,
                ..LogQuery::default()
            };
            self.store.log(&self.account, &all).await.unwrap()
        }
    }

    fn event(w: &World, data: Value, at: OffsetDateTime) -> Event {
        NewEvent {
            sender: "secure-messaging".into(),
            event_name: "message.retrieved".into(),
            event_data: data,
            organization_id: None,
            expires_at: None,
            tags: vec![],
        }
        .validate(EventId::new(at), w.account.clone(), at)
        .expect("valid event")
    }

    fn rule(frequency: Value) -> Value {
        let mut r = json!({
            "name": "Tell the sender",
            "eventName": "message.retrieved",
            "type": "message-received",
            "recipients": {"path": "eventData.sender"},
            "templates": {
                "email": {"en": {"subject": "{{ data.subject }} was retrieved",
                                 "text": "Manage: {{ preferences_url }}"}},
                "sms": {"en": {"text": "{{ data.subject }} was retrieved"}}
            }
        });
        if let Value::Object(f) = frequency {
            r.as_object_mut().unwrap().extend(f);
        }
        r
    }

    fn outcomes(records: &[NotificationRecord]) -> Vec<(Channel, Outcome)> {
        let mut v: Vec<_> = records.iter().map(|r| (r.channel, r.outcome)).collect();
        v.sort_by_key(|(c, o)| (c.as_str(), o.as_str()));
        v
    }

    #[tokio::test]
    async fn email_on_sms_off_sends_the_email_only_and_mandatory_ignores_it() {
        let (w, _) = world(
            json!({"name": "Message retrieved", "channels": {"email": {}, "sms": {}}}),
            rule(json!({})),
        )
        .await;
        let ann = RecipientId::parse("ann").unwrap();
        let mut p = Preferences::none(ann.clone());
        p.types.insert(
            TypeKey::parse("message-received").unwrap(),
            ChannelChoices {
                email: Some(true),
                sms: Some(false),
            },
        );
        w.store.put_preferences(&w.account, &p).await.unwrap();
        let data = json!({"subject": "Lease", "sender": {"id": "ann", "email": "ann@example.com", "phone": "+4712345678"}});
        let tally = w
            .notifier
            .handle(&event(&w, data.clone(), now()), now())
            .await
            .unwrap();
        assert_eq!((tally.sent, tally.suppressed), (1, 1));
        let log = w.log().await;
        assert_eq!(
            outcomes(&log),
            [
                (Channel::Email, Outcome::Sent),
                (Channel::Sms, Outcome::SuppressedPreference)
            ]
        );
        assert_eq!(w.sends.jobs().len(), 1);
        assert_eq!(w.sends.jobs()[0].channel, Channel::Email);
        let published: Vec<String> = w
            .events
            .jobs()
            .iter()
            .map(|e| e.event_name().as_str().to_owned())
            .collect();
        assert_eq!(
            published
                .iter()
                .filter(|n| *n == "notification.sent")
                .count(),
            1
        );
        assert_eq!(
            published
                .iter()
                .filter(|n| *n == "notification.suppressed")
                .count(),
            1
        );

        // The same type made mandatory: the opt-out no longer counts.
        let mut t = w.store.types(&w.account).await.unwrap().remove(0);
        t.mandatory = true;
        w.store.put_type(&w.account, &t, false).await.unwrap();
        let later = now() + time::Duration::minutes(1);
        let tally = w
            .notifier
            .handle(&event(&w, data, later), later)
            .await
            .unwrap();
        assert_eq!((tally.sent, tally.suppressed), (2, 0));
    }

    #[tokio::test]
    async fn first_sends_once_per_key_and_logs_every_occurrence() {
        let (w, rule_id) = world(
            json!({"name": "Message retrieved", "channels": {"email": {}}}),
            rule(
                json!({"frequency": "first", "firstKey": "{{ data.messageId }}:{{ data.action }}"}),
            ),
        )
        .await;
        let data = |action: &str| json!({"subject": "Lease", "messageId": "m-1", "action": action, "sender": {"id": "ann", "email": "ann@example.com"}});
        for i in 0..3 {
            let at = now() + time::Duration::seconds(i);
            w.notifier
                .handle(&event(&w, data("printed"), at), at)
                .await
                .unwrap();
        }
        let at = now() + time::Duration::seconds(10);
        w.notifier
            .handle(&event(&w, data("forwarded"), at), at)
            .await
            .unwrap();
        let log = w
            .store
            .log(
                &w.account,
                &LogQuery {
                    limit: 10,
                    rule: Some(rule_id),
                    ..LogQuery::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(log.len(), 4, "every occurrence is logged");
        let sent: Vec<_> = log
            .iter()
            .filter(|r| r.outcome == Outcome::Sent)
            .map(|r| r.first_key.clone().unwrap())
            .collect();
        assert_eq!(sent, ["m-1:forwarded", "m-1:printed"]);
        assert_eq!(
            log.iter()
                .filter(|r| r.outcome == Outcome::SuppressedRepeat)
                .count(),
            2
        );
        assert_eq!(w.sends.jobs().len(), 2);
    }

    #[tokio::test]
    async fn an_event_processed_twice_sends_once() {
        let (w, _) = world(
            json!({"name": "Message retrieved", "channels": {"email": {}}}),
            rule(json!({"frequency": "first", "firstKey": "{{ data.subject }}"})),
        )
        .await;
        let e = event(
            &w,
            json!({"subject": "Lease", "sender": {"email": "ann@example.com"}}),
            now(),
        );
        let first = w.notifier.handle(&e, now()).await.unwrap();
        let again = w
            .notifier
            .handle(&e, now() + time::Duration::seconds(30))
            .await
            .unwrap();
        assert_eq!((first.sent, again.sent, again.skipped), (1, 0, 1));
        assert_eq!(w.sends.jobs().len(), 1);
        // A crash after the entry was begun and before it finished: the rerun finishes it
        // with the same message.
        let mut log = w.log().await;
        let message = log[0].message_id.clone();
        log[0].outcome = Outcome::Pending;
        w.store.finish(&log[0]).await.unwrap();
        let resumed = w
            .notifier
            .handle(&e, now() + time::Duration::seconds(60))
            .await
            .unwrap();
        assert_eq!(resumed.sent, 1);
        let log = w.log().await;
        assert_eq!(log[0].message_id, message, "the same message, replayed");
    }

    #[tokio::test]
    async fn no_contact_missing_locale_and_template_errors_are_logged_not_sent() {
        let (w, _) = world(
            json!({"name": "Message retrieved", "channels": {"email": {}, "sms": {}}}),
            json!({
                "name": "x", "eventName": "message.retrieved", "type": "message-received",
                "recipients": {"path": "eventData.people[*]"},
                "templates": {"fallbackLocale": "nb",
                    "email": {"nb": {"subject": "{{ data.nothing }}", "text": "x"}},
                    "sms": {"nb": {"text": "Hei"}}}
            }),
        )
        .await;
        let data =
            json!({"people": [{"id": "no-phone", "email": "a@example.com", "locale": "en"}]});
        w.notifier
            .handle(&event(&w, data, now()), now())
            .await
            .unwrap();
        let log = w.log().await;
        assert_eq!(
            outcomes(&log),
            [
                (Channel::Email, Outcome::TemplateError),
                (Channel::Sms, Outcome::NoContact)
            ]
        );
        let error = log.iter().find(|r| r.channel == Channel::Email).unwrap();
        assert!(
            error.detail.as_deref().unwrap().contains("line 1"),
            "{:?}",
            error.detail
        );
        assert!(w.sends.jobs().is_empty());
    }

    #[tokio::test]
    async fn emails_of_types_that_can_be_turned_off_carry_one_click_unsubscribe() {
        let (w, _) = world(
            json!({"name": "Message retrieved", "channels": {"email": {}}}),
            rule(json!({})),
        )
        .await;
        let e = event(
            &w,
            json!({"subject": "Lease", "sender": {"id": "ann", "email": "ann@example.com"}}),
            now(),
        );
        w.notifier.handle(&e, now()).await.unwrap();
        let log = w.log().await;
        let message = w
            .notifier
            .intake
            .messages
            .get(
                &w.account,
                Channel::Email,
                log[0].message_id.as_ref().unwrap(),
                now(),
            )
            .await
            .unwrap()
            .unwrap();
        let Content::Email(email) = message.message else {
            panic!("an email")
        };
        let url = email.list_unsubscribe.expect("one-click");
        assert!(
            url.starts_with("https://herald.example/dashboard/unsubscribe/"),
            "{url}"
        );
        let text = email.text.unwrap();
        assert!(
            text.as_str()
                .contains("https://herald.example/dashboard/preferences/"),
            "{}",
            text.as_str()
        );
    }

    #[tokio::test]
    async fn shortened_links_are_kept_for_their_message_and_bad_targets_are_template_errors() {
        let (w, _) = world(
            json!({"name": "Message retrieved", "channels": {"sms": {}}}),
            json!({
                "name": "x", "eventName": "message.retrieved", "type": "message-received",
                "recipients": {"path": "eventData.people[*]"},
                "templates": {"sms": {"en": {"text": "Read it: {{ recipient.url | shorten }}"}}}
            }),
        )
        .await;
        let data = json!({"people": [
            {"id": "ann", "phone": "+4712345678", "url": "https://inbox.example/m/1"},
            {"id": "bob", "phone": "+4712345679", "url": "javascript:alert(1)"}]});
        w.notifier
            .handle(&event(&w, data, now()), now())
            .await
            .unwrap();
        let log = w.log().await;
        let ann = log
            .iter()
            .find(|r| r.recipient_id.as_ref().unwrap().as_str() == "ann")
            .unwrap();
        let bob = log
            .iter()
            .find(|r| r.recipient_id.as_ref().unwrap().as_str() == "bob")
            .unwrap();
        assert_eq!(ann.outcome, Outcome::Sent);
        assert_eq!(bob.outcome, Outcome::TemplateError);
        assert!(
            bob.detail.as_deref().unwrap().contains("javascript:"),
            "{:?}",
            bob.detail
        );
        let message = w
            .notifier
            .intake
            .messages
            .get(
                &w.account,
                Channel::Sms,
                ann.message_id.as_ref().unwrap(),
                now(),
            )
            .await
            .unwrap()
            .unwrap();
        let Content::Sms(sms) = message.message else {
            panic!("an SMS")
        };
        let code = sms.text.as_str().rsplit('/').next().unwrap();
        let link = w
            .short_links
            .get(&ShortCode::parse(code).unwrap())
            .await
            .unwrap()
            .expect("stored");
        assert_eq!(link.target, "https://inbox.example/m/1");
        assert_eq!(Some(&link.message_id), ann.message_id.as_ref());
        assert_eq!(link.channel, Channel::Sms);
    }

    #[test]
    fn rules_are_checked_against_the_sample() {
        let t = NotificationType::new(
            TypeKey::parse("message-received").unwrap(),
            read_type(json!({"name": "x", "channels": {"email": {}}})).unwrap(),
            now(),
        );
        let sample =
            json!({"eventData": {"subject": "Lease", "sender": {"email": "a@example.com"}}});
        let ok = read_rule(json!({
            "name": "x", "eventName": "message.retrieved", "type": "message-received",
            "recipients": {"path": "eventData.sender"},
            "templates": {"email": {"en": {"subject": "{{ data.subject }}", "text": "{{ recipient.email }}"}}}
        })).unwrap();
        assert!(check_rule(&ok, &t, &sample).is_ok());
        let bad = read_rule(json!({
            "name": "x", "eventName": "message.retrieved", "type": "message-received",
            "recipients": {"path": "eventData.sender"},
            "templates": {"email": {"en": {"subject": "{{ data.subjekt }}", "text": "x"}},
                          "sms": {"en": {"text": "x"}}}
        }))
        .unwrap();
        let e = check_rule(&bad, &t, &sample).expect_err("errors");
        assert!(e.has("templates.sms"), "{e}");
        let nobody = read_rule(json!({
            "name": "x", "eventName": "message.retrieved", "type": "message-received",
            "recipients": {"path": "eventData.signers[*]"},
            "templates": {"email": {"en": {"subject": "x", "text": "x"}}}
        }))
        .unwrap();
        assert!(
            check_rule(&nobody, &t, &sample)
                .expect_err("no one")
                .has("recipients.path")
        );
    }
}
