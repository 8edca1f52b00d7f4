//! The OpenAPI document (docs/openapi.yaml) as a contract: every response the tests receive is
//! checked against the operation, status and schema it documents.

use std::sync::OnceLock;

use serde_json::{Value, json};

pub struct Contract {
    doc: Value,
}

/// A JSON-pointer token, as it must appear in a URI fragment.
fn escape(segment: &str) -> String {
    segment
        .replace('~', "~0")
        .replace('/', "~1")
        .replace('{', "%7B")
        .replace('}', "%7D")
}

impl Contract {
    pub fn get() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml");
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let doc = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            Contract { doc }
        })
    }

    /// Every documented (method, path template).
    pub fn operations(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (path, item) in self.doc["paths"].as_object().into_iter().flatten() {
            for method in ["get", "put", "post", "delete", "patch"] {
                if item.get(method).is_some() {
                    out.push((method.to_uppercase(), path.clone()));
                }
            }
        }
        out
    }

    /// The documented path template a concrete path matches.
    fn template_of(&self, path: &str) -> Option<String> {
        let path = path.split('?').next().unwrap_or(path);
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.doc["paths"]
            .as_object()?
            .keys()
            .find(|template| {
                let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
                parts.len() == segments.len()
                    && parts
                        .iter()
                        .zip(&segments)
                        .all(|(t, s)| (t.starts_with('{') && t.ends_with('}')) || t == s)
            })
            .cloned()
    }

    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(r) => self
                .doc
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling $ref {r}")),
            None => value,
        }
    }

    /// Panics, saying why, unless the response is one the document describes for this request.
    pub fn check(&self, method: &str, path: &str, status: u16, content_type: &str, body: &Value) {
        // A path the document does not have may only be answered "no such resource".
        let Some(template) = self.template_of(path) else {
            assert_eq!(
                status, 404,
                "{method} {path}: no documented path matches, yet it answered {status}: {body}"
            );
            return;
        };
        let method_key = method.to_lowercase();
        let operation = &self.doc["paths"][&template][&method_key];
        assert!(
            operation.is_object(),
            "{method} {template} is not documented"
        );
        let status_key = status.to_string();
        let response = operation["responses"].get(&status_key).unwrap_or_else(|| {
            panic!("{method} {template}: status {status} is not documented; body {body}")
        });
        let response = self.resolve(response);
        let media = content_type.split(';').next().unwrap_or("").trim();
        let Some(content) = response.get("content") else {
            assert!(
                body.is_null(),
                "{method} {template} {status}: no body documented"
            );
            return;
        };
        assert!(
            content.get(media).is_some(),
            "{method} {template} {status}: content type {media} is not documented"
        );
        // The schema is checked in place, inside the whole document, so its $refs resolve.
        let location = match operation["responses"][&status_key]
            .get("$ref")
            .and_then(Value::as_str)
        {
            Some(r) => r.to_owned(),
            None => format!(
                "#/paths/{}/{method_key}/responses/{status_key}",
                escape(&template)
            ),
        };
        let pointer = format!("{location}/content/{}/schema", escape(media));
        let mut root = self.doc.clone();
        if let Some(obj) = root.as_object_mut() {
            obj.insert("$ref".into(), json!(pointer));
            obj.insert(
                "$schema".into(),
                json!("https://json-schema.org/draft/2020-12/schema"),
            );
        }
        let validator = jsonschema::draft202012::new(&root)
            .unwrap_or_else(|e| panic!("schema at {pointer} is invalid: {e}"));
        let problems: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            problems.is_empty(),
            "{method} {path} {status}: the body does not match the documented schema:\n  {}\nbody: {body}",
            problems.join("\n  ")
        );
    }
}
