//! The HTTP API as API Gateway serves it from `template.yaml`: the JWT authorizer in front of
//! every route but the public ones, its refusals, and the function trusting only the claims
//! the authorizer hands over.

use herald_tests::api::{Api, claims, now, sign};
use herald_tests::{HTTP_TIMEOUT, invoke, new_account, stack_var};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("client")
}

/// The gateway's refusal of `token` for an authorized route, and its reason.
async fn refused(token: Option<&str>) -> String {
    let account = new_account();
    let mut request = client().get(format!(
        "{}/accounts/{account}/sms-settings",
        stack_var("HERALD_TEST_API_URL")
    ));
    if let Some(t) = token {
        request = request.header("authorization", t);
    }
    let reply = request.send().await.expect("answered");
    assert_eq!(reply.status(), 401);
    let reason = reply
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .expect("www-authenticate")
        .to_owned();
    let body: Value = reply.json().await.expect("JSON");
    assert_eq!(body, json!({"message": "Unauthorized"}));
    reason
}

#[tokio::test]
async fn the_authorizer_refuses_what_api_gateway_refuses() {
    assert_eq!(refused(None).await, "Bearer");
    assert!(
        refused(Some("Bearer not-a-jwt"))
            .await
            .contains("invalid_token")
    );

    let account = new_account();
    let base = claims(account.as_str(), false);
    let with = |key: &str, value: Value| {
        let mut c = base.clone();
        c[key] = value;
        c
    };
    let cases = [
        (
            "expired",
            sign(&with("exp", json!(now() - 10)), false),
            "expired",
        ),
        (
            "not yet valid",
            sign(&with("nbf", json!(now() + 600)), false),
            "not valid yet",
        ),
        (
            "issued in the future",
            sign(&with("iat", json!(now() + 600)), false),
            "future",
        ),
        (
            "another audience",
            sign(&with("aud", json!("someone-else")), false),
            "audience",
        ),
        (
            "another issuer",
            sign(&with("iss", json!("https://evil.example/")), false),
            "issuer",
        ),
        ("forged", sign(&base, true), "signature"),
    ];
    for (what, token, reason) in cases {
        let challenge = refused(Some(&format!("Bearer {token}"))).await;
        assert!(challenge.contains(reason), "{what}: {challenge}");
    }

    // No kid, or one the issuer does not publish.
    let no_kid = {
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        let key = std::fs::read(stack_var("HERALD_TEST_JWT_KEY_FILE")).expect("key");
        jsonwebtoken::encode(
            &header,
            &base,
            &jsonwebtoken::EncodingKey::from_rsa_der(&key),
        )
        .expect("signed")
    };
    assert!(refused(Some(&no_kid)).await.contains("kid"));
    // A symmetric token, whatever its key: API Gateway takes RSA signatures only.
    let mut hs = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs.kid = Some(stack_var("HERALD_TEST_JWT_KID"));
    let hs256 = jsonwebtoken::encode(&hs, &base, &jsonwebtoken::EncodingKey::from_secret(b"k"))
        .expect("signed");
    assert!(refused(Some(&hs256)).await.contains("RSA"));
}

#[tokio::test]
async fn valid_tokens_reach_the_function_with_their_claims() {
    let account = new_account();
    // The token alone, without the Bearer prefix, as API Gateway also accepts it.
    let token = sign(&claims(account.as_str(), false), false);
    let reply = client()
        .get(format!(
            "{}/accounts/{account}/sms-settings",
            stack_var("HERALD_TEST_API_URL")
        ))
        .header("authorization", &token)
        .send()
        .await
        .expect("answered");
    assert_eq!(reply.status(), 200);
    assert!(reply.headers().contains_key("apigw-requestid"));

    // `client_id` stands for a missing `aud`; an array claim reaches the function as `[a b]`.
    let other = new_account();
    let mut c = claims(&format!("{account} {other}"), false);
    c.as_object_mut().expect("object").remove("aud");
    c["client_id"] = json!(stack_var("HERALD_TEST_JWT_AUDIENCE"));
    c["herald:accounts"] = json!([account.as_str(), other.as_str()]);
    let api = Api::with_token(Some(sign(&c, false)));
    assert_eq!(
        api.get(&format!("/accounts/{other}/sms-settings"))
            .await
            .status,
        200
    );
    assert_eq!(
        api.get("/accounts/someone-else/sms-settings").await.status,
        404
    );
}

#[tokio::test]
async fn no_route_is_404_from_the_gateway() {
    let reply = client()
        .get(format!("{}/", stack_var("HERALD_TEST_API_URL")))
        .send()
        .await
        .expect("answered");
    assert_eq!(reply.status(), 404);
    let body: Value = reply.json().await.expect("JSON");
    assert_eq!(body, json!({"message": "Not Found"}));
}

/// Providers' receipts carry no token: their routes have no authorizer, and the function
/// checks their signatures (403 here, from the function, for a missing one).
#[tokio::test]
async fn receipt_routes_are_public() {
    let base = stack_var("HERALD_TEST_API_URL");
    let account = new_account();
    let twilio = client()
        .post(format!(
            "{base}/callbacks/twilio/{account}/01JD6ZK5Q2V7X8Y9Z0A1B2C3D4"
        ))
        .form(&[("MessageStatus", "delivered")])
        .send()
        .await
        .expect("answered");
    assert_eq!(twilio.status(), 403);
    let vonage = client()
        .get(format!(
            "{base}/callbacks/vonage/{account}/01JD6ZK5Q2V7X8Y9Z0A1B2C3D4?status=delivered"
        ))
        .send()
        .await
        .expect("answered");
    assert_eq!(vonage.status(), 403);
    // Only the methods the template routes are public: a GET of the Twilio route goes to the
    // greedy route, behind the authorizer.
    let get = client()
        .get(format!(
            "{base}/callbacks/twilio/{account}/01JD6ZK5Q2V7X8Y9Z0A1B2C3D4"
        ))
        .send()
        .await
        .expect("answered");
    assert_eq!(get.status(), 401);
}

/// A request that reaches the function without the authorizer's claims (here invoked
/// directly, as nothing in AWS can) is refused by the function itself.
#[tokio::test]
async fn the_function_refuses_requests_without_claims() {
    let token = sign(&claims("*", true), false);
    let event = json!({
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": "/sms-providers",
        "rawQueryString": "",
        "headers": {"authorization": format!("Bearer {token}"), "host": "local"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "local",
            "domainPrefix": "local",
            "http": {"method": "GET", "path": "/sms-providers", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "r", "routeKey": "ANY /{proxy+}", "stage": "$default",
            "time": "02/Dec/2026:10:00:00 +0000", "timeEpoch": 1_795_428_000_000_u64
        },
        "isBase64Encoded": false
    });
    let reply = invoke("api", &event).await;
    assert_eq!(reply["statusCode"], 401, "{reply}");
    let body: Value = serde_json::from_str(reply["body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(body["status"], 401);
}
