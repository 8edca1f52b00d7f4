//! Azure Service Bus destinations: a queue or topic of a namespace, sent to through the REST
//! API (`POST https://{namespace}.servicebus.windows.net/{entity}/messages`) with a shared access
//! signature made from the account's key.

use serde::{Deserialize, Serialize};

use crate::common::secret::{SealedSecret, Secret};
use crate::events::destination::{Endpoint, chars_within, validated_string};

/// The public cloud's Service Bus domain.
pub const SERVICE_BUS_DOMAIN: &str = "servicebus.windows.net";

validated_string!(
    /// A namespace: 6 to 50 letters, digits and hyphens, starting with a letter and ending with
    /// a letter or digit.
    Namespace,
    |s| {
        chars_within(
            s,
            6,
            50,
            |c| c.is_ascii_alphanumeric() || c == '-',
            "letters, digits and hyphens",
        )?;
        if !s.starts_with(|c: char| c.is_ascii_alphabetic())
            || !s.ends_with(|c: char| c.is_ascii_alphanumeric())
        {
            return Err("must start with a letter and end with a letter or digit".into());
        }
        Ok(())
    }
);

validated_string!(
    /// A queue or topic name: 1 to 260 letters, digits and `.-_/`, not starting or ending
    /// with `/` or `.`.
    EntityPath,
    |s| {
        chars_within(
            s,
            1,
            260,
            |c| c.is_ascii_alphanumeric() || ".-_/".contains(c),
            "letters, digits and . - _ /",
        )?;
        if s.starts_with(['/', '.']) || s.ends_with(['/', '.']) || s.contains("//") {
            return Err("must not start or end with / or . nor contain //".into());
        }
        Ok(())
    }
);

validated_string!(
    /// A shared access policy's name: 1 to 256 characters, no control characters.
    KeyName,
    |s| {
        chars_within(s, 1, 256, |c| !c.is_control() && c != ';' && c != '&', "characters other than ; & and control characters")
    }
);

/// A queue or topic and the shared access key that sends to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceBusDestination {
    pub namespace: Namespace,
    pub entity: EntityPath,
    /// The shared access policy's name (`SharedAccessKeyName`); shown.
    pub key_name: KeyName,
    /// The policy's key, sealed.
    pub key: SealedSecret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
}

impl ServiceBusDestination {
    /// `https://{namespace}.servicebus.windows.net/{entity}`: what a SAS token is for.
    pub fn resource_uri(&self) -> String {
        match &self.endpoint {
            Some(e) => format!("{}/{}", e.origin(), self.entity),
            None => format!(
                "https://{}.{SERVICE_BUS_DOMAIN}/{}",
                self.namespace, self.entity
            ),
        }
    }

    pub fn messages_url(&self) -> String {
        format!("{}/messages", self.resource_uri())
    }
}

/// A connection string's parts, as Azure's portal shows it:
/// `Endpoint=sb://{namespace}.servicebus.windows.net/;SharedAccessKeyName=…;SharedAccessKey=…;EntityPath=…`.
#[derive(Debug)]
pub struct ConnectionString {
    pub namespace: Namespace,
    pub key_name: KeyName,
    pub key: Secret,
    pub entity: Option<EntityPath>,
}

impl ConnectionString {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut endpoint = None;
        let mut key_name = None;
        let mut key = None;
        let mut entity = None;
        for part in s.trim().split(';').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or("must be Key=value pairs separated by ; as Azure's portal shows them")?;
            match k.trim() {
                "Endpoint" => endpoint = Some(v.trim()),
                "SharedAccessKeyName" => key_name = Some(v.trim()),
                // The key is base64 and may end in `=`: everything after the first `=`.
                "SharedAccessKey" => key = Some(v.trim()),
                "EntityPath" => entity = Some(v.trim()),
                _ => {}
            }
        }
        let endpoint = endpoint.ok_or("has no Endpoint")?;
        let host = endpoint
            .strip_prefix("sb://")
            .map(|h| h.trim_end_matches('/'))
            .ok_or("has an Endpoint that is not sb://{namespace}.servicebus.windows.net/")?;
        let namespace = host
            .strip_suffix(SERVICE_BUS_DOMAIN)
            .and_then(|h| h.strip_suffix('.'))
            .ok_or_else(|| {
                format!("has an Endpoint outside {SERVICE_BUS_DOMAIN}: Herald sends to Azure's public cloud")
            })?;
        Ok(Self {
            namespace: Namespace::parse(namespace)
                .map_err(|e| format!("has a namespace that {e}"))?,
            key_name: KeyName::parse(key_name.ok_or("has no SharedAccessKeyName")?)
                .map_err(|e| format!("has a SharedAccessKeyName that {e}"))?,
            key: Secret::parse(key.ok_or("has no SharedAccessKey")?)
                .map_err(|e| format!("has a SharedAccessKey that {e}"))?,
            entity: entity
                .map(EntityPath::parse)
                .transpose()
                .map_err(|e| format!("has an EntityPath that {e}"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings_as_the_portal_shows_them() {
        let c = ConnectionString::parse(
            "Endpoint=sb://acme-events.servicebus.windows.net/;SharedAccessKeyName=herald-send;SharedAccessKey=abc+def/ghi=;EntityPath=orders",
        )
        .expect("valid");
        assert_eq!(c.namespace.as_str(), "acme-events");
        assert_eq!(c.key_name.as_str(), "herald-send");
        assert_eq!(c.key.expose(), "abc+def/ghi=");
        assert_eq!(c.entity.expect("entity").as_str(), "orders");
        assert!(
            ConnectionString::parse(
                "Endpoint=sb://evil.example/;SharedAccessKeyName=a;SharedAccessKey=b"
            )
            .is_err()
        );
        assert!(ConnectionString::parse("nonsense").is_err());
    }

    #[test]
    fn urls() {
        let mut d = ServiceBusDestination {
            namespace: Namespace::parse("acme-events").expect("valid"),
            entity: EntityPath::parse("orders").expect("valid"),
            key_name: KeyName::parse("herald-send").expect("valid"),
            key: SealedSecret::from_bytes(vec![1]),
            endpoint: None,
        };
        assert_eq!(
            d.messages_url(),
            "https://acme-events.servicebus.windows.net/orders/messages"
        );
        d.endpoint = Some(Endpoint::parse("http://127.0.0.1:9000").expect("valid"));
        assert_eq!(d.messages_url(), "http://127.0.0.1:9000/orders/messages");
        assert!(EntityPath::parse("/orders").is_err());
        assert!(Namespace::parse("ab").is_err());
    }
}
