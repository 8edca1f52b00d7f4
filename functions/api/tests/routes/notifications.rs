//! `/notification-types`, `/notification-rules` (with preview and test send),
//! `/recipients/{id}/preferences` and `/notifications`.

use serde_json::{Value, json};

use crate::harness::{Herald, delete, get, post, put};

/// `request.signed` as a signing service registers it, with signers shaped as reference 001's.
async fn register_request_signed(h: &Herald) {
    h.call(put("/event-types/request.signed").json(json!({
        "sender": "signature-api",
        "description": "A signer signed a request.",
        "eventData": {
            "requestId": "req-42",
            "title": "Lease agreement",
            "signers": [{
                "send_to": {"email": true, "mobile_number": true},
                "signer": {"id": "s-1", "email": "ann@example.com", "mobile_number": "+4712345678"},
                "request_url": "https://sign.example/r/42"
            }]
        }
    })))
    .await
    .ok(201);
}

fn signed_type() -> Value {
    json!({"name": "Request signed", "channels": {"email": {"default": true}, "sms": {}}})
}

fn rule() -> Value {
    json!({
        "name": "Tell signers",
        "eventName": "request.signed",
        "type": "request-signed",
        "recipients": {"path": "eventData.signers[*]", "fields": {
            "id": "signer.id", "email": "signer.email", "phone": "signer.mobile_number",
            "sendToEmail": "send_to.email", "sendToSms": "send_to.mobile_number"}},
        "frequency": "first",
        "firstKey": "{{ data.requestId }}:signed",
        "templates": {
            "email": {"en": {"subject": "{{ data.title }} was signed",
                             "html": "<p>{{ data.title }}</p><a href=\"{{ preferences_url }}\">Preferences</a>"}},
            "sms": {"en": {"text": "{{ data.title }}: {{ recipient.request_url }}"}}
        }
    })
}

async fn setup() -> (Herald, String) {
    let h = Herald::new().await;
    register_request_signed(&h).await;
    h.call(put("/accounts/acme/notification-types/request-signed").json(signed_type()))
        .await
        .ok(201);
    let created = h
        .call(post("/accounts/acme/notification-rules").json(rule()))
        .await
        .ok(201);
    let id = created["id"].as_str().expect("an id").to_owned();
    (h, id)
}

#[tokio::test]
async fn types_are_created_replaced_listed_and_deleted_unless_in_use() {
    let (h, rule_id) = setup().await;
    let replaced = h
        .call(
            put("/accounts/acme/notification-types/request-signed").json(json!({
            "name": "Request signed", "channels": {"email": {}, "sms": {}}, "mandatory": true})),
        )
        .await
        .ok(200);
    assert_eq!(replaced["mandatory"], true);
    let list = h
        .call(get("/accounts/acme/notification-types"))
        .await
        .ok(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // A channel its rule uses cannot be taken away.
    let fields = h
        .call(
            put("/accounts/acme/notification-types/request-signed").json(json!({
            "name": "Request signed", "channels": {"email": {}}})),
        )
        .await
        .invalid_fields();
    assert_eq!(fields, ["channels.sms"]);
    h.call(delete("/accounts/acme/notification-types/request-signed"))
        .await
        .problem(409);
    assert_eq!(
        h.call(delete(format!(
            "/accounts/acme/notification-rules/{rule_id}"
        )))
        .await
        .status,
        204
    );
    assert_eq!(
        h.call(delete("/accounts/acme/notification-types/request-signed"))
            .await
            .status,
        204
    );
    h.call(get("/accounts/acme/notification-types/request-signed"))
        .await
        .problem(404);
    let fields = h
        .call(
            put("/accounts/acme/notification-types/Bad%20Key")
                .json(json!({"name": "", "channels": {}})),
        )
        .await
        .invalid_fields();
    assert_eq!(fields, ["key"]);
}

#[tokio::test]
async fn rules_are_checked_against_the_sample_with_line_and_column() {
    let (h, _) = setup().await;
    let mut bad = rule();
    bad["templates"]["sms"]["en"]["text"] = json!("Hi\n{{ data.titel }}");
    bad["templates"]["email"]["en"]["subject"] = json!("{% if %}");
    let problem = h
        .call(post("/accounts/acme/notification-rules").json(bad))
        .await
        .problem(400);
    let errors = problem["errors"].as_array().unwrap();
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["templates.email.en.subject"],
        "syntax first: {problem}"
    );
    let mut bad = rule();
    bad["templates"]["sms"]["en"]["text"] = json!("Hi\n{{ data.titel }}");
    let problem = h
        .call(post("/accounts/acme/notification-rules").json(bad))
        .await
        .problem(400);
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert_eq!(problem["errors"][0]["field"], "templates.sms.en.text");
    assert!(message.contains("line 2, column 4"), "{message}");
    let mut unknown = rule();
    unknown["type"] = json!("nope");
    assert_eq!(
        h.call(post("/accounts/acme/notification-rules").json(unknown))
            .await
            .invalid_fields(),
        ["type"]
    );
    let mut loop_ = rule();
    loop_["eventName"] = json!("notification.sent");
    assert_eq!(
        h.call(post("/accounts/acme/notification-rules").json(loop_))
            .await
            .invalid_fields(),
        ["eventName"]
    );
}

#[tokio::test]
async fn preview_renders_for_the_sample_or_a_given_event_and_sends_nothing() {
    let (h, id) = setup().await;
    let preview = h
        .call(post(format!("/accounts/acme/notification-rules/{id}/preview")).json(json!({})))
        .await
        .ok(200);
    let r = &preview["recipients"][0];
    assert_eq!(r["recipientId"], "s-1");
    assert_eq!(r["firstKey"], "req-42:signed");
    let sms = &r["channels"][1]["sms"];
    assert_eq!(sms["text"], "Lease agreement: https://sign.example/r/42");
    assert_eq!(sms["shape"]["segments"], 1);
    assert_eq!(sms["shape"]["encoding"], "GSM-7");
    let given = h
        .call(
            post(format!("/accounts/acme/notification-rules/{id}/preview")).json(json!({
            "event": {"eventData": {"requestId": "r", "title": "<Deed & Co>", "signers": [
                {"signer": {"email": "x@example.com"}, "request_url": "u"}]}}})),
        )
        .await
        .ok(200);
    let email = &given["recipients"][0]["channels"][0]["email"];
    assert!(
        email["html"]
            .as_str()
            .unwrap()
            .starts_with("<p>&lt;Deed &amp; Co&gt;</p>"),
        "{email}"
    );
    assert_eq!(email["subject"], "<Deed & Co> was signed");
    let missing = h
        .call(
            post(format!("/accounts/acme/notification-rules/{id}/preview")).json(json!({
            "event": {"eventData": {"requestId": "r", "signers": [{"signer": {}}]}}})),
        )
        .await
        .ok(200);
    assert_eq!(
        missing["recipients"][0]["channels"][0]["error"]["field"],
        "templates.email.en.subject"
    );
    assert!(h.send_queue.jobs().is_empty(), "a preview sends nothing");
}

#[tokio::test]
async fn a_test_send_goes_through_the_message_log() {
    let (h, id) = setup().await;
    let sent = h
        .call(
            post(format!("/accounts/acme/notification-rules/{id}/test"))
                .json(json!({"email": "me@example.com"})),
        )
        .await
        .ok(202);
    assert_eq!(sent["messages"].as_array().unwrap().len(), 1);
    assert_eq!(h.send_queue.jobs().len(), 1);
    assert_eq!(
        h.call(
            post(format!("/accounts/acme/notification-rules/{id}/test"))
                .json(json!({"phone": "12"}))
        )
        .await
        .invalid_fields(),
        ["phone"]
    );
}

#[tokio::test]
async fn preferences_are_per_type_and_channel_and_mandatory_types_refuse_them() {
    let (h, _) = setup().await;
    h.call(
        put("/accounts/acme/notification-types/new-message").json(json!({
        "name": "New secure message", "channels": {"email": {}}, "mandatory": true})),
    )
    .await
    .ok(201);
    let url = "/accounts/acme/recipients/ann@example.com/preferences";
    let before = h.call(get(url)).await.ok(200);
    assert_eq!(before["types"].as_array().unwrap().len(), 2);
    let saved = h
        .call(put(url).json(json!({"types": {"request-signed": {"sms": false}}})))
        .await
        .ok(200);
    let signed = saved["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "request-signed")
        .unwrap();
    assert_eq!(signed["channels"]["sms"]["on"], false);
    assert_eq!(signed["channels"]["sms"]["because"], "recipient");
    assert_eq!(signed["channels"]["email"]["on"], true);
    assert_eq!(signed["channels"]["email"]["because"], "account");
    let fields = h
        .call(put(url).json(json!({"types": {"new-message": {"email": false}, "ghost": {}}})))
        .await
        .invalid_fields();
    assert_eq!(fields, ["types.ghost", "types.new-message"]);
    let again = h.call(get(url)).await.ok(200);
    assert_eq!(again["types"], saved["types"]);
}

#[tokio::test]
async fn the_log_is_empty_filtered_and_checks_its_parameters() {
    let (h, id) = setup().await;
    let log = h
        .call(get(format!(
            "/accounts/acme/notifications?rule={id}&outcome=sent"
        )))
        .await
        .ok(200);
    assert_eq!(log["items"], json!([]));
    let fields = h
        .call(get(
            "/accounts/acme/notifications?outcome=lost&from=yesterday&rule=x",
        ))
        .await
        .invalid_fields();
    assert_eq!(fields, ["rule", "outcome", "from"]);
    h.call(get(
        "/accounts/acme/notifications/n0000000000000aaaaaaaaaaaaaaaaaaaa",
    ))
    .await
    .problem(404);
}

#[tokio::test]
async fn reminders_are_saved_with_defaults_and_checked_against_the_sample() {
    let (h, _) = setup().await;
    let mut with = rule();
    with["frequency"] = json!("every");
    with.as_object_mut().unwrap().remove("firstKey");
    with["reminders"] = json!({
        "subject": "eventData.requestId",
        "actedOn": [{"eventName": "request.signed", "recipient": "eventData.signerId"}],
        "closedBy": ["request.completed"],
        "templates": {"sms": {"en": {"text": "Reminder {{ event.reminder.number }}: {{ recipient.request_url }}"}}}
    });
    let created = h
        .call(post("/accounts/acme/notification-rules").json(with.clone()))
        .await
        .ok(201);
    assert_eq!(created["reminders"]["after"], json!(["P3D", "P7D", "P14D"]));
    assert_eq!(
        created["reminders"]["closedBy"],
        json!(["request.completed"])
    );

    let mut bad = with;
    bad["reminders"]["after"] = json!(["P1M"]);
    bad["reminders"]["subject"] = json!("eventData.nothing");
    bad["reminders"]["templates"] = json!({
        "sms": {"en": {"text": "{{ data.titel }}"}},
        "email": {"en": {"subject": "x", "text": "y"}}
    });
    let fields = h
        .call(post("/accounts/acme/notification-rules").json(bad.clone()))
        .await
        .invalid_fields();
    assert_eq!(fields, ["reminders.after"], "read first");
    bad["reminders"]["after"] = json!(["PT1H"]);
    let fields = h
        .call(post("/accounts/acme/notification-rules").json(bad))
        .await
        .invalid_fields();
    assert_eq!(
        fields,
        ["reminders.subject", "reminders.templates.sms.en.text"],
        "checked against the sample"
    );
}
