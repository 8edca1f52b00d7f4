//! Reads `template.yaml`, the single source of truth for what Herald deploys: the local stack
//! creates what it declares and gives each function the environment it declares.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

use crate::Result;

pub struct Template {
    parameters: BTreeMap<String, String>,
    pub resources: BTreeMap<String, Resource>,
    globals_env: BTreeMap<String, Value>,
}

pub struct Resource {
    pub kind: String,
    pub properties: Value,
    metadata: Value,
}

/// A Lambda function of the template: its cargo binary, its declared environment and events.
pub struct Function {
    pub binary: String,
    env: BTreeMap<String, Value>,
    events: Value,
}

/// What local resources stand for a logical id: `!Ref` and `!GetAtt X.Arn`.
#[derive(Default)]
pub struct Physical {
    pub refs: BTreeMap<String, String>,
    pub arns: BTreeMap<String, String>,
}

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
pub const STACK: &str = "herald-local";

fn env_map(v: Option<&Value>) -> BTreeMap<String, Value> {
    v.and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone())))
                .collect()
        })
        .unwrap_or_default()
}

impl Template {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let doc: Value = serde_yaml::from_str(&text)
            .map_err(|e| format!("{} is not valid YAML: {e}", path.display()))?;
        let parameters = doc
            .get("Parameters")
            .and_then(Value::as_mapping)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| {
                        let default = match v.get("Default")? {
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n.to_string(),
                            _ => return None,
                        };
                        Some((k.as_str()?.to_owned(), default))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or("template.yaml has no Resources")?
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str()?.to_owned(),
                    Resource {
                        kind: v.get("Type")?.as_str()?.to_owned(),
                        properties: v.get("Properties").cloned().unwrap_or(Value::Null),
                        metadata: v.get("Metadata").cloned().unwrap_or(Value::Null),
                    },
                ))
            })
            .collect();
        let globals_env = env_map(
            doc.get("Globals")
                .and_then(|g| g.get("Function"))
                .and_then(|f| f.get("Environment")),
        );
        Ok(Self {
            parameters,
            resources,
            globals_env,
        })
    }

    /// Every function built by cargo-lambda, with Globals' environment merged into its own.
    pub fn functions(&self) -> Vec<Function> {
        self.resources
            .values()
            .filter(|r| r.kind == "AWS::Serverless::Function")
            .filter_map(|r| {
                let binary = r
                    .metadata
                    .get("BuildProperties")?
                    .get("Binary")?
                    .as_str()?
                    .to_owned();
                let mut env = self.globals_env.clone();
                env.extend(env_map(r.properties.get("Environment")));
                Some(Function {
                    binary,
                    env,
                    events: r.properties.get("Events").cloned().unwrap_or(Value::Null),
                })
            })
            .collect()
    }

    /// A parameter's value: its default, or what was set.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(String::as_str)
    }

    /// Sets a parameter as `sam deploy --parameter-overrides` would.
    pub fn set_parameter(&mut self, name: &str, value: impl Into<String>) {
        self.parameters.insert(name.to_owned(), value.into());
    }

    /// Resolves the intrinsics Herald's template uses in values the local stack needs.
    pub fn resolve(&self, value: &Value, physical: &Physical) -> Result<String> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Tagged(t) => match (t.tag.to_string().as_str(), &t.value) {
                ("!Ref", Value::String(name)) => self.reference(name, physical),
                ("!GetAtt", Value::String(path)) => {
                    let (id, attr) = path.split_once('.').ok_or("bad !GetAtt")?;
                    match attr {
                        "Arn" => physical
                            .arns
                            .get(id)
                            .cloned()
                            .ok_or_else(|| format!("no local ARN for {id}").into()),
                        _ => Err(format!("!GetAtt {path} is not supported locally").into()),
                    }
                }
                ("!Sub", Value::String(text)) => self.substitute(text, physical),
                (tag, _) => Err(format!("{tag} is not supported by the local stack").into()),
            },
            other => Err(format!("cannot resolve {other:?} locally").into()),
        }
    }

    fn reference(&self, name: &str, physical: &Physical) -> Result<String> {
        match name {
            "AWS::Region" => return Ok(REGION.to_owned()),
            "AWS::AccountId" => return Ok(ACCOUNT.to_owned()),
            "AWS::StackName" => return Ok(STACK.to_owned()),
            "AWS::Partition" => return Ok("aws".to_owned()),
            _ => {}
        }
        if let Some(v) = self.parameters.get(name) {
            return Ok(v.clone());
        }
        physical
            .refs
            .get(name)
            .cloned()
            .ok_or_else(|| format!("!Ref {name}: nothing local stands for it").into())
    }

    fn substitute(&self, text: &str, physical: &Physical) -> Result<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').ok_or("unclosed ${ in !Sub")? + start;
            let name = &rest[start + 2..end];
            let value = match name.split_once('.') {
                Some((id, "Arn")) => physical.arns.get(id).cloned().ok_or("no ARN")?,
                _ => self.reference(name, physical)?,
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

impl Function {
    /// The function's events of one `Type` (`HttpApi`, `SQS`, ...), by name.
    pub fn events_of_type(&self, kind: &str) -> Vec<(String, Value)> {
        self.events
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, e)| e.get("Type").and_then(Value::as_str) == Some(kind))
            .filter_map(|(k, e)| Some((k.as_str()?.to_owned(), e.clone())))
            .collect()
    }

    /// Whether an EventBridge schedule invokes the function.
    pub fn scheduled(&self) -> bool {
        self.events
            .as_mapping()
            .into_iter()
            .flatten()
            .any(|(_, e)| e.get("Type").and_then(Value::as_str) == Some("Schedule"))
    }

    /// The function's SQS event sources: (queue logical id, batch size).
    pub fn sqs_sources(&self) -> Vec<(String, i32)> {
        self.events
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, e)| e.get("Type").and_then(Value::as_str) == Some("SQS"))
            .filter_map(|(_, e)| {
                let props = e.get("Properties")?;
                let queue = match props.get("Queue")? {
                    Value::Tagged(t) => t.value.as_str()?.split('.').next()?.to_owned(),
                    _ => return None,
                };
                let batch = props
                    .get("BatchSize")
                    .and_then(Value::as_i64)
                    .and_then(|b| i32::try_from(b).ok())
                    .unwrap_or(10);
                Some((queue, batch))
            })
            .collect()
    }

    /// The function's environment with every value resolved.
    pub fn environment(
        &self,
        template: &Template,
        physical: &Physical,
    ) -> Result<BTreeMap<String, String>> {
        self.env
            .iter()
            .map(|(k, v)| Ok((k.clone(), template.resolve(v, physical)?)))
            .collect()
    }
}
