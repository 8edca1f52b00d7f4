//! What AWS checks on `sts:AssumeRole` and moto does not: that the role exists and that its
//! trust policy lets the caller assume it, with the external id the call carries.
//!
//! moto answers AssumeRole for any role ARN, existing or not, with any external id or none
//! (`moto/sts/models.py`: "the role does not need to exist"). Herald's AWS destinations depend
//! on AWS refusing: a subscription whose role does not trust Herald's account with the
//! subscription's external id must fail, with a reason, and the local stack must show that it
//! does. So the proxy in front of moto ([`crate::aws_calls`]) asks moto for the role's trust
//! policy and evaluates the parts of it Herald's subscriptions use: `Allow` and `Deny`
//! statements on `sts:AssumeRole`, AWS principals (an account, its root, a role or `*`) and
//! the `sts:ExternalId` `StringEquals` condition. Other conditions are not evaluated.
//!
//! moto keeps one backend per account: the role is looked up in the account its ARN names
//! (moto's `x-moto-account-id` header), and the caller is whoever moto says the call's access
//! key belongs to (credentials from an AssumeRole act in the role's account).

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Who made a call, as STS's GetCallerIdentity says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub arn: String,
    pub account: String,
}

/// The text between `<tag>` and `</tag>` in an XML answer.
fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

fn xml_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A value that is one string or a list of them.
fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

fn action_matches(action: &Value) -> bool {
    strings(action).iter().any(|a| {
        let a = a.to_ascii_lowercase();
        a == "*" || a == "sts:*" || a == "sts:assumerole"
    })
}

fn principal_matches(principal: &Value, caller: &Caller) -> bool {
    if principal.as_str() == Some("*") {
        return true;
    }
    // `arn:aws:sts::{account}:assumed-role/{role}/{session}` acts as its role.
    let as_role = caller
        .arn
        .split_once(":assumed-role/")
        .and_then(|(_, rest)| rest.split('/').next())
        .map(|role| format!("arn:aws:iam::{}:role/{role}", caller.account));
    strings(&principal["AWS"]).iter().any(|p| {
        *p == "*"
            || *p == caller.account
            || *p == format!("arn:aws:iam::{}:root", caller.account)
            || *p == caller.arn
            || as_role.as_deref() == Some(*p)
    })
}

fn conditions_hold(condition: &Value, external_id: Option<&str>) -> bool {
    let Some(operators) = condition.as_object() else {
        return true;
    };
    operators
        .iter()
        .filter(|(op, _)| op.as_str() == "StringEquals")
        .flat_map(|(_, keys)| keys.as_object().into_iter().flatten())
        .filter(|(key, _)| key.eq_ignore_ascii_case("sts:ExternalId"))
        .all(|(_, wanted)| external_id.is_some_and(|id| strings(wanted).contains(&id)))
}

/// Whether `policy` lets `caller` assume the role with `external_id`.
pub fn allows(policy: &Value, caller: &Caller, external_id: Option<&str>) -> bool {
    let statements = match &policy["Statement"] {
        Value::Array(a) => a.iter().collect(),
        s @ Value::Object(_) => vec![s],
        _ => vec![],
    };
    let applies = |s: &&Value| {
        action_matches(&s["Action"])
            && principal_matches(&s["Principal"], caller)
            && conditions_hold(&s["Condition"], external_id)
    };
    let with = |effect: &str| {
        statements
            .iter()
            .filter(|s| s["Effect"].as_str() == Some(effect))
            .any(&applies)
    };
    with("Allow") && !with("Deny")
}

/// STS's answer to a refused AssumeRole.
pub fn access_denied(caller: &str, role_arn: &str) -> Response {
    let body = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
         <Type>Sender</Type><Code>AccessDenied</Code><Message>User: {} is not authorized to \
         perform: sts:AssumeRole on resource: {}</Message></Error>\
         <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>",
        xml_escape(caller),
        xml_escape(role_arn)
    );
    (StatusCode::FORBIDDEN, [("content-type", "text/xml")], body).into_response()
}

async fn query(
    http: &reqwest::Client,
    upstream: &str,
    headers: &[(&str, &str)],
    form: &[(&str, &str)],
) -> Option<String> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut request = http
        .post(format!("{upstream}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let answer = request.send().await.ok()?;
    let ok = answer.status().is_success();
    let text = answer.text().await.ok()?;
    ok.then_some(text)
}

/// Who signed a call: moto knows by the access key in its `Authorization` header.
async fn caller(http: &reqwest::Client, upstream: &str, authorization: &str) -> Option<Caller> {
    let xml = query(
        http,
        upstream,
        &[("authorization", authorization)],
        &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
    )
    .await?;
    Some(Caller {
        arn: element(&xml, "Arn")?.to_owned(),
        account: element(&xml, "Account")?.to_owned(),
    })
}

/// The role's trust policy, from IAM in the role's account; `None` when there is no such role.
async fn trust_policy(http: &reqwest::Client, upstream: &str, role_arn: &str) -> Option<Value> {
    let account = role_arn.split(':').nth(4)?;
    let name = role_arn.rsplit('/').next()?;
    let xml = query(
        http,
        upstream,
        // moto routes a request by the service its credential scope names.
        &[
            ("x-moto-account-id", account),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, \
                 SignedHeaders=host, Signature=00",
            ),
        ],
        &[
            ("Action", "GetRole"),
            ("Version", "2010-05-08"),
            ("RoleName", name),
        ],
    )
    .await?;
    let document = xml_unescape(element(&xml, "AssumeRolePolicyDocument")?);
    // IAM answers the document URL-encoded.
    let decoded = percent_encoding::percent_decode_str(&document).decode_utf8_lossy();
    serde_json::from_str(&decoded).ok()
}

/// `None` when AWS would let the AssumeRole in `body` through; otherwise STS's refusal.
pub async fn refusal(
    http: &reqwest::Client,
    upstream: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let role_arn = field("RoleArn")?;
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let caller = caller(http, upstream, authorization).await;
    let policy = trust_policy(http, upstream, role_arn).await;
    let allowed = match (&caller, &policy) {
        (Some(caller), Some(policy)) => allows(policy, caller, field("ExternalId")),
        _ => false,
    };
    if allowed {
        None
    } else {
        let who = caller.map_or_else(|| "anonymous".to_owned(), |c| c.arn);
        Some(access_denied(&who, role_arn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn herald() -> Caller {
        Caller {
            arn: "arn:aws:iam::123456789012:user/moto".into(),
            account: "123456789012".into(),
        }
    }

    fn policy(external_id: &str) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}}
            }]
        })
    }

    #[test]
    fn the_external_id_must_be_the_one_the_policy_names() {
        assert!(allows(&policy("herald-a"), &herald(), Some("herald-a")));
        assert!(!allows(&policy("herald-a"), &herald(), Some("herald-b")));
        assert!(!allows(&policy("herald-a"), &herald(), None));
    }

    #[test]
    fn the_principal_must_be_the_caller() {
        let other = Caller {
            arn: "arn:aws:iam::999999999999:user/x".into(),
            account: "999999999999".into(),
        };
        assert!(!allows(&policy("herald-a"), &other, Some("herald-a")));
        let assumed = Caller {
            arn: "arn:aws:sts::123456789012:assumed-role/admin/s".into(),
            account: "123456789012".into(),
        };
        let by_role = json!({"Statement": {
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::123456789012:role/admin"]},
            "Action": ["sts:AssumeRole"]
        }});
        assert!(allows(&by_role, &assumed, None));
        assert!(!allows(&by_role, &herald(), None));
    }

    #[test]
    fn a_deny_wins_and_no_statement_refuses() {
        let mut p = policy("herald-a");
        p["Statement"]
            .as_array_mut()
            .expect("array")
            .push(json!({"Effect": "Deny", "Principal": "*", "Action": "sts:*"}));
        assert!(!allows(&p, &herald(), Some("herald-a")));
        assert!(!allows(&json!({"Statement": []}), &herald(), None));
    }

    #[test]
    fn the_refusal_is_stss() {
        assert_eq!(
            element("<A><Arn>x&amp;</Arn></A>", "Arn").map(xml_unescape),
            Some("x&".to_owned())
        );
        let r = access_denied("arn:aws:iam::1:user/a", "arn:aws:iam::2:role/b");
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
}
