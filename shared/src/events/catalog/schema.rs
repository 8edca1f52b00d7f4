//! The JSON Schema a service may register for its event type's `eventData`, and the check of
//! published data against it.
//!
//! Schemas are held to what Herald can check quickly and safely, whoever registered them:
//! - self-contained: a `$ref` may point only inside the schema (or at the drafts' own
//!   meta-schemas); nothing is fetched over the network or read from disk;
//! - `pattern` and `patternProperties` use a regex engine that runs in linear time, so that no
//!   pattern can make a publish request spin (look-around and back-references are refused when
//!   the schema is registered);
//! - `format` is asserted (an `"format": "email"` the publisher wrote means it), unknown formats
//!   are ignored;
//! - the draft is the one `$schema` names (4, 6, 7, 2019-09 or 2020-12), 2020-12 without it.

use jsonschema::{PatternOptions, Retrieve, Uri, ValidationError, Validator};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::common::json_fields::{json_size, kind};
use crate::common::validation::FieldErrors;

/// A JSON Schema for an event type's `eventData`: an object, at most
/// [`EventSchema::MAX_BYTES`] of JSON, which compiled when it was registered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct EventSchema(Map<String, Value>);

/// A schema compiled, ready to check data: built once per request that needs it.
pub struct CompiledSchema {
    schema: EventSchema,
    validator: Validator,
}

impl std::fmt::Debug for CompiledSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CompiledSchema").field(&self.schema).finish()
    }
}

impl EventSchema {
    /// A schema is at most 16 KiB of JSON: `GET /event-types` answers every registered type,
    /// schema and all, in one response that must stay well under Lambda's 6 MB.
    pub const MAX_BYTES: usize = 16 * 1024;

    /// At most this many violations are listed for one check; a count of the rest follows.
    /// Data of 64 KiB could otherwise answer with thousands of errors.
    pub const MAX_VIOLATIONS: usize = 25;

    /// Checks that `value` is a JSON Schema Herald can use, and compiles it.
    pub fn parse(value: Value) -> Result<CompiledSchema, String> {
        let map = match value {
            Value::Object(map) => map,
            other => {
                return Err(format!(
                    "must be a JSON Schema object, not {}",
                    kind(&other)
                ));
            }
        };
        let size = json_size(&map);
        if size > Self::MAX_BYTES {
            return Err(format!(
                "must be at most {} bytes of JSON (it has {size})",
                Self::MAX_BYTES
            ));
        }
        Self(map).compile()
    }

    /// A schema read back from a store, where it was written after [`EventSchema::parse`]:
    /// only its shape is checked again. Compiling every stored schema to list them would cost
    /// what only a publish of that type needs; [`EventSchema::compile`] reports one that no
    /// longer compiles.
    pub(crate) fn restore(value: Value) -> Result<Self, String> {
        match value {
            Value::Object(map) if json_size(&map) <= Self::MAX_BYTES => Ok(Self(map)),
            Value::Object(_) => Err("the schema is over its size limit".to_owned()),
            other => Err(format!("the schema is {}, not an object", kind(&other))),
        }
    }

    pub fn as_json(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Compiles the schema: checks it against its draft's meta-schema and resolves its
    /// references and patterns.
    pub fn compile(&self) -> Result<CompiledSchema, String> {
        let value = Value::Object(self.0.clone());
        let validator = jsonschema::options()
            .with_retriever(SelfContained)
            .with_pattern_options(PatternOptions::regex())
            .should_validate_formats(true)
            .build(&value)
            .map_err(|e| schema_problem(&e))?;
        Ok(CompiledSchema {
            schema: self.clone(),
            validator,
        })
    }
}

impl CompiledSchema {
    pub fn schema(&self) -> &EventSchema {
        &self.schema
    }

    pub fn into_schema(self) -> EventSchema {
        self.schema
    }

    /// Records every way `data` violates the schema in `errors`, each against `field` and the
    /// JSON Pointer of the offending value (`eventData/items/0/sku`; `eventData` itself for
    /// the whole object), with the validator's message; in the order of their pointers, so
    /// that an answer reads the same every time.
    pub fn check(&self, field: &str, data: &Map<String, Value>, errors: &mut FieldErrors) {
        let instance = Value::Object(data.clone());
        let mut found: Vec<(String, String)> = self
            .validator
            .iter_errors(&instance)
            .map(|e| {
                (
                    format!("{field}{}", e.instance_path.as_str()),
                    violation(&e),
                )
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let more = found.len().saturating_sub(EventSchema::MAX_VIOLATIONS);
        for (at, message) in found.into_iter().take(EventSchema::MAX_VIOLATIONS) {
            errors.push(at, message);
        }
        if more > 0 {
            errors.push(
                field,
                format!("{more} more violations of the registered schema not listed"),
            );
        }
    }
}

/// The validator's message, with the offending value quoted only when it is a short scalar:
/// an object or a long string would make the message as large as the data.
fn violation(e: &ValidationError<'_>) -> String {
    let short = match e.instance.as_ref() {
        Value::Object(_) | Value::Array(_) => false,
        scalar => json_size(scalar) <= 64,
    };
    if short {
        e.to_string()
    } else {
        e.masked_with("the value").to_string()
    }
}

/// Why a schema does not compile, with where in the schema when the meta-schema says so.
fn schema_problem(e: &ValidationError<'_>) -> String {
    let at = e.instance_path.as_str();
    let message = violation(e);
    if at.is_empty() {
        format!("is not a valid JSON Schema: {message}")
    } else {
        format!("is not a valid JSON Schema: at {at}: {message}")
    }
}

/// Refuses every reference outside the schema: Herald fetches nothing on a schema's behalf.
/// The drafts' meta-schemas are known to the validator without retrieval.
struct SelfContained;

impl Retrieve for SelfContained {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!(
            "{} is outside the schema; a registered schema must be self-contained",
            uri.as_str()
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn compiled(schema: Value) -> CompiledSchema {
        EventSchema::parse(schema).expect("a valid schema")
    }

    fn violations(schema: &CompiledSchema, data: Value) -> Vec<(String, String)> {
        let Value::Object(data) = data else {
            panic!("data is an object")
        };
        let mut errors = FieldErrors::new();
        schema.check("eventData", &data, &mut errors);
        errors
            .into_vec()
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    #[test]
    fn every_violation_is_named_by_its_pointer() {
        let schema = compiled(json!({
            "type": "object",
            "required": ["orderId"],
            "properties": {
                "orderId": {"type": "string"},
                "total": {"type": "number", "minimum": 0},
                "items": {"type": "array", "items": {
                    "type": "object", "properties": {"sku": {"type": "string"}}
                }},
                "email": {"type": "string", "format": "email"},
            },
        }));
        assert!(violations(&schema, json!({"orderId": "o-1", "total": 3})).is_empty());
        let got = violations(
            &schema,
            json!({"total": -1, "items": [{"sku": 7}], "email": "not an address"}),
        );
        let fields: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "eventData",
                "eventData/email",
                "eventData/items/0/sku",
                "eventData/total"
            ]
        );
        assert_eq!(got[0].1, "\"orderId\" is a required property");
        assert_eq!(got[2].1, "7 is not of type \"string\"");
        assert_eq!(got[3].1, "-1 is less than the minimum of 0");
    }

    #[test]
    fn pointers_escape_keys_and_long_values_are_not_echoed() {
        let schema = compiled(json!({
            "properties": {"a/b": {"type": "integer"}, "big": {"type": "integer"}},
        }));
        let got = violations(&schema, json!({"a/b": "x", "big": "y".repeat(100)}));
        assert_eq!(got[0].0, "eventData/a~1b");
        assert_eq!(
            got[1],
            (
                "eventData/big".to_owned(),
                "the value is not of type \"integer\"".to_owned()
            )
        );
    }

    #[test]
    fn violations_are_listed_up_to_a_limit() {
        let schema = compiled(json!({"additionalProperties": {"type": "string"}}));
        let data: Map<String, Value> = (0..30).map(|i| (format!("k{i}"), json!(i))).collect();
        let got = violations(&schema, Value::Object(data));
        assert_eq!(got.len(), EventSchema::MAX_VIOLATIONS + 1);
        assert_eq!(
            got.last(),
            Some(&(
                "eventData".to_owned(),
                "5 more violations of the registered schema not listed".to_owned()
            ))
        );
    }

    #[test]
    fn what_is_not_a_usable_schema_is_refused() {
        for (bad, why) in [
            (json!(true), "must be a JSON Schema object, not a boolean"),
            (json!([]), "must be a JSON Schema object, not an array"),
            (json!({"type": "strin"}), "is not a valid JSON Schema"),
            (json!({"type": 5}), "is not a valid JSON Schema"),
            (
                json!({"properties": {"a": {"minimum": "0"}}}),
                "at /properties/a/minimum",
            ),
            (
                json!({"$ref": "https://schemas.example.com/order.json"}),
                "must be self-contained",
            ),
            (
                json!({"$ref": "file:///etc/passwd"}),
                "must be self-contained",
            ),
            (
                json!({"$ref": "#/$defs/missing"}),
                "is not a valid JSON Schema",
            ),
            (
                json!({"$schema": "https://example.com/my-draft", "type": "object"}),
                "is not a valid JSON Schema",
            ),
            // Look-around needs backtracking: refused for the linear-time engine.
            (
                json!({"pattern": "^(?=a)a+$"}),
                "is not a valid JSON Schema",
            ),
        ] {
            let err = EventSchema::parse(bad.clone()).expect_err("refused");
            assert!(err.contains(why), "{bad}: {err}");
        }
        let big = json!({"description": "x".repeat(EventSchema::MAX_BYTES)});
        let err = EventSchema::parse(big).expect_err("too big");
        assert!(err.contains("at most 16384 bytes"), "{err}");
    }

    #[test]
    fn drafts_and_internal_references_are_understood() {
        let schema = compiled(json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {"id": {"type": "string", "pattern": "^o-[0-9]+$"}},
            "properties": {"orderId": {"$ref": "#/definitions/id"}},
        }));
        assert!(violations(&schema, json!({"orderId": "o-42"})).is_empty());
        let got = violations(&schema, json!({"orderId": "x"}));
        assert_eq!(got[0].0, "eventData/orderId");
        // An empty schema accepts everything.
        assert!(violations(&compiled(json!({})), json!({"any": [1, {}]})).is_empty());
    }

    #[test]
    fn a_restored_schema_is_only_reshaped_then_compiled_on_use() {
        let restored = EventSchema::restore(json!({"type": "strin"})).expect("an object");
        assert!(restored.compile().is_err());
        assert!(EventSchema::restore(json!("x")).is_err());
    }
}
