//! The HTTP API of `template.yaml`, served locally as API Gateway serves it: the routes its
//! functions' `HttpApi` events declare, chosen by API Gateway's rules (an exact path before one
//! with variables before a greedy `{proxy+}`, a route's own method before `ANY`), each behind
//! the JWT authorizer the template gives it (or none, for `Authorizer: NONE`). A request is
//! turned into the payload 2.0 event, the authorizer's claims in its request context, the
//! mapped function is invoked through the local Lambda runtime, and its answer is returned.
//! What API Gateway refuses is refused here too, with its answers: 401 `{"message":
//! "Unauthorized"}` and a `www-authenticate` reason, 404 `{"message":"Not Found"}` for no
//! route, 500 when the function fails, 503 past the integration timeout.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value, json};
use serde_yaml::Value as Yaml;
use tokio::sync::Mutex;

use crate::Result;
use crate::sent::Console;
use crate::template::{Physical, Template};

/// API Gateway's HTTP API gives an integration at most 30 s.
const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);
/// HTTP APIs take request bodies up to 10 MB.
const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Variable(String),
    Greedy(String),
}

/// One route of the template: `METHOD /path` to a function, with its authorizer.
#[derive(Debug)]
pub struct Route {
    /// `None` for `ANY`.
    method: Option<String>,
    segments: Vec<Segment>,
    pub key: String,
    pub function: String,
    authorizer: Option<Arc<JwtAuthorizer>>,
    scopes: Vec<String>,
}

/// A JWT authorizer of the template: who issues tokens, for whom, and where the token is.
#[derive(Debug)]
pub struct JwtAuthorizer {
    issuer: String,
    audience: Vec<String>,
    /// The header named by `IdentitySource` (`$request.header.Authorization`).
    header: String,
    keys: Mutex<Option<JwkSet>>,
}

fn text<'a>(v: &'a Yaml, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Yaml::as_str)
}

/// `!Ref X` names X.
fn reference(v: Option<&Yaml>) -> Option<String> {
    match v? {
        Yaml::Tagged(t) if t.tag == "!Ref" => t.value.as_str().map(str::to_owned),
        _ => None,
    }
}

fn parse_path(path: &str) -> Result<Vec<Segment>> {
    let mut segments = Vec::new();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => match name.strip_suffix('+') {
                Some(name) if i + 1 == parts.len() => Segment::Greedy(name.to_owned()),
                Some(_) => {
                    return Err(format!("{path}: a greedy variable must end the path").into());
                }
                None => Segment::Variable(name.to_owned()),
            },
            None => Segment::Literal((*part).to_owned()),
        };
        segments.push(segment);
    }
    if parts == [""] {
        segments.clear();
    }
    Ok(segments)
}

/// How specific a match is, lower first: (exact 0, variables 1, greedy 2), fewer literal
/// segments later, then ANY after the route's own method.
type Rank = (u8, usize, u8);

impl Route {
    /// The path parameters when `path` is this route's, and how specific the match is
    /// (lower first): exact, with variables, greedy; then the route's own method before ANY.
    fn matches(&self, method: &str, path: &str) -> Option<(Rank, Map<String, Value>)> {
        if self.method.as_deref().is_some_and(|m| m != method) {
            return None;
        }
        let parts: Vec<&str> = if path == "/" {
            Vec::new()
        } else {
            path.trim_start_matches('/').split('/').collect()
        };
        let mut params = Map::new();
        let mut kind = 0;
        let mut literals = 0;
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(l) => {
                    if parts.get(i) != Some(&l.as_str()) {
                        return None;
                    }
                    literals += 1;
                }
                Segment::Variable(name) => {
                    let part = parts.get(i).filter(|p| !p.is_empty())?;
                    params.insert(name.clone(), json!(decode(part)));
                    kind = kind.max(1);
                }
                Segment::Greedy(name) => {
                    let rest = parts.get(i..).filter(|r| !r.is_empty())?.join("/");
                    if rest.is_empty() {
                        return None;
                    }
                    params.insert(name.clone(), json!(decode(&rest)));
                    return Some(((2, usize::MAX - literals, self.any()), params));
                }
            }
        }
        (parts.len() == self.segments.len())
            .then_some(((kind, usize::MAX - literals, self.any()), params))
    }

    fn any(&self) -> u8 {
        u8::from(self.method.is_none())
    }
}

/// A path segment percent-decoded, as API Gateway hands path parameters over.
fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Every `HttpApi` route the template's functions declare, with their authorizers resolved.
pub fn routes(template: &Template, physical: &Physical) -> Result<Vec<Route>> {
    let mut authorizers: BTreeMap<(String, String), Arc<JwtAuthorizer>> = BTreeMap::new();
    let mut routes = Vec::new();
    for function in template.functions() {
        for (name, event) in function.events_of_type("HttpApi") {
            let props = event.get("Properties").cloned().unwrap_or(Yaml::Null);
            let api_id = reference(props.get("ApiId"))
                .ok_or_else(|| format!("{}: event {name} names no ApiId", function.binary))?;
            let api = template
                .resources
                .get(&api_id)
                .ok_or_else(|| format!("{api_id} is not in the template"))?;
            let auth = api.properties.get("Auth");
            let chosen = props
                .get("Auth")
                .and_then(|a| text(a, "Authorizer"))
                .or_else(|| auth.and_then(|a| text(a, "DefaultAuthorizer")));
            let authorizer = match chosen {
                None | Some("NONE") => None,
                Some(id) => {
                    let key = (api_id.clone(), id.to_owned());
                    if let Some(a) = authorizers.get(&key) {
                        Some(a.clone())
                    } else {
                        let a = Arc::new(jwt_authorizer(template, physical, auth, id)?);
                        authorizers.insert(key, a.clone());
                        Some(a)
                    }
                }
            };
            let path = text(&props, "Path").ok_or("an HttpApi event without a Path")?;
            let method = text(&props, "Method").unwrap_or("ANY").to_ascii_uppercase();
            let scopes = props
                .get("Auth")
                .and_then(|a| a.get("AuthorizationScopes"))
                .and_then(Yaml::as_sequence)
                .map(|s| {
                    s.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            routes.push(Route {
                key: format!("{method} {path}"),
                method: (method != "ANY").then_some(method),
                segments: parse_path(path)?,
                function: function.binary.clone(),
                authorizer,
                scopes,
            });
        }
    }
    Ok(routes)
}

fn jwt_authorizer(
    template: &Template,
    physical: &Physical,
    auth: Option<&Yaml>,
    id: &str,
) -> Result<JwtAuthorizer> {
    let config = auth
        .and_then(|a| a.get("Authorizers"))
        .and_then(|a| a.get(id))
        .ok_or_else(|| format!("the authorizer {id} is not declared"))?;
    let jwt = config
        .get("JwtConfiguration")
        .ok_or_else(|| format!("{id}: only JWT authorizers are served locally"))?;
    let issuer = template.resolve(jwt.get("issuer").ok_or("no issuer")?, physical)?;
    let audience = jwt
        .get("audience")
        .and_then(Yaml::as_sequence)
        .map(|a| a.iter().map(|v| template.resolve(v, physical)).collect())
        .transpose()?
        .unwrap_or_default();
    let source = text(config, "IdentitySource").unwrap_or("$request.header.Authorization");
    let header = source
        .strip_prefix("$request.header.")
        .ok_or_else(|| format!("{id}: identity source {source} is not served locally"))?
        .to_ascii_lowercase();
    Ok(JwtAuthorizer {
        issuer,
        audience,
        header,
        keys: Mutex::new(None),
    })
}

/// Why a token was refused, as API Gateway says it in `www-authenticate`.
struct Refusal(Option<String>);

impl JwtAuthorizer {
    /// The issuer's keys, found as API Gateway finds them: its discovery document's `jwks_uri`.
    async fn keys(&self, http: &reqwest::Client, refresh: bool) -> Result<JwkSet> {
        let mut cached = self.keys.lock().await;
        if let Some(keys) = cached.as_ref().filter(|_| !refresh) {
            return Ok(keys.clone());
        }
        let discovery: Value = http
            .get(format!(
                "{}/.well-known/openid-configuration",
                self.issuer.trim_end_matches('/')
            ))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let uri = discovery["jwks_uri"]
            .as_str()
            .ok_or("the discovery document names no jwks_uri")?;
        let keys: JwkSet = http
            .get(uri)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        *cached = Some(keys.clone());
        Ok(keys)
    }

    /// The token's claims, when API Gateway would let it through.
    async fn authorize(
        &self,
        http: &reqwest::Client,
        headers: &HeaderMap,
        scopes: &[String],
    ) -> std::result::Result<Map<String, Value>, Refusal> {
        let invalid = |why: &str| Refusal(Some(why.to_owned()));
        let value = headers
            .get(&self.header)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(Refusal(None))?;
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => value,
        };
        let head = jsonwebtoken::decode_header(token)
            .map_err(|_| invalid("the token is not a valid JWT"))?;
        if !matches!(
            head.alg,
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512
        ) {
            return Err(invalid("the token is not signed with an RSA algorithm"));
        }
        let kid = head.kid.ok_or_else(|| invalid("the token has no kid"))?;
        let mut jwk = None;
        for refresh in [false, true] {
            let keys = self
                .keys(http, refresh)
                .await
                .map_err(|e| invalid(&format!("the issuer's keys could not be fetched: {e}")))?;
            if let Some(found) = keys.find(&kid) {
                jwk = Some(found.clone());
                break;
            }
        }
        let jwk = jwk.ok_or_else(|| invalid("the token's kid is not in the issuer's key set"))?;
        let key =
            DecodingKey::from_jwk(&jwk).map_err(|_| invalid("the issuer's key is unusable"))?;
        let mut validation = Validation::new(head.alg);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss"]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                invalid(match e.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::ImmatureSignature => "the token is not valid yet",
                    ErrorKind::InvalidIssuer => "the token does not have a valid issuer",
                    ErrorKind::InvalidSignature => "the token's signature does not verify",
                    _ => "the token is invalid",
                })
            })?
            .claims;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        if claims
            .get("iat")
            .and_then(Value::as_u64)
            .is_some_and(|iat| iat > now)
        {
            return Err(invalid("the token was issued in the future"));
        }
        // `aud` when present, else `client_id`, must be one of the audiences.
        let audiences: Vec<&str> = match claims.get("aud").or_else(|| claims.get("client_id")) {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !audiences
            .iter()
            .any(|a| self.audience.iter().any(|w| w == a))
        {
            return Err(invalid("the token does not have a valid audience"));
        }
        if !scopes.is_empty() {
            let held: Vec<&str> = ["scope", "scp"]
                .iter()
                .filter_map(|c| claims.get(*c))
                .flat_map(|v| match v {
                    Value::String(s) => s.split_whitespace().collect::<Vec<_>>(),
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                })
                .collect();
            if !scopes.iter().any(|s| held.contains(&s.as_str())) {
                return Err(Refusal(Some(
                    "the token does not have the required scope".into(),
                )));
            }
        }
        Ok(claims)
    }
}

/// Claims as the authorizer hands them to the integration: every value a string, arrays as
/// `[a b]`.
fn flatten_claims(claims: &Map<String, Value>) -> Map<String, Value> {
    claims
        .iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Array(items) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                other => other.to_string(),
            };
            (k.clone(), Value::String(s))
        })
        .collect()
}

struct Gateway {
    routes: Vec<Route>,
    lambda_url: String,
    http: reqwest::Client,
    console: Console,
    counter: std::sync::atomic::AtomicU64,
}

pub fn router(routes: Vec<Route>, lambda_url: String, console: Console) -> Router {
    let gateway = Arc::new(Gateway {
        routes,
        lambda_url,
        http: reqwest::Client::builder()
            .timeout(INTEGRATION_TIMEOUT)
            .build()
            .unwrap_or_default(),
        console,
        counter: Default::default(),
    });
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD))
        .with_state(gateway)
}

fn message(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "message": text }).to_string(),
    )
        .into_response()
}

fn unauthorized(refusal: Refusal) -> Response {
    let mut response = message(StatusCode::UNAUTHORIZED, "Unauthorized");
    let challenge = match refusal.0 {
        None => "Bearer".to_owned(),
        Some(why) => format!(
            "Bearer scope=\"\" error=\"invalid_token\" error_description=\"{}\"",
            why.replace('"', "'")
        ),
    };
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

async fn handle(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let body = match axum::body::to_bytes(body, MAX_PAYLOAD).await {
        Ok(b) => b,
        Err(_) => return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"),
    };
    let chosen = gw
        .routes
        .iter()
        .filter_map(|r| {
            r.matches(&method, &path)
                .map(|(rank, params)| (rank, r, params))
        })
        .min_by_key(|(rank, _, _)| *rank);
    let (response, function) = match chosen {
        None => (message(StatusCode::NOT_FOUND, "Not Found"), "-".to_owned()),
        Some((_, route, params)) => {
            let claims = match &route.authorizer {
                None => Ok(None),
                Some(a) => a
                    .authorize(&gw.http, &parts.headers, &route.scopes)
                    .await
                    .map(Some),
            };
            let response = match claims {
                Err(refusal) => unauthorized(refusal),
                Ok(claims) => {
                    let n = gw
                        .counter
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let event = event(&parts, &body, route, params, claims.as_ref(), peer, n);
                    invoke(&gw, &route.function, &event).await
                }
            };
            (response, route.function.clone())
        }
    };
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    gw.console.line(&format!(
        "  {method} {path}{query} → {} ({function}, {} ms)",
        response.status().as_u16(),
        started.elapsed().as_millis()
    ));
    response
}

/// Content types API Gateway passes as text; any other body is base64-encoded.
fn is_text(headers: &HeaderMap) -> bool {
    let Some(t) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let t = t
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    t.starts_with("text/")
        || t.ends_with("/json")
        || t.ends_with("+json")
        || t.ends_with("/xml")
        || t.ends_with("+xml")
        || t.ends_with("/javascript")
}

fn event(
    parts: &axum::http::request::Parts,
    body: &Bytes,
    route: &Route,
    path_parameters: Map<String, Value>,
    claims: Option<&Map<String, Value>>,
    peer: std::net::SocketAddr,
    n: u64,
) -> Value {
    let mut headers: Map<String, Value> = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == header::COOKIE {
            cookies.extend(value.split(';').map(|c| json!(c.trim())));
            continue;
        }
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), json!(value));
            }
        }
    }
    let local_port = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.rsplit_once(':'))
        .map(|(_, p)| p.to_owned())
        .unwrap_or_else(|| "80".into());
    headers.insert("x-forwarded-for".into(), json!(peer.ip().to_string()));
    headers.insert("x-forwarded-proto".into(), json!("http"));
    headers.insert("x-forwarded-port".into(), json!(local_port));
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let mut query: Map<String, Value> = Map::new();
    for (k, v) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        match query.get_mut(k.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k.into_owned(), json!(v));
            }
        }
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let time = time_of(now.as_secs());
    let request_id = format!("local-{:x}-{n}", now.as_millis());
    let mut context = json!({
        "accountId": crate::template::ACCOUNT,
        "apiId": "local",
        "domainName": host,
        "domainPrefix": host.split('.').next().unwrap_or(""),
        "http": {
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "protocol": "HTTP/1.1",
            "sourceIp": peer.ip().to_string(),
            "userAgent": parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
        },
        "requestId": request_id,
        "routeKey": route.key,
        "stage": "$default",
        "time": time,
        "timeEpoch": now.as_millis() as u64,
    });
    if let Some(claims) = claims {
        context["authorizer"] = json!({"jwt": {
            "claims": flatten_claims(claims),
            "scopes": if route.scopes.is_empty() { Value::Null } else { json!(route.scopes) },
        }});
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !path_parameters.is_empty() {
        event["pathParameters"] = Value::Object(path_parameters);
    }
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(text) if is_text(&parts.headers) => event["body"] = json!(text),
            _ => {
                event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
                event["isBase64Encoded"] = json!(true);
            }
        }
    }
    event
}

/// `23/Nov/2026:10:00:00 +0000`, the request context's time format.
fn time_of(secs: u64) -> String {
    let format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// Invokes the function and turns its payload 2.0 answer into the HTTP response.
async fn invoke(gw: &Gateway, function: &str, event: &Value) -> Response {
    let url = format!(
        "{}/2015-03-31/functions/{function}/invocations",
        gw.lambda_url
    );
    let reply = match gw.http.post(&url).json(event).send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
        }
        Err(_) => return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    };
    let ok = reply.status().is_success();
    let answer: Value = match reply.json().await {
        Ok(v) if ok => v,
        _ => return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    };
    if answer.get("errorType").is_some() || answer.get("errorMessage").is_some() {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    }
    let Some(status) = answer.get("statusCode").and_then(Value::as_u64) else {
        // Without a statusCode, API Gateway takes the whole answer as a 200 JSON body.
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            answer.to_string(),
        )
            .into_response();
    };
    let body = match answer.get("body") {
        Some(Value::String(s)) if answer["isBase64Encoded"] == true => {
            match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(b) => b,
                Err(_) => {
                    return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
                }
            }
        }
        Some(Value::String(s)) => s.clone().into_bytes(),
        _ => Vec::new(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for source in ["multiValueHeaders", "headers"] {
        for (name, value) in answer
            .get(source)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let values: Vec<&str> = match value {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            for v in values {
                if let (Ok(n), Ok(v)) = (
                    header::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    headers.append(n, v);
                }
            }
        }
    }
    for cookie in answer
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(v) = cookie.as_str().and_then(|c| HeaderValue::from_str(c).ok()) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    if let Some(id) = event["requestContext"]["requestId"]
        .as_str()
        .and_then(|i| HeaderValue::from_str(i).ok())
    {
        headers.insert("apigw-requestid", id);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(key: &str) -> Route {
        let (method, path) = key.split_once(' ').expect("METHOD /path");
        Route {
            method: (method != "ANY").then(|| method.to_owned()),
            segments: parse_path(path).expect("a path"),
            key: key.to_owned(),
            function: key.to_owned(),
            authorizer: None,
            scopes: Vec::new(),
        }
    }

    fn pick<'a>(routes: &'a [Route], method: &str, path: &str) -> Option<&'a str> {
        routes
            .iter()
            .filter_map(|r| r.matches(method, path).map(|(rank, _)| (rank, r)))
            .min_by_key(|(rank, _)| *rank)
            .map(|(_, r)| r.key.as_str())
    }

    #[test]
    fn the_most_specific_route_wins() {
        let routes = [
            route("ANY /{proxy+}"),
            route("POST /callbacks/twilio/{accountId}/{messageId}"),
            route("GET /callbacks/vonage/{accountId}/{messageId}"),
            route("ANY /health"),
            route("GET /health"),
        ];
        let twilio = "POST /callbacks/twilio/{accountId}/{messageId}";
        assert_eq!(
            pick(&routes, "POST", "/callbacks/twilio/acme/01J"),
            Some(twilio)
        );
        // The callback route defines POST only: a GET there goes to the greedy route.
        assert_eq!(
            pick(&routes, "GET", "/callbacks/twilio/acme/01J"),
            Some("ANY /{proxy+}")
        );
        assert_eq!(
            pick(&routes, "GET", "/callbacks/twilio/acme"),
            Some("ANY /{proxy+}")
        );
        assert_eq!(pick(&routes, "GET", "/health"), Some("GET /health"));
        assert_eq!(pick(&routes, "DELETE", "/health"), Some("ANY /health"));
        assert_eq!(
            pick(&routes, "GET", "/accounts/acme/sms-settings"),
            Some("ANY /{proxy+}")
        );
        // A greedy variable needs at least one segment: the root matches nothing.
        assert_eq!(pick(&routes, "GET", "/"), None);
    }

    #[test]
    fn path_parameters_are_decoded() {
        let r = route("POST /callbacks/twilio/{accountId}/{messageId}");
        let (_, params) = r
            .matches("POST", "/callbacks/twilio/ac%20me/01J")
            .expect("a match");
        assert_eq!(params["accountId"], "ac me");
        let greedy = route("ANY /{proxy+}");
        let (_, params) = greedy.matches("GET", "/a/b/c").expect("a match");
        assert_eq!(params["proxy"], "a/b/c");
    }

    #[test]
    fn claims_are_strings() {
        let claims = json!({"sub": "x", "exp": 5, "aud": ["a", "b"], "ok": true});
        let flat = flatten_claims(claims.as_object().expect("object"));
        assert_eq!(flat["exp"], "5");
        assert_eq!(flat["aud"], "[a b]");
        assert_eq!(flat["ok"], "true");
    }

    #[test]
    fn request_time_format() {
        assert_eq!(time_of(1_795_428_000), "23/Nov/2026:10:00:00 +0000");
        assert_eq!(time_of(0), "01/Jan/1970:00:00:00 +0000");
    }
}
