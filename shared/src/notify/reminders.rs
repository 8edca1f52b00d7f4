//! Reminders: a rule may remind its recipients after its event (by default after 3, 7 and
//! 14 days), with templates of its own, until they act or the matter closes.
//!
//! The rule's event opens a *series*: one rule's reminders about one *subject* (the value at
//! `subject`, such as a signature request's id), keyed by a digest of account, rule and
//! subject. Each reminder is an EventBridge Scheduler one-time schedule with a fixed name,
//! so opening the same series again (a redelivered event) schedules nothing twice. A later
//! event named in `actedOn` marks the recipient it names as done; one named in `closedBy`
//! closes the series. Both delete the schedules once no one is left to remind, and a schedule
//! that fires anyway (deleted too late, or racing its cancellation) finds the series in the
//! store and reminds only those still waiting: the store, not the schedule, is the truth.
//!
//! Each reminder that fires publishes `notification.reminder`, so accounts that send
//! through their own systems get it as a webhook.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::json_fields::{ObjectReader, string};
use crate::common::store::StoreError;
use crate::events::ids::EventId;
use crate::events::name::EventName;
use crate::events::payload::EventPayload;
use crate::notify::recipients::DataPath;
use crate::notify::rule_id::RuleId;
use crate::notify::template::{Templates, read_templates};

/// When reminders come unless a rule says otherwise: reference 001's 3, 7 and 14 days.
pub const DEFAULT_AFTER: [&str; 3] = ["P3D", "P7D", "P14D"];
/// At most this many reminders per rule.
pub const MAX_REMINDERS: usize = 10;
/// The event each reminder publishes.
pub const REMINDER_EVENT: &str = "notification.reminder";

/// How long after the rule's event a reminder comes: an ISO 8601 duration in weeks, days,
/// hours, minutes and seconds (`P3D`, `PT12H`, `P1W`), from one minute to a year. Months and
/// years are refused: they have no fixed length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct After {
    source: String,
    duration: time::Duration,
}

impl After {
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an ISO 8601 duration such as P3D, PT12H or P1W");
        let duration = match iso8601::duration(s).map_err(|_| bad())? {
            iso8601::Duration::Weeks(w) => time::Duration::weeks(i64::from(w)),
            iso8601::Duration::YMDHMS {
                year: 0,
                month: 0,
                day,
                hour,
                minute,
                second,
                millisecond,
            } => {
                time::Duration::days(i64::from(day))
                    + time::Duration::hours(i64::from(hour))
                    + time::Duration::minutes(i64::from(minute))
                    + time::Duration::seconds(i64::from(second))
                    + time::Duration::milliseconds(i64::from(millisecond))
            }
            iso8601::Duration::YMDHMS { .. } => {
                return Err(format!(
                    "{s:?} counts months or years, which have no fixed length: use days or weeks"
                ));
            }
        };
        if duration < time::Duration::minutes(1) || duration > time::Duration::days(365) {
            return Err(format!(
                "{s:?} must be from one minute (PT1M) to a year (P365D)"
            ));
        }
        Ok(Self {
            source: s.to_owned(),
            duration,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn duration(&self) -> time::Duration {
        self.duration
    }
}

impl TryFrom<String> for After {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<After> for String {
    fn from(v: After) -> String {
        v.source
    }
}

/// An event that means one recipient has acted (a signer signed): `recipient` is the path to
/// that recipient's id in the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActedOn {
    pub event_name: EventName,
    pub recipient: DataPath,
}

/// A rule's reminders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reminders {
    /// Strictly increasing.
    pub after: Vec<After>,
    /// The path to what the reminders are about, the same in every event of the series.
    pub subject: DataPath,
    pub acted_on: Vec<ActedOn>,
    pub closed_by: Vec<EventName>,
    pub templates: Templates,
}

/// What a subject may be: a string or number, 1 to 200 characters.
pub fn subject_of(path: &DataPath, event: &Value) -> Option<String> {
    let s = match path.get(event)? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty() && s.chars().count() <= 200).then_some(s)
}

impl Reminders {
    /// Reads `reminders` from a rule's body, naming every bad field.
    pub fn read(r: &mut ObjectReader<'_>) -> Option<Option<Self>> {
        r.nested("reminders", |mut m| {
            let after = m.optional("after", |v| {
                let Value::Array(items) = v else {
                    return Err("must be an array of ISO 8601 durations".into());
                };
                if items.is_empty() || items.len() > MAX_REMINDERS {
                    return Err(format!("must hold 1 to {MAX_REMINDERS} durations"));
                }
                let after = items
                    .into_iter()
                    .map(|i| string(i).and_then(|s| After::parse(&s)))
                    .collect::<Result<Vec<_>, _>>()?;
                if after.windows(2).any(|w| w[0].duration >= w[1].duration) {
                    return Err("must be in increasing order, each later than the one before".into());
                }
                Ok(after)
            });
            let subject = m.required("subject", |v| string(v).and_then(|s| DataPath::parse(&s)));
            let acted_on = m.optional("actedOn", |v| {
                let Value::Array(items) = v else {
                    return Err("must be an array of {eventName, recipient}".into());
                };
                items
                    .into_iter()
                    .map(|i| {
                        serde_json::from_value::<ActedOn>(i).map_err(|e| {
                            format!("each item is {{eventName, recipient}} with a valid name and path: {e}")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            });
            let closed_by = m.optional("closedBy", |v| {
                let Value::Array(items) = v else {
                    return Err("must be an array of event names".into());
                };
                items
                    .into_iter()
                    .map(|i| {
                        string(i).and_then(|s| EventName::parse(&s).map_err(|e| e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()
            });
            let templates = read_templates(&mut m);
            m.finish();
            let after = match after? {
                Some(a) => a,
                None => DEFAULT_AFTER
                    .iter()
                    .map(|s| After::parse(s).expect("the defaults are valid"))
                    .collect(),
            };
            Some(Self {
                after,
                subject: subject?,
                acted_on: acted_on?.unwrap_or_default(),
                closed_by: closed_by?.unwrap_or_default(),
                templates: templates?,
            })
        })
    }

    /// The id of the recipient `event` says has acted, when it is one of the `actedOn` events.
    pub fn acted(&self, name: &EventName, event: &Value) -> Option<String> {
        self.acted_on
            .iter()
            .filter(|a| &a.event_name == name)
            .find_map(|a| match a.recipient.get(event)? {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    }

    pub fn closes(&self, name: &EventName) -> bool {
        self.closed_by.contains(name)
    }

    /// Whether `name` is an event this rule's series listen to (acted or closed).
    pub fn listens(&self, name: &EventName) -> bool {
        self.closes(name) || self.acted_on.iter().any(|a| &a.event_name == name)
    }
}

/// A series' key: a digest of account, rule and subject, so that the subject (which may be
/// anything the account's events hold) never reaches a schedule's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SeriesKey(String);

impl SeriesKey {
    pub fn of(account: &AccountId, rule: &RuleId, subject: &str) -> Self {
        let digest = Sha256::new()
            .chain_update(account.as_str())
            .chain_update([0])
            .chain_update(rule.as_str())
            .chain_update([0])
            .chain_update(subject)
            .finalize();
        Self(hex::encode(&digest[..20]))
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() == 40
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            Ok(Self(s.to_owned()))
        } else {
            Err("is not a reminder series key".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name of the series' `number`th reminder's schedule (1-based): fixed, so that
    /// scheduling again finds it, and at most 64 characters, as Scheduler requires.
    pub fn schedule_name(&self, number: usize) -> String {
        format!("herald-{}-{number}", self.0)
    }

    /// The id of the `number`th reminder's event: the same each time the reminder is
    /// processed, so its notifications keep their ids and subscribers see one event.
    pub fn event_id(&self, number: usize, due_at: OffsetDateTime) -> EventId {
        let ms = u64::try_from((due_at.unix_timestamp_nanos() / 1_000_000).max(0)).unwrap_or(0);
        let digest = Sha256::new()
            .chain_update(self.0.as_bytes())
            .chain_update(number.to_be_bytes())
            .finalize();
        let mut random = [0u8; 16];
        random.copy_from_slice(&digest[..16]);
        let ulid = ulid::Ulid::from_parts(ms, u128::from_be_bytes(random));
        EventId::parse(&ulid.to_string()).expect("a ULID is an event id")
    }
}

impl TryFrom<String> for SeriesKey {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<SeriesKey> for String {
    fn from(v: SeriesKey) -> String {
        v.0
    }
}

impl std::fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One rule's reminders about one subject, as the store keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReminderSeries {
    pub account_id: AccountId,
    pub key: SeriesKey,
    pub rule_id: RuleId,
    pub subject: String,
    /// The event that opened the series, which reminders render against; none when an
    /// acting or closing event came first.
    pub event: Option<Value>,
    /// Recipients who have acted.
    pub acted: BTreeSet<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// What happened to a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesMark {
    Acted(String),
    Closed(OffsetDateTime),
}

#[async_trait]
pub trait ReminderStore: Send + Sync {
    /// Opens the series (its event is kept unless one is already), keeping what acting and
    /// closing events recorded before; returns it as it now is.
    async fn open_series(&self, series: &ReminderSeries) -> Result<ReminderSeries, StoreError>;

    /// Records `mark` on the series, opening it without its event when it is not yet; returns
    /// it as it now is.
    async fn mark_series(
        &self,
        blank: &ReminderSeries,
        mark: &SeriesMark,
    ) -> Result<ReminderSeries, StoreError>;

    async fn series(
        &self,
        account: &AccountId,
        key: &SeriesKey,
    ) -> Result<Option<ReminderSeries>, StoreError>;
}

/// What a reminder's schedule puts on the notifications queue when it fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReminderDue {
    pub account_id: AccountId,
    pub series: SeriesKey,
    pub rule_id: RuleId,
    /// 1-based.
    pub number: usize,
    pub of: usize,
    pub after: After,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
}

/// A record on the notifications queue: an event, or (an object with `reminder`) a reminder
/// that fell due.
#[derive(Debug, Clone)]
pub enum NotifyJob {
    Reminder { reminder: ReminderDue },
    Event(Box<crate::events::webhook::Event>),
}

impl<'de> Deserialize<'de> for NotifyJob {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        // Told apart by a key, not by trying each shape, so a malformed record's error says
        // what is wrong with it.
        let mut value = Value::deserialize(d)?;
        match value.get_mut("reminder").map(Value::take) {
            Some(reminder) => serde_json::from_value(reminder)
                .map(|reminder| Self::Reminder { reminder })
                .map_err(D::Error::custom),
            None => serde_json::from_value(value)
                .map(|e| Self::Event(Box::new(e)))
                .map_err(D::Error::custom),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("scheduling failed: {0}")]
pub struct SchedulerError(pub String);

/// One-time schedules that put a [`ReminderDue`] on the notifications queue at a time.
#[async_trait]
pub trait ReminderScheduler: Send + Sync {
    /// Creates the schedule `name`; one that exists already is left as it is.
    async fn schedule(
        &self,
        name: &str,
        at: OffsetDateTime,
        due: &ReminderDue,
    ) -> Result<(), SchedulerError>;

    /// Deletes the schedule `name`; one that does not exist (fired, or never made) is fine.
    async fn cancel(&self, name: &str) -> Result<(), SchedulerError>;
}

/// `notification.reminder`: one reminder fell due and went to those still waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReminderEvent {
    pub rule_id: RuleId,
    pub subject: String,
    pub number: usize,
    pub of: usize,
    pub after: String,
    /// The ids of the recipients reminded (those without an id are counted, not named).
    pub recipients: Vec<String>,
    pub unnamed_recipients: usize,
    /// The event that opened the series.
    pub event_id: String,
    pub event_name: String,
}

impl EventPayload for ReminderEvent {
    fn event_name(&self) -> String {
        REMINDER_EVENT.to_owned()
    }
}

impl ReminderEvent {
    /// The catalog's sample.
    pub fn sample() -> Self {
        Self {
            rule_id: RuleId::parse("nr_01jd6zk5q2v7x8y9z0a1b2c3d4").expect("valid"),
            subject: "req-42".into(),
            number: 1,
            of: 3,
            after: "P3D".into(),
            recipients: vec!["signer-2".into()],
            unnamed_recipients: 0,
            event_id: "01JD6ZK5Q2V7X8Y9Z0A1B2C3D4".into(),
            event_name: "request.sent".into(),
        }
    }
}

/// Series in memory, for unit tests and the in-process API.
#[derive(Default)]
pub struct MemoryReminders {
    series: Mutex<BTreeMap<(AccountId, SeriesKey), ReminderSeries>>,
}

#[async_trait]
impl ReminderStore for MemoryReminders {
    async fn open_series(&self, series: &ReminderSeries) -> Result<ReminderSeries, StoreError> {
        let mut all = self.series.lock().expect("not poisoned");
        let entry = all
            .entry((series.account_id.clone(), series.key.clone()))
            .or_insert_with(|| series.clone());
        if entry.event.is_none() {
            entry.event.clone_from(&series.event);
        }
        Ok(entry.clone())
    }

    async fn mark_series(
        &self,
        blank: &ReminderSeries,
        mark: &SeriesMark,
    ) -> Result<ReminderSeries, StoreError> {
        let mut all = self.series.lock().expect("not poisoned");
        let entry = all
            .entry((blank.account_id.clone(), blank.key.clone()))
            .or_insert_with(|| blank.clone());
        match mark {
            SeriesMark::Acted(who) => {
                entry.acted.insert(who.clone());
            }
            SeriesMark::Closed(at) => {
                entry.closed_at.get_or_insert(*at);
            }
        }
        Ok(entry.clone())
    }

    async fn series(
        &self,
        account: &AccountId,
        key: &SeriesKey,
    ) -> Result<Option<ReminderSeries>, StoreError> {
        let all = self.series.lock().expect("not poisoned");
        Ok(all.get(&(account.clone(), key.clone())).cloned())
    }
}

/// Schedules in memory: tests fire what is due by [`MemoryScheduler::due`].
#[derive(Default)]
pub struct MemoryScheduler {
    schedules: Mutex<BTreeMap<String, (OffsetDateTime, ReminderDue)>>,
}

impl MemoryScheduler {
    /// Takes every schedule due at `now`, earliest first, as Scheduler fires and deletes them.
    pub fn due(&self, now: OffsetDateTime) -> Vec<ReminderDue> {
        let mut all = self.schedules.lock().expect("not poisoned");
        let mut due: Vec<(OffsetDateTime, ReminderDue)> = Vec::new();
        all.retain(|_, (at, d)| {
            let fire = *at <= now;
            if fire {
                due.push((*at, d.clone()));
            }
            !fire
        });
        due.sort_by_key(|(at, _)| *at);
        due.into_iter().map(|(_, d)| d).collect()
    }

    pub fn names(&self) -> Vec<String> {
        self.schedules
            .lock()
            .expect("not poisoned")
            .keys()
            .cloned()
            .collect()
    }
}

#[async_trait]
impl ReminderScheduler for MemoryScheduler {
    async fn schedule(
        &self,
        name: &str,
        at: OffsetDateTime,
        due: &ReminderDue,
    ) -> Result<(), SchedulerError> {
        self.schedules
            .lock()
            .expect("not poisoned")
            .entry(name.to_owned())
            .or_insert_with(|| (at, due.clone()));
        Ok(())
    }

    async fn cancel(&self, name: &str) -> Result<(), SchedulerError> {
        self.schedules.lock().expect("not poisoned").remove(name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::validation::FieldErrors;
    use serde_json::json;

    fn read(body: Value) -> Result<Option<Reminders>, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut r = ObjectReader::new(json!({ "reminders": body }), "", &mut errors).unwrap();
        let out = Reminders::read(&mut r);
        r.finish();
        match out {
            Some(v) if errors.is_empty() => Ok(v),
            _ => Err(errors),
        }
    }

    fn templates() -> Value {
        json!({"sms": {"en": {"text": "Still waiting for you: {{ recipient.url }}"}}})
    }

    #[test]
    fn durations_are_iso_8601_with_fixed_lengths() {
        assert_eq!(
            After::parse("P3D").unwrap().duration(),
            time::Duration::days(3)
        );
        assert_eq!(
            After::parse("P1W").unwrap().duration(),
            time::Duration::days(7)
        );
        assert_eq!(
            After::parse("P1DT12H").unwrap().duration(),
            time::Duration::hours(36)
        );
        assert!(After::parse("P1M").unwrap_err().contains("months"));
        assert!(After::parse("PT30S").unwrap_err().contains("one minute"));
        assert!(After::parse("P400D").is_err());
        assert!(After::parse("3 days").is_err());
    }

    #[test]
    fn defaults_are_three_seven_and_fourteen_days() {
        let r = read(json!({"subject": "eventData.requestId", "templates": templates()}))
            .unwrap()
            .unwrap();
        let days: Vec<i64> = r.after.iter().map(|a| a.duration().whole_days()).collect();
        assert_eq!(days, [3, 7, 14]);
        assert!(r.acted_on.is_empty() && r.closed_by.is_empty());
    }

    #[test]
    fn every_bad_field_is_named() {
        let e = read(json!({
            "after": ["P7D", "P3D"],
            "subject": "eventData..id",
            "actedOn": [{"eventName": "request.signed"}],
            "closedBy": ["not a name"],
            "templates": {"sms": {"en": {}}},
            "colour": 1
        }))
        .unwrap_err();
        for field in [
            "reminders.after",
            "reminders.subject",
            "reminders.actedOn",
            "reminders.closedBy",
            "reminders.templates.sms.en.text",
            "reminders.colour",
        ] {
            assert!(e.has(field), "{field} in {e}");
        }
    }

    #[test]
    fn acting_and_closing_events_are_recognised() {
        let r = read(json!({
            "subject": "eventData.requestId",
            "actedOn": [{"eventName": "request.signed", "recipient": "eventData.signer.id"}],
            "closedBy": ["request.completed", "request.cancelled"],
            "templates": templates()
        }))
        .unwrap()
        .unwrap();
        let signed = EventName::parse("request.signed").unwrap();
        let event = json!({"eventData": {"requestId": "r1", "signer": {"id": "ann"}}});
        assert_eq!(r.acted(&signed, &event).as_deref(), Some("ann"));
        assert!(r.listens(&signed));
        assert!(r.closes(&EventName::parse("request.cancelled").unwrap()));
        assert!(!r.listens(&EventName::parse("request.viewed").unwrap()));
        assert_eq!(
            subject_of(&r.subject, &event).as_deref(),
            Some("r1"),
            "the subject"
        );
        assert_eq!(subject_of(&r.subject, &json!({"eventData": {}})), None);
    }

    #[test]
    fn keys_and_names_are_fixed_and_short() {
        let account = AccountId::parse("acme").unwrap();
        let rule = RuleId::new(OffsetDateTime::UNIX_EPOCH);
        let key = SeriesKey::of(&account, &rule, "r1");
        assert_eq!(key, SeriesKey::of(&account, &rule, "r1"));
        assert_ne!(key, SeriesKey::of(&account, &rule, "r2"));
        assert!(key.schedule_name(10).len() <= 64);
        let at = OffsetDateTime::UNIX_EPOCH + time::Duration::days(3);
        assert_eq!(key.event_id(1, at), key.event_id(1, at));
        assert_ne!(key.event_id(1, at), key.event_id(2, at));
        assert_eq!(SeriesKey::parse(key.as_str()), Ok(key));
    }

    #[tokio::test]
    async fn marks_kept_before_the_series_opens() {
        let store = MemoryReminders::default();
        let account = AccountId::parse("acme").unwrap();
        let rule = RuleId::new(OffsetDateTime::UNIX_EPOCH);
        let blank = ReminderSeries {
            account_id: account.clone(),
            key: SeriesKey::of(&account, &rule, "r1"),
            rule_id: rule,
            subject: "r1".into(),
            event: None,
            acted: BTreeSet::new(),
            closed_at: None,
            expires_at: OffsetDateTime::UNIX_EPOCH,
        };
        store
            .mark_series(&blank, &SeriesMark::Acted("ann".into()))
            .await
            .unwrap();
        let opened = store
            .open_series(&ReminderSeries {
                event: Some(json!({"eventName": "request.sent"})),
                ..blank.clone()
            })
            .await
            .unwrap();
        assert!(opened.acted.contains("ann"));
        assert!(opened.event.is_some());
    }

    #[tokio::test]
    async fn a_memory_schedule_fires_once_when_due() {
        let scheduler = MemoryScheduler::default();
        let account = AccountId::parse("acme").unwrap();
        let rule = RuleId::new(OffsetDateTime::UNIX_EPOCH);
        let due = ReminderDue {
            account_id: account.clone(),
            series: SeriesKey::of(&account, &rule, "r1"),
            rule_id: rule,
            number: 1,
            of: 1,
            after: After::parse("P3D").unwrap(),
            due_at: OffsetDateTime::UNIX_EPOCH + time::Duration::days(3),
        };
        scheduler.schedule("a", due.due_at, &due).await.unwrap();
        scheduler.schedule("a", due.due_at, &due).await.unwrap();
        assert!(scheduler.due(OffsetDateTime::UNIX_EPOCH).is_empty());
        let at = due.due_at;
        assert_eq!(scheduler.due(at), vec![due]);
        assert!(scheduler.due(at).is_empty());
    }

    #[test]
    fn queue_records_are_events_or_reminders() {
        let due = json!({"reminder": {
            "accountId": "acme", "series": "0".repeat(40),
            "ruleId": "nr_01jd6zk5q2v7x8y9z0a1b2c3d4", "number": 1, "of": 3,
            "after": "P3D", "dueAt": "2026-12-06T10:00:00Z"}});
        assert!(matches!(
            serde_json::from_value::<NotifyJob>(due),
            Ok(NotifyJob::Reminder { .. })
        ));
    }
}
