//! With AWS unresponsive, the API answers 503 within seconds instead of holding the request
//! until the function or the client gives up. The api's own adapters and SDK configuration,
//! pointed at a listener that accepts connections and never answers.

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::{ApiConfig, AppState};
use aws_sdk_dynamodb::config::Credentials;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use herald::common::config::EnvReader;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequestContext,
};
use lambda_http::request::RequestContext;
use tower::ServiceExt;

/// Accepts every connection and keeps it open, reading nothing and writing nothing: AWS as a
/// client sees it when its endpoint hangs.
fn black_hole() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://{address}")
}

fn config() -> ApiConfig {
    let env = |name: &str| {
        Some(match name {
            "HERALD_DEFAULT_EMAIL_DOMAIN" => "mail.example.com".to_owned(),
            "HERALD_SETTINGS_TABLE"
            | "HERALD_MESSAGES_TABLE"
            | "HERALD_SUBSCRIPTIONS_TABLE"
            | "HERALD_DELIVERIES_TABLE"
            | "HERALD_DOMAINS_TABLE"
            | "HERALD_EVENT_TYPES_TABLE"
            | "HERALD_NOTIFICATIONS_TABLE" => "herald-table".to_owned(),
            "HERALD_KMS_KEY_ID" => "alias/herald".to_owned(),
            "HERALD_SEND_QUEUE_URL" | "HERALD_DELIVERIES_QUEUE_URL" | "HERALD_EVENTS_QUEUE_URL" => {
                "https://sqs.eu-west-1.amazonaws.com/123456789012/herald".to_owned()
            }
            _ => return None,
        })
    };
    ApiConfig::read(EnvReader::new(env)).expect("configuration")
}

/// A request as API Gateway hands it over once its authorizer passed it.
fn authorized(method: &str, uri: &str, body: &str) -> Request<Body> {
    let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
    jwt.claims.insert("sub".into(), "test".into());
    jwt.claims.insert("herald:accounts".into(), "acme".into());
    jwt.claims.insert("scope".into(), "herald:internal".into());
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.jwt = Some(jwt);
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.authorizer = Some(authorizer);
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request");
    request
        .extensions_mut()
        .insert(RequestContext::ApiGatewayV2(context));
    request
}

#[tokio::test]
async fn the_api_answers_503_when_aws_does_not_answer() {
    let sdk = herald::adapters::aws::loader()
        .endpoint_url(black_hole())
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .load()
        .await;
    let config = config();
    let adapters = api::Adapters::aws(&config, Arc::new(herald::adapters::aws::Clients::new(sdk)));
    let router = api::router(AppState::new(config, adapters));

    // Reads (DynamoDB: settings, the event type registry) and a send (DynamoDB, then SQS):
    // each hangs on its first AWS call.
    let requests = [
        authorized("GET", "/accounts/acme/sms-settings", ""),
        authorized("GET", "/event-types", ""),
        authorized(
            "POST",
            "/accounts/acme/messages/sms",
            r#"{"to": "+4712345678", "text": "Hi"}"#,
        ),
    ];
    for request in requests {
        let what = format!("{} {}", request.method(), request.uri());
        let started = Instant::now();
        let response =
            tokio::time::timeout(Duration::from_secs(15), router.clone().oneshot(request))
                .await
                .unwrap_or_else(|_| panic!("{what}: no answer in 15 s"))
                .expect("infallible");
        let took = started.elapsed();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{what}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json",
            "{what}"
        );
        assert!(
            response.headers().contains_key(header::RETRY_AFTER),
            "{what}"
        );
        // The SDK's operation timeout, and a margin for a loaded machine.
        assert!(
            took < herald::adapters::aws::OPERATION_TIMEOUT + Duration::from_secs(2),
            "{what} took {took:?}"
        );
    }
}
