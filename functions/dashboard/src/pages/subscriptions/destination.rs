//! Where a subscription sends its events, as the pages show and edit it: the kind (a
//! webhook, a Pub/Sub topic, a Service Bus queue or topic, an SQS queue, an SNS topic or an
//! EventBridge bus) and that kind's fields, named as the API names them.
//!
//! The form holds every kind's fields; the script shows the chosen kind's, and without it
//! they all show under their kind's heading. Only the chosen kind's fields reach the API.
//! Credentials are write-only: never shown, and left out of the body when left empty, so
//! that the API keeps the stored ones.

use herald::events::destination::{FIELDS, Kind};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use crate::html::{self, Field};
use crate::pages::Form;
use crate::resources::FieldMessages;

/// The text fields of every kind, as the API names them (and the form too): all but the
/// webhook's `secret` flag.
fn text_fields() -> impl Iterator<Item = &'static str> {
    FIELDS.into_iter().filter(|f| *f != "secret")
}

/// Credentials: never filled in from the stored subscription (the API shows `********`).
const WRITE_ONLY: [&str; 3] = ["serviceAccountKey", "connectionString", "sasKey"];

/// The destination fields whose API messages the form shows next to a field of its own.
pub(super) fn has_field(key: &str) -> bool {
    key == "type" || key == "secret" || key == "azureAuth" || FIELDS.contains(&key)
}

/// The kinds of the cloud, which take an endpoint.
const CLOUD: &str = "google-pubsub|azure-service-bus|aws-sqs|aws-sns|aws-eventbridge";

/// The AWS kinds, which share the role.
const AWS: &str = "aws-sqs|aws-sns|aws-eventbridge";

/// How an Azure Service Bus destination's credentials are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AzureAuth {
    /// The connection string the portal shows (it names the namespace, policy and key).
    ConnectionString,
    /// The namespace, policy name and key, each in its own field.
    Separate,
}

/// Whether a field goes to the API even when left empty (the API then says it is required).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sent {
    Always,
    WhenGiven,
}

/// A subscription's kind, as the API names it in `type`; a webhook when it names none.
pub(super) fn kind_of(sub: &Value) -> Kind {
    sub["type"]
        .as_str()
        .and_then(Kind::parse)
        .unwrap_or(Kind::Webhook)
}

/// Where the events go, in one line: the webhook's URL, `projects/p/topics/t`,
/// `namespace/entity`, the queue's URL, or the topic's or bus's ARN.
pub(super) fn target(sub: &Value) -> String {
    let s = |k: &str| sub[k].as_str().unwrap_or("").to_owned();
    match kind_of(sub) {
        Kind::Webhook => s("url"),
        Kind::GooglePubsub => format!("projects/{}/topics/{}", s("project"), s("topic")),
        Kind::AzureServiceBus => format!("{}/{}", s("namespace"), s("entity")),
        Kind::AwsSqs => s("queueUrl"),
        Kind::AwsSns => s("topicArn"),
        Kind::AwsEventbridge => s("eventBusArn"),
    }
}

/// The kind's name and where the events go, for a list or a sentence.
pub(super) fn summary(sub: &Value) -> Markup {
    html! { (kind_of(sub).label()) " " code { (target(sub)) } }
}

/// The destination's fields as the form holds them: as read, or as typed.
pub(super) struct DestinationDraft {
    pub kind: Kind,
    /// Whether a webhook's requests are signed.
    pub secret: bool,
    azure: AzureAuth,
    /// Each text field, by its API name.
    values: Map<String, Value>,
}

impl DestinationDraft {
    /// A new subscription: a signed webhook; a Service Bus one would paste its connection
    /// string, as the portal shows it.
    pub fn blank() -> Self {
        Self {
            kind: Kind::Webhook,
            secret: true,
            azure: AzureAuth::ConnectionString,
            values: Map::new(),
        }
    }

    /// As stored: credentials left empty (left so, they are kept). A Service Bus destination
    /// reads back as its separate fields, which is how the API shows it.
    pub fn of(sub: &Value) -> Self {
        let values = text_fields()
            .filter(|f| !WRITE_ONLY.contains(f))
            .filter_map(|f| sub[f].as_str().map(|v| (f.to_owned(), json!(v))))
            .collect();
        Self {
            kind: kind_of(sub),
            secret: sub["secret"] == true,
            azure: if sub["namespace"].is_string() {
                AzureAuth::Separate
            } else {
                AzureAuth::ConnectionString
            },
            values,
        }
    }

    /// As typed. A form without `type` is a webhook's (as before there were other kinds).
    pub fn typed(f: &Form) -> Self {
        Self {
            kind: Kind::parse(&f.text("type")).unwrap_or(Kind::Webhook),
            secret: f.checked("secret"),
            azure: if f.text("azureAuth") == "separate" {
                AzureAuth::Separate
            } else {
                AzureAuth::ConnectionString
            },
            values: text_fields()
                .map(|k| (k.to_owned(), json!(f.text(k))))
                .collect(),
        }
    }

    fn value(&self, field: &str) -> &str {
        self.values.get(field).and_then(Value::as_str).unwrap_or("")
    }

    /// What a write-only field shows: nothing, ever (typed again after a refusal).
    fn shown(&self, field: &str) -> &str {
        if WRITE_ONLY.contains(&field) {
            ""
        } else {
            self.value(field)
        }
    }

    /// The chosen kind's fields, and whether each goes to the API when left empty.
    fn fields(&self) -> &'static [(&'static str, Sent)] {
        use Sent::{Always, WhenGiven};
        match (self.kind, self.azure) {
            (Kind::Webhook, _) => &[("url", Always)],
            (Kind::GooglePubsub, _) => &[
                ("project", Always),
                ("topic", Always),
                ("orderingKey", WhenGiven),
                ("serviceAccountKey", WhenGiven),
                ("endpoint", WhenGiven),
            ],
            (Kind::AzureServiceBus, AzureAuth::ConnectionString) => &[
                ("connectionString", Always),
                ("entity", WhenGiven),
                ("endpoint", WhenGiven),
            ],
            (Kind::AzureServiceBus, AzureAuth::Separate) => &[
                ("namespace", Always),
                ("entity", Always),
                ("sasKeyName", Always),
                ("sasKey", WhenGiven),
                ("endpoint", WhenGiven),
            ],
            (Kind::AwsSqs, _) => &[
                ("queueUrl", Always),
                ("roleArn", Always),
                ("endpoint", WhenGiven),
            ],
            (Kind::AwsSns, _) => &[
                ("topicArn", Always),
                ("roleArn", Always),
                ("endpoint", WhenGiven),
            ],
            (Kind::AwsEventbridge, _) => &[
                ("eventBusArn", Always),
                ("roleArn", Always),
                ("endpoint", WhenGiven),
            ],
        }
    }

    /// The chosen kind's fields into the API's body: `type` and those fields, nothing of the
    /// other kinds'.
    pub fn write_body(&self, body: &mut Map<String, Value>) {
        body.insert("type".into(), json!(self.kind.as_str()));
        if self.kind == Kind::Webhook {
            body.insert("secret".into(), json!(self.secret));
        }
        for (field, sent) in self.fields() {
            let v = self.value(field);
            if *sent == Sent::Always || !v.is_empty() {
                body.insert((*field).to_owned(), json!(v));
            }
        }
    }
}

/// A text field of the destination: its value as the draft holds it, its error beside it.
fn text<'a>(
    draft: &'a DestinationDraft,
    errors: &'a FieldMessages,
    name: &'a str,
    label: &'a str,
) -> Field<'a> {
    Field::text(name, label, draft.shown(name)).error(errors.get(name))
}

/// What the form knows of the stored subscription when editing it.
pub(super) struct Stored<'a> {
    pub sub: &'a Value,
}

impl Stored<'_> {
    fn is(&self, kind: Kind) -> bool {
        kind_of(self.sub) == kind
    }
}

/// The destination's part of the form: the kind, then each kind's fields under its heading.
/// `webhook_signing` is the signing checkbox (its hint depends on adding or editing).
pub(super) fn fields(
    draft: &DestinationDraft,
    stored: Option<&Stored>,
    errors: &FieldMessages,
    webhook_signing: Markup,
) -> Markup {
    let kinds: Vec<(String, String)> = Kind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), k.label().to_owned()))
        .collect();
    let stored_kind = |k: Kind| stored.is_some_and(|s| s.is(k));
    let keep = "Leave empty to keep the current key.";
    let pubsub_key_hint = match stored.filter(|s| s.is(Kind::GooglePubsub)) {
        Some(s) => format!(
            "Herald uses the key of {} (key id {}). {keep} To replace it, paste a new key's \
             JSON here.",
            s.sub["serviceAccount"].as_str().unwrap_or("?"),
            s.sub["keyId"].as_str().unwrap_or("?"),
        ),
        None => "Paste the JSON key file of a service account allowed to publish to the topic \
                 (the Pub/Sub Publisher role). Herald keeps it sealed and never shows it again."
            .to_owned(),
    };
    let sas_key_hint = if stored_kind(Kind::AzureServiceBus) {
        format!("The policy's primary or secondary key. {keep}")
    } else {
        "The policy's primary or secondary key. Herald keeps it sealed and never shows it again."
            .to_owned()
    };
    let endpoint_error = errors.get("endpoint");
    let separate = draft.azure == AzureAuth::Separate;
    html! {
        (html::select("type", "Destination", &kinds, draft.kind.as_str(), errors.get("type"), false))
        fieldset.destination data-shown-when="type=webhook" {
            legend { (Kind::Webhook.label()) }
            (text(draft, errors, "url", "Webhook URL")
                .kind("url")
                .hint("Herald POSTs each event here as JSON. An https address reachable from \
                       the internet, answering 2xx within 15 seconds.")
                .required()
                .render())
            (webhook_signing)
        }
        fieldset.destination data-shown-when="type=google-pubsub" {
            legend { (Kind::GooglePubsub.label()) }
            (text(draft, errors, "project", "Project ID")
                .hint("The Google Cloud project that holds the topic, such as acme-prod.")
                .render())
            (text(draft, errors, "topic", "Topic ID")
                .hint("The topic's ID within the project (not its full name).")
                .render())
            (text(draft, errors, "orderingKey", "Ordering key (optional)")
                .hint("Messages with the same ordering key are delivered in order to \
                       subscribers that enable ordering. Leave empty for none.")
                .render())
            (text(draft, errors, "serviceAccountKey", "Service account key (JSON)")
                .textarea(6)
                .hint(&pubsub_key_hint)
                .render())
        }
        fieldset.destination data-shown-when="type=azure-service-bus" {
            legend { (Kind::AzureServiceBus.label()) }
            fieldset.choice {
                legend { "Credentials" }
                div.field.check {
                    input id="f-azureAuth-connectionString" type="radio" name="azureAuth"
                        value="connectionString" checked[!separate];
                    label for="f-azureAuth-connectionString" { "Connection string" }
                }
                div.field.check {
                    input id="f-azureAuth-separate" type="radio" name="azureAuth"
                        value="separate" checked[separate];
                    label for="f-azureAuth-separate" { "Separate fields" }
                }
            }
            div data-shown-when="azureAuth=connectionString" {
                (text(draft, errors, "connectionString", "Connection string")
                    .textarea(3)
                    .hint("A shared access policy's connection string with the Send claim, as \
                           the portal shows it (Endpoint=sb://…;SharedAccessKeyName=…;\
                           SharedAccessKey=…). Herald keeps it sealed and never shows it again.")
                    .render())
            }
            div data-shown-when="azureAuth=separate" {
                (text(draft, errors, "namespace", "Namespace")
                    .hint("The namespace's name: acme in acme.servicebus.windows.net.")
                    .render())
                (text(draft, errors, "sasKeyName", "Shared access policy name")
                    .hint("A policy with the Send claim, such as RootManageSharedAccessKey or \
                           one of the queue's or topic's own.")
                    .render())
                (text(draft, errors, "sasKey", "Shared access key")
                    .kind("password")
                    .hint(&sas_key_hint)
                    .render())
            }
            (text(draft, errors, "entity", "Queue or topic")
                .hint("The queue's or topic's name. With a connection string that holds \
                       EntityPath, leave it empty.")
                .render())
        }
        fieldset.destination data-shown-when=(format!("type={AWS}")) {
            legend { "Amazon SQS, SNS or EventBridge" }
            div data-shown-when="type=aws-sqs" {
                (text(draft, errors, "queueUrl", "Queue URL (Amazon SQS)")
                    .kind("url")
                    .hint("As the console shows it: \
                           https://sqs.eu-west-1.amazonaws.com/123456789012/herald-events.")
                    .render())
            }
            div data-shown-when="type=aws-sns" {
                (text(draft, errors, "topicArn", "Topic ARN (Amazon SNS)")
                    .hint("arn:aws:sns:eu-west-1:123456789012:herald-events")
                    .render())
            }
            div data-shown-when="type=aws-eventbridge" {
                (text(draft, errors, "eventBusArn", "Event bus ARN (Amazon EventBridge)")
                    .hint("arn:aws:events:eu-west-1:123456789012:event-bus/herald")
                    .render())
            }
            (text(draft, errors, "roleArn", "Role ARN")
                .hint("A role in your AWS account that may send to the queue, topic or bus \
                       (sqs:SendMessage, sns:Publish or events:PutEvents) and that Herald \
                       assumes to do so.")
                .render())
            @if let Some(s) = stored.filter(|s| s.sub["externalId"].is_string()) {
                (role_setup(s.sub))
            } @else {
                p.hint {
                    "Once you add the subscription, Herald shows the external id and the trust \
                     policy to attach to the role."
                }
            }
        }
        details.advanced data-shown-when=(format!("type={CLOUD}"))
            open[!draft.value("endpoint").is_empty() || endpoint_error.is_some()] {
            summary { "Advanced" }
            (text(draft, errors, "endpoint", "Endpoint (optional)")
                .kind("url")
                .hint("Only where your Herald operator allows it, such as an emulator's \
                       address: Herald then sends there instead of the cloud's public \
                       endpoint. Leave empty.")
                .render())
        }
    }
}

/// The external id and the trust policy that let Herald assume an AWS destination's role.
pub(super) fn role_setup(sub: &Value) -> Markup {
    let external_id = sub["externalId"].as_str().unwrap_or("");
    html! {
        section.role-setup aria-labelledby="role-setup-title" {
            h3 id="role-setup-title" { "The role's trust policy" }
            p {
                "Attach this trust policy to the role so Herald can assume it. Herald names \
                 the external id below each time, so that only this subscription can use the \
                 role."
            }
            dl.facts {
                dt { "External id" }
                dd { (html::copyable("external-id", external_id)) }
            }
            @if sub["trustPolicy"].is_object() {
                (html::copyable_block(
                    "trust-policy",
                    &serde_json::to_string_pretty(&sub["trustPolicy"]).unwrap_or_default(),
                ))
            } @else {
                p {
                    "The trust policy must allow Herald's AWS account to call sts:AssumeRole \
                     on the role with the condition that sts:ExternalId equals this external \
                     id. Ask your Herald operator for the account's id."
                }
            }
        }
    }
}

/// The destination's facts, for the page of a person who may not change it.
pub(super) fn facts(sub: &Value) -> Markup {
    let rows: &[(&str, &str)] = match kind_of(sub) {
        Kind::Webhook => &[("url", "Webhook URL")],
        Kind::GooglePubsub => &[
            ("project", "Project ID"),
            ("topic", "Topic ID"),
            ("orderingKey", "Ordering key"),
            ("serviceAccount", "Service account"),
            ("keyId", "Key id"),
        ],
        Kind::AzureServiceBus => &[
            ("namespace", "Namespace"),
            ("entity", "Queue or topic"),
            ("sasKeyName", "Shared access policy name"),
        ],
        Kind::AwsSqs => &[("queueUrl", "Queue URL"), ("roleArn", "Role ARN")],
        Kind::AwsSns => &[("topicArn", "Topic ARN"), ("roleArn", "Role ARN")],
        Kind::AwsEventbridge => &[("eventBusArn", "Event bus ARN"), ("roleArn", "Role ARN")],
    };
    html! {
        dt { "Destination" } dd { (kind_of(sub).label()) }
        @for (field, label) in rows {
            @if let Some(v) = sub[*field].as_str() {
                dt { (label) } dd { code { (v) } }
            }
        }
        @if let Some(e) = sub["endpoint"].as_str() {
            dt { "Endpoint" } dd { code { (e) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(fields: &[(&str, &str)]) -> Form {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        Form::parse(encoded.as_bytes())
    }

    fn body(f: &Form) -> Value {
        let mut m = Map::new();
        DestinationDraft::typed(f).write_body(&mut m);
        Value::Object(m)
    }

    #[test]
    fn only_the_chosen_kinds_fields_reach_the_api() {
        let f = form(&[
            ("type", "aws-sqs"),
            ("url", "https://hooks.example/x"),
            ("secret", "on"),
            (
                "queueUrl",
                "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
            ),
            ("topicArn", "arn:aws:sns:eu-west-1:123456789012:t"),
            ("roleArn", "arn:aws:iam::123456789012:role/herald"),
            ("endpoint", ""),
            ("sasKey", "k"),
        ]);
        assert_eq!(
            body(&f),
            json!({
                "type": "aws-sqs",
                "queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
                "roleArn": "arn:aws:iam::123456789012:role/herald",
            })
        );
    }

    #[test]
    fn a_form_without_a_kind_is_a_webhooks() {
        let f = form(&[("url", "https://hooks.example/x"), ("secret", "on")]);
        assert_eq!(
            body(&f),
            json!({"type": "webhook", "url": "https://hooks.example/x", "secret": true})
        );
    }

    #[test]
    fn empty_credentials_are_left_out_so_that_the_stored_ones_are_kept() {
        let separate = form(&[
            ("type", "azure-service-bus"),
            ("azureAuth", "separate"),
            ("namespace", "acme-bus"),
            ("entity", "events"),
            ("sasKeyName", "send"),
            ("sasKey", ""),
            ("connectionString", "ignored"),
        ]);
        assert_eq!(
            body(&separate),
            json!({"type": "azure-service-bus", "namespace": "acme-bus", "entity": "events",
                   "sasKeyName": "send"})
        );
        let connection = form(&[
            ("type", "azure-service-bus"),
            ("azureAuth", "connectionString"),
            ("connectionString", "Endpoint=sb://x"),
            ("namespace", "ignored"),
        ]);
        assert_eq!(
            body(&connection),
            json!({"type": "azure-service-bus", "connectionString": "Endpoint=sb://x"})
        );
        let pubsub = form(&[
            ("type", "google-pubsub"),
            ("project", "acme-prod"),
            ("topic", "events"),
            ("serviceAccountKey", ""),
            ("orderingKey", ""),
        ]);
        assert_eq!(
            body(&pubsub),
            json!({"type": "google-pubsub", "project": "acme-prod", "topic": "events"})
        );
    }

    #[test]
    fn a_stored_destination_reads_back_without_its_credentials() {
        let sub = json!({"type": "azure-service-bus", "namespace": "acme-bus", "entity": "q",
                         "sasKeyName": "send", "sasKey": "********"});
        let d = DestinationDraft::of(&sub);
        assert_eq!(d.kind, Kind::AzureServiceBus);
        assert_eq!(d.azure, AzureAuth::Separate);
        assert_eq!(d.shown("sasKey"), "");
        assert_eq!(d.shown("namespace"), "acme-bus");
        assert_eq!(target(&sub), "acme-bus/q");
        assert_eq!(
            target(&json!({"type": "google-pubsub", "project": "p", "topic": "t"})),
            "projects/p/topics/t"
        );
        assert_eq!(
            target(&json!({"url": "https://h.example"})),
            "https://h.example"
        );
    }
}
