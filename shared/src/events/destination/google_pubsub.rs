//! Google Pub/Sub destinations: a project's topic, published to through the REST API
//! (`POST https://pubsub.googleapis.com/v1/projects/{project}/topics/{topic}:publish`) with an
//! access token obtained from the account's service-account key.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::common::secret::{SealedSecret, Secret};
use crate::events::destination::{AllowedEndpoints, Endpoint, chars_within, validated_string};

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
}
