//! Azure Service Bus destinations: a queue or topic of a namespace, sent to through the REST
//! API (`POST https://{namespace}.servicebus.windows.net/{entity}/messages`) with a shared access
//! signature made from the account's key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::common::secret::{SealedSecret, Secret};
use crate::events::delivery::outcome::Verdict;
use crate::events::destination::{Endpoint, Outbound, chars_within, validated_string};

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

/// Percent-encodes as Python's `quote_plus` does, which is what Microsoft's SDKs feed the
/// signature: RFC 3986's unreserved characters (letters, digits, `-._~`) stay, a space becomes
/// `+`, every other byte is `%XX` with upper-case hex. The service signs the `sr` exactly as the
/// token carries it, so the token and the string to sign must use the same encoding.
pub fn sas_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push_str(&format!("{b:02X}"));
            }
        }
    }
    out
}

/// How long a token Herald makes is valid.
pub const SAS_VALIDITY: time::Duration = time::Duration::hours(1);
/// A cached token is replaced this long before it expires, so that none expires in flight.
pub const SAS_REFRESH_BEFORE: time::Duration = time::Duration::minutes(5);

/// A shared access signature for `resource_uri`, valid until `expiry` (Unix seconds), as
/// Microsoft documents it ("Service Bus access control with Shared Access Signatures"):
/// the string to sign is the URL-encoded resource URI, a line feed and the expiry; the
/// signature is the base64 of its HMAC-SHA256 keyed with the key's characters (not the key
/// base64-decoded). The result is the `Authorization` header's whole value: a credential.
pub fn sas_token(resource_uri: &str, key_name: &KeyName, key: &Secret, expiry: i64) -> Secret {
    let encoded_uri = sas_encode(resource_uri);
    let string_to_sign = format!("{encoded_uri}\n{expiry}");
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(string_to_sign.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    let token = format!(
        "SharedAccessSignature sr={encoded_uri}&sig={}&se={expiry}&skn={}",
        sas_encode(&signature),
        sas_encode(key_name.as_str())
    );
    // Made of a URL, base64 and digits: never a control character, never empty.
    Secret::parse(&token).unwrap_or_else(|_| unreachable!("a SAS token is printable"))
}

/// The `BrokerProperties` header: the delivery id as `MessageId`, so that an entity with
/// duplicate detection drops Herald's retries of a send that had in fact arrived, and the
/// event's name as `Label` (the subject consumers filter on).
pub fn broker_properties(outbound: &Outbound<'_>) -> String {
    serde_json::json!({
        "MessageId": outbound.delivery_id.as_str(),
        "Label": outbound.event_name.as_str(),
    })
    .to_string()
}

/// The custom properties, one header each. Their values are JSON strings (in double quotes):
/// Service Bus reads an unquoted value that looks like a number or a date as one, and these
/// are always strings.
pub fn custom_properties(outbound: &Outbound<'_>) -> Vec<(&'static str, String)> {
    outbound
        .attributes()
        .into_iter()
        .map(|(name, value)| (name, serde_json::Value::from(value).to_string()))
        .collect()
}

/// The `<Detail>` of Azure's XML error body (`<Error><Code>401</Code><Detail>…</Detail></Error>`),
/// or the body itself when it has none; bounded, for the delivery's error.
pub fn error_detail(body: &str) -> Option<String> {
    let detail = match (body.find("<Detail>"), body.find("</Detail>")) {
        (Some(start), Some(end)) if start + 8 <= end => &body[start + 8..end],
        _ => body,
    };
    let detail = detail.trim();
    if detail.is_empty() {
        return None;
    }
    let mut end = detail.len().min(300);
    while !detail.is_char_boundary(end) {
        end -= 1;
    }
    Some(detail[..end].to_owned())
}

/// What a Send Message answer means, and in what words. Service Bus answers 201 when the
/// message is accepted; 401 when the token is refused; 403 when the namespace's quota is
/// exceeded or the entity forbids sending; 404 or 410 when the queue or topic (or its
/// namespace) does not exist; 400 and 413 for a message it will never take; 429, 500 and 503
/// (server busy) for trouble that passes.
pub fn classify(
    status: u16,
    body: &str,
    destination: &ServiceBusDestination,
) -> (Verdict, Option<String>) {
    let detail = error_detail(body)
        .map(|d| format!(" (Azure says: {d})"))
        .unwrap_or_default();
    let entity = destination.entity.as_str();
    let namespace = destination.namespace.as_str();
    match status {
        200..=299 => (Verdict::Delivered, None),
        401 => (
            Verdict::Fail,
            Some(format!(
                "the SAS key named {:?} was refused by Service Bus{detail}: check the key name \
                 and key, and that the policy has the Send right on {entity}",
                destination.key_name.as_str()
            )),
        ),
        403 => (
            Verdict::Fail,
            Some(format!(
                "Service Bus refused the message for {entity}: the namespace's quota is \
                 exceeded or sending is forbidden{detail}"
            )),
        ),
        404 | 410 => (
            Verdict::DisableSubscription,
            Some(format!(
                "the Service Bus queue or topic {entity} in namespace {namespace} no longer \
                 exists (HTTP {status}){detail}"
            )),
        ),
        413 => (
            Verdict::Fail,
            Some(format!(
                "the envelope is larger than {entity} accepts (HTTP 413){detail}: raise the \
                 entity's maximum message size"
            )),
        ),
        429 | 500..=599 => (
            Verdict::Retry,
            Some(format!("Service Bus answered HTTP {status}{detail}")),
        ),
        _ => (
            Verdict::Fail,
            Some(format!(
                "Service Bus refused the message with HTTP {status}{detail}"
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destination() -> ServiceBusDestination {
        ServiceBusDestination {
            namespace: Namespace::parse("acme-events").expect("valid"),
            entity: EntityPath::parse("orders").expect("valid"),
            key_name: KeyName::parse("herald-send").expect("valid"),
            key: SealedSecret::from_bytes(vec![1]),
            endpoint: None,
        }
    }

    #[test]
    fn sas_tokens_match_microsofts_sdk() {
        // Expected values made by azure-servicebus 7.15.0's own generate_sas_token for the same
        // inputs (the end-to-end suite compares against the package live as well).
        let key = Secret::parse("c2VjcmV0LWtleS0xMjM0NTY3ODkw+/ab=").expect("valid");
        let token = sas_token(
            "https://acme-events.servicebus.windows.net/orders",
            &KeyName::parse("herald-send").expect("valid"),
            &key,
            1_893_456_000,
        );
        assert_eq!(
            token.expose(),
            "SharedAccessSignature sr=https%3A%2F%2Facme-events.servicebus.windows.net%2Forders\
             &sig=SiMVVLepYnhjywY8%2FjBrg83Id0c0leEvwCbK7Vwv%2Fms%3D&se=1893456000&skn=herald-send"
        );
        let token = sas_token(
            "http://127.0.0.1:9000/team.a/orders_x~1",
            &KeyName::parse("RootManageSharedAccessKey").expect("valid"),
            &Secret::parse("k").expect("valid"),
            1_700_000_000,
        );
        assert_eq!(
            token.expose(),
            "SharedAccessSignature sr=http%3A%2F%2F127.0.0.1%3A9000%2Fteam.a%2Forders_x~1\
             &sig=vgYT49vHvA%2FvD3p27LlC%2FWzF9gCipcbmfp7KQxVoUM4%3D&se=1700000000\
             &skn=RootManageSharedAccessKey"
        );
    }

    #[test]
    fn encoding_is_pythons_quote_plus() {
        assert_eq!(sas_encode("aZ09-._~"), "aZ09-._~");
        assert_eq!(sas_encode("a b/c:d+e=*"), "a+b%2Fc%3Ad%2Be%3D%2A");
        assert_eq!(sas_encode("é"), "%C3%A9");
    }

    #[test]
    fn answers_are_classified_as_service_bus_means_them() {
        let d = destination();
        let azure = |code: u16, detail: &str| {
            format!("<Error><Code>{code}</Code><Detail>{detail}</Detail></Error>")
        };
        assert_eq!(classify(201, "", &d), (Verdict::Delivered, None));
        let (v, e) = classify(
            401,
            &azure(401, "InvalidSignature: The token has an invalid signature."),
            &d,
        );
        assert_eq!(v, Verdict::Fail);
        let e = e.expect("reason");
        assert!(
            e.contains("\"herald-send\"") && e.contains("the Send right"),
            "{e}"
        );
        assert!(e.contains("The token has an invalid signature."), "{e}");
        let (v, e) = classify(403, &azure(403, "Quota exceeded"), &d);
        assert_eq!(v, Verdict::Fail);
        assert!(e.expect("reason").contains("Quota exceeded"));
        for gone in [404, 410] {
            let (v, e) = classify(
                gone,
                &azure(gone, "The messaging entity could not be found"),
                &d,
            );
            assert_eq!(v, Verdict::DisableSubscription, "{gone}");
            let e = e.expect("reason");
            assert!(
                e.contains("queue or topic orders") && e.contains("no longer exists"),
                "{e}"
            );
        }
        for bad in [400, 413] {
            assert_eq!(classify(bad, "", &d).0, Verdict::Fail, "{bad}");
        }
        for passing in [429, 500, 503] {
            assert_eq!(
                classify(passing, &azure(passing, "Server busy"), &d).0,
                Verdict::Retry,
                "{passing}"
            );
        }
    }

    #[test]
    fn error_details_are_read_from_azures_xml_and_bounded() {
        assert_eq!(
            error_detail("<Error><Code>404</Code><Detail>gone. TrackingId:1</Detail></Error>"),
            Some("gone. TrackingId:1".into())
        );
        assert_eq!(error_detail("  "), None);
        assert_eq!(error_detail("plain"), Some("plain".into()));
        assert_eq!(error_detail(&"é".repeat(400)).expect("some").len(), 300);
    }

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
