//! A subscription's destination as the API reads and shows it: `type` and the kind's own
//! fields beside the subscription's. Credentials are write-only: sealed before they are stored,
//! shown as `********`, and kept when a PUT leaves them out or sends `********` back.

use herald::common::account::AccountId;
use herald::common::destination::check_url;
use herald::common::json_fields::{ObjectReader, boolean, kind, string};
use herald::common::secret::{PLACEHOLDER, Secret, SecretInput};
use herald::events::destination::aws::{
    AwsRole, EventBusArn, ExternalId, QueueUrl, RoleArn, TopicArn,
};
use herald::events::destination::azure_service_bus::{
    ConnectionString, EntityPath, KeyName, Namespace,
};
use herald::events::destination::google_pubsub::{
    OrderingKey, ProjectId, ServiceAccountKey, TopicId,
};
use herald::events::destination::{
    Destination, Endpoint, EventBridgeDestination, FIELDS, Kind, PubSubDestination,
    ServiceBusDestination, SnsDestination, SqsDestination, WebhookDestination,
};
use herald::events::webhook::WebhookUrl;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::AppState;
use crate::problem::ApiError;

/// What a write asks for; credentials in the clear until [`DestinationInput::into_destination`]
/// seals them.
pub enum DestinationInput {
    Webhook {
        url: WebhookUrl,
        /// Whether requests are signed.
        secret: bool,
    },
    GooglePubsub {
        project: ProjectId,
        topic: TopicId,
        ordering_key: Option<OrderingKey>,
        /// `None`: keep the stored key.
        key: Option<ServiceAccountKey>,
        endpoint: Option<Endpoint>,
    },
    AzureServiceBus {
        namespace: Namespace,
        entity: EntityPath,
        key_name: KeyName,
        /// `None`: keep the stored key.
        key: Option<Secret>,
        endpoint: Option<Endpoint>,
    },
    AwsSqs {
        queue_url: QueueUrl,
        role_arn: RoleArn,
        endpoint: Option<Endpoint>,
    },
    AwsSns {
        topic_arn: TopicArn,
        role_arn: RoleArn,
        endpoint: Option<Endpoint>,
    },
    AwsEventbridge {
        event_bus_arn: EventBusArn,
        role_arn: RoleArn,
        endpoint: Option<Endpoint>,
    },
}

/// Reads `type` and the fields of its kind. `None` (with the errors recorded) when any is
/// missing or invalid.
pub fn read(state: &AppState, r: &mut ObjectReader<'_>) -> Option<DestinationInput> {
    let Some(chosen) = r.required("type", |v| {
        let s = string(v)?;
        Kind::parse(&s).ok_or_else(|| format!("must be one of {}, not {s:?}", Kind::names()))
    }) else {
        // Without a kind its fields cannot be judged: they are not reported as unknown either.
        for field in FIELDS {
            let _ = r.optional(field, Ok);
        }
        return None;
    };
    let policy = &state.config.webhooks.policy;
    let allowed = &state.config.webhooks.allowed_endpoints;
    let endpoint = |r: &mut ObjectReader<'_>| {
        r.optional("endpoint", |v| {
            let e = Endpoint::parse(&string(v)?)?;
            allowed.check(&e)?;
            check_url(e.url(), policy).map_err(|e| e.to_string())?;
            Ok(e)
        })
    };
    let role = |r: &mut ObjectReader<'_>| r.required("roleArn", |v| RoleArn::parse(&string(v)?));
    match chosen {
        Kind::Webhook => {
            let url = r.required("url", |v| {
                WebhookUrl::parse(&string(v)?, policy).map_err(|e| e.to_string())
            });
            let secret = r.optional("secret", boolean);
            Some(DestinationInput::Webhook {
                url: url?,
                secret: secret?.unwrap_or(false),
            })
        }
        Kind::GooglePubsub => {
            let project = r.required("project", |v| ProjectId::parse(&string(v)?));
            let topic = r.required("topic", |v| TopicId::parse(&string(v)?));
            let ordering_key = r.optional("orderingKey", |v| OrderingKey::parse(&string(v)?));
            let key = r.optional("serviceAccountKey", |v| {
                let text = match v {
                    Value::String(s) if s == PLACEHOLDER => return Ok(None),
                    Value::String(s) => s,
                    Value::Object(_) => v.to_string(),
                    other => {
                        return Err(format!(
                            "must be the service-account key: its JSON object, or that JSON as a string, not {}",
                            kind(&other)
                        ));
                    }
                };
                ServiceAccountKey::parse(&text, allowed).map(Some)
            });
            let endpoint = endpoint(r);
            Some(DestinationInput::GooglePubsub {
                project: project?,
                topic: topic?,
                ordering_key: ordering_key?,
                key: key?.flatten(),
                endpoint: endpoint?,
            })
        }
        Kind::AzureServiceBus => {
            let connection = r.optional("connectionString", |v| {
                let s = string(v)?;
                if s == PLACEHOLDER {
                    return Ok(None);
                }
                ConnectionString::parse(&s).map(Some)
            });
            let namespace = r.optional("namespace", |v| Namespace::parse(&string(v)?));
            let entity = r.optional("entity", |v| EntityPath::parse(&string(v)?));
            let key_name = r.optional("sasKeyName", |v| KeyName::parse(&string(v)?));
            let key = r.optional("sasKey", |v| {
                match SecretInput::parse(&string(v)?).map_err(|e| e.to_string())? {
                    SecretInput::Keep => Ok(None),
                    SecretInput::New(s) => Ok(Some(s)),
                }
            });
            let endpoint = endpoint(r);
            let (connection, namespace, entity, key_name, key, endpoint) = (
                connection?.flatten(),
                namespace?,
                entity?,
                key_name?,
                key?.flatten(),
                endpoint?,
            );
            let path = |f: &str| r.path(f);
            let mut problems: Vec<(String, String)> = Vec::new();
            let input = match connection {
                Some(c) => {
                    for (given, name) in [
                        (namespace.is_some(), "namespace"),
                        (key_name.is_some(), "sasKeyName"),
                        (key.is_some(), "sasKey"),
                    ] {
                        if given {
                            problems.push((
                                path(name),
                                "must be left out when connectionString gives it".into(),
                            ));
                        }
                    }
                    let entity = match (c.entity, entity) {
                        (Some(a), Some(b)) if a != b => {
                            problems.push((
                                path("entity"),
                                format!("differs from the connection string's EntityPath ({a})"),
                            ));
                            None
                        }
                        (Some(a), _) => Some(a),
                        (None, Some(b)) => Some(b),
                        (None, None) => {
                            problems.push((
                                path("entity"),
                                "is required: the queue or topic (the connection string has no EntityPath)".into(),
                            ));
                            None
                        }
                    };
                    entity.map(|entity| DestinationInput::AzureServiceBus {
                        namespace: c.namespace,
                        entity,
                        key_name: c.key_name,
                        key: Some(c.key),
                        endpoint: endpoint.clone(),
                    })
                }
                None => {
                    let mut need = |given: bool, name: &str, what: &str| {
                        if !given {
                            problems.push((
                                path(name),
                                format!("is required (or give connectionString): {what}"),
                            ));
                        }
                    };
                    need(namespace.is_some(), "namespace", "the namespace's name");
                    need(entity.is_some(), "entity", "the queue or topic");
                    need(
                        key_name.is_some(),
                        "sasKeyName",
                        "the shared access policy's name",
                    );
                    match (namespace, entity, key_name) {
                        (Some(namespace), Some(entity), Some(key_name)) => {
                            Some(DestinationInput::AzureServiceBus {
                                namespace,
                                entity,
                                key_name,
                                key,
                                endpoint,
                            })
                        }
                        _ => None,
                    }
                }
            };
            let failed = !problems.is_empty();
            for (field, message) in problems {
                r.errors().push(field, message);
            }
            input.filter(|_| !failed)
        }
        Kind::AwsSqs => {
            let queue_url = r.required("queueUrl", |v| QueueUrl::parse(&string(v)?));
            let role_arn = role(r);
            let endpoint = endpoint(r);
            Some(DestinationInput::AwsSqs {
                queue_url: queue_url?,
                role_arn: role_arn?,
                endpoint: endpoint?,
            })
        }
        Kind::AwsSns => {
            let topic_arn = r.required("topicArn", |v| TopicArn::parse(&string(v)?));
            let role_arn = role(r);
            let endpoint = endpoint(r);
            Some(DestinationInput::AwsSns {
                topic_arn: topic_arn?,
                role_arn: role_arn?,
                endpoint: endpoint?,
            })
        }
        Kind::AwsEventbridge => {
            let event_bus_arn = r.required("eventBusArn", |v| EventBusArn::parse(&string(v)?));
            let role_arn = role(r);
            let endpoint = endpoint(r);
            Some(DestinationInput::AwsEventbridge {
                event_bus_arn: event_bus_arn?,
                role_arn: role_arn?,
                endpoint: endpoint?,
            })
        }
    }
}

async fn seal(
    state: &AppState,
    account: &AccountId,
    secret: &Secret,
) -> Result<herald::common::secret::SealedSecret, ApiError> {
    Ok(state.sealer.seal(account, secret).await?)
}

fn key_required(field: &str, what: &str) -> ApiError {
    let mut errors = herald::common::validation::FieldErrors::new();
    errors.push(field, format!("is required: {what}"));
    ApiError::Validation(errors)
}

impl DestinationInput {
    /// The destination to store: new credentials sealed, left-out ones kept from `current`
    /// (when it is of the same kind), a webhook's secrets as they were, and an AWS role's
    /// external id kept (or generated for the first AWS destination). A webhook's signing is
    /// the caller's: it may create a secret to show once.
    pub async fn into_destination(
        self,
        state: &AppState,
        account: &AccountId,
        current: Option<&Destination>,
    ) -> Result<Destination, ApiError> {
        let external_id = current
            .and_then(Destination::aws_role)
            .map(|r| r.external_id.clone())
            .unwrap_or_else(ExternalId::generate);
        let role = |role_arn| AwsRole {
            role_arn,
            external_id: external_id.clone(),
        };
        Ok(match self {
            Self::Webhook { url, .. } => Destination::Webhook(WebhookDestination {
                url: url.as_str().to_owned(),
                secrets: current
                    .and_then(Destination::webhook)
                    .map(|w| w.secrets.clone())
                    .unwrap_or_default(),
            }),
            Self::GooglePubsub {
                project,
                topic,
                ordering_key,
                key,
                endpoint,
            } => {
                let kept = match current {
                    Some(Destination::GooglePubsub(p)) => Some(p),
                    _ => None,
                };
                let (service_account, key_id, sealed) = match (key, kept) {
                    (Some(key), _) => {
                        let plain = key
                            .to_secret()
                            .map_err(|e| key_required("serviceAccountKey", &e))?;
                        (
                            key.client_email.clone(),
                            key.private_key_id.clone(),
                            seal(state, account, &plain).await?,
                        )
                    }
                    (None, Some(p)) => (p.service_account.clone(), p.key_id.clone(), p.key.clone()),
                    (None, None) => {
                        return Err(key_required(
                            "serviceAccountKey",
                            "the service account's JSON key, allowed to publish to the topic",
                        ));
                    }
                };
                Destination::GooglePubsub(PubSubDestination {
                    project,
                    topic,
                    ordering_key,
                    service_account,
                    key_id,
                    key: sealed,
                    endpoint,
                })
            }
            Self::AzureServiceBus {
                namespace,
                entity,
                key_name,
                key,
                endpoint,
            } => {
                let sealed = match (key, current) {
                    (Some(key), _) => seal(state, account, &key).await?,
                    (None, Some(Destination::AzureServiceBus(b))) => b.key.clone(),
                    (None, _) => {
                        return Err(key_required(
                            "sasKey",
                            "the shared access policy's key (or give connectionString)",
                        ));
                    }
                };
                Destination::AzureServiceBus(ServiceBusDestination {
                    namespace,
                    entity,
                    key_name,
                    key: sealed,
                    endpoint,
                })
            }
            Self::AwsSqs {
                queue_url,
                role_arn,
                endpoint,
            } => Destination::AwsSqs(SqsDestination {
                queue_url,
                role: role(role_arn),
                endpoint,
            }),
            Self::AwsSns {
                topic_arn,
                role_arn,
                endpoint,
            } => Destination::AwsSns(SnsDestination {
                topic_arn,
                role: role(role_arn),
                endpoint,
            }),
            Self::AwsEventbridge {
                event_bus_arn,
                role_arn,
                endpoint,
            } => Destination::AwsEventbridge(EventBridgeDestination {
                event_bus_arn,
                role: role(role_arn),
                endpoint,
            }),
        })
    }
}

/// The destination's fields as the API shows them, into `view`: never a credential.
pub fn show(
    destination: &Destination,
    herald_account: Option<&str>,
    now: OffsetDateTime,
    view: &mut Map<String, Value>,
) {
    view.insert("type".into(), json!(destination.kind().as_str()));
    let mut put = |k: &str, v: Value| {
        view.insert(k.into(), v);
    };
    match destination {
        Destination::Webhook(w) => {
            put("url", json!(w.url));
            put("secret", json!(!w.secrets.is_empty()));
            if let Some(previous) = w.signing_secrets(now).nth(1).and_then(|p| p.retires_at) {
                put(
                    "previousSecretExpiresAt",
                    json!(herald::common::clock::rfc3339(previous)),
                );
            }
            let replaced: Vec<String> = w
                .replaced_secrets_retire_at(now)
                .into_iter()
                .map(herald::common::clock::rfc3339)
                .collect();
            if !replaced.is_empty() {
                put("replacedSecretsExpireAt", json!(replaced));
            }
        }
        Destination::GooglePubsub(p) => {
            put("project", json!(p.project));
            put("topic", json!(p.topic));
            if let Some(k) = &p.ordering_key {
                put("orderingKey", json!(k));
            }
            put("serviceAccount", json!(p.service_account));
            put("keyId", json!(p.key_id));
            put("serviceAccountKey", json!(PLACEHOLDER));
        }
        Destination::AzureServiceBus(b) => {
            put("namespace", json!(b.namespace));
            put("entity", json!(b.entity));
            put("sasKeyName", json!(b.key_name));
            put("sasKey", json!(PLACEHOLDER));
        }
        Destination::AwsSqs(d) => put("queueUrl", json!(d.queue_url)),
        Destination::AwsSns(d) => put("topicArn", json!(d.topic_arn)),
        Destination::AwsEventbridge(d) => put("eventBusArn", json!(d.event_bus_arn)),
    }
    if let Some(role) = destination.aws_role() {
        put("roleArn", json!(role.role_arn));
        put("externalId", json!(role.external_id));
        if let Some(account) = herald_account {
            put("trustPolicy", role.trust_policy(account));
        }
    }
    if let Some(e) = destination.endpoint() {
        put("endpoint", json!(e.origin()));
    }
}
