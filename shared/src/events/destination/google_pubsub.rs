//! Google Pub/Sub destinations: a project's topic, published to through the REST API
//! (`POST https://pubsub.googleapis.com/v1/projects/{project}/topics/{topic}:publish`) with an
//! access token obtained from the account's service-account key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use crate::common::secret::{SealedSecret, Secret};
use crate::events::delivery::outcome::Verdict;
use crate::events::destination::{
    AllowedEndpoints, Endpoint, Outbound, chars_within, validated_string,
};

/// Pub/Sub's public endpoint.
pub const PUBLIC_ENDPOINT: &str = "https://pubsub.googleapis.com";

/// Google's token endpoint, the only one a key may name unless the operator allows another.
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The scope Herald asks for: publishing needs nothing wider.
pub const PUBSUB_SCOPE: &str = "https://www.googleapis.com/auth/pubsub";

validated_string!(
    /// A Google Cloud project id: 6 to 30 lowercase letters, digits and hyphens, starting with a
    /// letter and not ending with a hyphen (or a legacy `example.com:project`).
    ProjectId,
    |s| {
        let id = s.rsplit_once(':').map_or(s, |(_, id)| id);
        chars_within(
            id,
            6,
            30,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
            "lowercase letters, digits and hyphens",
        )?;
        if !id.starts_with(|c: char| c.is_ascii_lowercase()) || id.ends_with('-') {
            return Err("must start with a letter and not end with a hyphen".into());
        }
        Ok(())
    }
);

validated_string!(
    /// A topic id: 3 to 255 letters, digits and `-_.~+%`, starting with a letter, not `goog…`.
    TopicId,
    |s| {
        chars_within(
            s,
            3,
            255,
            |c| c.is_ascii_alphanumeric() || "-_.~+%".contains(c),
            "letters, digits and - _ . ~ + %",
        )?;
        if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err("must start with a letter".into());
        }
        if s.to_ascii_lowercase().starts_with("goog") {
            return Err("must not start with \"goog\"".into());
        }
        Ok(())
    }
);

validated_string!(
    /// A message ordering key: messages with the same key reach subscribers in order, when the
    /// topic's subscription enables ordering. 1 to 1,024 bytes, no control characters.
    OrderingKey,
    |s| {
        if s.is_empty() || s.len() > 1024 {
            return Err("must be 1 to 1024 bytes".into());
        }
        if s.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(())
    }
);

/// A Pub/Sub topic and the key that publishes to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PubSubDestination {
    pub project: ProjectId,
    pub topic: TopicId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering_key: Option<OrderingKey>,
    /// The key's `client_email`: shown, so that an administrator sees which account publishes.
    pub service_account: String,
    /// The key's `private_key_id`: shown, to tell keys apart.
    pub key_id: String,
    /// The service-account key as [`ServiceAccountKey::to_secret`] wrote it, sealed.
    pub key: SealedSecret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
}

impl PubSubDestination {
    /// The topic's full name.
    pub fn topic_name(&self) -> String {
        format!("projects/{}/topics/{}", self.project, self.topic)
    }

    pub fn publish_url(&self) -> String {
        let base = self
            .endpoint
            .as_ref()
            .map_or_else(|| PUBLIC_ENDPOINT.to_owned(), Endpoint::origin);
        format!("{base}/v1/{}:publish", self.topic_name())
    }
}

/// What Herald keeps of a service-account JSON key: what mints a token, and nothing else.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccountKey {
    pub client_email: String,
    pub private_key_id: String,
    /// PKCS#8 PEM.
    pub private_key: String,
    pub token_uri: String,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountKey {
    /// Reads a key as Google's console downloads it (`"type": "service_account"`). Its
    /// `token_uri` must be Google's, unless the operator allows the endpoint.
    pub fn parse(json: &str, allowed: &AllowedEndpoints) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(rename = "type")]
            type_: Option<String>,
            client_email: Option<String>,
            private_key_id: Option<String>,
            private_key: Option<String>,
            token_uri: Option<String>,
        }
        let raw: Raw = serde_json::from_str(json).map_err(|_| {
            "must be a service-account key: the JSON file Google Cloud's console downloads"
                .to_owned()
        })?;
        if raw.type_.as_deref() != Some("service_account") {
            return Err("must be a service-account key (\"type\": \"service_account\")".into());
        }
        let missing = |f: &str| format!("is missing \"{f}\": download the key again");
        let client_email = raw
            .client_email
            .filter(|e| e.contains('@') && !e.chars().any(char::is_control))
            .ok_or_else(|| missing("client_email"))?;
        let private_key_id = raw
            .private_key_id
            .filter(|k| {
                !k.is_empty() && k.len() <= 100 && k.chars().all(|c| c.is_ascii_alphanumeric())
            })
            .ok_or_else(|| missing("private_key_id"))?;
        let private_key = raw.private_key.ok_or_else(|| missing("private_key"))?;
        {
            use rsa::pkcs8::DecodePrivateKey;
            rsa::RsaPrivateKey::from_pkcs8_pem(&private_key).map_err(|_| {
                "has a \"private_key\" that is not an RSA key in PEM: download the key again"
                    .to_owned()
            })?;
        }
        let token_uri = raw.token_uri.unwrap_or_else(|| GOOGLE_TOKEN_URI.to_owned());
        let parsed = Url::parse(&token_uri)
            .map_err(|_| "has a \"token_uri\" that is not a URL".to_owned())?;
        if token_uri != GOOGLE_TOKEN_URI && !allowed.allows(&parsed) {
            return Err(format!(
                "has \"token_uri\": {token_uri:?}; Herald exchanges keys only at {GOOGLE_TOKEN_URI}"
            ));
        }
        Ok(Self {
            client_email,
            private_key_id,
            private_key,
            token_uri,
        })
    }

    /// The key as one line of JSON, to be sealed.
    pub fn to_secret(&self) -> Result<Secret, String> {
        let json = serde_json::to_string(self).map_err(|e| e.to_string())?;
        Secret::parse(&json).map_err(|e| format!("the key {e}"))
    }

    /// The key back from [`ServiceAccountKey::to_secret`].
    pub fn from_secret(secret: &Secret) -> Option<Self> {
        serde_json::from_str(secret.expose()).ok()
    }
}

/// How long the access token Herald asks for lasts: Google's maximum for a key's assertion.
pub const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// A token is not used in its last minutes, so that it cannot expire between the check and the
/// publish (or on a clock a little behind Google's).
pub const TOKEN_REFRESH_MARGIN: time::Duration = time::Duration::minutes(5);

/// The claims of the signed assertion a key exchanges for an access token (RFC 7523, as
/// Google's service accounts use it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub sub: String,
    pub scope: String,
    /// The token endpoint itself.
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

impl AssertionClaims {
    pub fn new(key: &ServiceAccountKey, now: OffsetDateTime) -> Self {
        let iat = now.unix_timestamp();
        Self {
            iss: key.client_email.clone(),
            sub: key.client_email.clone(),
            scope: PUBSUB_SCOPE.to_owned(),
            aud: key.token_uri.clone(),
            iat,
            exp: iat + ASSERTION_LIFETIME_SECS,
        }
    }
}

/// The form the assertion is posted as.
pub fn token_request_form(assertion: &str) -> [(&'static str, &str); 2] {
    [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", assertion),
    ]
}

/// An access token: a bearer credential, never shown or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(********)")
    }
}

/// A token and the moment Herald stops using it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub token: AccessToken,
    pub usable_until: OffsetDateTime,
}

impl Grant {
    pub fn usable_at(&self, now: OffsetDateTime) -> bool {
        now < self.usable_until
    }
}

/// What the token endpoint's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenAnswer {
    Granted(Grant),
    /// The key was refused: trying again gets the same answer. Names what to fix.
    Refused(String),
    /// The endpoint is throttling or failing: worth another attempt later.
    Unavailable(String),
}

/// At most this many characters of what a remote service says are quoted in an error.
const QUOTED: usize = 300;

fn quoted(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(QUOTED) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

fn token_endpoint_name(key: &ServiceAccountKey) -> String {
    if key.token_uri == GOOGLE_TOKEN_URI {
        "Google's token endpoint".to_owned()
    } else {
        format!("the token endpoint {}", key.token_uri)
    }
}

/// Reads the token endpoint's answer (`status`, `body`) to a request made at `now`.
pub fn token_answer(
    key: &ServiceAccountKey,
    status: u16,
    body: &str,
    now: OffsetDateTime,
) -> TokenAnswer {
    #[derive(Deserialize)]
    struct Granted {
        access_token: String,
        expires_in: i64,
    }
    #[derive(Deserialize)]
    struct Refusal {
        error: String,
        error_description: Option<String>,
    }
    let endpoint = token_endpoint_name(key);
    match status {
        200..=299 => match serde_json::from_str::<Granted>(body) {
            Ok(g) if !g.access_token.is_empty() && g.expires_in > 0 => {
                TokenAnswer::Granted(Grant {
                    token: AccessToken(g.access_token),
                    usable_until: now + time::Duration::seconds(g.expires_in)
                        - TOKEN_REFRESH_MARGIN,
                })
            }
            _ => TokenAnswer::Unavailable(format!(
                "{endpoint} answered {status} without an access token"
            )),
        },
        429 | 500..=599 => {
            TokenAnswer::Unavailable(format!("{endpoint} answered {status}; Herald tries again"))
        }
        _ => {
            let why = serde_json::from_str::<Refusal>(body).map_or_else(
                |_| format!("HTTP {status}"),
                |r| match r.error_description {
                    Some(d) if !d.trim().is_empty() => {
                        format!("{}: {}", quoted(&r.error), quoted(&d))
                    }
                    _ => quoted(&r.error),
                },
            );
            TokenAnswer::Refused(format!(
                "the service account key {} of {} was refused by {endpoint} ({why}): upload a \
                 valid key of a service account that is enabled",
                key.private_key_id, key.client_email
            ))
        }
    }
}

/// The publish request's body: the envelope, base64-encoded as Pub/Sub wants message data,
/// and the attributes beside it.
pub fn publish_body(outbound: &Outbound<'_>, ordering_key: Option<&OrderingKey>) -> String {
    use base64::Engine;
    let attributes: serde_json::Map<String, serde_json::Value> = outbound
        .attributes()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into()))
        .collect();
    let mut message = serde_json::json!({
        "data": base64::engine::general_purpose::STANDARD.encode(outbound.body),
        "attributes": attributes,
    });
    if let Some(key) = ordering_key {
        message["orderingKey"] = key.as_str().into();
    }
    serde_json::json!({ "messages": [message] }).to_string()
}

/// What was sent beside the data, as the delivery log shows it.
pub fn publish_attributes(
    outbound: &Outbound<'_>,
    ordering_key: Option<&OrderingKey>,
) -> BTreeMap<String, String> {
    let mut shown: BTreeMap<String, String> = outbound
        .attributes()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if let Some(key) = ordering_key {
        shown.insert("orderingKey".into(), key.as_str().to_owned());
    }
    shown
}

/// What Pub/Sub's answer to a publish means, and in words what to fix when it is not delivered.
pub fn publish_answer(
    dest: &PubSubDestination,
    status: u16,
    body: &str,
) -> (Verdict, Option<String>) {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Published {
        message_ids: Vec<String>,
    }
    #[derive(Deserialize)]
    struct Error {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        message: Option<String>,
        status: Option<String>,
    }
    let detail = serde_json::from_str::<Error>(body).map_or_else(
        |_| format!("HTTP {status}"),
        |e| {
            let code = e.error.status.unwrap_or_else(|| format!("HTTP {status}"));
            match e.error.message {
                Some(m) if !m.trim().is_empty() => format!("{code}: {}", quoted(&m)),
                _ => code,
            }
        },
    );
    let topic = dest.topic_name();
    let account = &dest.service_account;
    match status {
        200..=299 => match serde_json::from_str::<Published>(body) {
            Ok(p) if !p.message_ids.is_empty() => (Verdict::Delivered, None),
            _ => (
                Verdict::Retry,
                Some(format!("Pub/Sub answered {status} without a message id")),
            ),
        },
        404 => (
            Verdict::DisableSubscription,
            Some(format!("the Pub/Sub topic {topic} no longer exists")),
        ),
        401 | 403 => (
            Verdict::Fail,
            Some(format!(
                "the service account {account} may not publish to {topic} ({detail}): grant it \
                 roles/pubsub.publisher on the topic"
            )),
        ),
        429 | 500..=599 => (
            Verdict::Retry,
            Some(format!("Pub/Sub answered {status} ({detail})")),
        ),
        _ => (
            Verdict::Fail,
            Some(format!("Pub/Sub refused the message to {topic} ({detail})")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_and_topic_ids() {
        assert!(ProjectId::parse("my-project-1").is_ok());
        assert!(ProjectId::parse("example.com:my-project").is_ok());
        assert!(ProjectId::parse("short").is_err());
        assert!(ProjectId::parse("My-Project").is_err());
        assert!(ProjectId::parse("1project").is_err());
        assert!(ProjectId::parse("project-").is_err());
        assert!(TopicId::parse("herald-events").is_ok());
        assert!(TopicId::parse("ab").is_err());
        assert!(TopicId::parse("google-events").is_err());
        assert!(TopicId::parse("events/x").is_err());
        assert!(OrderingKey::parse("").is_err());
    }

    #[test]
    fn the_publish_url_is_googles_unless_an_endpoint_is_given() {
        let mut d = PubSubDestination {
            project: ProjectId::parse("acme-prod").expect("valid"),
            topic: TopicId::parse("herald-events").expect("valid"),
            ordering_key: None,
            service_account: "herald@acme-prod.iam.gserviceaccount.com".into(),
            key_id: "abc".into(),
            key: SealedSecret::from_bytes(vec![1]),
            endpoint: None,
        };
        assert_eq!(
            d.publish_url(),
            "https://pubsub.googleapis.com/v1/projects/acme-prod/topics/herald-events:publish"
        );
        d.endpoint = Some(Endpoint::parse("http://127.0.0.1:8085").expect("valid"));
        assert_eq!(
            d.publish_url(),
            "http://127.0.0.1:8085/v1/projects/acme-prod/topics/herald-events:publish"
        );
    }

    #[test]
    fn keys_are_service_account_keys_with_googles_token_uri() {
        let none = AllowedEndpoints::default();
        assert!(ServiceAccountKey::parse("{}", &none).is_err());
        assert!(ServiceAccountKey::parse("not json", &none).is_err());
        let err = ServiceAccountKey::parse(
            r#"{"type":"service_account","client_email":"a@b","private_key_id":"k1","private_key":"nope"}"#,
            &none,
        )
        .expect_err("not a key");
        assert!(err.contains("private_key"), "{err}");
    }

    fn key() -> ServiceAccountKey {
        ServiceAccountKey {
            client_email: "herald@acme-prod.iam.gserviceaccount.com".into(),
            private_key_id: "0123abcd".into(),
            private_key: String::new(),
            token_uri: GOOGLE_TOKEN_URI.into(),
        }
    }

    fn destination() -> PubSubDestination {
        PubSubDestination {
            project: ProjectId::parse("acme-prod").expect("valid"),
            topic: TopicId::parse("herald-events").expect("valid"),
            ordering_key: None,
            service_account: "herald@acme-prod.iam.gserviceaccount.com".into(),
            key_id: "0123abcd".into(),
            key: SealedSecret::from_bytes(vec![1]),
            endpoint: None,
        }
    }

    const NOW: OffsetDateTime = time::macros::datetime!(2030-01-01 00:00:00 UTC);

    #[test]
    fn the_assertion_asks_the_key_s_token_endpoint_for_an_hour_of_publishing() {
        let claims = AssertionClaims::new(&key(), NOW);
        assert_eq!(claims.iss, "herald@acme-prod.iam.gserviceaccount.com");
        assert_eq!(claims.sub, claims.iss);
        assert_eq!(claims.scope, "https://www.googleapis.com/auth/pubsub");
        assert_eq!(claims.aud, "https://oauth2.googleapis.com/token");
        assert_eq!(claims.iat, 1_893_456_000);
        assert_eq!(claims.exp, 1_893_456_000 + 3600);
        assert_eq!(
            token_request_form("a.b.c"),
            [
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", "a.b.c")
            ]
        );
    }

    #[test]
    fn a_granted_token_is_used_until_five_minutes_before_it_expires() {
        let answer = token_answer(
            &key(),
            200,
            r#"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#,
            NOW,
        );
        let TokenAnswer::Granted(grant) = answer else {
            panic!("granted: {answer:?}");
        };
        assert_eq!(grant.token.expose(), "ya29.x");
        assert!(!format!("{grant:?}").contains("ya29"), "never shown");
        assert_eq!(
            grant.usable_until,
            NOW + time::Duration::seconds(3599 - 300)
        );
        assert!(grant.usable_at(NOW + time::Duration::seconds(3298)));
        assert!(!grant.usable_at(NOW + time::Duration::seconds(3299)));
    }

    #[test]
    fn a_refused_key_fails_naming_the_key_and_what_to_do() {
        let answer = token_answer(
            &key(),
            400,
            r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
            NOW,
        );
        let TokenAnswer::Refused(error) = answer else {
            panic!("refused: {answer:?}");
        };
        assert_eq!(
            error,
            "the service account key 0123abcd of herald@acme-prod.iam.gserviceaccount.com was \
             refused by Google's token endpoint (invalid_grant: Invalid JWT Signature.): upload \
             a valid key of a service account that is enabled"
        );
        for status in [401, 403] {
            assert!(
                matches!(
                    token_answer(&key(), status, "", NOW),
                    TokenAnswer::Refused(e) if e.contains("(HTTP ") && e.contains("0123abcd")
                ),
                "{status}"
            );
        }
        let mut local = key();
        local.token_uri = "http://127.0.0.1:9/token".into();
        assert!(matches!(
            token_answer(&local, 400, r#"{"error":"invalid_grant"}"#, NOW),
            TokenAnswer::Refused(e) if e.contains("the token endpoint http://127.0.0.1:9/token (invalid_grant)")
        ));
    }

    #[test]
    fn a_throttled_or_failing_token_endpoint_is_tried_again() {
        for status in [429, 500, 503] {
            assert!(
                matches!(
                    token_answer(&key(), status, "{}", NOW),
                    TokenAnswer::Unavailable(_)
                ),
                "{status}"
            );
        }
        assert!(matches!(
            token_answer(&key(), 200, r#"{"token_type":"Bearer"}"#, NOW),
            TokenAnswer::Unavailable(_)
        ));
    }

    fn outbound_parts() -> (
        crate::common::account::AccountId,
        crate::events::delivery::DeliveryId,
        crate::events::webhook::EventId,
        crate::events::webhook::EventName,
    ) {
        let event = crate::events::webhook::EventId::new(NOW);
        let subscription = crate::events::ids::SubscriptionId::new(NOW);
        (
            crate::common::account::AccountId::parse("acct-1").expect("valid"),
            crate::events::delivery::DeliveryId::of(&event, &subscription),
            event,
            crate::events::webhook::EventName::parse("order.created").expect("valid"),
        )
    }

    #[test]
    fn the_message_carries_the_envelope_and_its_attributes() {
        use base64::Engine;
        let (account, delivery, event, name) = outbound_parts();
        let subscription = crate::events::ids::SubscriptionId::new(NOW);
        let outbound = Outbound {
            account_id: &account,
            subscription_id: &subscription,
            delivery_id: &delivery,
            event_id: &event,
            event_name: &name,
            body: r#"{"type":"order.created","data":{"é":1}}"#,
            at: NOW,
        };
        let body: serde_json::Value =
            serde_json::from_str(&publish_body(&outbound, None)).expect("json");
        let message = &body["messages"][0];
        assert_eq!(body["messages"].as_array().map(Vec::len), Some(1));
        let data = base64::engine::general_purpose::STANDARD
            .decode(message["data"].as_str().expect("data"))
            .expect("base64");
        assert_eq!(data, outbound.body.as_bytes());
        assert_eq!(
            message["attributes"],
            serde_json::json!({
                "eventName": "order.created",
                "eventId": event.as_str(),
                "accountId": "acct-1",
                "deliveryId": delivery.as_str(),
            })
        );
        assert!(message.get("orderingKey").is_none());

        let ordering = OrderingKey::parse("acct-1").expect("valid");
        let body: serde_json::Value =
            serde_json::from_str(&publish_body(&outbound, Some(&ordering))).expect("json");
        assert_eq!(body["messages"][0]["orderingKey"], "acct-1");
        let shown = publish_attributes(&outbound, Some(&ordering));
        assert_eq!(shown.get("orderingKey").map(String::as_str), Some("acct-1"));
        assert_eq!(
            shown.get("eventName").map(String::as_str),
            Some("order.created")
        );
        assert_eq!(shown.len(), 5);
    }

    #[test]
    fn publish_answers_are_classified() {
        let d = destination();
        let answer = |status, body: &str| publish_answer(&d, status, body);
        assert_eq!(
            answer(200, r#"{"messageIds":["17"]}"#),
            (Verdict::Delivered, None)
        );
        assert_eq!(answer(200, "{}").0, Verdict::Retry);
        assert_eq!(
            answer(
                404,
                r#"{"error":{"code":404,"message":"Resource not found","status":"NOT_FOUND"}}"#
            ),
            (
                Verdict::DisableSubscription,
                Some(
                    "the Pub/Sub topic projects/acme-prod/topics/herald-events no longer exists"
                        .into()
                )
            )
        );
        let (verdict, error) = answer(
            403,
            r#"{"error":{"code":403,"message":"User not authorized to perform this action.","status":"PERMISSION_DENIED"}}"#,
        );
        assert_eq!(verdict, Verdict::Fail);
        assert_eq!(
            error.as_deref(),
            Some(
                "the service account herald@acme-prod.iam.gserviceaccount.com may not publish to \
                 projects/acme-prod/topics/herald-events (PERMISSION_DENIED: User not authorized \
                 to perform this action.): grant it roles/pubsub.publisher on the topic"
            )
        );
        let (verdict, error) = answer(401, "");
        assert_eq!(verdict, Verdict::Fail);
        assert!(
            error.is_some_and(|e| e.contains("roles/pubsub.publisher") && e.contains("HTTP 401"))
        );
        let (verdict, error) = answer(
            400,
            r#"{"error":{"code":400,"message":"Payload isn't valid for request.","status":"INVALID_ARGUMENT"}}"#,
        );
        assert_eq!(verdict, Verdict::Fail);
        assert!(error.is_some_and(|e| e.contains("INVALID_ARGUMENT: Payload isn't valid")));
        for status in [429, 500, 502, 503, 504] {
            assert_eq!(answer(status, "").0, Verdict::Retry, "{status}");
        }
    }

    #[test]
    fn quoted_text_is_bounded() {
        let long = "é".repeat(1000);
        let q = quoted(&long);
        assert_eq!(q.chars().count(), QUOTED + 1);
        assert!(q.ends_with('…'));
    }
}
