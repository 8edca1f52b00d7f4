//! Event types the platform's services register (`PUT /event-types/{name}`), and the port of
//! the store that keeps them, [`EventTypeStore`].

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::common::etag::ETag;
use crate::common::json_fields::{ObjectReader, json_size, kind, string};
pub use crate::common::store::StoreError;
use crate::common::validation::FieldErrors;
use crate::events::catalog::builtin;
use crate::events::catalog::schema::EventSchema;
use crate::events::ids::Sender;
use crate::events::name::EventName;

/// What an event type is for, as the catalog shows it: 1 to 500 characters, not blank, no
/// control characters (it is shown on one line beside the name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

impl Description {
    pub const MAX_LEN: usize = 500;

    /// Counted as given, then kept without surrounding spaces: the limit is the one the API
    /// document states, whatever the spaces.
    pub fn parse(s: &str) -> Result<Self, String> {
        let len = s.chars().count();
        let trimmed = s.trim();
        if trimmed.is_empty() || len > Self::MAX_LEN {
            return Err(format!(
                "must be 1 to {} characters, not all spaces",
                Self::MAX_LEN
            ));
        }
        if s.chars().any(char::is_control) {
            return Err("must not contain control characters or line breaks".into());
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Description {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Description> for String {
    fn from(v: Description) -> String {
        v.0
    }
}

/// An event type a service registered: its sender, what it means, an example `eventData` (the
/// preview and what test events carry) and, optionally, the JSON Schema published `eventData`
/// must satisfy.
///
/// It always holds: a name that is not one of Herald's own, a sender other than Herald, an
/// example that is an object of at most [`RegisteredEventType::MAX_EXAMPLE_BYTES`] and
/// satisfies the schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredEventType", into = "StoredEventType")]
pub struct RegisteredEventType {
    name: EventName,
    sender: Sender,
    description: Description,
    example: Map<String, Value>,
    schema: Option<EventSchema>,
}

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Refused {
    /// Fields are invalid, each named as the API spells it.
    Invalid(FieldErrors),
    /// The name is one of Herald's own event types.
    BuiltIn(EventName),
}

impl RegisteredEventType {
    /// An example is at most 8 KiB of JSON. It is a preview, not real data, and
    /// `GET /event-types` answers every registered type's sample in one response that must
    /// stay well under Lambda's 6 MB.
    pub const MAX_EXAMPLE_BYTES: usize = 8 * 1024;

    /// Reads `PUT /event-types/{name}`: the name from the path, `sender`, `description`,
    /// `eventData` (the example) and `schema` from the body. Every invalid field is listed
    /// (`name` for the path's); an example that violates the schema is listed per violation
    /// (`eventData/total`). Only a request with every field valid is refused for naming one
    /// of Herald's own event types.
    pub fn read(name: &str, body: Value) -> Result<Self, Refused> {
        let mut errors = FieldErrors::new();
        let name = EventName::parse(name)
            .map_err(|e| errors.push("name", e.to_string()))
            .ok();
        let mut fields = None;
        if let Some(mut r) = ObjectReader::new(body, "", &mut errors) {
            let sender = r.required("sender", |v| sender(&string(v)?));
            let description = r.required("description", |v| Description::parse(&string(v)?));
            let example = r.required("eventData", example);
            let schema = r.optional("schema", EventSchema::parse);
            r.finish();
            fields = Some((sender, description, example, schema));
        }
        let Some((name, (Some(sender), Some(description), Some(example), Some(schema)))) =
            name.zip(fields)
        else {
            return Err(Refused::Invalid(errors));
        };
        if let Some(schema) = &schema {
            schema.check("eventData", &example, &mut errors);
        }
        if !errors.is_empty() {
            return Err(Refused::Invalid(errors));
        }
        if builtin::is_builtin(&name) {
            return Err(Refused::BuiltIn(name));
        }
        Ok(Self {
            name,
            sender,
            description,
            example,
            schema: schema.map(|s| s.into_schema()),
        })
    }

    pub fn name(&self) -> &EventName {
        &self.name
    }

    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    pub fn description(&self) -> &Description {
        &self.description
    }

    pub fn example(&self) -> &Map<String, Value> {
        &self.example
    }

    pub fn schema(&self) -> Option<&EventSchema> {
        self.schema.as_ref()
    }

    /// The tag of this definition: a digest of its content, so that registering the same
    /// definition again keeps its tag.
    pub fn etag(&self) -> ETag {
        crate::events::catalog::definition_tag(
            &self.name,
            &self.sender,
            self.description.as_str(),
            &self.example,
            self.schema.as_ref(),
        )
    }
}

/// A sender other than Herald, in any case: `herald` names Herald's own events in the catalog,
/// and a service posing as it would mislead whoever reads them.
fn sender(s: &str) -> Result<Sender, String> {
    let sender = Sender::parse(s).map_err(|e| e.to_string())?;
    if sender.as_str().eq_ignore_ascii_case(Sender::HERALD) {
        return Err(format!(
            "{:?} is reserved for Herald's own events; name the service that sends this one",
            sender.as_str()
        ));
    }
    Ok(sender)
}

fn example(value: Value) -> Result<Map<String, Value>, String> {
    match value {
        Value::Object(map) => {
            let size = json_size(&map);
            if size > RegisteredEventType::MAX_EXAMPLE_BYTES {
                return Err(format!(
                    "must be at most {} bytes of JSON (it has {size})",
                    RegisteredEventType::MAX_EXAMPLE_BYTES
                ));
            }
            Ok(map)
        }
        other => Err(format!(
            "must be an example of the event's data, an object, not {}",
            kind(&other)
        )),
    }
}

/// A registered type as stores keep it: the example and the schema as JSON text. Text keeps
/// any JSON as it was given: DynamoDB's maps nest at most 32 levels, and its numbers are not
/// JSON's.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEventType {
    name: EventName,
    sender: Sender,
    description: Description,
    example: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
}

impl From<RegisteredEventType> for StoredEventType {
    fn from(t: RegisteredEventType) -> Self {
        Self {
            name: t.name,
            sender: t.sender,
            description: t.description,
            example: Value::Object(t.example).to_string(),
            schema: t
                .schema
                .map(|s| Value::Object(s.as_json().clone()).to_string()),
        }
    }
}

/// Read back, a stored type is checked again, but for two things: its schema is compiled when
/// a publish needs it ([`EventSchema::restore`]), and a name Herald has since taken for one of
/// its own events is kept (the catalog shows Herald's type in its place).
impl TryFrom<StoredEventType> for RegisteredEventType {
    type Error = String;
    fn try_from(s: StoredEventType) -> Result<Self, Self::Error> {
        let sender = sender(s.sender.as_str())?;
        let example = serde_json::from_str(&s.example)
            .map_err(|e| e.to_string())
            .and_then(example)?;
        let schema = s
            .schema
            .map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| e.to_string())
                    .and_then(EventSchema::restore)
            })
            .transpose()?;
        Ok(Self {
            name: s.name,
            sender,
            description: s.description,
            example,
            schema,
        })
    }
}

/// What a write expects of the stored type it replaces or removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// No type of that name is stored.
    Absent,
    /// The stored type still has this tag.
    Current(ETag),
}

/// Where registered event types are kept: one registry for the whole platform.
#[async_trait]
pub trait EventTypeStore: Send + Sync {
    /// Every registered type, in name order.
    async fn list(&self) -> Result<Vec<RegisteredEventType>, StoreError>;

    async fn get(&self, name: &EventName) -> Result<Option<RegisteredEventType>, StoreError>;

    /// Writes `event_type` while the stored one is as `expected` says, or fails with
    /// [`StoreError::PreconditionFailed`].
    async fn put(
        &self,
        event_type: &RegisteredEventType,
        expected: &Expected,
    ) -> Result<(), StoreError>;

    /// Removes the type named `name` while it still has the tag `current`, or fails with
    /// [`StoreError::PreconditionFailed`] (also when it is gone).
    async fn delete(&self, name: &EventName, current: &ETag) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body() -> Value {
        json!({
            "sender": "signature-api",
            "description": "A signature order was completed by every signer.",
            "eventData": {"orderId": "o-42", "total": 129.5},
            "schema": {
                "type": "object",
                "required": ["orderId"],
                "properties": {"orderId": {"type": "string"}, "total": {"type": "number"}},
            },
        })
    }

    fn fields(refused: Refused) -> Vec<String> {
        match refused {
            Refused::Invalid(errors) => errors.into_vec().into_iter().map(|e| e.field).collect(),
            Refused::BuiltIn(name) => panic!("{name} refused as built in"),
        }
    }

    #[test]
    fn a_valid_registration_reads_into_its_type() {
        let t = RegisteredEventType::read("order.completed", body()).expect("valid");
        assert_eq!(t.name().as_str(), "order.completed");
        assert_eq!(t.sender().as_str(), "signature-api");
        assert_eq!(t.example()["orderId"], "o-42");
        assert!(t.schema().is_some());
        let without = json!({"sender": "billing", "description": "d", "eventData": {}});
        let t = RegisteredEventType::read("invoice.paid", without).expect("valid");
        assert!(t.schema().is_none());
    }

    #[test]
    fn every_bad_field_is_named() {
        let refused = RegisteredEventType::read(
            "Order",
            json!({
                "sender": "herald",
                "description": "",
                "eventData": [1],
                "schema": {"type": 5},
                "version": 2,
            }),
        )
        .expect_err("invalid");
        assert_eq!(
            fields(refused),
            [
                "name",
                "sender",
                "description",
                "eventData",
                "schema",
                "version"
            ]
        );
        let missing = RegisteredEventType::read("a.b", json!({})).expect_err("invalid");
        assert_eq!(fields(missing), ["sender", "description", "eventData"]);
        let not_object = RegisteredEventType::read("a.b", json!("x")).expect_err("invalid");
        assert_eq!(fields(not_object), ["(body)"]);
        for herald in ["herald", "Herald", "HERALD"] {
            let mut b = body();
            b["sender"] = json!(herald);
            let refused = RegisteredEventType::read("a.b", b).expect_err("reserved");
            assert_eq!(fields(refused), ["sender"], "{herald}");
        }
        let mut big = body();
        big["eventData"] = json!({"orderId": "x".repeat(RegisteredEventType::MAX_EXAMPLE_BYTES)});
        assert_eq!(
            fields(RegisteredEventType::read("a.b", big).expect_err("too big")),
            ["eventData"]
        );
    }

    #[test]
    fn the_example_must_satisfy_the_schema() {
        let mut b = body();
        b["eventData"] = json!({"total": "129.50"});
        let refused = RegisteredEventType::read("order.completed", b).expect_err("invalid");
        assert_eq!(fields(refused), ["eventData", "eventData/total"]);
    }

    #[test]
    fn herald_s_own_names_are_refused_once_the_rest_is_valid() {
        let refused = RegisteredEventType::read("sms.sent", body()).expect_err("built in");
        assert!(matches!(refused, Refused::BuiltIn(n) if n.as_str() == "sms.sent"));
        // An invalid body is reported as such first.
        let refused = RegisteredEventType::read("sms.sent", json!({})).expect_err("invalid");
        assert_eq!(fields(refused), ["sender", "description", "eventData"]);
    }

    #[test]
    fn tags_follow_the_definition() {
        let a = RegisteredEventType::read("order.completed", body()).expect("valid");
        let same = RegisteredEventType::read("order.completed", body()).expect("valid");
        assert_eq!(a.etag(), same.etag());
        let mut changed = body();
        changed["description"] = json!("Another meaning.");
        let b = RegisteredEventType::read("order.completed", changed).expect("valid");
        assert_ne!(a.etag(), b.etag());
    }

    #[test]
    fn stored_types_round_trip_as_text_and_are_checked_on_read() {
        let t = RegisteredEventType::read("order.completed", body()).expect("valid");
        let stored = serde_json::to_value(&t).expect("serializes");
        assert!(stored["example"].is_string(), "{stored}");
        assert!(stored["schema"].is_string(), "{stored}");
        let back: RegisteredEventType = serde_json::from_value(stored.clone()).expect("reads");
        assert_eq!(back, t);
        let mut bad = stored;
        bad["sender"] = json!("herald");
        assert!(serde_json::from_value::<RegisteredEventType>(bad.clone()).is_err());
        bad["sender"] = json!("x");
        bad["example"] = json!("[1]");
        assert!(serde_json::from_value::<RegisteredEventType>(bad).is_err());
    }
}
