//! End to end under the local stack: `aws-sqs`, `aws-sns` and `aws-eventbridge` subscriptions
//! made through the API, their events delivered by the functions into another AWS account (a
//! second account of moto), through a role that account creates with the trust policy the API
//! shows. moto itself checks no trust policy; the proxy in front of it does, as AWS does
//! (`xtask/src/trust.rs`).

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use herald::common::account::AccountId;
use herald_tests::api::Api;
use herald_tests::{new_account, stack_var};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);
/// The account's own AWS account.
const THEIRS: &str = "210987654321";
/// Herald's AWS account in the local stack.
const HERALDS: &str = "123456789012";
const REGION: &str = "us-east-1";

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// The proxy in front of moto the functions use: the endpoint the subscriptions name.
fn proxy() -> String {
    let counts = stack_var("HERALD_TEST_AWS_CALLS_URL");
    counts
        .strip_suffix("/__herald/aws-calls")
        .unwrap_or(&counts)
        .to_owned()
}

/// Credentials in [`THEIRS`]: a role created there for the test, trusting Herald's account,
/// assumed through the proxy.
async fn their_account() -> SdkConfig {
    let herald = herald_tests::aws().await;
    let name = format!("setup-{}", unique());
    aws_sdk_iam::Client::new(&herald)
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{HERALDS}:root")},
                "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .customize()
        // moto keeps an IAM per account: this role is made in theirs.
        .mutate_request(|r| {
            r.headers_mut().insert("x-moto-account-id", THEIRS);
        })
        .send()
        .await
        .expect("the setup role");
    let assumed = aws_sdk_sts::Client::new(&herald)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{THEIRS}:role/{name}"))
        .role_session_name("setup")
        .send()
        .await
        .expect("assumed");
    let c = assumed.credentials().expect("credentials");
    herald
        .to_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            aws_sdk_sts::config::Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_owned()),
                None,
                "test",
            ),
        ))
        .build()
}

/// A queue in their account: its moto URL (to read it) and the URL Herald is given.
async fn queue(theirs: &SdkConfig, name: &str) -> (String, String) {
    let mut create = aws_sdk_sqs::Client::new(theirs)
        .create_queue()
        .queue_name(name);
    if name.ends_with(".fifo") {
        create = create.attributes(QueueAttributeName::FifoQueue, "true");
    }
    let url = create.send().await.expect("queue").queue_url.expect("url");
    (
        url,
        format!("https://sqs.{REGION}.amazonaws.com/{THEIRS}/{name}"),
    )
}

fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{THEIRS}:{name}")
}

/// Creates the subscription, then the role it names with the trust policy it shows (or
/// `policy` instead). Its id and external id.
async fn subscribe(
    api: &Api,
    account: &AccountId,
    theirs: &SdkConfig,
    mut body: Value,
    policy: Option<Value>,
) -> (String, String) {
    let role = format!("herald-{}", unique());
    body["name"] = json!("Orders");
    body["roleArn"] = json!(format!("arn:aws:iam::{THEIRS}:role/{role}"));
    body["endpoint"] = json!(proxy());
    let created = api.subscribe(account.as_str(), body).await;
    let id = created.body["id"].as_str().expect("id").to_owned();
    let read = api
        .get(&format!("/accounts/{account}/subscriptions/{id}"))
        .await;
    let external_id = read.body["externalId"]
        .as_str()
        .expect("the external id is shown")
        .to_owned();
    let trust = read.body["trustPolicy"].clone();
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
        external_id.as_str(),
        "{trust}"
    );
    assert_eq!(
        trust["Statement"][0]["Principal"]["AWS"],
        format!("arn:aws:iam::{HERALDS}:root")
    );
    aws_sdk_iam::Client::new(theirs)
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(policy.unwrap_or(trust).to_string())
        .send()
        .await
        .expect("the role");
    (id, external_id)
}

async fn publish(api: &Api, account: &AccountId) -> Value {
    let reply = api
        .post(
            &format!("/accounts/{account}/events"),
            json!({"sender": "signature-api", "eventName": "order.completed",
                   "eventData": {"orderId": "42", "signer": "Åse Ødegård"}}),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    reply.body
}

/// The subscription's one delivery once it is settled, in full.
async fn settled(api: &Api, account: &AccountId, subscription: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page = api
            .get(&format!(
                "/accounts/{account}/deliveries?subscriptionId={subscription}"
            ))
            .await;
        let items = page.body["items"].as_array().cloned().unwrap_or_default();
        if let [one] = &items[..]
            && one["status"] != "pending"
        {
            let id = one["id"].as_str().expect("id");
            return api
                .get(&format!("/accounts/{account}/deliveries/{id}"))
                .await
                .body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not settled: {items:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The one message in the queue at `url`.
async fn receive(theirs: &SdkConfig, url: &str) -> aws_sdk_sqs::types::Message {
    let sqs = aws_sdk_sqs::Client::new(theirs);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("received");
        if let Some(m) = got.messages.and_then(|m| m.into_iter().next()) {
            return m;
        }
        assert!(tokio::time::Instant::now() < deadline, "nothing in {url}");
    }
}

fn attribute(m: &aws_sdk_sqs::types::Message, name: &str) -> Option<String> {
    m.message_attributes()?
        .get(name)?
        .string_value()
        .map(str::to_owned)
}

/// The attributes every destination carries beside the body.
fn expected_attributes(delivery: &Value, account: &AccountId) -> Vec<(&'static str, String)> {
    vec![
        ("eventName", "order.completed".to_owned()),
        (
            "eventId",
            delivery["eventId"].as_str().expect("event").to_owned(),
        ),
        ("accountId", account.to_string()),
        (
            "deliveryId",
            delivery["id"].as_str().expect("id").to_owned(),
        ),
    ]
}

#[tokio::test]
async fn events_reach_a_queue_a_fifo_queue_a_topic_and_a_bus_in_the_accounts_aws_account() {
    let theirs = their_account().await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let u = unique();

    let (standard, standard_url) = queue(&theirs, &format!("events-{u}")).await;
    let (fifo, fifo_url) = queue(&theirs, &format!("events-{u}.fifo")).await;
    let (topic_sink, _) = queue(&theirs, &format!("topic-sink-{u}")).await;
    let (bus_sink, _) = queue(&theirs, &format!("bus-sink-{u}")).await;
    let sns = aws_sdk_sns::Client::new(&theirs);
    let topic_arn = sns
        .create_topic()
        .name(format!("events-{u}"))
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("arn");
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn(&format!("topic-sink-{u}")))
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .expect("subscribed");
    let events = aws_sdk_eventbridge::Client::new(&theirs);
    let bus_arn = events
        .create_event_bus()
        .name(format!("events-{u}"))
        .send()
        .await
        .expect("bus")
        .event_bus_arn
        .expect("arn");
    events
        .put_rule()
        .name(format!("herald-{u}"))
        .event_bus_name(format!("events-{u}"))
        .event_pattern(json!({"source": ["herald"]}).to_string())
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule(format!("herald-{u}"))
        .event_bus_name(format!("events-{u}"))
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("sink")
                .arn(queue_arn(&format!("bus-sink-{u}")))
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("target");

    let (to_standard, _) = subscribe(
        &api,
        &account,
        &theirs,
        json!({"type": "aws-sqs", "queueUrl": standard_url}),
        None,
    )
    .await;
    let (to_fifo, _) = subscribe(
        &api,
        &account,
        &theirs,
        json!({"type": "aws-sqs", "queueUrl": fifo_url}),
        None,
    )
    .await;
    let (to_topic, _) = subscribe(
        &api,
        &account,
        &theirs,
        json!({"type": "aws-sns", "topicArn": topic_arn}),
        None,
    )
    .await;
    let (to_bus, _) = subscribe(
        &api,
        &account,
        &theirs,
        json!({"type": "aws-eventbridge", "eventBusArn": bus_arn}),
        None,
    )
    .await;
    publish(&api, &account).await;

    // SQS, standard: the envelope as the body, the attributes beside it.
    let delivery = settled(&api, &account, &to_standard).await;
    assert_eq!(delivery["status"], "delivered", "{delivery}");
    let attempt = &delivery["attempts"][0];
    assert_eq!(attempt["url"], standard_url.as_str());
    assert_eq!(attempt["responseStatus"], 200);
    let m = receive(&theirs, &standard).await;
    assert_eq!(attempt["responseBody"].as_str(), m.message_id());
    assert_eq!(m.body(), delivery["body"].as_str());
    for (name, value) in expected_attributes(&delivery, &account) {
        assert_eq!(
            attribute(&m, name).as_deref(),
            Some(value.as_str()),
            "{name}"
        );
        assert_eq!(attempt["requestHeaders"][name], value.as_str(), "{name}");
    }

    // SQS, FIFO: grouped by account, deduplicated by delivery.
    let delivery = settled(&api, &account, &to_fifo).await;
    assert_eq!(delivery["status"], "delivered", "{delivery}");
    let m = receive(&theirs, &fifo).await;
    assert_eq!(m.body(), delivery["body"].as_str());
    let system = m.attributes().expect("system attributes");
    assert_eq!(
        system
            .get(&MessageSystemAttributeName::MessageGroupId)
            .map(String::as_str),
        Some(account.as_str())
    );
    assert_eq!(
        system
            .get(&MessageSystemAttributeName::MessageDeduplicationId)
            .map(String::as_str),
        delivery["id"].as_str()
    );
    assert_eq!(
        delivery["attempts"][0]["requestHeaders"]["MessageGroupId"],
        account.as_str()
    );

    // SNS, delivered raw to a queue subscribed to the topic.
    let delivery = settled(&api, &account, &to_topic).await;
    assert_eq!(delivery["status"], "delivered", "{delivery}");
    assert_eq!(delivery["attempts"][0]["url"], topic_arn.as_str());
    let m = receive(&theirs, &topic_sink).await;
    assert_eq!(m.body(), delivery["body"].as_str());
    for (name, value) in expected_attributes(&delivery, &account) {
        assert_eq!(
            attribute(&m, name).as_deref(),
            Some(value.as_str()),
            "{name}"
        );
    }

    // EventBridge: the envelope as the detail, the event's name as the detail type.
    let delivery = settled(&api, &account, &to_bus).await;
    assert_eq!(delivery["status"], "delivered", "{delivery}");
    assert_eq!(
        delivery["attempts"][0]["requestHeaders"]["Source"],
        "herald"
    );
    let m = receive(&theirs, &bus_sink).await;
    let event: Value = serde_json::from_str(m.body().expect("body")).expect("JSON");
    let envelope: Value =
        serde_json::from_str(delivery["body"].as_str().expect("body")).expect("JSON");
    assert_eq!(event["source"], "herald");
    assert_eq!(event["detail-type"], "order.completed");
    assert_eq!(event["detail"], envelope);
}

#[tokio::test]
async fn a_role_that_trusts_another_external_id_fails_the_delivery_and_says_why() {
    let theirs = their_account().await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let name = format!("events-{}", unique());
    let (url, queue_url) = queue(&theirs, &name).await;
    let elsewhere = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{HERALDS}:root")},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "herald-someone-else"}}}]});
    let (id, external_id) = subscribe(
        &api,
        &account,
        &theirs,
        json!({"type": "aws-sqs", "queueUrl": queue_url}),
        Some(elsewhere),
    )
    .await;
    publish(&api, &account).await;
    let delivery = settled(&api, &account, &id).await;
    assert_eq!(delivery["status"], "failed", "{delivery}");
    let attempts = delivery["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "not retried: {delivery}");
    let error = attempts[0]["error"].as_str().expect("an error");
    assert!(
        error.contains(&format!(
            "its trust policy must allow Herald's account with sts:ExternalId {external_id}"
        )),
        "{error}"
    );
    assert_eq!(attempts[0]["responseStatus"], 403);
    let left = aws_sdk_sqs::Client::new(&theirs)
        .receive_message()
        .queue_url(url)
        .send()
        .await
        .expect("received");
    assert!(left.messages().is_empty());
}

#[tokio::test]
async fn a_deleted_queue_disables_the_subscription() {
    let theirs = their_account().await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    let (url, queue_url) = queue(&theirs, &format!("events-{}", unique())).await;
    let (id, _) = subscribe(
        &api,
        &account,
        &theirs,
        json!({"type": "aws-sqs", "queueUrl": queue_url}),
        None,
    )
    .await;
    aws_sdk_sqs::Client::new(&theirs)
        .delete_queue()
        .queue_url(url)
        .send()
        .await
        .expect("deleted");
    publish(&api, &account).await;
    let delivery = settled(&api, &account, &id).await;
    assert_eq!(delivery["status"], "failed", "{delivery}");
    let read = api
        .get(&format!("/accounts/{account}/subscriptions/{id}"))
        .await;
    assert_eq!(read.body["active"], false, "{:?}", read.body);
    let reason = read.body["disabledReason"].as_str().expect("a reason");
    assert!(
        reason.contains(&format!("the queue {queue_url} does not exist")),
        "{reason}"
    );
}

#[tokio::test]
async fn a_throttled_queue_is_retried_and_then_delivered() {
    let theirs = their_account().await;
    let account = new_account();
    let api = Api::internal(account.as_str());
    // The proxy throttles a queue so named at first (xtask/src/aws_calls.rs).
    let (url, queue_url) = queue(&theirs, &format!("throttled-{}", unique())).await;
    let (id, _) = subscribe(
        &api,
        &account,
        &theirs,
        json!({"type": "aws-sqs", "queueUrl": queue_url}),
        None,
    )
    .await;
    publish(&api, &account).await;
    let delivery = settled(&api, &account, &id).await;
    assert_eq!(delivery["status"], "delivered", "{delivery}");
    let attempts = delivery["attempts"].as_array().expect("attempts");
    let outcomes: Vec<&str> = attempts
        .iter()
        .filter_map(|a| a["outcome"].as_str())
        .collect();
    assert_eq!(outcomes.first(), Some(&"retry"), "{delivery}");
    assert_eq!(outcomes.last(), Some(&"delivered"), "{delivery}");
    let error = attempts[0]["error"].as_str().expect("an error");
    assert!(error.contains("RequestThrottled"), "{error}");
    let m = receive(&theirs, &url).await;
    assert_eq!(m.body(), delivery["body"].as_str());
}
