//! Reads a JSON object field by field into domain types, recording every problem (wrong type,
//! missing, invalid, unknown) instead of stopping at the first, as serde would.

use serde_json::{Map, Value};

use crate::common::validation::FieldErrors;

/// A JSON object being taken apart. Fields are removed as they are read; whatever is left when
/// [`ObjectReader::finish`] runs was not expected and is reported as an unknown field.
pub struct ObjectReader<'e> {
    prefix: String,
    fields: Map<String, Value>,
    errors: &'e mut FieldErrors,
}

impl<'e> ObjectReader<'e> {
    /// Starts reading `value`, which must be an object; `path` names it in errors (empty for the
    /// body itself). Returns `None`, with the error recorded, when it is not an object.
    pub fn new(value: Value, path: &str, errors: &'e mut FieldErrors) -> Option<Self> {
        match value {
            Value::Object(fields) => Some(Self {
                prefix: path.to_owned(),
                fields,
                errors,
            }),
            other => {
                let field = if path.is_empty() { "(body)" } else { path };
                errors.push(field, format!("must be an object, not {}", kind(&other)));
                None
            }
        }
    }

    /// The JSON path of a field of this object.
    pub fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    pub fn errors(&mut self) -> &mut FieldErrors {
        self.errors
    }

    /// Takes a field that must be present and not null, and parses it.
    pub fn required<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(Value) -> Result<T, String>,
    ) -> Option<T> {
        match self.fields.remove(name) {
            None | Some(Value::Null) => {
                let path = self.path(name);
                self.errors.push(path, "is required");
                None
            }
            Some(value) => self.parse(name, value, parse),
        }
    }

    /// Takes a field that may be left out (`Some(None)`), and parses it when present. `null`
    /// is refused: the contract gives such fields a type without null, and treating null as
    /// "left out" would accept what a client reading the contract never sends, so a client
    /// that sends it has a bug worth hearing about. Returns `None` only when the field is
    /// present and invalid.
    pub fn optional<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(Value) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match self.fields.remove(name) {
            None => Some(None),
            Some(Value::Null) => {
                self.null_refused(name);
                None
            }
            Some(value) => self.parse(name, value, parse).map(Some),
        }
    }

    /// Takes a field that may be left out or null (both `Some(None)`: the contract's nullable
    /// fields, where null means "none"), and parses it otherwise.
    pub fn nullable<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(Value) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match self.fields.remove(name) {
            None | Some(Value::Null) => Some(None),
            Some(value) => self.parse(name, value, parse).map(Some),
        }
    }

    /// Takes a nested object field that may be left out, and hands a reader for it to `read`;
    /// null is refused, as by [`ObjectReader::optional`].
    pub fn nested<T>(
        &mut self,
        name: &str,
        read: impl FnOnce(ObjectReader<'_>) -> Option<T>,
    ) -> Option<Option<T>> {
        match self.fields.get(name) {
            Some(Value::Null) => {
                self.fields.remove(name);
                self.null_refused(name);
                None
            }
            _ => self.nullable_nested(name, read),
        }
    }

    /// Takes a nested object field that may be left out or null (both `Some(None)`), and
    /// hands a reader for it to `read`.
    pub fn nullable_nested<T>(
        &mut self,
        name: &str,
        read: impl FnOnce(ObjectReader<'_>) -> Option<T>,
    ) -> Option<Option<T>> {
        let path = self.path(name);
        match self.fields.remove(name) {
            None | Some(Value::Null) => Some(None),
            Some(value) => {
                let reader = ObjectReader::new(value, &path, self.errors)?;
                read(reader).map(Some)
            }
        }
    }

    fn null_refused(&mut self, name: &str) {
        let path = self.path(name);
        self.errors
            .push(path, "must not be null (leave it out for the default)");
    }

    fn parse<T>(
        &mut self,
        name: &str,
        value: Value,
        parse: impl FnOnce(Value) -> Result<T, String>,
    ) -> Option<T> {
        match parse(value) {
            Ok(v) => Some(v),
            Err(message) => {
                let path = self.path(name);
                self.errors.push(path, message);
                None
            }
        }
    }

    /// Takes every field left, for an object whose keys are data (a map), not names.
    pub fn take_all(&mut self) -> Vec<(String, Value)> {
        std::mem::take(&mut self.fields).into_iter().collect()
    }

    /// Reports every field that was not read as unknown, so typos never pass silently.
    pub fn finish(self) {
        for name in self.fields.keys() {
            let path = if self.prefix.is_empty() {
                name.clone()
            } else {
                format!("{}.{name}", self.prefix)
            };
            self.errors.push(path, "is not a known field");
        }
    }
}

/// What kind of JSON value this is, for error messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub fn string(value: Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(format!("must be a string, not {}", kind(&other))),
    }
}

pub fn boolean(value: Value) -> Result<bool, String> {
    match value {
        Value::Bool(b) => Ok(b),
        other => Err(format!("must be true or false, not {}", kind(&other))),
    }
}

pub fn integer(value: Value) -> Result<i64, String> {
    match &value {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| "must be a whole number".to_owned()),
        other => Err(format!("must be a number, not {}", kind(other))),
    }
}

/// The length of `value` as compact JSON, counted without building the string: how limits on
/// stored and queued JSON are measured.
pub fn json_size(value: &impl serde::Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing JSON to a sink that cannot fail does not fail; were it to, the value counts as
    // too large rather than passing unmeasured.
    serde_json::to_writer(&mut count, value).map_or(usize::MAX, |()| count.0)
}

/// A string field parsed by a domain type's own `parse`.
pub fn parsed<T, E: std::fmt::Display>(
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> impl FnOnce(Value) -> Result<T, String> {
    move |value| {
        let s = string(value)?;
        parse(&s).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_every_problem_and_unknown_fields() {
        let mut errors = FieldErrors::new();
        let mut r = ObjectReader::new(
            json!({"a": 1, "b": "x", "typo": true, "n": {"c": "y", "d": 2}}),
            "",
            &mut errors,
        )
        .expect("object");
        assert_eq!(r.required("a", string), None);
        assert_eq!(r.required("b", string), Some("x".to_owned()));
        assert_eq!(r.required("missing", string), None);
        assert_eq!(r.optional("absent", string), Some(None));
        let inner = r.nested("n", |mut n| {
            let c = n.required("c", boolean);
            n.finish();
            c
        });
        assert_eq!(inner, None);
        r.finish();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["a", "missing", "n.c", "n.d", "typo"]);
    }

    #[test]
    fn null_only_where_the_field_is_nullable() {
        let mut errors = FieldErrors::new();
        let mut r = ObjectReader::new(
            json!({"o": null, "n": null, "nested": null, "nn": null, "v": "x"}),
            "",
            &mut errors,
        )
        .expect("object");
        assert_eq!(r.optional("o", string), None, "null refused");
        assert_eq!(r.nullable("n", string), Some(None), "null is none");
        assert_eq!(r.nested("nested", |_| Some(())), None, "null refused");
        assert_eq!(r.nullable_nested("nn", |_| Some(())), Some(None));
        assert_eq!(r.nullable("v", string), Some(Some("x".to_owned())));
        assert_eq!(r.optional("absent", string), Some(None));
        assert_eq!(r.nullable("absent", string), Some(None));
        r.finish();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["o", "nested"]);
    }

    #[test]
    fn body_must_be_an_object() {
        let mut errors = FieldErrors::new();
        assert!(ObjectReader::new(json!([1]), "", &mut errors).is_none());
        assert_eq!(
            errors.to_string(),
            "(body): must be an object, not an array"
        );
    }
}
