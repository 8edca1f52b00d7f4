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
use crate::events::webhook::{Event, NewEvent, Sender};
use crate::messaging::accept::{AcceptError, Intake};
use crate::messaging::email::EmailAddress;
use crate::messaging::log::{Content, MessageId, MessageRecord};
use crate::messaging::message::{Channel, EmailMessage, PhoneNumber, SmsMessage};
use crate::notify::events::NotificationEvent;
use crate::notify::links::Links;
use crate::notify::log::{NotificationId, NotificationRecord, Outcome};
use crate::notify::preferences::{Because, Preferences, decide};
use crate::notify::recipients::{MAX_RECIPIENTS, Recipient};
use crate::notify::reminders::{
    ReminderDue, ReminderEvent, ReminderScheduler, ReminderSeries, ReminderStore, Reminders,
    SchedulerError, SeriesKey, SeriesMark, subject_of,
};
use crate::notify::rules::{NotificationRule, RuleInput, refused_event};
use crate::notify::short_links::{LinkCollector, ShortLinkSettings, ShortLinkStore};
use crate::notify::store::{FirstClaim, NotifyStore};
use crate::notify::template::{
    Compiled, EventContext, RenderedEmail, RenderedSms, TemplateError, Templates, context,
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
    #[error(transparent)]
    Schedule(#[from] SchedulerError),
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
    /// Where reminder series are kept and their schedules made; without it rules' reminders
    /// are not scheduled (a warning per event says so).
    pub reminders: Option<Reminding>,
}

/// Reminders' store and scheduler.
pub struct Reminding {
    pub store: Arc<dyn ReminderStore>,
    pub scheduler: Arc<dyn ReminderScheduler>,
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
    push_channel_errors(&mut errors, "", &input.templates, t);
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
    if let Some(reminders) = &input.reminders {
        let ctx = ctx_for_reminder(sample, recipient, t, reminders);
        check_reminders(&mut errors, reminders, t, sample, &ctx);
    }
    errors.into_result(())
}

/// Names each channel `templates` (under `prefix`) has that the type does not use.
fn push_channel_errors(
    errors: &mut FieldErrors,
    prefix: &str,
    templates: &Templates,
    t: &NotificationType,
) {
    for channel in templates.channels() {
        if t.channels.get(channel).is_none() {
            errors.push(
                format!("{prefix}templates.{}", channel.as_str()),
                format!(
                    "the type {} does not use {}: add the channel to the type or remove these templates",
                    t.key,
                    channel.as_str()
                ),
            );
        }
    }
}

/// Checks a rule when its event type has no sample to render against: every template (the
/// reminders' too) compiles. Channels the type does not use are left out when sending.
pub fn check_rule_syntax(input: &RuleInput) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    let sets = std::iter::once(("", &input.templates, input.frequency.key())).chain(
        input
            .reminders
            .as_ref()
            .map(|r| ("reminders.", &r.templates, None)),
    );
    for (prefix, templates, first_key) in sets {
        if let Err(found) = templates.compile(first_key) {
            crate::notify::template::push_errors_under(&mut errors, prefix, found);
        }
    }
    errors.into_result(())
}

/// The sample's context as a reminder's templates see it: with `event.reminder`.
fn ctx_for_reminder(
    sample: &Value,
    recipient: &Recipient,
    t: &NotificationType,
    reminders: &Reminders,
) -> minijinja::Value {
    let mut with_reminder = sample.clone();
    with_reminder["reminder"] = serde_json::json!({
        "number": 1,
        "of": reminders.after.len(),
        "after": reminders.after.first().map(|a| a.as_str()),
        "dueAt": "2026-01-04T00:00:00Z",
    });
    recipient_context(
        &EventContext::of(&with_reminder),
        recipient,
        t,
        "https://herald.example/preferences",
        Some(&LinkCollector::new("https://herald.example/l")),
    )
}

/// Checks a rule's reminders against its type and the event type's sample: their channels,
/// their subject, and every template of every locale.
fn check_reminders(
    errors: &mut FieldErrors,
    reminders: &Reminders,
    t: &NotificationType,
    sample: &Value,
    ctx: &minijinja::Value,
) {
    push_channel_errors(errors, "reminders.", &reminders.templates, t);
    if subject_of(&reminders.subject, sample).is_none() {
        errors.push(
            "reminders.subject",
            "reaches no string or number in the event type's sample: reminders need what they are about (correct the path, or the sample)",
        );
    }
    let compiled = match reminders.templates.compile(None) {
        Ok(c) => c,
        Err(found) => {
            crate::notify::template::push_errors_under(errors, "reminders.", found);
            return;
        }
    };
    let mut found = Vec::new();
    for locale in reminders.templates.email.keys() {
        if let Err(e) = compiled.email(Some(locale.as_str()), ctx) {
            found.push(e);
        }
    }
    for locale in reminders.templates.sms.keys() {
        if let Err(e) = compiled.sms(Some(locale.as_str()), ctx) {
            found.push(e);
        }
    }
    crate::notify::template::push_errors_under(errors, "reminders.", found);
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
    /// The rule's templates, or its reminders'.
    compiled: Result<Compiled, String>,
    channels: Vec<Channel>,
    first_key: Option<&'a str>,
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
        let all = self.store.rules(account).await?;
        let (name, tags) = (event.event_name(), event.tags());
        let listening: Vec<&NotificationRule> =
            all.iter().filter(|r| r.listens(name, tags)).collect();
        let rules: Vec<&NotificationRule> = all.iter().filter(|r| r.wants(name, tags)).collect();
        if rules.is_empty() && listening.is_empty() {
            return Ok(tally);
        }
        let json = serde_json::to_value(event).expect("an event serialises");
        for rule in listening {
            self.mark(event, &json, rule).await?;
        }
        if rules.is_empty() {
            return Ok(tally);
        }
        let types = self.store.types(account).await?;
        let context = EventContext::of(&json);
        for rule in rules {
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
                compiled: compiled(&rule.templates, rule.frequency.key()),
                channels: rule.templates.channels(),
                first_key: rule.frequency.key(),
                now,
            };
            let recipients = rule.recipients.recipients(&json);
            tally.add(self.recipients(&run, recipients).await?);
            if let Some(reminders) = &rule.reminders {
                self.open(event, &json, rule, reminders, now).await?;
            }
        }
        tracing::info!(account = %account, event = %event.id(), rules = tally.rules, sent = tally.sent, suppressed = tally.suppressed, skipped = tally.skipped, "notifications done");
        Ok(tally)
    }

    /// Notifies `recipients` (at most [`MAX_RECIPIENTS`]) for one rule's run.
    async fn recipients(
        &self,
        run: &RuleRun<'_>,
        mut recipients: Vec<Recipient>,
    ) -> Result<Tally, NotifyError> {
        if recipients.len() > MAX_RECIPIENTS {
            tracing::warn!(account = %run.event.account_id(), rule = %run.rule.id, found = recipients.len(), "more recipients than a rule notifies; the rest are not notified");
            recipients.truncate(MAX_RECIPIENTS);
        }
        // Recipients in parallel, a few at a time: each costs a handful of store and queue
        // calls, and one event may name a thousand.
        let results: Vec<Result<Tally, NotifyError>> = futures::stream::iter(&recipients)
            .map(|r| self.recipient(run, r))
            .buffer_unordered(16)
            .collect()
            .await;
        let mut tally = Tally::default();
        for r in results {
            tally.add(r?);
        }
        Ok(tally)
    }

    /// Opens the rule's reminder series for `event` and schedules its reminders. Reminders
    /// due already (an event processed late) are skipped, with a log line.
    async fn open(
        &self,
        event: &Event,
        json: &Value,
        rule: &NotificationRule,
        reminders: &Reminders,
        now: OffsetDateTime,
    ) -> Result<(), NotifyError> {
        let account = event.account_id();
        let Some(reminding) = &self.reminders else {
            tracing::warn!(account = %account, rule = %rule.id, "the rule has reminders but no scheduler is configured; none scheduled");
            return Ok(());
        };
        let Some(subject) = subject_of(&reminders.subject, json) else {
            tracing::warn!(account = %account, rule = %rule.id, event = %event.id(), path = reminders.subject.as_str(), "the event has no reminder subject at the rule's path; no reminders");
            return Ok(());
        };
        let key = SeriesKey::of(account, &rule.id, &subject);
        let last = reminders
            .after
            .last()
            .map_or(time::Duration::ZERO, |a| a.duration());
        let series = reminding
            .store
            .open_series(&ReminderSeries {
                event: Some(json.clone()),
                ..self.blank_series(event, rule, &key, subject, last)
            })
            .await?;
        if series.closed_at.is_some() {
            tracing::info!(account = %account, rule = %rule.id, series = %key, "the matter closed before its reminders were scheduled; none scheduled");
            return Ok(());
        }
        for (i, after) in reminders.after.iter().enumerate() {
            let due_at = event.timestamp() + after.duration();
            if due_at <= now {
                tracing::info!(account = %account, rule = %rule.id, series = %key, after = after.as_str(), "reminder due before its event was processed; skipped");
                continue;
            }
            let due = ReminderDue {
                account_id: account.clone(),
                series: key.clone(),
                rule_id: rule.id.clone(),
                number: i + 1,
                of: reminders.after.len(),
                after: after.clone(),
                due_at,
            };
            reminding
                .scheduler
                .schedule(&key.schedule_name(i + 1), due_at, &due)
                .await?;
        }
        tracing::info!(account = %account, rule = %rule.id, series = %key, reminders = reminders.after.len(), "reminders scheduled");
        Ok(())
    }

    fn blank_series(
        &self,
        event: &Event,
        rule: &NotificationRule,
        key: &SeriesKey,
        subject: String,
        last: time::Duration,
    ) -> ReminderSeries {
        ReminderSeries {
            account_id: event.account_id().clone(),
            key: key.clone(),
            rule_id: rule.id.clone(),
            subject,
            event: None,
            acted: std::collections::BTreeSet::new(),
            closed_at: None,
            expires_at: event.timestamp() + last + self.retention,
        }
    }

    /// Records what `event` says about the rule's series (a recipient acted, or the matter
    /// closed), and deletes its schedules once no one is left to remind.
    async fn mark(
        &self,
        event: &Event,
        json: &Value,
        rule: &NotificationRule,
    ) -> Result<(), NotifyError> {
        let (Some(reminding), Some(reminders)) = (&self.reminders, &rule.reminders) else {
            return Ok(());
        };
        let account = event.account_id();
        let Some(subject) = subject_of(&reminders.subject, json) else {
            tracing::warn!(account = %account, rule = %rule.id, event = %event.id(), path = reminders.subject.as_str(), "the event has no reminder subject at the rule's path; its reminders are unchanged");
            return Ok(());
        };
        let mark = if reminders.closes(event.event_name()) {
            SeriesMark::Closed(event.timestamp())
        } else if let Some(who) = reminders.acted(event.event_name(), json) {
            SeriesMark::Acted(who)
        } else {
            tracing::warn!(account = %account, rule = %rule.id, event = %event.id(), "the event names no recipient at the rule's path; its reminders are unchanged");
            return Ok(());
        };
        let key = SeriesKey::of(account, &rule.id, &subject);
        let last = reminders
            .after
            .last()
            .map_or(time::Duration::ZERO, |a| a.duration());
        let blank = self.blank_series(event, rule, &key, subject, last);
        let series = reminding.store.mark_series(&blank, &mark).await?;
        let waiting = series
            .event
            .as_ref()
            .map(|e| waiting(rule, &series, e).len());
        if series.closed_at.is_some() || waiting == Some(0) {
            for number in 1..=reminders.after.len() {
                reminding
                    .scheduler
                    .cancel(&key.schedule_name(number))
                    .await?;
            }
            tracing::info!(account = %account, rule = %rule.id, series = %key, closed = series.closed_at.is_some(), "reminders cancelled");
        } else {
            tracing::info!(account = %account, rule = %rule.id, series = %key, ?mark, "reminder series marked");
        }
        Ok(())
    }

    /// Sends the reminder that fell due to those still waiting, and publishes its event. The
    /// series is read again here: a schedule deleted too late still fires, and the store says
    /// who, if anyone, is left.
    pub async fn remind(
        &self,
        due: &ReminderDue,
        now: OffsetDateTime,
    ) -> Result<Tally, NotifyError> {
        let mut tally = Tally::default();
        let account = &due.account_id;
        let Some(reminding) = &self.reminders else {
            tracing::warn!(account = %account, series = %due.series, "a reminder fell due but no reminder store is configured; dropped");
            return Ok(tally);
        };
        let series = reminding.store.series(account, &due.series).await?;
        let Some((series, original)) = series.and_then(|s| s.event.clone().map(|e| (s, e))) else {
            tracing::info!(account = %account, series = %due.series, "a reminder fell due for a series that is gone; nothing sent");
            return Ok(tally);
        };
        if series.closed_at.is_some() {
            tracing::info!(account = %account, series = %due.series, "a reminder fell due after its matter closed; nothing sent");
            return Ok(tally);
        }
        let rules = self.store.rules(account).await?;
        let Some((rule, reminders)) = rules
            .iter()
            .filter(|r| r.id == due.rule_id && r.enabled)
            .find_map(|r| r.reminders.as_ref().map(|m| (r, m)))
        else {
            tracing::info!(account = %account, rule = %due.rule_id, "a reminder fell due for a rule that no longer reminds; nothing sent");
            return Ok(tally);
        };
        let recipients = waiting(rule, &series, &original);
        if recipients.is_empty() {
            tracing::info!(account = %account, series = %due.series, number = due.number, "every recipient has acted; no reminder sent");
            return Ok(tally);
        }
        let types = self.store.types(account).await?;
        let Some(t) = types.iter().find(|t| t.key == rule.type_key) else {
            tracing::warn!(account = %account, rule = %rule.id, r#type = %rule.type_key, "the rule's type no longer exists; not reminded");
            return Ok(tally);
        };
        let event = reminder_event(due, &series, &original, &recipients)?;
        let mut with_reminder = original.clone();
        with_reminder["reminder"] = serde_json::json!({
            "number": due.number,
            "of": due.of,
            "after": due.after.as_str(),
            "dueAt": event.timestamp().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        });
        let context = EventContext::of(&with_reminder);
        let run = RuleRun {
            event: &event,
            context: &context,
            rule,
            t,
            compiled: compiled(&reminders.templates, None),
            channels: reminders.templates.channels(),
            first_key: None,
            now,
        };
        tally.rules = 1;
        tally.add(self.recipients(&run, recipients).await?);
        // After the notices: a crash in between publishes the event again on redelivery (at
        // least once, with the same id), never not at all.
        self.events
            .publish(&event)
            .await
            .map_err(PublishError::from)?;
        tracing::info!(account = %account, series = %due.series, number = due.number, sent = tally.sent, suppressed = tally.suppressed, skipped = tally.skipped, "reminder done");
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
        let first = match (&run.compiled, run.first_key) {
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
        for &channel in &run.channels {
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

impl Tally {
    fn add(&mut self, other: Tally) {
        self.sent += other.sent;
        self.suppressed += other.suppressed;
        self.skipped += other.skipped;
    }
}

/// Templates compiled, or why not (logged as each occurrence's template error).
fn compiled(templates: &Templates, first_key: Option<&str>) -> Result<Compiled, String> {
    templates.compile(first_key).map_err(|e| {
        e.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// The series' recipients who have not acted (those without an id cannot say they have).
fn waiting(rule: &NotificationRule, series: &ReminderSeries, event: &Value) -> Vec<Recipient> {
    rule.recipients
        .recipients(event)
        .into_iter()
        .filter(|r| {
            r.id.as_ref()
                .is_none_or(|id| !series.acted.contains(id.as_str()))
        })
        .collect()
}

/// The event a reminder publishes: its id and time fixed by the series and the reminder, so
/// processing the reminder again gives the same notices and the same event.
fn reminder_event(
    due: &ReminderDue,
    series: &ReminderSeries,
    original: &Value,
    recipients: &[Recipient],
) -> Result<Event, NotifyError> {
    let data = ReminderEvent {
        rule_id: due.rule_id.clone(),
        subject: series.subject.clone(),
        number: due.number,
        of: due.of,
        after: due.after.as_str().to_owned(),
        recipients: recipients
            .iter()
            .filter_map(|r| r.id.as_ref().map(|i| i.as_str().to_owned()))
            .collect(),
        unnamed_recipients: recipients.iter().filter(|r| r.id.is_none()).count(),
        event_id: original["id"].as_str().unwrap_or_default().to_owned(),
        event_name: original["eventName"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    let new = NewEvent {
        sender: Sender::herald().as_str().to_owned(),
        event_name: crate::notify::reminders::REMINDER_EVENT.to_owned(),
        event_data: serde_json::to_value(&data).expect("a reminder serialises"),
        organization_id: original["organizationId"].as_str().map(str::to_owned),
        expires_at: None,
        tags: original["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
    };
    new.validate(
        due.series.event_id(due.number, due.due_at),
        due.account_id.clone(),
        due.due_at,
    )
    .map_err(|e| NotifyError::Publish(PublishError::Invalid(e)))
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
    use crate::notify::reminders::{MemoryReminders, MemoryScheduler};
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
        scheduler: Arc<MemoryScheduler>,
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
        let scheduler = Arc::new(MemoryScheduler::default());
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
            reminders: Some(Reminding {
                store: Arc::new(MemoryReminders::default()),
                scheduler: scheduler.clone(),
            }),
        };
        (
            World {
                notifier,
                store,
                sends,
                events,
                short_links,
                scheduler,
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
        named(w, "message.retrieved", data, at)
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

    fn named(w: &World, name: &str, data: Value, at: OffsetDateTime) -> Event {
        NewEvent {
            sender: "secure-messaging".into(),
            event_name: name.into(),
            event_data: data,
            organization_id: None,
            expires_at: None,
            tags: vec![],
        }
        .validate(EventId::new(at), w.account.clone(), at)
        .expect("valid event")
    }

    /// Reference 001 in memory: two signers, the first signs, reminders on days 3 and 7 go
    /// to the second only, each once however often it fires, and completion cancels the rest.
    #[tokio::test]
    async fn reminders_go_to_those_still_waiting_until_the_matter_closes() {
        let (w, rule_id) = world(
            json!({"name": "Signature requests", "channels": {"sms": {}}}),
            json!({
                "name": "Ask to sign",
                "eventName": "request.sent",
                "type": "message-received",
                "recipients": {"path": "eventData.signers[*]"},
                "templates": {"sms": {"en": {"text": "Please sign {{ recipient.url }}"}}},
                "reminders": {
                    "subject": "eventData.requestId",
                    "actedOn": [{"eventName": "request.signed", "recipient": "eventData.signerId"}],
                    "closedBy": ["request.completed"],
                    "templates": {"sms": {"en": {"text": "Reminder {{ event.reminder.number }}: please sign {{ recipient.url }}"}}}
                }
            }),
        )
        .await;
        let signers = json!({"requestId": "req-1", "signers": [
            {"id": "ann", "phone": "+4790000001", "url": "https://sign.example/ann"},
            {"id": "bob", "phone": "+4790000002", "url": "https://sign.example/bob"}]});
        let sent = w
            .notifier
            .handle(&named(&w, "request.sent", signers, now()), now())
            .await
            .unwrap();
        assert_eq!(sent.sent, 2);
        assert_eq!(w.scheduler.names().len(), 3, "days 3, 7 and 14");
        let signed = json!({"requestId": "req-1", "signerId": "ann"});
        let later = now() + time::Duration::hours(1);
        w.notifier
            .handle(&named(&w, "request.signed", signed, later), later)
            .await
            .unwrap();
        assert_eq!(w.scheduler.names().len(), 3, "bob still waits");

        let day = |d: i64| now() + time::Duration::days(d);
        for n in [3, 7] {
            let due = w.scheduler.due(day(n));
            assert_eq!(due.len(), 1, "day {n}");
            let first = w.notifier.remind(&due[0], day(n)).await.unwrap();
            assert_eq!((first.sent, first.suppressed), (1, 0), "day {n}: bob only");
            // Fired twice (a redelivery): the same notice, not sent again.
            let again = w.notifier.remind(&due[0], day(n)).await.unwrap();
            assert_eq!((again.sent, again.skipped), (0, 1));
        }
        let reminded: Vec<String> = w
            .log()
            .await
            .iter()
            .filter(|r| r.event_name.as_str() == "notification.reminder")
            .map(|r| r.recipient_id.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(reminded, ["bob", "bob"]);
        let reminder_events: Vec<Value> = w
            .events
            .jobs()
            .iter()
            .filter(|e| e.event_name().as_str() == "notification.reminder")
            .map(|e| serde_json::to_value(e).unwrap()["eventData"].clone())
            .collect();
        assert_eq!(
            reminder_events.len(),
            4,
            "published at least once, same id: {reminder_events:?}"
        );
        assert_eq!(reminder_events[0]["recipients"], json!(["bob"]));
        assert_eq!(reminder_events[0]["ruleId"], json!(rule_id.as_str()));
        let texts: Vec<String> = w.sends.jobs().iter().map(|j| format!("{j:?}")).collect();
        assert_eq!(texts.len(), 4, "two requests and two reminders");

        let done = json!({"requestId": "req-1"});
        w.notifier
            .handle(&named(&w, "request.completed", done, day(8)), day(8))
            .await
            .unwrap();
        assert!(w.scheduler.names().is_empty(), "day 14 cancelled");
    }

    #[tokio::test]
    async fn a_reminder_firing_after_its_matter_closed_sends_nothing() {
        let (w, _) = world(
            json!({"name": "Signature requests", "channels": {"sms": {}}}),
            json!({
                "name": "Ask to sign",
                "eventName": "request.sent",
                "type": "message-received",
                "recipients": {"path": "eventData.signers[*]"},
                "templates": {"sms": {"en": {"text": "Please sign"}}},
                "reminders": {
                    "after": ["PT1H"],
                    "subject": "eventData.requestId",
                    "closedBy": ["request.cancelled"],
                    "templates": {"sms": {"en": {"text": "Please sign soon"}}}
                }
            }),
        )
        .await;
        let data = json!({"requestId": 7, "signers": [{"id": "ann", "phone": "+4790000001"}]});
        w.notifier
            .handle(&named(&w, "request.sent", data, now()), now())
            .await
            .unwrap();
        let due = w.scheduler.due(now() + time::Duration::hours(1));
        assert_eq!(due.len(), 1);
        // Cancelled after the schedule fired but before its record was processed.
        w.notifier
            .handle(
                &named(&w, "request.cancelled", json!({"requestId": 7}), now()),
                now(),
            )
            .await
            .unwrap();
        let tally = w.notifier.remind(&due[0], now()).await.unwrap();
        assert_eq!(tally, Tally::default());
        assert_eq!(w.sends.jobs().len(), 1, "the request only");
    }
}
