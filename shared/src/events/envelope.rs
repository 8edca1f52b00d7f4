//! The event envelope: the reference's nine fields, the same for every event but `eventData`,
//! and the publish request an event is made from.

use std::fmt::Display;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::common::account::AccountId;
use crate::common::clock::{rfc3339, to_millis};
use crate::common::json_fields::{ObjectReader, json_size, kind, string};
use crate::common::validation::FieldErrors;
use crate::events::ids::{EventId, OrganizationId, Sender};
use crate::events::name::EventName;
use crate::messaging::message::Tag;

/// One event, as every subscriber receives it:
///
/// ```json
/// { "id": "01HF...", "timestamp": "2023-11-13T11:38:10.730Z", "sender": "signature-api",
///   "eventName": "order.completed", "eventData": { ... }, "accountId": "a-spge-...",
///   "organizationId": null, "expiresAt": "2023-11-18T11:38:10.730Z", "tags": ["mock"] }
/// ```
///
/// Exactly these nine fields, in this order, `organizationId` written as `null` when absent.
/// Times are UTC with millisecond precision and are held at that precision, so that an event
/// read back from a queue equals the one written (and signs to the same bytes).
///
/// An `Event` always holds: `expiresAt` after `timestamp`; `eventData` an object of at most
/// [`Event::MAX_DATA_BYTES`]; at most [`Event::MAX_TAGS`] distinct tags. Reading one back
/// (`Deserialize`) checks these again.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "StoredEvent")]
pub struct Event {
    id: EventId,
    timestamp: OffsetDateTime,
    sender: Sender,
    event_name: EventName,
    event_data: Map<String, Value>,
    account_id: AccountId,
    organization_id: Option<OrganizationId>,
    expires_at: OffsetDateTime,
    tags: Vec<Tag>,
}

impl Event {
    /// How long an event lives when its publisher does not say: five days, the longest Herald
    /// retries a delivery anyway (see [`crate::events::delivery::retry::MAX_RETRY_WINDOW`]), so that by default
    /// only the retry window limits delivery.
    pub const DEFAULT_LIFETIME: time::Duration = time::Duration::days(5);

    /// At most this many tags: the same limit as a message's, since Herald's own events carry
    /// the tags of the message they are about.
    pub const MAX_TAGS: usize = Tag::MAX_PER_ITEM;

    /// `eventData` as compact JSON is at most 64 KiB: the envelope and the delivery job around it
    /// must fit an SQS message (256 KiB), and every attempt's request body is kept for the
    /// deliveries API.
    pub const MAX_DATA_BYTES: usize = 64 * 1024;

    pub fn id(&self) -> &EventId {
        &self.id
    }

    pub fn timestamp(&self) -> OffsetDateTime {
        self.timestamp
    }

    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    pub fn event_name(&self) -> &EventName {
        &self.event_name
    }

    pub fn event_data(&self) -> &Map<String, Value> {
        &self.event_data
    }

    pub fn account_id(&self) -> &AccountId {
        &self.account_id
    }

    pub fn organization_id(&self) -> Option<&OrganizationId> {
        self.organization_id.as_ref()
    }

    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    pub fn tags(&self) -> &[Tag] {
        &self.tags
    }

    /// Whether `now` is past `expiresAt`: the reference allows no attempt after that instant
    /// (one exactly at it is still allowed).
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now > self.expires_at
    }
}

/// The wire form, borrowed from an [`Event`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventJson<'a> {
    id: &'a EventId,
    timestamp: String,
    sender: &'a Sender,
    event_name: &'a EventName,
    event_data: &'a Map<String, Value>,
    account_id: &'a AccountId,
    organization_id: Option<&'a OrganizationId>,
    expires_at: String,
    tags: &'a [Tag],
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        EventJson {
            id: &self.id,
            timestamp: rfc3339(self.timestamp),
            sender: &self.sender,
            event_name: &self.event_name,
            event_data: &self.event_data,
            account_id: &self.account_id,
            organization_id: self.organization_id.as_ref(),
            expires_at: rfc3339(self.expires_at),
            tags: &self.tags,
        }
        .serialize(s)
    }
}

/// An event as written to a queue or store, checked again by [`TryFrom`] when read back.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredEvent {
    id: EventId,
    timestamp: String,
    sender: Sender,
    event_name: EventName,
    event_data: Value,
    account_id: AccountId,
    organization_id: Option<String>,
    expires_at: String,
    tags: Vec<String>,
}

impl TryFrom<StoredEvent> for Event {
    type Error = FieldErrors;
    fn try_from(e: StoredEvent) -> Result<Self, Self::Error> {
        let mut errors = FieldErrors::new();
        let timestamp = ok_or_push(&mut errors, "timestamp", parse_time(&e.timestamp));
        let Some(timestamp) = timestamp else {
            return Err(errors);
        };
        let draft = Draft {
            sender: Some(e.sender.into()),
            event_name: Some(e.event_name.into()),
            event_data: Some(e.event_data),
            organization_id: Some(e.organization_id),
            expires_at: Some(Some(e.expires_at)),
            tags: Some(e.tags.into_iter().map(Some).collect()),
        };
        draft.check(errors, e.id, e.account_id, timestamp)
    }
}

/// A request to publish an event, every field as the publisher gave it. [`NewEvent::validate`]
/// turns it into an [`Event`], or lists every field that is wrong.
///
/// Herald, not the publisher, gives the event its `id`, `timestamp` (when Herald accepted it)
/// and `accountId` (from the path the request was made on).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub sender: String,
    pub event_name: String,
    /// An object; `null` means none, which is sent as `{}`.
    pub event_data: Value,
    pub organization_id: Option<String>,
    /// RFC 3339, any offset; absent means [`Event::DEFAULT_LIFETIME`] after the timestamp.
    pub expires_at: Option<String>,
    pub tags: Vec<String>,
}

impl NewEvent {
    /// Checks every field, naming each bad one as the API spells it (`eventName`, `tags[2]`).
    pub fn validate(
        self,
        id: EventId,
        account_id: AccountId,
        timestamp: OffsetDateTime,
    ) -> Result<Event, FieldErrors> {
        let draft = Draft {
            sender: Some(self.sender),
            event_name: Some(self.event_name),
            event_data: Some(self.event_data),
            organization_id: Some(self.organization_id),
            expires_at: Some(self.expires_at),
            tags: Some(self.tags.into_iter().map(Some).collect()),
        };
        draft.check(FieldErrors::new(), id, account_id, timestamp)
    }

    /// Reads a publish request's JSON body (`sender`, `eventName`, `eventData`,
    /// `organizationId`, `expiresAt`, `tags`) straight into an [`Event`], listing every problem
    /// at once: wrong JSON types, missing and unknown fields, and invalid values.
    pub fn read(
        body: Value,
        id: EventId,
        account_id: AccountId,
        timestamp: OffsetDateTime,
    ) -> Result<Event, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Some(mut r) = ObjectReader::new(body, "", &mut errors) else {
            return Err(errors);
        };
        let sender = r.required("sender", string);
        let event_name = r.required("eventName", string);
        let event_data = r
            .optional("eventData", Ok)
            .map(|v| v.unwrap_or(Value::Null));
        let organization_id = r.nullable("organizationId", string);
        let expires_at = r.optional("expiresAt", string);
        let tags = r.optional("tags", Ok).and_then(|v| {
            let items = match v {
                None => return Some(Vec::new()),
                Some(Value::Array(items)) => items,
                Some(other) => {
                    r.errors().push(
                        "tags",
                        format!("must be an array of tags, not {}", kind(&other)),
                    );
                    return None;
                }
            };
            let items = items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    string(item)
                        .map_err(|e| r.errors().push(format!("tags[{i}]"), e))
                        .ok()
                })
                .collect();
            Some(items)
        });
        r.finish();
        let draft = Draft {
            sender,
            event_name,
            event_data,
            organization_id,
            expires_at,
            tags,
        };
        draft.check(errors, id, account_id, timestamp)
    }
}

/// The fields of an event on their way to being checked. `None` marks a field already found
/// wrong (and reported), so that checking goes on with the others.
struct Draft {
    sender: Option<String>,
    event_name: Option<String>,
    event_data: Option<Value>,
    organization_id: Option<Option<String>>,
    expires_at: Option<Option<String>>,
    tags: Option<Vec<Option<String>>>,
}

impl Draft {
    fn check(
        self,
        mut errors: FieldErrors,
        id: EventId,
        account_id: AccountId,
        timestamp: OffsetDateTime,
    ) -> Result<Event, FieldErrors> {
        let timestamp = to_millis(timestamp);
        let e = &mut errors;
        let sender = self
            .sender
            .and_then(|s| ok_or_push(e, "sender", Sender::parse(&s)));
        let event_name = self
            .event_name
            .and_then(|s| ok_or_push(e, "eventName", EventName::parse(&s)));
        let event_data = self
            .event_data
            .and_then(|v| ok_or_push(e, "eventData", event_data(v)));
        let organization_id = self.organization_id.and_then(|o| match o {
            None => Some(None),
            Some(s) => ok_or_push(e, "organizationId", OrganizationId::parse(&s)).map(Some),
        });
        let expires_at = self.expires_at.and_then(|x| match x {
            None => Some(timestamp + Event::DEFAULT_LIFETIME),
            Some(s) => ok_or_push(e, "expiresAt", expiry(&s, timestamp)),
        });
        let tags = self.tags.and_then(|t| tags(t, e));
        let (
            Some(sender),
            Some(event_name),
            Some(event_data),
            Some(organization_id),
            Some(expires_at),
            Some(tags),
        ) = (
            sender,
            event_name,
            event_data,
            organization_id,
            expires_at,
            tags,
        )
        else {
            return Err(errors);
        };
        errors.into_result(Event {
            id,
            timestamp,
            sender,
            event_name,
            event_data,
            account_id,
            organization_id,
            expires_at,
            tags,
        })
    }
}

/// `Some(value)`, or `None` with the error recorded against `field`.
fn ok_or_push<T, E: Display>(
    errors: &mut FieldErrors,
    field: &str,
    result: Result<T, E>,
) -> Option<T> {
    result.map_err(|e| errors.push(field, e.to_string())).ok()
}

fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map(to_millis)
        .map_err(|_| "must be an RFC 3339 time, such as 2024-01-31T12:00:00Z".to_owned())
}

fn expiry(s: &str, timestamp: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let at = parse_time(s)?;
    if at > timestamp {
        Ok(at)
    } else {
        Err(format!(
            "must be after the event's timestamp ({})",
            rfc3339(timestamp)
        ))
    }
}

fn event_data(value: Value) -> Result<Map<String, Value>, String> {
    match value {
        Value::Null => Ok(Map::new()),
        Value::Object(map) => {
            let size = json_size(&map);
            if size > Event::MAX_DATA_BYTES {
                return Err(format!(
                    "must be at most {} bytes of JSON (it has {size})",
                    Event::MAX_DATA_BYTES
                ));
            }
            Ok(map)
        }
        other => Err(format!("must be an object, not {}", kind(&other))),
    }
}

/// Every tag checked (`tags[2]`), repeats dropped (tags are a set), at most [`Event::MAX_TAGS`].
/// `None` items were already reported.
fn tags(items: Vec<Option<String>>, errors: &mut FieldErrors) -> Option<Vec<Tag>> {
    let mut ok = true;
    let mut tags: Vec<Tag> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Some(s) = item else {
            ok = false;
            continue;
        };
        match Tag::parse(&s) {
            Ok(tag) if tags.contains(&tag) => {}
            Ok(tag) => tags.push(tag),
            Err(e) => {
                errors.push(format!("tags[{i}]"), e);
                ok = false;
            }
        }
    }
    if tags.len() > Event::MAX_TAGS {
        errors.push(
            "tags",
            format!(
                "must hold at most {} tags (it has {})",
                Event::MAX_TAGS,
                tags.len()
            ),
        );
        ok = false;
    }
    ok.then_some(tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2023-11-13 11:38:10.730236 UTC);

    fn account() -> AccountId {
        AccountId::parse("a-spge-IL9J9flqic18sh4TsUAo").expect("valid")
    }

    fn id() -> EventId {
        EventId::new(AT)
    }

    fn new_event() -> NewEvent {
        NewEvent {
            sender: "signature-api".into(),
            event_name: "order.completed".into(),
            event_data: json!({"orderId": "o-1", "amount": 12}),
            organization_id: None,
            expires_at: None,
            tags: vec!["mock".into()],
        }
    }

    fn fields(errors: &FieldErrors) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn serializes_exactly_the_nine_fields_in_order() {
        let event = new_event().validate(id(), account(), AT).expect("valid");
        let text = serde_json::to_string(&event).expect("serializes");
        let expected = format!(
            concat!(
                r#"{{"id":"{}","timestamp":"2023-11-13T11:38:10.73Z","sender":"signature-api","#,
                r#""eventName":"order.completed","eventData":{{"amount":12,"orderId":"o-1"}},"#,
                r#""accountId":"a-spge-IL9J9flqic18sh4TsUAo","organizationId":null,"#,
                r#""expiresAt":"2023-11-18T11:38:10.73Z","tags":["mock"]}}"#
            ),
            event.id()
        );
        assert_eq!(text, expected);
        let value: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value.as_object().map(Map::len), Some(9));
    }

    #[test]
    fn default_expiry_is_five_days_after_the_timestamp() {
        let event = new_event().validate(id(), account(), AT).expect("valid");
        assert_eq!(event.timestamp(), datetime!(2023-11-13 11:38:10.730 UTC));
        assert_eq!(
            event.expires_at(),
            datetime!(2023-11-18 11:38:10.730 UTC),
            "held at millisecond precision"
        );
        assert!(!event.is_expired(event.expires_at()));
        assert!(event.is_expired(event.expires_at() + time::Duration::milliseconds(1)));
    }

    #[test]
    fn explicit_fields_are_kept() {
        let event = NewEvent {
            organization_id: Some("o-1".into()),
            expires_at: Some("2023-11-13T12:38:40.7302345+01:00".into()),
            tags: vec!["b".into(), "a".into(), "b".into()],
            ..new_event()
        }
        .validate(id(), account(), AT)
        .expect("valid");
        assert_eq!(
            event.organization_id().map(OrganizationId::as_str),
            Some("o-1")
        );
        assert_eq!(event.expires_at(), datetime!(2023-11-13 11:38:40.730 UTC));
        let tags: Vec<_> = event.tags().iter().map(Tag::as_str).collect();
        assert_eq!(tags, ["b", "a"], "repeats dropped, order kept");
        assert_eq!(event.sender().as_str(), "signature-api");
        assert_eq!(event.event_name().as_str(), "order.completed");
        assert_eq!(event.account_id(), &account());
        assert_eq!(event.event_data().get("orderId"), Some(&json!("o-1")));
    }

    #[test]
    fn null_event_data_is_an_empty_object() {
        let event = NewEvent {
            event_data: Value::Null,
            tags: vec![],
            ..new_event()
        }
        .validate(id(), account(), AT)
        .expect("valid");
        assert!(event.event_data().is_empty());
        assert!(event.tags().is_empty());
        let v = serde_json::to_value(&event).expect("serializes");
        assert_eq!(v["eventData"], json!({}));
        assert_eq!(v["tags"], json!([]));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let bad = NewEvent {
            sender: "signature api".into(),
            event_name: "Order.Completed".into(),
            event_data: json!([1, 2]),
            organization_id: Some("o/1".into()),
            expires_at: Some("2023-11-13T11:38:10.730Z".into()),
            tags: vec!["ok".into(), "ok-too".into(), "not ok".into(), "".into()],
        };
        let err = bad.validate(id(), account(), AT).expect_err("invalid");
        assert_eq!(
            fields(&err),
            [
                "sender",
                "eventName",
                "eventData",
                "organizationId",
                "expiresAt",
                "tags[2]",
                "tags[3]"
            ]
        );
        assert!(
            err.to_string().contains("must be an object, not an array"),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("must be after the event's timestamp"),
            "{err}"
        );
    }

    #[test]
    fn expiry_must_be_a_time_after_the_timestamp() {
        for bad in [
            "2023-11-13T11:38:10.7309Z", // the same millisecond as the timestamp
            "2023-11-13T11:38:10Z",
            "2020-01-01T00:00:00Z",
            "2023-11-14T11:38:11", // no offset
            "tomorrow",
            "",
        ] {
            let err = NewEvent {
                expires_at: Some(bad.into()),
                ..new_event()
            }
            .validate(id(), account(), AT)
            .expect_err(bad);
            assert_eq!(fields(&err), ["expiresAt"], "{bad:?}");
        }
        let ok = NewEvent {
            expires_at: Some("2023-11-13T11:38:10.731Z".into()),
            ..new_event()
        };
        assert!(ok.validate(id(), account(), AT).is_ok());
    }

    #[test]
    fn at_most_twenty_distinct_tags() {
        let twenty: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
        let with_repeats: Vec<String> = twenty.iter().chain(twenty.iter()).cloned().collect();
        let ok = NewEvent {
            tags: with_repeats,
            ..new_event()
        };
        assert_eq!(
            ok.validate(id(), account(), AT)
                .expect("valid")
                .tags()
                .len(),
            20
        );
        let mut too_many = twenty;
        too_many.push("t20".into());
        let err = NewEvent {
            tags: too_many,
            ..new_event()
        }
        .validate(id(), account(), AT)
        .expect_err("21 tags");
        assert_eq!(fields(&err), ["tags"]);
    }

    #[test]
    fn event_data_is_bounded() {
        let big = "x".repeat(Event::MAX_DATA_BYTES);
        let err = NewEvent {
            event_data: json!({ "big": big }),
            ..new_event()
        }
        .validate(id(), account(), AT)
        .expect_err("too big");
        assert_eq!(fields(&err), ["eventData"]);
        // {"b":"..."} is 8 bytes of framing.
        let fits = "x".repeat(Event::MAX_DATA_BYTES - 8);
        let ok = NewEvent {
            event_data: json!({ "b": fits }),
            ..new_event()
        };
        assert!(ok.validate(id(), account(), AT).is_ok());
        for scalar in [json!(1), json!("s"), json!(true)] {
            let err = NewEvent {
                event_data: scalar.clone(),
                ..new_event()
            }
            .validate(id(), account(), AT)
            .expect_err("not an object");
            assert_eq!(fields(&err), ["eventData"], "{scalar}");
        }
    }

    #[test]
    fn reads_a_publish_request() {
        let body = json!({
            "sender": "signature-api",
            "eventName": "order.completed",
            "eventData": {"orderId": "o-1"},
            "organizationId": null,
            "expiresAt": "2023-11-13T11:38:40.730Z",
            "tags": ["mock", "test-tag"]
        });
        let event = NewEvent::read(body, id(), account(), AT).expect("valid");
        assert_eq!(event.tags().len(), 2);
        assert_eq!(event.expires_at(), datetime!(2023-11-13 11:38:40.730 UTC));

        let minimal = json!({"sender": "herald", "eventName": "sms.sent"});
        let event = NewEvent::read(minimal, id(), account(), AT).expect("valid");
        assert!(event.event_data().is_empty());
        assert!(event.tags().is_empty());
    }

    #[test]
    fn reading_lists_type_errors_and_invalid_values_together() {
        let body = json!({
            "eventName": 5,
            "eventData": "text",
            "organizationId": 7,
            "expiresAt": "soon",
            "tags": ["ok", 3, "bad tag"],
            "id": "mine",
            "accountId": "other"
        });
        let err = NewEvent::read(body, id(), account(), AT).expect_err("invalid");
        assert_eq!(
            fields(&err),
            [
                "sender",
                "eventName",
                "organizationId",
                "tags[1]",
                "accountId",
                "id",
                "eventData",
                "expiresAt",
                "tags[2]"
            ]
        );
        let err = NewEvent::read(
            json!({"sender": "s", "eventName": "a.b", "tags": "x"}),
            id(),
            account(),
            AT,
        )
        .expect_err("tags not an array");
        assert_eq!(fields(&err), ["tags"]);
        let err = NewEvent::read(json!([]), id(), account(), AT).expect_err("not an object");
        assert_eq!(fields(&err), ["(body)"]);
    }

    #[test]
    fn round_trips_through_json() {
        let event = NewEvent {
            organization_id: Some("o-1".into()),
            ..new_event()
        }
        .validate(id(), account(), AT)
        .expect("valid");
        let text = serde_json::to_string(&event).expect("serializes");
        let back: Event = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, event);
        assert_eq!(serde_json::to_string(&back).expect("serializes"), text);
    }

    #[test]
    fn reading_back_checks_again() {
        let event = new_event().validate(id(), account(), AT).expect("valid");
        let good = serde_json::to_value(&event).expect("serializes");

        let mut expired_before_created = good.clone();
        expired_before_created["expiresAt"] = json!("2000-01-01T00:00:00Z");
        let mut scalar_data = good.clone();
        scalar_data["eventData"] = json!(3);
        let mut bad_tag = good.clone();
        bad_tag["tags"] = json!(["a b"]);
        let mut bad_time = good.clone();
        bad_time["timestamp"] = json!("yesterday");
        let mut bad_name = good.clone();
        bad_name["eventName"] = json!("X");
        let mut missing = good.clone();
        if let Some(o) = missing.as_object_mut() {
            o.remove("accountId");
        }
        for bad in [
            expired_before_created,
            scalar_data,
            bad_tag,
            bad_time,
            bad_name,
            missing,
        ] {
            assert!(
                serde_json::from_value::<Event>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        assert!(serde_json::from_value::<Event>(good).is_ok());
    }
}
