//! End to end: the `api` function under `cargo lambda watch`, on moto, exactly as
//! `cargo xtask dev` runs it. Every response is also checked against docs/openapi.yaml.

use herald::adapters::kms::KmsSealer;
use herald::common::account::AccountId;
use herald::common::seal::SecretSealer;
use herald::common::secret::SealedSecret;
use herald_tests::api::{Api, Body, Claims, token};
use herald_tests::{aws, new_account, stack_var};
use reqwest::Method;
use serde_json::{Value, json};

fn sms_path(account: &AccountId) -> String {
    format!("/accounts/{account}/sms-settings")
}

fn email_path(account: &AccountId) -> String {
    format!("/accounts/{account}/email-settings")
}

#[tokio::test]
async fn sms_settings_default_save_read_back_and_reset() {
    let account = new_account();
    let api = Api::for_accounts(account.as_str());
    let path = sms_path(&account);

    let defaults = api.get(&path).await;
    assert_eq!(defaults.status, 200);
    assert_eq!(
        defaults.body,
        json!({"senderName": "Herald", "primaryProvider": "sns", "secondaryProvider": null})
    );
    assert_eq!(defaults.etag(), "\"defaults\"");

    let wanted = json!({"senderName": "Acme Co", "primaryProvider": "twilio", "secondaryProvider": "vonage"});
    let saved = api.put_if(&path, wanted.clone(), &defaults.etag()).await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    assert_eq!(saved.body, wanted);
    let etag = saved.etag();
    assert_ne!(etag, defaults.etag());

    let read = api.get(&path).await;
    assert_eq!(read.body, wanted);
    assert_eq!(read.etag(), etag);

    let reset = api.delete(&path).await;
    assert_eq!(reset.status, 200);
    assert_eq!(reset.body, defaults.body);
    assert_eq!(api.get(&path).await.body, defaults.body);
}

#[tokio::test]
async fn stale_etag_is_412_and_changes_nothing() {
    let account = new_account();
    let api = Api::for_accounts(account.as_str());
    let path = sms_path(&account);
    let first = json!({"senderName": "First", "primaryProvider": "sns"});
    let v1 = api.put(&path, first).await;
    assert_eq!(v1.status, 200);
    let v2 = api
        .put_if(
            &path,
            json!({"senderName": "Second", "primaryProvider": "sns"}),
            &v1.etag(),
        )
        .await;
    assert_eq!(v2.status, 200);

    // Another administrator still holding v1.
    let stale = api
        .put_if(
            &path,
            json!({"senderName": "Third", "primaryProvider": "sns"}),
            &v1.etag(),
        )
        .await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.content_type(), "application/problem+json");
    assert_eq!(api.get(&path).await.body["senderName"], "Second");

    let stale_delete = api
        .send(Method::DELETE, &path, None, &[("if-match", &v1.etag())])
        .await;
    assert_eq!(stale_delete.status, 412);
    assert_eq!(api.get(&path).await.body["senderName"], "Second");

    let delete = api
        .send(Method::DELETE, &path, None, &[("if-match", &v2.etag())])
        .await;
    assert_eq!(delete.status, 200);
}

#[tokio::test]
async fn every_invalid_field_is_listed() {
    let account = new_account();
    let api = Api::for_accounts(account.as_str());
    let reply = api
        .put(
            &sms_path(&account),
            json!({"senderName": "x", "primaryProvider": "pigeon", "secondaryProvider": 3, "colour": "red"}),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.content_type(), "application/problem+json");
    assert_eq!(reply.body["type"], "urn:herald:problem:validation");
    assert_eq!(
        reply.error_fields(),
        [
            "senderName",
            "primaryProvider",
            "secondaryProvider",
            "colour"
        ]
    );

    let same = api
        .put(
            &sms_path(&account),
            json!({"senderName": "Acme", "primaryProvider": "twilio", "secondaryProvider": "twilio"}),
        )
        .await;
    assert_eq!(same.status, 400);
    assert_eq!(same.error_fields(), ["secondaryProvider"]);

    // A name the chosen provider would reject names the provider.
    let sns = api
        .put(
            &sms_path(&account),
            json!({"senderName": "Acme Co", "primaryProvider": "sns"}),
        )
        .await;
    assert_eq!(sns.status, 400);
    assert!(
        sns.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Amazon SNS")),
        "{:?}",
        sns.body
    );

    let email = api
        .put(
            &email_path(&account),
            json!({
                "fromAddressPrefix": "no reply",
                "senderName": "Acme\r\nBcc: victim@example.com",
                "smtp": {"port": 2525, "auth": {"type": "basic"}, "disableCertificateValidation": "no"}
            }),
        )
        .await;
    assert_eq!(email.status, 400);
    assert_eq!(
        email.error_fields(),
        [
            "fromAddressPrefix",
            "senderName",
            "smtp.host",
            "smtp.port",
            "smtp.senderAddress",
            "smtp.auth.username",
            "smtp.auth.password",
            "smtp.disableCertificateValidation",
        ]
    );
    // Nothing was saved.
    assert_eq!(api.get(&email_path(&account)).await.etag(), "\"defaults\"");
}

async fn stored_password(account: &AccountId) -> SealedSecret {
    let config = aws().await;
    let item = aws_sdk_dynamodb::Client::new(&config)
        .get_item()
        .table_name(stack_var("HERALD_SETTINGS_TABLE"))
        .key(
            "accountId",
            aws_sdk_dynamodb::types::AttributeValue::S(account.as_str().into()),
        )
        .key(
            "kind",
            aws_sdk_dynamodb::types::AttributeValue::S("email".into()),
        )
        .send()
        .await
        .expect("get item")
        .item
        .expect("stored");
    let settings: Value =
        serde_dynamo::from_attribute_value(item["settings"].clone()).expect("a map");
    let text = settings.to_string();
    assert!(
        !text.contains("p4ssw0rd"),
        "the password is stored in the clear: {text}"
    );
    let sealed = settings["smtp"]["auth"]["password"]
        .as_str()
        .expect("a sealed password")
        .to_owned();
    SealedSecret::try_from(sealed).expect("base64")
}

#[tokio::test]
async fn email_secrets_are_sealed_write_only_and_kept_by_placeholder() {
    let account = new_account();
    let api = Api::for_accounts(account.as_str());
    let path = email_path(&account);

    let defaults = api.get(&path).await;
    assert_eq!(
        defaults.body,
        json!({"fromAddressPrefix": "noreply", "senderName": "Herald", "smtp": null,
               "defaultSender": "Herald <noreply@mail.example.com>"})
    );

    let settings = json!({
        "fromAddressPrefix": "hello",
        "senderName": "Acme Support",
        "smtp": {
            "host": "smtp.acme.example",
            "port": 587,
            "senderAddress": "hello@acme.example",
            "senderLocked": true,
            "auth": {"type": "basic", "username": "hello", "password": "p4ssw0rd"}
        }
    });
    let saved = api.put(&path, settings).await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    let shown = json!({
        "fromAddressPrefix": "hello",
        "senderName": "Acme Support",
        "defaultSender": "Acme Support <hello@acme.example>",
        "smtp": {
            "host": "smtp.acme.example",
            "port": 587,
            "senderAddress": "hello@acme.example",
            "senderLocked": true,
            "auth": {"type": "basic", "username": "hello", "password": "********"},
            "disableCertificateValidation": false
        }
    });
    assert_eq!(saved.body, shown);
    let read = api.get(&path).await;
    assert_eq!(read.body, shown);

    // Sealed at rest, and it opens to the password that was sent.
    let sealed = stored_password(&account).await;
    let config = aws().await;
    let sealer = KmsSealer::new(
        aws_sdk_kms::Client::new(&config),
        stack_var("HERALD_KMS_KEY_ID"),
    );
    assert_eq!(
        sealer
            .open(&account, &sealed)
            .await
            .expect("opens")
            .expose(),
        "p4ssw0rd"
    );

    // Sending the GET body back (placeholder included) keeps the stored password.
    let mut edited = read.body.clone();
    edited["senderName"] = json!("Acme Helpdesk");
    let resaved = api.put_if(&path, edited, &read.etag()).await;
    assert_eq!(resaved.status, 200, "{:?}", resaved.body);
    assert_eq!(stored_password(&account).await, sealed);

    // Switching auth type with a placeholder has nothing to keep.
    let switched = api
        .put(
            &path,
            json!({
                "fromAddressPrefix": "hello",
                "senderName": "Acme",
                "smtp": {
                    "host": "smtp.acme.example",
                    "senderAddress": "hello@acme.example",
                    "auth": {
                        "type": "xoauth2",
                        "clientId": "herald",
                        "clientSecret": "********",
                        "scopes": ["https://outlook.office.com/SMTP.Send"],
                        "tokenEndpoint": "https://login.example.com/oauth2/token"
                    }
                }
            }),
        )
        .await;
    assert_eq!(switched.status, 400);
    assert_eq!(switched.error_fields(), ["smtp.auth.clientSecret"]);

    let reset = api.delete(&path).await;
    assert_eq!(reset.body, defaults.body);
}

#[tokio::test]
async fn xoauth2_settings_round_trip() {
    let account = new_account();
    let api = Api::for_accounts(account.as_str());
    let saved = api
        .put(
            &email_path(&account),
            json!({
                "fromAddressPrefix": "billing",
                "senderName": "Acme Billing",
                "smtp": {
                    "host": "smtp.office365.com",
                    "port": 465,
                    "senderAddress": "billing@acme.example",
                    "auth": {
                        "type": "xoauth2",
                        "clientId": "3f2c",
                        "clientSecret": "oauth-client-secret",
                        "scopes": ["https://outlook.office365.com/.default"],
                        "tokenEndpoint": "https://login.microsoftonline.com/t/oauth2/v2.0/token"
                    },
                    "disableCertificateValidation": true
                }
            }),
        )
        .await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    let auth = &api.get(&email_path(&account)).await.body["smtp"]["auth"];
    assert_eq!(auth["clientSecret"], "********");
    assert_eq!(auth["clientId"], "3f2c");
    assert!(!saved.body.to_string().contains("oauth-client-secret"));
}

#[tokio::test]
async fn accounts_the_token_does_not_grant_are_404() {
    let mine = new_account();
    let theirs = new_account();
    let api = Api::for_accounts(mine.as_str());
    // The other account exists (it saved settings) ...
    Api::for_accounts(theirs.as_str())
        .put(
            &sms_path(&theirs),
            json!({"senderName": "Theirs", "primaryProvider": "sns"}),
        )
        .await;
    // ... yet looks exactly like one that does not.
    let foreign = api.get(&sms_path(&theirs)).await;
    let missing = api.get("/accounts/no-such-account/sms-settings").await;
    assert_eq!(foreign.status, 404);
    assert_eq!(foreign.body, missing.body);
    let write = api
        .put(
            &sms_path(&theirs),
            json!({"senderName": "Mine", "primaryProvider": "sns"}),
        )
        .await;
    assert_eq!(write.status, 404);
    assert_eq!(api.delete(&email_path(&theirs)).await.status, 404);
    assert_eq!(
        Api::for_accounts(theirs.as_str())
            .get(&sms_path(&theirs))
            .await
            .body["senderName"],
        "Theirs"
    );
    // A token granting every account sees it.
    let all = Api::for_accounts("*");
    assert_eq!(all.get(&sms_path(&theirs)).await.status, 200);
}

#[tokio::test]
async fn missing_forged_or_expired_tokens_are_401() {
    let account = new_account();
    let path = sms_path(&account);
    let forged = token(Claims {
        accounts: account.as_str(),
        internal: false,
        expires_in: 3600,
        wrong_key: true,
    });
    let expired = token(Claims {
        accounts: account.as_str(),
        internal: false,
        expires_in: -3600,
        wrong_key: false,
    });
    for api in [
        Api::with_token(None),
        Api::with_token(Some(forged)),
        Api::with_token(Some(expired)),
        Api::with_token(Some("not-a-jwt".into())),
    ] {
        let reply = api.get(&path).await;
        assert_eq!(reply.status, 401);
        assert_eq!(reply.body, json!({"message": "Unauthorized"}));
        let challenge = reply.headers["www-authenticate"].to_str().expect("text");
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        let write = api
            .put(
                &path,
                json!({"senderName": "Evil", "primaryProvider": "sns"}),
            )
            .await;
        assert_eq!(write.status, 401);
    }
    let providers = Api::with_token(None).get("/sms-providers").await;
    assert_eq!(providers.status, 401);
}

#[tokio::test]
async fn providers_are_listed_with_their_rules() {
    let reply = Api::for_accounts("acme").get("/sms-providers").await;
    assert_eq!(reply.status, 200);
    let ids: Vec<&str> = reply.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, ["sns", "twilio", "vonage"]);
    assert_eq!(reply.body["items"][0]["isDefault"], true);
    assert_eq!(
        reply.body["items"][0]["senderNameRules"]["allowsSpaces"],
        false
    );
}

#[tokio::test]
async fn bodies_that_are_not_json_too_large_or_malformed() {
    let account = new_account();
    let api = Api::for_accounts(account.as_str());
    let path = sms_path(&account);

    let text = api
        .send(
            Method::PUT,
            &path,
            Some(Body::Raw("text/plain", b"senderName=Acme".to_vec())),
            &[],
        )
        .await;
    assert_eq!(text.status, 415);

    let broken = api
        .send(
            Method::PUT,
            &path,
            Some(Body::Raw("application/json", b"{\"senderName\": ".to_vec())),
            &[],
        )
        .await;
    assert_eq!(broken.status, 400);

    let not_object = api.put(&path, json!(["Acme"])).await;
    assert_eq!(not_object.status, 400);
    assert_eq!(not_object.error_fields(), ["(body)"]);

    let huge = json!({"senderName": "x".repeat(300 * 1024), "primaryProvider": "sns"});
    let big = api.put(&path, huge).await;
    assert_eq!(big.status, 413);

    let bad_if_match = api
        .send(Method::DELETE, &path, None, &[("if-match", "not-quoted")])
        .await;
    // An If-Match that is not a quoted tag names no version: the precondition fails.
    assert_eq!(bad_if_match.status, 412);
}
