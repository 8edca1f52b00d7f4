//! Amazon SNS SMS delivery status: where the operator turns it on, SNS writes one JSON log
//! line per SMS to CloudWatch Logs (`sns/{region}/{account}/DirectPublishToPhoneNumber`, and
//! `.../Failure`), and a subscription filter hands the lines to `delivery-status`. A line
//! names the message by the id SNS's `Publish` returned, which Herald logged as the
//! attempt's `providerMessageId`.

use serde::Deserialize;
use serde_json::Value;
use time::{OffsetDateTime, PrimitiveDateTime, format_description::FormatItem, macros};

use crate::messaging::message::{NoteKind, Receipt};

#[derive(Deserialize)]
struct Line {
    notification: Notification,
    #[serde(default)]
    delivery: Value,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    message_id: String,
    #[serde(default)]
    timestamp: Option<String>,
}

/// One delivery status line: the SNS message id it is about, what it reports, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct SmsStatus {
    pub sns_message_id: String,
    pub receipt: Receipt,
    pub at: Option<OffsetDateTime>,
    pub raw: Value,
}

/// SNS writes `2016-06-28 00:40:34.558`, in UTC.
const TIMESTAMP: &[FormatItem<'static>] =
    macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]");

/// Reads one log line: `SUCCESS` is a delivery (the carrier took it for the handset),
/// `FAILURE` a failure with SNS's `providerResponse` as the reason.
pub fn parse(line: &str) -> Result<SmsStatus, String> {
    let raw: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let parsed: Line = serde_json::from_value(raw.clone()).map_err(|e| e.to_string())?;
    let response = parsed
        .delivery
        .get("providerResponse")
        .and_then(Value::as_str)
        .unwrap_or("no provider response");
    let receipt = match parsed.status.as_str() {
        "SUCCESS" => Receipt::Delivered,
        "FAILURE" => Receipt::Failed {
            reason: format!("Amazon SNS: {response}"),
            code: None,
        },
        other => Receipt::Note {
            kind: NoteKind::ProviderStatus,
            detail: other.to_owned(),
        },
    };
    let at = parsed
        .notification
        .timestamp
        .as_deref()
        .and_then(|t| PrimitiveDateTime::parse(t, TIMESTAMP).ok())
        .map(PrimitiveDateTime::assume_utc);
    Ok(SmsStatus {
        sns_message_id: parsed.notification.message_id,
        receipt,
        at,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of Amazon SNS's developer guide ("Viewing Amazon CloudWatch metrics and
    /// logs for SMS deliveries").
    #[test]
    fn documented_lines() {
        let success = r#"{
            "notification": {"messageId": "34d9b400-c6dd-5444-820d-fbeb0f1f54cf", "timestamp": "2016-06-28 00:40:34.558"},
            "delivery": {"phoneCarrier": "My Phone Carrier", "mnc": 270, "destination": "+1425550100",
                         "priceInUSD": 0.00645, "smsType": "Transactional", "mcc": 310,
                         "providerResponse": "Message has been accepted by phone carrier",
                         "dwellTimeMs": 599, "dwellTimeMsUntilDeviceAck": 1344},
            "status": "SUCCESS"}"#;
        let s = parse(success).expect("parsed");
        assert_eq!(s.sns_message_id, "34d9b400-c6dd-5444-820d-fbeb0f1f54cf");
        assert_eq!(s.receipt, Receipt::Delivered);
        assert_eq!(
            s.at,
            Some(time::macros::datetime!(2016-06-28 00:40:34.558 UTC))
        );
        let failure = r#"{
            "notification": {"messageId": "1077de04-440d-5f2e-a8ff-73b2ae1e7d08", "timestamp": "2016-06-28 00:40:34.559"},
            "delivery": {"mnc": 0, "destination": "+1000000000", "priceInUSD": 0.00645,
                         "smsType": "Transactional", "mcc": 0,
                         "providerResponse": "Unknown error attempting to reach phone",
                         "dwellTimeMs": 1420, "dwellTimeMsUntilDeviceAck": 1692},
            "status": "FAILURE"}"#;
        assert_eq!(
            parse(failure).expect("parsed").receipt,
            Receipt::Failed {
                reason: "Amazon SNS: Unknown error attempting to reach phone".into(),
                code: None
            }
        );
        assert!(parse("START RequestId: 1").is_err());
        assert!(parse(r#"{"status": "SUCCESS"}"#).is_err());
    }
}
