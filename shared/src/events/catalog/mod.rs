//! The event catalog: every event type subscribers may receive, with what it means and a sample
//! of its data. Herald's own types are built in ([`builtin`]); the platform's services register
//! theirs ([`registry`]), each with an example and optionally a JSON Schema ([`schema`]) that
//! published data must satisfy. [`Catalog`] is the one face of both: the listing grouped by
//! sender (the reference's "all available services, or selected events" picker and its
//! previews), one type by name (test events), and the check of a published event.

pub mod builtin;
pub mod memory;
pub mod registry;
pub mod schema;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::common::account::AccountId;
use crate::common::etag::{ETag, Precondition};
use crate::common::validation::FieldErrors;
use crate::events::catalog::registry::{EventTypeStore, Expected, RegisteredEventType};
use crate::events::catalog::schema::EventSchema;
use crate::events::envelope::{Event, NewEvent};
use crate::events::ids::{EventId, Sender};
use crate::events::name::EventName;

pub use crate::common::store::StoreError;

/// One kind of event, Herald's own or a registered one.
#[derive(Debug, Clone, PartialEq)]
pub struct EventType {
    pub name: EventName,
    /// The service that sends it (`herald` for Herald's own).
    pub sender: Sender,
    pub description: String,
    /// One of Herald's own types, which no service may register or remove.
    pub built_in: bool,
    /// The `eventData` of its previews and test events: a real event's for Herald's own, the
    /// registered example for the others.
    pub sample_data: Map<String, Value>,
    /// What published `eventData` must satisfy, when its sender registered a schema.
    pub schema: Option<EventSchema>,
}

impl EventType {
    /// A whole envelope of this type, as a subscriber would receive it: the preview, or a
    /// test event (with the tag `mock`).
    pub fn sample(
        &self,
        id: EventId,
        account: AccountId,
        at: OffsetDateTime,
        tags: &[&str],
    ) -> Result<Event, FieldErrors> {
        NewEvent {
            sender: self.sender.to_string(),
            event_name: self.name.to_string(),
            event_data: Value::Object(self.sample_data.clone()),
            organization_id: None,
            expires_at: None,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        }
        .validate(id, account, at)
    }

    /// The tag of this definition, a digest of its content: the `ETag` of
    /// `GET /event-types/{name}`, which `If-Match` compares with.
    pub fn etag(&self) -> ETag {
        definition_tag(
            &self.name,
            &self.sender,
            &self.description,
            &self.sample_data,
            self.schema.as_ref(),
        )
    }
}

impl From<RegisteredEventType> for EventType {
    fn from(t: RegisteredEventType) -> Self {
        Self {
            name: t.name().clone(),
            sender: t.sender().clone(),
            description: t.description().as_str().to_owned(),
            built_in: false,
            sample_data: t.example().clone(),
            schema: t.schema().cloned(),
        }
    }
}

/// The digest both a registered type and its catalog entry are tagged with.
pub(crate) fn definition_tag(
    name: &EventName,
    sender: &Sender,
    description: &str,
    data: &Map<String, Value>,
    schema: Option<&EventSchema>,
) -> ETag {
    let mut content = serde_json::json!({
        "name": name,
        "sender": sender,
        "description": description,
        "eventData": data,
    });
    if let (Some(schema), Some(obj)) = (schema, content.as_object_mut()) {
        obj.insert("schema".to_owned(), Value::Object(schema.as_json().clone()));
    }
    ETag::of(&content)
}

/// The event types of one sender.
#[derive(Debug, Clone, PartialEq)]
pub struct SenderGroup {
    pub sender: Sender,
    /// By name.
    pub types: Vec<EventType>,
}

/// A published event the catalog refuses, or a store that could not say.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// Each field in the API's spelling: `eventName`, `eventData/total`.
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why registering or removing an event type did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{0} is one of Herald's own event types")]
    BuiltIn(EventName),
    #[error("no event type {0} is registered")]
    NotFound(EventName),
    #[error("{} event types are registered already", Catalog::MAX_REGISTERED)]
    Full,
    /// `If-Match` named a version that is not the current one.
    #[error("the event type is not at the version If-Match names")]
    Stale,
    /// Another write came between the read and this one.
    #[error("the event type changed meanwhile")]
    Changed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A registration done: the type as the catalog now shows it.
#[derive(Debug, Clone)]
pub struct Registered {
    pub event_type: EventType,
    /// Whether the name was new (else the definition was replaced).
    pub created: bool,
}

/// The catalog service: Herald's own event types and the registry, one listing.
#[derive(Clone)]
pub struct Catalog {
    store: Arc<dyn EventTypeStore>,
    require_registered: bool,
}

impl Catalog {
    /// At most this many registered types: the listing answers them all in one response
    /// (each up to 24 KiB: an 8 KiB example and a 16 KiB schema), well under Lambda's 6 MB.
    pub const MAX_REGISTERED: usize = 200;

    pub fn new(store: Arc<dyn EventTypeStore>) -> Self {
        Self {
            store,
            require_registered: false,
        }
    }

    /// With `yes`, events must be of a type in the catalog to be published or subscribed to
    /// (the operator's `HERALD_REQUIRE_REGISTERED_EVENT_TYPES`).
    pub fn requiring_registration(self, yes: bool) -> Self {
        Self {
            require_registered: yes,
            ..self
        }
    }

    pub fn requires_registration(&self) -> bool {
        self.require_registered
    }

    /// Every event type, grouped by sender: Herald's first, then the others by name
    /// (case-insensitively); within a group, types by name.
    pub async fn grouped(&self) -> Result<Vec<SenderGroup>, StoreError> {
        let mut types: Vec<EventType> = builtin::builtin().to_vec();
        types.extend(self.registered().await?);
        Ok(group(types))
    }

    /// The event type named `name`, Herald's own or registered.
    pub async fn find(&self, name: &EventName) -> Result<Option<EventType>, StoreError> {
        if let Some(t) = builtin::find(name) {
            return Ok(Some(t.clone()));
        }
        Ok(self.store.get(name).await?.map(EventType::from))
    }

    /// Checks a published event against its type: its data against the registered schema,
    /// and, when the operator requires it, that its type is in the catalog at all. An event
    /// of a type no one registered passes otherwise: events came before the registry.
    pub async fn check_published(&self, event: &Event) -> Result<(), CheckError> {
        let name = event.event_name();
        if builtin::is_builtin(name) {
            return Ok(());
        }
        let mut errors = FieldErrors::new();
        match self.store.get(name).await? {
            None if self.require_registered => errors.push(
                "eventName",
                format!(
                    "{name} is not a registered event type (see GET /event-types): this Herald \
                     accepts only events whose type was registered (PUT /event-types/{name})"
                ),
            ),
            None => {}
            Some(t) => {
                if let Some(schema) = t.schema() {
                    let compiled = schema.compile().map_err(|reason| StoreError::Unreadable {
                        kind: "event type",
                        key: name.to_string(),
                        reason,
                    })?;
                    compiled.check("eventData", event.event_data(), &mut errors);
                }
            }
        }
        errors.into_result(()).map_err(CheckError::Invalid)
    }

    /// Those of `names` that are neither Herald's own nor registered, in their order. Reads the
    /// registry once, and only when some name is not Herald's own.
    pub async fn unknown<'a>(
        &self,
        names: &'a [EventName],
    ) -> Result<Vec<&'a EventName>, StoreError> {
        let others: Vec<&EventName> = names.iter().filter(|n| !builtin::is_builtin(n)).collect();
        if others.is_empty() {
            return Ok(others);
        }
        let registered = self.store.list().await?;
        Ok(others
            .into_iter()
            .filter(|n| !registered.iter().any(|t| t.name() == *n))
            .collect())
    }

    /// Registers `event_type`, or replaces the registered type of its name, while
    /// `precondition` holds for the current one (`If-Match`).
    pub async fn register(
        &self,
        event_type: RegisteredEventType,
        precondition: &Precondition,
    ) -> Result<Registered, RegistryError> {
        if builtin::is_builtin(event_type.name()) {
            return Err(RegistryError::BuiltIn(event_type.name().clone()));
        }
        let current = self.store.get(event_type.name()).await?;
        let expected = match (&current, precondition) {
            (Some(current), _) => {
                let tag = current.etag();
                if !precondition.allows(&tag) {
                    return Err(RegistryError::Stale);
                }
                Expected::Current(tag)
            }
            // If-Match names a version of something that does not exist.
            (None, Precondition::OneOf(_)) => return Err(RegistryError::Stale),
            (None, Precondition::Any) => {
                if self.store.list().await?.len() >= Self::MAX_REGISTERED {
                    return Err(RegistryError::Full);
                }
                Expected::Absent
            }
        };
        self.store
            .put(&event_type, &expected)
            .await
            .map_err(lost_race(precondition))?;
        tracing::info!(event_type = %event_type.name(), sender = %event_type.sender(), created = current.is_none(), "event type registered");
        Ok(Registered {
            created: current.is_none(),
            event_type: event_type.into(),
        })
    }

    /// Removes the registered type named `name` while `precondition` holds for it.
    pub async fn unregister(
        &self,
        name: &EventName,
        precondition: &Precondition,
    ) -> Result<(), RegistryError> {
        if builtin::is_builtin(name) {
            return Err(RegistryError::BuiltIn(name.clone()));
        }
        let current = self
            .store
            .get(name)
            .await?
            .ok_or_else(|| RegistryError::NotFound(name.clone()))?;
        let tag = current.etag();
        if !precondition.allows(&tag) {
            return Err(RegistryError::Stale);
        }
        self.store
            .delete(name, &tag)
            .await
            .map_err(lost_race(precondition))?;
        tracing::info!(event_type = %name, "event type removed");
        Ok(())
    }

    /// The registered types the catalog shows: a name Herald has since taken for one of its
    /// own events shows Herald's.
    async fn registered(&self) -> Result<Vec<EventType>, StoreError> {
        let mut out = Vec::new();
        for t in self.store.list().await? {
            if builtin::is_builtin(t.name()) {
                tracing::warn!(event_type = %t.name(), "a registered event type is shadowed by Herald's own");
                continue;
            }
            out.push(EventType::from(t));
        }
        Ok(out)
    }
}

/// A conditional write that lost: against the caller's `If-Match` that is a stale version;
/// without one, another write came between this request's read and its write.
fn lost_race(precondition: &Precondition) -> impl FnOnce(StoreError) -> RegistryError + '_ {
    move |e| match e {
        StoreError::PreconditionFailed if *precondition == Precondition::Any => {
            RegistryError::Changed
        }
        StoreError::PreconditionFailed => RegistryError::Stale,
        other => RegistryError::Store(other),
    }
}

/// `types` grouped by sender: Herald first, then by name, case-insensitively (and exactly,
/// for senders differing only in case); types by name.
fn group(types: Vec<EventType>) -> Vec<SenderGroup> {
    let mut groups: BTreeMap<(bool, String, String), Vec<EventType>> = BTreeMap::new();
    for t in types {
        let s = t.sender.as_str();
        let key = (s != Sender::HERALD, s.to_ascii_lowercase(), s.to_owned());
        groups.entry(key).or_default().push(t);
    }
    groups
        .into_values()
        .filter_map(|mut types| {
            types.sort_by(|a, b| a.name.cmp(&b.name));
            let sender = types.first()?.sender.clone();
            Some(SenderGroup { sender, types })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::events::catalog::memory::MemoryEventTypeStore;
    use crate::events::catalog::registry::Refused;

    fn name(s: &str) -> EventName {
        EventName::parse(s).expect("valid")
    }

    fn registration(event: &str, sender: &str, schema: Option<Value>) -> RegisteredEventType {
        let mut body = json!({
            "sender": sender,
            "description": format!("{event}, sent by {sender}."),
            "eventData": {"orderId": "o-42"},
        });
        if let Some(schema) = schema {
            body["schema"] = schema;
        }
        RegisteredEventType::read(event, body).unwrap_or_else(|e| panic!("{event}: {e:?}"))
    }

    fn order_schema() -> Value {
        json!({
            "type": "object",
            "required": ["orderId"],
            "properties": {"orderId": {"type": "string"}, "total": {"type": "number"}},
        })
    }

    fn event(event_name: &str, data: Value) -> Event {
        let now = datetime!(2030-01-15 09:30 UTC);
        NewEvent {
            sender: "signature-api".into(),
            event_name: event_name.into(),
            event_data: data,
            organization_id: None,
            expires_at: None,
            tags: vec![],
        }
        .validate(
            EventId::new(now),
            AccountId::parse("acme").expect("valid"),
            now,
        )
        .expect("a valid event")
    }

    async fn catalog() -> Catalog {
        let c = Catalog::new(Arc::new(MemoryEventTypeStore::new()));
        for (event, sender) in [
            ("order.completed", "signature-api"),
            ("invoice.paid", "billing"),
            ("order.created", "signature-api"),
            ("user.created", "Accounts"),
        ] {
            let schema = (event == "order.completed").then(order_schema);
            c.register(registration(event, sender, schema), &Precondition::Any)
                .await
                .expect("registered");
        }
        c
    }

    #[tokio::test]
    async fn the_listing_groups_by_sender_herald_first() {
        let c = catalog().await;
        let groups = c.grouped().await.expect("listed");
        let shape: Vec<(&str, Vec<&str>)> = groups
            .iter()
            .map(|g| {
                (
                    g.sender.as_str(),
                    g.types.iter().map(|t| t.name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                (
                    "herald",
                    vec![
                        "domain.failed",
                        "domain.verified",
                        "email.delivered",
                        "email.failed",
                        "email.opened",
                        "email.sent",
                        "message.link_clicked",
                        "notification.reminder",
                        "notification.sent",
                        "notification.suppressed",
                        "sms.delivered",
                        "sms.failed",
                        "sms.sent",
                        "subscription.disabled"
                    ]
                ),
                ("Accounts", vec!["user.created"]),
                ("billing", vec!["invoice.paid"]),
                ("signature-api", vec!["order.completed", "order.created"]),
            ]
        );
        assert!(groups[0].types.iter().all(|t| t.built_in));
        let order = &groups[3].types[0];
        assert!(!order.built_in);
        assert_eq!(order.sample_data["orderId"], "o-42");
        assert_eq!(
            order
                .schema
                .as_ref()
                .map(|s| Value::Object(s.as_json().clone())),
            Some(order_schema())
        );
    }

    #[tokio::test]
    async fn find_answers_both_kinds_and_samples_carry_the_sender() {
        let c = catalog().await;
        let sms = c
            .find(&name("sms.sent"))
            .await
            .expect("read")
            .expect("found");
        assert!(sms.built_in);
        let order = c
            .find(&name("order.completed"))
            .await
            .expect("read")
            .expect("found");
        let now = datetime!(2030-01-15 09:30 UTC);
        let sample = order
            .sample(
                EventId::new(now),
                AccountId::parse("acme").expect("valid"),
                now,
                &["mock"],
            )
            .expect("a valid envelope");
        assert_eq!(sample.sender().as_str(), "signature-api");
        assert_eq!(sample.event_data()["orderId"], "o-42");
        assert_eq!(sample.tags().len(), 1);
        assert!(c.find(&name("nope.nope")).await.expect("read").is_none());
    }

    #[tokio::test]
    async fn published_data_must_satisfy_the_registered_schema() {
        let c = catalog().await;
        let ok = event("order.completed", json!({"orderId": "o-1", "total": 3}));
        assert!(c.check_published(&ok).await.is_ok());
        let bad = event("order.completed", json!({"total": "3"}));
        let Err(CheckError::Invalid(errors)) = c.check_published(&bad).await else {
            panic!("refused")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["eventData", "eventData/total"]);
        // No schema, Herald's own, or not registered: anything goes.
        for e in [
            event("order.created", json!({"any": 1})),
            event("sms.sent", json!({})),
            event("nobody.registered", json!({"x": 1})),
        ] {
            assert!(c.check_published(&e).await.is_ok());
        }
    }

    #[tokio::test]
    async fn the_operator_may_require_registered_types() {
        let c = catalog().await.requiring_registration(true);
        assert!(c.requires_registration());
        let Err(CheckError::Invalid(errors)) = c
            .check_published(&event("nobody.registered", json!({})))
            .await
        else {
            panic!("refused")
        };
        assert!(errors.has("eventName"), "{errors}");
        assert!(
            c.check_published(&event("sms.sent", json!({})))
                .await
                .is_ok()
        );
        assert!(
            c.check_published(&event("order.created", json!({})))
                .await
                .is_ok()
        );
        let names = [
            name("sms.sent"),
            name("nope.one"),
            name("order.created"),
            name("nope.two"),
        ];
        let unknown = c.unknown(&names).await.expect("read");
        assert_eq!(unknown, [&names[1], &names[3]]);
    }

    #[tokio::test]
    async fn registering_creates_replaces_and_honours_if_match() {
        let c = Catalog::new(Arc::new(MemoryEventTypeStore::new()));
        let first = registration("order.completed", "signature-api", None);
        let created = c
            .register(first.clone(), &Precondition::Any)
            .await
            .expect("created");
        assert!(created.created);
        let tag = created.event_type.etag();
        assert_eq!(tag, first.etag());

        let second = registration("order.completed", "signature-api", Some(order_schema()));
        let stale = Precondition::from_if_match(Some("\"old\""));
        assert!(matches!(
            c.register(second.clone(), &stale).await,
            Err(RegistryError::Stale)
        ));
        let current = Precondition::from_if_match(Some(&tag.header_value()));
        let replaced = c.register(second, &current).await.expect("replaced");
        assert!(!replaced.created);
        assert!(replaced.event_type.schema.is_some());

        // If-Match on a name never registered: nothing is at that version.
        let other = registration("order.created", "signature-api", None);
        assert!(matches!(
            c.register(other, &current).await,
            Err(RegistryError::Stale)
        ));
    }

    #[tokio::test]
    async fn removing_a_type_and_herald_s_own_are_kept() {
        let c = catalog().await;
        let order = name("order.completed");
        assert!(matches!(
            c.unregister(&order, &Precondition::from_if_match(Some("\"x\"")))
                .await,
            Err(RegistryError::Stale)
        ));
        c.unregister(&order, &Precondition::Any)
            .await
            .expect("removed");
        assert!(c.find(&order).await.expect("read").is_none());
        assert!(matches!(
            c.unregister(&order, &Precondition::Any).await,
            Err(RegistryError::NotFound(_))
        ));
        assert!(matches!(
            c.unregister(&name("sms.sent"), &Precondition::Any).await,
            Err(RegistryError::BuiltIn(_))
        ));
    }

    #[tokio::test]
    async fn the_registry_is_bounded() {
        let c = Catalog::new(Arc::new(MemoryEventTypeStore::new()));
        for i in 0..Catalog::MAX_REGISTERED {
            c.register(
                registration(&format!("bulk.e{i}"), "bulk", None),
                &Precondition::Any,
            )
            .await
            .expect("registered");
        }
        assert!(matches!(
            c.register(registration("bulk.more", "bulk", None), &Precondition::Any)
                .await,
            Err(RegistryError::Full)
        ));
        // Replacing one is still possible.
        c.register(registration("bulk.e0", "bulk", None), &Precondition::Any)
            .await
            .expect("replaced");
    }

    #[test]
    fn built_in_names_cannot_be_registered() {
        let refused = RegisteredEventType::read(
            "email.opened",
            json!({"sender": "x", "description": "d", "eventData": {}}),
        );
        assert!(matches!(refused, Err(Refused::BuiltIn(_))));
    }
}
