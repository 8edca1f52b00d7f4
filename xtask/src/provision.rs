//! Creates on the emulated AWS what template.yaml declares: DynamoDB tables (keys, indexes,
//! TTL), KMS keys, queues, SES identities and Secrets Manager secrets (given or generated). Resources with no local
//! meaning (log groups, alarms, the HTTP API) are skipped.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_yaml::Value;

use crate::Result;
use crate::template::{Physical, Template};

pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(crate::template::REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "local",
        ))
        .load()
        .await
}

fn text<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing {key}").into())
}

fn key_schema(v: Option<&Value>) -> Result<Vec<KeySchemaElement>> {
    v.and_then(Value::as_sequence)
        .ok_or("missing KeySchema")?
        .iter()
        .map(|k| {
            Ok(KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName")?)
                .key_type(KeyType::from(text(k, "KeyType")?))
                .build()?)
        })
        .collect()
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    id: &str,
    props: &Value,
    physical: &mut Physical,
) -> Result<()> {
    let name = props
        .get("TableName")
        .and_then(Value::as_str)
        .map_or_else(|| format!("{}-{id}", crate::template::STACK), str::to_owned);
    let mut req = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(props.get("KeySchema"))?));
    for a in props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .ok_or("missing AttributeDefinitions")?
    {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(text(a, "AttributeType")?))
                .build()?,
        );
    }
    for g in props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let projection = g.get("Projection");
        let non_key: Option<Vec<String>> = projection
            .and_then(|p| p.get("NonKeyAttributes"))
            .and_then(Value::as_sequence)
            .map(|s| {
                s.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            });
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(text(g, "IndexName")?)
                .set_key_schema(Some(key_schema(g.get("KeySchema"))?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            projection
                                .and_then(|p| p.get("ProjectionType"))
                                .and_then(Value::as_str)
                                .unwrap_or("ALL"),
                        ))
                        .set_non_key_attributes(non_key)
                        .build(),
                )
                .build()?,
        );
    }
    let out = req.send().await.map_err(|e| {
        format!(
            "creating table {name}: {}",
            aws_sdk_dynamodb::Error::from(e)
        )
    })?;
    if let Some(ttl) = props.get("TimeToLiveSpecification") {
        client
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(text(ttl, "AttributeName")?)
                    .enabled(ttl.get("Enabled").and_then(Value::as_bool).unwrap_or(true))
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| format!("TTL of {name}: {}", aws_sdk_dynamodb::Error::from(e)))?;
    }
    let arn = out
        .table_description
        .and_then(|d| d.table_arn)
        .unwrap_or_else(|| {
            format!(
                "arn:aws:dynamodb:{}:{}:table/{name}",
                crate::template::REGION,
                crate::template::ACCOUNT
            )
        });
    physical.refs.insert(id.to_owned(), name);
    physical.arns.insert(id.to_owned(), arn);
    Ok(())
}

/// SQS attributes of the template that mean something locally.
const QUEUE_ATTRIBUTES: [&str; 4] = [
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
];

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    template: &Template,
    id: &str,
    props: &Value,
    physical: &mut Physical,
) -> Result<()> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let name = props
        .get("QueueName")
        .and_then(Value::as_str)
        .map_or_else(|| format!("{}-{id}", crate::template::STACK), str::to_owned);
    let mut req = client.create_queue().queue_name(&name);
    for attr in QUEUE_ATTRIBUTES {
        if let Some(v) = props.get(attr) {
            req = req.attributes(
                QueueAttributeName::from(attr),
                template.resolve(v, physical)?,
            );
        }
    }
    if let Some(redrive) = props.get("RedrivePolicy") {
        let target = template.resolve(
            redrive
                .get("deadLetterTargetArn")
                .ok_or("RedrivePolicy without deadLetterTargetArn")?,
            physical,
        )?;
        let max = redrive
            .get("maxReceiveCount")
            .map(|v| template.resolve(v, physical))
            .transpose()?
            .unwrap_or_else(|| "5".into());
        req = req.attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": target, "maxReceiveCount": max}).to_string(),
        );
    }
    let out = req
        .send()
        .await
        .map_err(|e| format!("creating queue {name}: {}", aws_sdk_sqs::Error::from(e)))?;
    physical.refs.insert(
        id.to_owned(),
        out.queue_url.ok_or("CreateQueue returned no URL")?,
    );
    physical.arns.insert(
        id.to_owned(),
        format!(
            "arn:aws:sqs:{}:{}:{name}",
            crate::template::REGION,
            crate::template::ACCOUNT
        ),
    );
    Ok(())
}

/// A secret's value: its `SecretString`, or one made as `GenerateSecretString` asks (letters
/// and digits; CloudFormation's other options have no use here yet).
fn secret_value(template: &Template, props: &Value, physical: &Physical) -> Result<String> {
    if let Some(value) = props.get("SecretString") {
        return template.resolve(value, physical);
    }
    let generate = props
        .get("GenerateSecretString")
        .ok_or("Secret without its SecretString or GenerateSecretString")?;
    if generate.get("SecretStringTemplate").is_some() {
        return Err("GenerateSecretString with a SecretStringTemplate is not made locally".into());
    }
    let length = generate
        .get("PasswordLength")
        .map(|v| template.resolve(v, physical))
        .transpose()?
        .map_or(Ok(32), |l| l.parse::<usize>())
        .map_err(|e| format!("GenerateSecretString's PasswordLength: {e}"))?;
    Ok(
        rand::Rng::sample_iter(rand::rng(), &rand::distr::Alphanumeric)
            .take(length)
            .map(char::from)
            .collect(),
    )
}

pub async fn provision(template: &Template, endpoint: &str) -> Result<Physical> {
    let config = sdk_config(endpoint).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let kms = aws_sdk_kms::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let ses = aws_sdk_sesv2::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let scheduler = aws_sdk_scheduler::Client::new(&config);
    let mut physical = Physical::default();
    for (id, resource) in &template.resources {
        match resource.kind.as_str() {
            "AWS::DynamoDB::Table" => {
                create_table(&dynamo, id, &resource.properties, &mut physical).await?;
            }
            "AWS::KMS::Key" => {
                let out = kms
                    .create_key()
                    .description(format!("{id} (local)"))
                    .send()
                    .await
                    .map_err(|e| format!("creating key {id}: {}", aws_sdk_kms::Error::from(e)))?;
                let meta = out.key_metadata.ok_or("CreateKey returned no metadata")?;
                physical.refs.insert(id.clone(), meta.key_id);
                physical
                    .arns
                    .insert(id.clone(), meta.arn.unwrap_or_default());
            }
            "AWS::SES::EmailIdentity" => {
                let identity = template.resolve(
                    resource
                        .properties
                        .get("EmailIdentity")
                        .ok_or("EmailIdentity without its identity")?,
                    &physical,
                )?;
                ses.create_email_identity()
                    .email_identity(&identity)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "creating identity {identity}: {}",
                            aws_sdk_sesv2::Error::from(e)
                        )
                    })?;
                physical.refs.insert(id.clone(), identity);
            }
            "AWS::SES::ConfigurationSet" => {
                let name = template.resolve(
                    resource
                        .properties
                        .get("Name")
                        .ok_or("ConfigurationSet without its Name")?,
                    &physical,
                )?;
                ses.create_configuration_set()
                    .configuration_set_name(&name)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "creating configuration set {name}: {}",
                            aws_sdk_sesv2::Error::from(e)
                        )
                    })?;
                physical.refs.insert(id.clone(), name);
            }
            "AWS::SecretsManager::Secret" => {
                let name = match resource.properties.get("Name") {
                    Some(name) => template.resolve(name, &physical)?,
                    None => format!("{}-{id}", crate::template::STACK),
                };
                let value = secret_value(template, &resource.properties, &physical)?;
                let out = secrets
                    .create_secret()
                    .name(&name)
                    .secret_string(value)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "creating secret {name}: {}",
                            aws_sdk_secretsmanager::Error::from(e)
                        )
                    })?;
                // A secret's !Ref is its ARN, as in CloudFormation.
                let arn = out.arn.ok_or("CreateSecret returned no ARN")?;
                physical.refs.insert(id.clone(), arn.clone());
                physical.arns.insert(id.clone(), arn);
            }
            "AWS::Scheduler::ScheduleGroup" => {
                let name = template.resolve(
                    resource
                        .properties
                        .get("Name")
                        .ok_or("ScheduleGroup without its Name")?,
                    &physical,
                )?;
                let out = scheduler
                    .create_schedule_group()
                    .name(&name)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "creating schedule group {name}: {}",
                            aws_sdk_scheduler::Error::from(e)
                        )
                    })?;
                physical.refs.insert(id.clone(), name);
                physical.arns.insert(id.clone(), out.schedule_group_arn);
            }
            // Only its ARN is used locally (handed to Scheduler, which moto does not check).
            "AWS::IAM::Role" => {
                let arn = format!(
                    "arn:aws:iam::{}:role/{}-{id}",
                    crate::template::ACCOUNT,
                    crate::template::STACK
                );
                physical
                    .refs
                    .insert(id.clone(), format!("{}-{id}", crate::template::STACK));
                physical.arns.insert(id.clone(), arn);
            }
            // SNS and SES's event destinations: moto's SES publishes no events, so the local
            // stack has nothing to wire; tests put SES's notifications on the status queue.
            _ => {}
        }
    }
    // Queues last, dead-letter queues (no redrive policy of their own) first, so that every
    // redrive target exists when its queue is created.
    let mut queues: Vec<_> = template
        .resources
        .iter()
        .filter(|(_, r)| r.kind == "AWS::SQS::Queue")
        .collect();
    queues.sort_by_key(|(_, r)| r.properties.get("RedrivePolicy").is_some());
    for (id, resource) in queues {
        create_queue(&sqs, template, id, &resource.properties, &mut physical).await?;
    }
    Ok(physical)
}
