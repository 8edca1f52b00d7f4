//! AWS destinations in the account's own AWS account: an SQS queue, an SNS topic or an
//! EventBridge bus, reached by assuming a role there with an external id Herald generates per
//! subscription (AWS's advice for access by a third party: the "confused deputy" defence).

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::events::destination::{Endpoint, chars_within, validated_string};

/// An AWS account id: twelve digits.
fn account_id(s: &str) -> Result<(), String> {
    if s.len() == 12 && s.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "has {s:?} where an AWS account id (12 digits) belongs"
        ))
    }
}

/// A region such as `eu-west-1` or `us-gov-west-1`.
fn region(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.split('-').collect();
    let ok = parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "has {s:?} where a region such as eu-west-1 belongs"
        ))
    }
}

const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

/// `arn:{partition}:{service}:{region}:{account}:{resource}`, split.
fn arn_parts<'a>(s: &'a str, service: &str, with_region: bool) -> Result<[&'a str; 4], String> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, svc, region_, account, resource] = parts[..] else {
        return Err(format!("must be an ARN: arn:aws:{service}:…"));
    };
    if arn != "arn" || !PARTITIONS.contains(&partition) || svc != service {
        return Err(format!("must be an ARN: arn:aws:{service}:…"));
    }
    if with_region {
        region(region_)?;
    } else if !region_.is_empty() {
        return Err(format!(
            "must be an ARN without a region: arn:aws:{service}::…"
        ));
    }
    account_id(account)?;
    Ok([partition, region_, account, resource])
}

/// A queue, topic or bus name: 1 to `max` letters, digits, hyphens and underscores, with an
/// optional `.fifo` suffix where `fifo` allows it.
fn resource_name(s: &str, max: usize, extra: &str) -> Result<(), String> {
    chars_within(
        s,
        1,
        max,
        |c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || extra.contains(c),
        &format!(
            "letters, digits, - and _{}",
            if extra.is_empty() { "" } else { " and ." }
        ),
    )
}

validated_string!(
    /// `arn:aws:iam::{account}:role/{path}{name}`: the role Herald assumes.
    RoleArn,
    |s| {
        let [_, _, _, resource] = arn_parts(s, "iam", false)?;
        let name = resource
            .strip_prefix("role/")
            .ok_or("must be a role's ARN: arn:aws:iam::{account}:role/{name}")?;
        chars_within(
            name,
            1,
            576,
            |c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c),
            "letters, digits and + = , . @ _ - / in the role's path and name",
        )
    }
);

validated_string!(
    /// `https://sqs.{region}.amazonaws.com/{account}/{queue}`, as the console shows it.
    QueueUrl,
    |s| {
        let rest = s
            .strip_prefix("https://sqs.")
            .ok_or("must be a queue URL: https://sqs.{region}.amazonaws.com/{account}/{queue}")?;
        let (host, path) = rest
            .split_once('/')
            .ok_or("must be a queue URL: https://sqs.{region}.amazonaws.com/{account}/{queue}")?;
        let region_ = host
            .strip_suffix(".amazonaws.com")
            .or_else(|| host.strip_suffix(".amazonaws.com.cn"))
            .ok_or("must be a queue URL: https://sqs.{region}.amazonaws.com/{account}/{queue}")?;
        region(region_)?;
        let (account, queue) = path
            .split_once('/')
            .ok_or("must end with /{account}/{queue}")?;
        account_id(account)?;
        let name = queue.strip_suffix(".fifo").unwrap_or(queue);
        resource_name(name, 75, "").map_err(|e| format!("has a queue name that {e}"))
    }
);

impl QueueUrl {
    pub fn region(&self) -> &str {
        let host = &self.0["https://sqs.".len()..];
        let host = host.split('/').next().unwrap_or_default();
        host.split(".amazonaws.com").next().unwrap_or_default()
    }

    /// A FIFO queue's name ends with `.fifo`: it wants a group id and takes a deduplication id.
    pub fn is_fifo(&self) -> bool {
        self.0.ends_with(".fifo")
    }
}

validated_string!(
    /// `arn:aws:sns:{region}:{account}:{topic}`.
    TopicArn,
    |s| {
        let [_, _, _, name] = arn_parts(s, "sns", true)?;
        let base = name.strip_suffix(".fifo").unwrap_or(name);
        resource_name(base, 251, "").map_err(|e| format!("has a topic name that {e}"))
    }
);

impl TopicArn {
    pub fn region(&self) -> &str {
        self.0.split(':').nth(3).unwrap_or_default()
    }

    pub fn is_fifo(&self) -> bool {
        self.0.ends_with(".fifo")
    }
}

validated_string!(
    /// `arn:aws:events:{region}:{account}:event-bus/{name}`.
    EventBusArn,
    |s| {
        let [_, _, _, resource] = arn_parts(s, "events", true)?;
        let name = resource
            .strip_prefix("event-bus/")
            .ok_or("must be an event bus's ARN: arn:aws:events:{region}:{account}:event-bus/{name}")?;
        resource_name(name, 256, "./").map_err(|e| format!("has a bus name that {e}"))
    }
);

impl EventBusArn {
    pub fn region(&self) -> &str {
        self.0.split(':').nth(3).unwrap_or_default()
    }
}

validated_string!(
    /// What Herald passes as `sts:ExternalId` when it assumes the role: generated per
    /// subscription, never chosen by the account.
    ExternalId,
    |s| chars_within(
        s,
        2,
        1224,
        |c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c),
        "letters, digits and + = , . @ : / - _"
    )
);

impl ExternalId {
    /// `herald-` and 32 random letters and digits.
    pub fn generate() -> Self {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = rand::rng();
        let random: String = (0..32)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        Self(format!("herald-{random}"))
    }
}

/// The role Herald assumes in the account's AWS account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsRole {
    pub role_arn: RoleArn,
    pub external_id: ExternalId,
}

impl AwsRole {
    /// The trust policy the account attaches to the role: Herald's AWS account may assume it,
    /// with this subscription's external id only.
    pub fn trust_policy(&self, herald_account: &str) -> serde_json::Value {
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{herald_account}:root")},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": self.external_id.as_str()}}
            }]
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsDestination {
    pub queue_url: QueueUrl,
    #[serde(flatten)]
    pub role: AwsRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnsDestination {
    pub topic_arn: TopicArn,
    #[serde(flatten)]
    pub role: AwsRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventBridgeDestination {
    pub event_bus_arn: EventBusArn,
    #[serde(flatten)]
    pub role: AwsRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let q = QueueUrl::parse("https://sqs.eu-west-1.amazonaws.com/123456789012/herald-events")
            .expect("valid");
        assert_eq!(q.region(), "eu-west-1");
        assert!(!q.is_fifo());
        let f = QueueUrl::parse("https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo")
            .expect("valid");
        assert!(f.is_fifo());
        assert!(QueueUrl::parse("https://evil.example/123456789012/q").is_err());
        assert!(QueueUrl::parse("https://sqs.eu-west-1.amazonaws.com/1234/q").is_err());
        let t = TopicArn::parse("arn:aws:sns:eu-west-1:123456789012:herald").expect("valid");
        assert_eq!(t.region(), "eu-west-1");
        assert!(TopicArn::parse("arn:aws:sqs:eu-west-1:123456789012:herald").is_err());
        let b = EventBusArn::parse("arn:aws:events:eu-west-1:123456789012:event-bus/default")
            .expect("valid");
        assert_eq!(b.region(), "eu-west-1");
        assert!(EventBusArn::parse("arn:aws:events:eu-west-1:123456789012:rule/x").is_err());
        assert!(RoleArn::parse("arn:aws:iam::123456789012:role/herald-delivery").is_ok());
        assert!(RoleArn::parse("arn:aws:iam::123456789012:role/path/herald").is_ok());
        assert!(RoleArn::parse("arn:aws:iam::123456789012:user/herald").is_err());
        assert!(RoleArn::parse("arn:aws:iam:eu-west-1:123456789012:role/x").is_err());
    }

    #[test]
    fn external_ids_are_generated_and_distinct() {
        let a = ExternalId::generate();
        let b = ExternalId::generate();
        assert_ne!(a, b);
        assert!(ExternalId::parse(a.as_str()).is_ok());
        assert!(a.as_str().starts_with("herald-"));
        let role = AwsRole {
            role_arn: RoleArn::parse("arn:aws:iam::123456789012:role/herald").expect("valid"),
            external_id: a.clone(),
        };
        let policy = role.trust_policy("999999999999");
        assert_eq!(
            policy["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
            a.as_str()
        );
    }
}
