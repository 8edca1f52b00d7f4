//! Subscriptions to cloud destinations: each kind's fields read and shown, credentials sealed
//! and write-only, endpoints only where the operator allows them, and an AWS role's external id
//! generated once per subscription.

use herald::common::seal::SecretSealer;
use herald::events::destination::Destination;
use herald::events::destination::google_pubsub::ServiceAccountKey;
use serde_json::{Value, json};

use crate::harness::{Herald, Setup, acme, get, post, put};
use crate::subscriptions::{create, stored};

const URL: &str = "/accounts/acme/subscriptions";

/// A throwaway RSA key, made for these tests only.
const PRIVATE_KEY: &str = include_str!("fixtures/service-account-test-key.pem");

fn service_account_key(token_uri: &str) -> Value {
    json!({
        "type": "service_account",
        "project_id": "acme-prod",
        "private_key_id": "4f1c0a8b9d",
        "private_key": PRIVATE_KEY,
        "client_email": "herald-publisher@acme-prod.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    })
}

fn pubsub() -> Value {
    json!({
        "name": "Orders to Pub/Sub",
        "type": "google-pubsub",
        "project": "acme-prod",
        "topic": "herald-events",
        "serviceAccountKey": service_account_key("https://oauth2.googleapis.com/token"),
    })
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn a_pubsub_key_is_sealed_and_never_shown() {
    let h = Herald::new().await;
    let created = create(&h, pubsub()).await;
    assert_eq!(created["type"], "google-pubsub");
    assert_eq!(created["topic"], "herald-events");
    assert_eq!(
        created["serviceAccount"],
        "herald-publisher@acme-prod.iam.gserviceaccount.com"
    );
    assert_eq!(created["keyId"], "4f1c0a8b9d");
    assert_eq!(created["serviceAccountKey"], "********");
    assert!(!created.to_string().contains("PRIVATE KEY"), "{created}");
    assert!(created.get("url").is_none() && created.get("secret").is_none());

    let id = id_of(&created);
    let Some(Destination::GooglePubsub(d)) = stored(&h, &id).await.map(|s| s.destination) else {
        panic!("a Pub/Sub subscription");
    };
    let opened = h.sealer.open(&acme(), &d.key).await.expect("opens");
    let key = ServiceAccountKey::from_secret(&opened).expect("the key");
    assert_eq!(key.private_key, PRIVATE_KEY);

    // Left out, or sent back as shown: the stored key stays.
    let mut body = pubsub();
    body.as_object_mut()
        .expect("object")
        .remove("serviceAccountKey");
    body["topic"] = json!("herald-events-2");
    h.call(put(format!("{URL}/{id}")).json(body)).await.ok(200);
    let mut body = pubsub();
    body["serviceAccountKey"] = json!("********");
    body["orderingKey"] = json!("acme");
    let replaced = h.call(put(format!("{URL}/{id}")).json(body)).await.ok(200);
    assert_eq!(replaced["orderingKey"], "acme");
    let Some(Destination::GooglePubsub(after)) = stored(&h, &id).await.map(|s| s.destination)
    else {
        panic!("a Pub/Sub subscription");
    };
    assert_eq!(after.key, d.key, "the sealed key is kept");
}

#[tokio::test]
async fn pubsub_fields_are_checked() {
    let h = Herald::new().await;
    let mut body = pubsub();
    body.as_object_mut()
        .expect("object")
        .remove("serviceAccountKey");
    let missing = h.call(post(URL).json(body)).await;
    assert_eq!(missing.invalid_fields(), ["serviceAccountKey"]);

    let mut body = pubsub();
    body["serviceAccountKey"] = service_account_key("https://tokens.evil.example/token");
    body["project"] = json!("Acme");
    body["topic"] = json!("goog-events");
    let wrong = h.call(post(URL).json(body)).await;
    let mut fields = wrong.invalid_fields();
    fields.sort_unstable();
    assert_eq!(fields, ["project", "serviceAccountKey", "topic"]);
    assert!(
        wrong
            .message_for("serviceAccountKey")
            .contains("https://oauth2.googleapis.com/token"),
        "{wrong:?}"
    );

    let mut body = pubsub();
    body["serviceAccountKey"] = json!({"type": "authorized_user"});
    let not_a_key = h.call(post(URL).json(body)).await;
    assert!(
        not_a_key
            .message_for("serviceAccountKey")
            .contains("service-account key"),
        "{not_a_key:?}"
    );
}

#[tokio::test]
async fn endpoints_are_only_those_the_operator_allows() {
    let h = Herald::new().await;
    let mut body = pubsub();
    body["endpoint"] = json!("http://127.0.0.1:8085");
    let refused = h.call(post(URL).json(body.clone())).await;
    assert_eq!(refused.invalid_fields(), ["endpoint"]);
    assert!(
        refused
            .message_for("endpoint")
            .contains("HERALD_DESTINATION_ALLOWED_ENDPOINTS"),
        "{refused:?}"
    );

    let h = Herald::start(Setup::with_env(&[
        ("HERALD_DESTINATION_ALLOWED_ENDPOINTS", "http://127.0.0.1:*"),
        ("HERALD_DESTINATION_ALLOW_HTTP", "true"),
        ("HERALD_DESTINATION_ALLOWED_NETWORKS", "127.0.0.0/8"),
    ]))
    .await;
    body["serviceAccountKey"] = service_account_key("http://127.0.0.1:9999/token");
    let created = create(&h, body).await;
    assert_eq!(created["endpoint"], "http://127.0.0.1:8085");
    let mut other = pubsub();
    other["endpoint"] = json!("http://10.0.0.5:8085");
    let inside = h.call(post(URL).json(other)).await;
    assert_eq!(inside.invalid_fields(), ["endpoint"]);
}

fn service_bus() -> Value {
    json!({
        "name": "Orders to Service Bus",
        "type": "azure-service-bus",
        "connectionString": "Endpoint=sb://acme-events.servicebus.windows.net/;SharedAccessKeyName=herald-send;SharedAccessKey=c2VjcmV0LWtleS1mb3ItdGVzdHM=;EntityPath=orders",
    })
}

#[tokio::test]
async fn a_service_bus_connection_string_is_split_and_its_key_sealed() {
    let h = Herald::new().await;
    let created = create(&h, service_bus()).await;
    assert_eq!(created["namespace"], "acme-events");
    assert_eq!(created["entity"], "orders");
    assert_eq!(created["sasKeyName"], "herald-send");
    assert_eq!(created["sasKey"], "********");
    assert!(created.get("connectionString").is_none());
    assert!(!created.to_string().contains("c2VjcmV0"), "{created}");
    let id = id_of(&created);
    let Some(Destination::AzureServiceBus(b)) = stored(&h, &id).await.map(|s| s.destination) else {
        panic!("a Service Bus subscription");
    };
    let key = h.sealer.open(&acme(), &b.key).await.expect("opens");
    assert_eq!(key.expose(), "c2VjcmV0LWtleS1mb3ItdGVzdHM=");

    // The fields apart, keeping the key.
    let body = json!({
        "name": "Orders to Service Bus",
        "type": "azure-service-bus",
        "namespace": "acme-events",
        "entity": "invoices",
        "sasKeyName": "herald-send",
    });
    let replaced = h.call(put(format!("{URL}/{id}")).json(body)).await.ok(200);
    assert_eq!(replaced["entity"], "invoices");
}

#[tokio::test]
async fn service_bus_fields_are_checked() {
    let h = Herald::new().await;
    let mut both = service_bus();
    both["namespace"] = json!("acme-events");
    both["entity"] = json!("invoices");
    let answer = h.call(post(URL).json(both)).await;
    let mut fields = answer.invalid_fields();
    fields.sort_unstable();
    assert_eq!(fields, ["entity", "namespace"]);

    let apart = json!({"name": "x", "type": "azure-service-bus", "namespace": "acme-events", "entity": "orders", "sasKeyName": "send"});
    let no_key = h.call(post(URL).json(apart)).await;
    assert_eq!(no_key.invalid_fields(), ["sasKey"]);

    let none = json!({"name": "x", "type": "azure-service-bus"});
    let answer = h.call(post(URL).json(none)).await;
    let mut fields = answer.invalid_fields();
    fields.sort_unstable();
    assert_eq!(fields, ["entity", "namespace", "sasKeyName"]);

    let mut elsewhere = service_bus();
    elsewhere["connectionString"] = json!(
        "Endpoint=sb://acme.servicebus.evil.example/;SharedAccessKeyName=a;SharedAccessKey=b;EntityPath=orders"
    );
    let answer = h.call(post(URL).json(elsewhere)).await;
    assert_eq!(answer.invalid_fields(), ["connectionString"]);
}

fn sqs() -> Value {
    json!({
        "name": "Orders to SQS",
        "type": "aws-sqs",
        "queueUrl": "https://sqs.eu-west-1.amazonaws.com/210987654321/herald-events",
        "roleArn": "arn:aws:iam::210987654321:role/herald-delivery",
    })
}

#[tokio::test]
async fn an_aws_role_gets_an_external_id_once_and_its_trust_policy() {
    let h = Herald::start(Setup::with_env(&[(
        "HERALD_AWS_ACCOUNT_ID",
        "123456789012",
    )]))
    .await;
    let created = create(&h, sqs()).await;
    let external_id = created["externalId"].as_str().expect("an external id");
    assert!(external_id.starts_with("herald-"), "{external_id}");
    assert_eq!(
        created["trustPolicy"]["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::123456789012:root"
    );
    assert_eq!(
        created["trustPolicy"]["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
        external_id
    );
    let id = id_of(&created);

    // Another AWS kind keeps the id: the role's trust policy stays valid.
    let sns = json!({
        "name": "Orders to SNS",
        "type": "aws-sns",
        "topicArn": "arn:aws:sns:eu-west-1:210987654321:herald-events",
        "roleArn": "arn:aws:iam::210987654321:role/herald-delivery",
    });
    let replaced = h.call(put(format!("{URL}/{id}")).json(sns)).await.ok(200);
    assert_eq!(replaced["externalId"], external_id);
    assert_eq!(replaced["type"], "aws-sns");

    // Another subscription, another id.
    let other = create(&h, sqs()).await;
    assert_ne!(other["externalId"], external_id);

    // No signing secrets to rotate.
    let rotate = h.call(post(format!("{URL}/{id}/rotate-secret"))).await;
    rotate.problem(409);

    let got = h.call(get(format!("{URL}/{id}"))).await.ok(200);
    assert_eq!(got["externalId"], external_id);
}

#[tokio::test]
async fn aws_addresses_are_checked() {
    let h = Herald::new().await;
    let body = json!({
        "name": "x",
        "type": "aws-eventbridge",
        "eventBusArn": "arn:aws:events:eu-west-1:210987654321:rule/herald",
        "roleArn": "arn:aws:iam::2109876:role/herald-delivery",
        "externalId": "mine",
    });
    let answer = h.call(post(URL).json(body)).await;
    let mut fields = answer.invalid_fields();
    fields.sort_unstable();
    assert_eq!(fields, ["eventBusArn", "externalId", "roleArn"]);
    assert_eq!(answer.message_for("externalId"), "is not a known field");
    let created = h.call(get(URL)).await.ok(200);
    assert_eq!(created["items"], json!([]));
    // Without Herald's AWS account, no trust policy can be written out.
    let sqs = create(&h, sqs()).await;
    assert!(sqs.get("trustPolicy").is_none());
}

#[tokio::test]
async fn a_webhook_turned_into_a_queue_drops_its_secrets() {
    let h = Herald::new().await;
    let created = create(
        &h,
        json!({"name": "x", "type": "webhook", "url": "https://hooks.globex-corp.com/h", "secret": true}),
    )
    .await;
    let id = id_of(&created);
    assert_eq!(stored(&h, &id).await.expect("stored").secrets().len(), 1);
    let replaced = h.call(put(format!("{URL}/{id}")).json(sqs())).await.ok(200);
    assert_eq!(replaced["type"], "aws-sqs");
    assert!(stored(&h, &id).await.expect("stored").secrets().is_empty());
}
