//! `GET /sms-providers` and `/accounts/{accountId}/sms-settings`.

use herald::messaging::settings::{SettingsKind, SettingsStore};
use serde_json::{Value, json};

use crate::harness::{Caller, Herald, Setup, acme, delete, get, put};

const URL: &str = "/accounts/acme/sms-settings";

fn twilio_with_failover() -> Value {
    json!({"senderName": "Acme", "primaryProvider": "twilio", "secondaryProvider": "vonage"})
}

#[tokio::test]
async fn sms_providers_are_the_operators_in_order_the_first_the_default() {
    let h = Herald::new().await;
    let body = h.call(get("/sms-providers")).await.ok(200);
    let items = body["items"].as_array().expect("items");
    let ids: Vec<&str> = items.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(ids, ["twilio", "vonage", "sns"]);
    let defaults: Vec<bool> = items
        .iter()
        .filter_map(|p| p["isDefault"].as_bool())
        .collect();
    assert_eq!(defaults, [true, false, false]);
    assert_eq!(items[0]["name"], "Twilio");
    assert_eq!(items[2]["name"], "Amazon SNS");
    assert_eq!(
        items[2]["senderNameRules"],
        json!({"minLength": 3, "maxLength": 11, "allowsSpaces": false, "allowsDots": false,
               "requiresLetter": true})
    );
    assert_eq!(items[1]["senderNameRules"]["allowsDots"], true);
    assert_eq!(items[0]["senderNameRules"]["allowsSpaces"], true);

    // Any authenticated caller may read them, administrators as well as services.
    let as_admin = h
        .call(get("/sms-providers").by(Caller::admin("globex")))
        .await;
    assert_eq!(as_admin.ok(200), body);
}

#[tokio::test]
async fn sms_providers_follow_the_operators_configuration() {
    let h = Herald::start(Setup::with_env(&[("HERALD_SMS_PROVIDERS", "sns")])).await;
    let body = h.call(get("/sms-providers")).await.ok(200);
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["items"][0]["id"], "sns");
    assert_eq!(body["items"][0]["isDefault"], true);
}

#[tokio::test]
async fn an_account_that_never_saved_gets_the_defaults_and_their_etag() {
    let h = Herald::new().await;
    let answer = h.call(get(URL)).await;
    assert_eq!(
        answer.ok(200),
        json!({"senderName": "Herald", "primaryProvider": "twilio", "secondaryProvider": null})
    );
    assert_eq!(answer.header("etag"), Some("\"defaults\""));
}

#[tokio::test]
async fn saved_settings_are_answered_and_read_back_with_one_etag() {
    let h = Herald::new().await;
    let saved = h.call(put(URL).json(twilio_with_failover())).await;
    assert_eq!(saved.ok(200), twilio_with_failover());
    let etag = saved.header("etag").expect("an ETag").to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "{etag}"
    );
    assert_ne!(etag, "\"defaults\"");

    let read = h.call(get(URL)).await;
    assert_eq!(read.ok(200), twilio_with_failover());
    assert_eq!(read.header("etag"), Some(etag.as_str()));
    let stored = h
        .settings
        .get(&acme(), SettingsKind::Sms)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(format!("\"{}\"", stored.etag.as_str()), etag);

    // An administrator of the account may change them too; other accounts stay on defaults.
    let by_admin = h
        .call(
            put(URL)
                .by(Caller::admin("acme"))
                .json(json!({"senderName": "Acme", "primaryProvider": "vonage"})),
        )
        .await;
    assert_eq!(by_admin.ok(200)["secondaryProvider"], Value::Null);
    let other = h
        .call(get("/accounts/globex/sms-settings").by(Caller::internal("*")))
        .await;
    assert_eq!(other.ok(200)["senderName"], "Herald");
}

#[tokio::test]
async fn a_write_with_a_stale_if_match_fails_and_changes_nothing() {
    let h = Herald::new().await;
    let first = h.call(put(URL).json(twilio_with_failover())).await;
    let first_tag = first.header("etag").expect("etag").to_owned();
    let second = h
        .call(
            put(URL)
                .header("if-match", &first_tag)
                .json(json!({"senderName": "Acme2", "primaryProvider": "vonage"})),
        )
        .await;
    let second_tag = second.header("etag").expect("etag").to_owned();
    assert_eq!(second.ok(200)["senderName"], "Acme2");
    assert_ne!(first_tag, second_tag);

    // Written against the first version: refused, and the second stays.
    let stale = h
        .call(
            put(URL)
                .header("if-match", &first_tag)
                .json(twilio_with_failover()),
        )
        .await;
    let detail = stale.detail(412);
    assert!(detail.contains("GET it again"), "{detail}");
    let read = h.call(get(URL)).await;
    assert_eq!(read.ok(200)["senderName"], "Acme2");
    assert_eq!(read.header("etag"), Some(second_tag.as_str()));

    let stale_reset = h.call(delete(URL).header("if-match", &first_tag)).await;
    stale_reset.problem(412);
    assert_eq!(h.call(get(URL)).await.ok(200)["senderName"], "Acme2");
}

#[tokio::test]
async fn if_match_takes_star_lists_and_strong_tags_only() {
    let h = Herald::new().await;
    // Settings never saved are at the defaults' tag.
    let from_defaults = h
        .call(
            put(URL)
                .header("if-match", "\"defaults\"")
                .json(twilio_with_failover()),
        )
        .await;
    let tag = from_defaults.header("etag").expect("etag").to_owned();
    from_defaults.ok(200);

    let any = h
        .call(
            put(URL)
                .header("if-match", "*")
                .json(twilio_with_failover()),
        )
        .await;
    any.ok(200);
    // The same content has the same tag.
    assert_eq!(any.header("etag"), Some(tag.as_str()));

    let listed = h
        .call(
            put(URL)
                .header("if-match", &format!("\"nope\", {tag}"))
                .json(twilio_with_failover()),
        )
        .await;
    listed.ok(200);

    // A weak tag, or one not quoted, names no version: the precondition fails.
    let inner = tag.trim_matches('"');
    for refused in [format!("W/{tag}"), inner.to_owned(), "\"\"".to_owned()] {
        let answer = h
            .call(
                put(URL)
                    .header("if-match", &refused)
                    .json(twilio_with_failover()),
            )
            .await;
        answer.problem(412);
    }

    // A header that is not text at all is malformed.
    let garbled = h
        .call(
            put(URL)
                .header_bytes("if-match", b"\"\xff\"")
                .json(twilio_with_failover()),
        )
        .await;
    assert!(garbled.detail(400).contains("If-Match"), "{garbled:?}");
    let garbled_reset = h
        .call(delete(URL).header_bytes("if-match", b"\"\xff\""))
        .await;
    garbled_reset.problem(400);
}

#[tokio::test]
async fn delete_resets_to_the_defaults() {
    let h = Herald::new().await;
    let saved = h.call(put(URL).json(twilio_with_failover())).await;
    let tag = saved.header("etag").expect("etag").to_owned();
    let reset = h.call(delete(URL).header("if-match", &tag)).await;
    assert_eq!(
        reset.ok(200),
        json!({"senderName": "Herald", "primaryProvider": "twilio", "secondaryProvider": null})
    );
    assert_eq!(reset.header("etag"), Some("\"defaults\""));
    assert!(
        h.settings
            .get(&acme(), SettingsKind::Sms)
            .await
            .expect("read")
            .is_none()
    );
    assert_eq!(h.call(get(URL)).await.header("etag"), Some("\"defaults\""));
    // Resetting what is already the defaults is fine.
    h.call(delete(URL)).await.ok(200);
}

#[tokio::test]
async fn every_invalid_field_is_named_at_once() {
    let h = Herald::new().await;
    let empty = h.call(put(URL).json(json!({}))).await;
    assert_eq!(empty.invalid_fields(), ["senderName", "primaryProvider"]);
    assert_eq!(empty.message_for("senderName"), "is required");
    assert_eq!(
        empty.problem(400)["detail"],
        "2 fields are invalid; see errors."
    );

    let wrong = h
        .call(put(URL).json(json!({
            "senderName": "x",
            "primaryProvider": "carrier-pigeon",
            "secondaryProvider": 5,
            "sender": "Acme",
        })))
        .await;
    assert_eq!(
        wrong.invalid_fields(),
        [
            "senderName",
            "primaryProvider",
            "secondaryProvider",
            "sender"
        ]
    );
    let provider = wrong.message_for("primaryProvider");
    assert!(
        provider.contains("carrier-pigeon") && provider.contains("twilio, vonage, sns"),
        "{provider}"
    );
    assert_eq!(wrong.message_for("sender"), "is not a known field");

    let not_an_object = h.call(put(URL).json(json!(["Acme"]))).await;
    assert_eq!(not_an_object.invalid_fields(), ["(body)"]);

    // Nothing was saved along the way.
    assert_eq!(h.call(get(URL)).await.header("etag"), Some("\"defaults\""));
}

#[tokio::test]
async fn rules_between_fields_and_providers_are_refused_naming_the_field() {
    let h = Herald::new().await;
    let same = h
        .call(put(URL).json(
            json!({"senderName": "Acme", "primaryProvider": "vonage", "secondaryProvider": "vonage"}),
        ))
        .await;
    assert_eq!(same.invalid_fields(), ["secondaryProvider"]);

    // Amazon SNS takes no dots; naming it as the secondary is enough to refuse one.
    let dots = h
        .call(put(URL).json(
            json!({"senderName": "Acme.Co", "primaryProvider": "vonage", "secondaryProvider": "sns"}),
        ))
        .await;
    assert_eq!(dots.invalid_fields(), ["senderName"]);
    let why = dots.message_for("senderName");
    assert!(why.contains("Amazon SNS") && why.contains("dots"), "{why}");
    let vonage_alone = h
        .call(put(URL).json(json!({"senderName": "Acme.Co", "primaryProvider": "vonage"})))
        .await;
    assert_eq!(vonage_alone.ok(200)["senderName"], "Acme.Co");

    // Twilio needs a letter.
    let digits = h
        .call(put(URL).json(json!({"senderName": "12345", "primaryProvider": "twilio"})))
        .await;
    assert!(
        digits.message_for("senderName").contains("Twilio"),
        "{digits:?}"
    );
}

#[tokio::test]
async fn only_providers_the_operator_offers_may_be_chosen() {
    let h = Herald::start(Setup::with_env(&[("HERALD_SMS_PROVIDERS", "sns")])).await;
    let answer = h
        .call(put(URL).json(json!({"senderName": "Acme", "primaryProvider": "twilio"})))
        .await;
    assert_eq!(answer.invalid_fields(), ["primaryProvider"]);
    let why = answer.message_for("primaryProvider");
    assert!(
        why.contains("'twilio' is not an available provider")
            && why.ends_with("sns (GET /sms-providers)"),
        "{why}"
    );
}

#[tokio::test]
async fn bodies_must_be_json() {
    let h = Herald::new().await;
    let malformed = h
        .call(put(URL).raw("application/json", "{\"senderName\": "))
        .await;
    let body = malformed.problem(400);
    assert_eq!(body["type"], "about:blank");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("the body is not valid JSON")),
        "{malformed:?}"
    );

    let text = h
        .call(put(URL).raw("text/plain", twilio_with_failover().to_string()))
        .await;
    assert_eq!(text.detail(415), "Send the body as application/json.");
    let untyped = h
        .call(put(URL).untyped(twilio_with_failover().to_string()))
        .await;
    untyped.problem(415);

    // JSON by any other name, and with parameters, is JSON.
    for content_type in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ] {
        let answer = h
            .call(put(URL).raw(content_type, twilio_with_failover().to_string()))
            .await;
        answer.ok(200);
    }
}

#[tokio::test]
async fn an_account_the_caller_may_not_see_is_not_found_whatever_the_request() {
    let h = Herald::new().await;
    let not_found = h
        .call(get("/accounts/nonexistent-but-valid/sms-settings"))
        .await;
    let body = not_found.problem(404);
    assert_eq!(
        body["detail"],
        "No such resource, or it is not visible with this token."
    );
    // Another account's settings, even with a body that would not validate or parse.
    for answer in [
        h.call(get("/accounts/globex/sms-settings")).await,
        h.call(put("/accounts/globex/sms-settings").json(json!({})))
            .await,
        h.call(put("/accounts/globex/sms-settings").raw("text/plain", "x"))
            .await,
        h.call(delete("/accounts/globex/sms-settings")).await,
        h.call(get("/accounts/a.b/sms-settings").by(Caller::internal("*")))
            .await,
        h.call(get(format!("/accounts/{}/sms-settings", "a".repeat(65))).by(Caller::internal("*")))
            .await,
    ] {
        assert_eq!(answer.problem(404), body);
    }
    // Nothing was written for globex.
    assert!(
        h.settings
            .get(
                &herald::common::account::AccountId::parse("globex").expect("valid"),
                SettingsKind::Sms
            )
            .await
            .expect("read")
            .is_none()
    );
}
