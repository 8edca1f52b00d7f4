//! SES event notifications, as SES's configuration-set event destination publishes them to SNS
//! and SNS delivers them to the status queue: an SNS envelope whose `Message` is the SES event
//! (`eventType`: Send, Delivery, Open, Click, Bounce, Complaint, Reject, Rendering Failure,
//! DeliveryDelay, Subscription). Herald tags every email it sends with its account and message
//! ids (`herald-account`, `herald-message`), which come back in `mail.tags`.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::common::account::AccountId;
use crate::messaging::log::MessageId;
use crate::messaging::message::Channel;
use crate::messaging::message::{NoteKind, Receipt};
use crate::messaging::receipts::StatusUpdate;
use crate::messaging::senders::email::{ACCOUNT_TAG, MESSAGE_TAG};

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn tag<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    text(event, &format!("/mail/tags/{name}/0"))
}

fn time_at(event: &Value, pointer: &str) -> Option<OffsetDateTime> {
    text(event, pointer).and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
}

/// Reads one status-queue record's body. `Ok(None)`: an event that says nothing about status
/// (Send, Click, Subscription) or an email Herald did not tag; `Err`: not an SES event at all.
pub fn parse(body: &str) -> Result<Option<StatusUpdate>, String> {
    let outer: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    // SNS's envelope (raw message delivery off) or the SES event itself (raw delivery on).
    let event: Value = match outer.get("Message").and_then(Value::as_str) {
        Some(inner) => {
            serde_json::from_str(inner).map_err(|e| format!("Message is not JSON: {e}"))?
        }
        None => outer,
    };
    let kind = text(&event, "/eventType")
        .or_else(|| text(&event, "/notificationType"))
        .ok_or("no eventType: not an SES event notification")?;
    let (Some(account), Some(message)) = (tag(&event, ACCOUNT_TAG), tag(&event, MESSAGE_TAG))
    else {
        return Ok(None);
    };
    let account = AccountId::parse(account).map_err(|e| format!("{ACCOUNT_TAG}: {e}"))?;
    let message_id = MessageId::parse(message).map_err(|e| format!("{MESSAGE_TAG}: {e}"))?;
    let (receipt, at) = match kind {
        "Delivery" => (Receipt::Delivered, time_at(&event, "/delivery/timestamp")),
        "Open" => (Receipt::Opened, time_at(&event, "/open/timestamp")),
        "Bounce" => {
            let bounce_type = text(&event, "/bounce/bounceType").unwrap_or("Undetermined");
            let sub_type = text(&event, "/bounce/bounceSubType").unwrap_or("General");
            let diagnostic = text(&event, "/bounce/bouncedRecipients/0/diagnosticCode");
            let reason = match diagnostic {
                Some(d) => format!("{bounce_type} bounce ({sub_type}): {d}"),
                None => format!("{bounce_type} bounce ({sub_type})"),
            };
            let at = time_at(&event, "/bounce/timestamp");
            if bounce_type == "Permanent" {
                let code = text(&event, "/bounce/bouncedRecipients/0/status").map(str::to_owned);
                (Receipt::Failed { reason, code }, at)
            } else {
                // A transient bounce: SES keeps trying; nothing is final yet.
                let receipt = Receipt::Note {
                    kind: NoteKind::TransientBounce,
                    detail: reason,
                };
                (receipt, at)
            }
        }
        "Complaint" => {
            let feedback = text(&event, "/complaint/complaintFeedbackType").unwrap_or("abuse");
            let receipt = Receipt::Failed {
                reason: format!("the recipient complained ({feedback})"),
                code: Some("complaint".into()),
            };
            (receipt, time_at(&event, "/complaint/timestamp"))
        }
        "Reject" => {
            let why = text(&event, "/reject/reason").unwrap_or("rejected");
            let receipt = Receipt::Failed {
                reason: format!("SES rejected the message: {why}"),
                code: Some("reject".into()),
            };
            (receipt, time_at(&event, "/mail/timestamp"))
        }
        "Rendering Failure" => {
            let why = text(&event, "/failure/errorMessage").unwrap_or("rendering failed");
            let receipt = Receipt::Failed {
                reason: format!("the message could not be rendered: {why}"),
                code: Some("renderingFailure".into()),
            };
            (receipt, time_at(&event, "/mail/timestamp"))
        }
        "DeliveryDelay" => {
            let delay = text(&event, "/deliveryDelay/delayType").unwrap_or("Undetermined");
            let receipt = Receipt::Note {
                kind: NoteKind::DeliveryDelay,
                detail: delay.to_owned(),
            };
            (receipt, time_at(&event, "/deliveryDelay/timestamp"))
        }
        _ => return Ok(None),
    };
    let ses_id = text(&event, "/mail/messageId")
        .ok_or("no mail.messageId: not an SES event notification")?
        .to_owned();
    Ok(Some(StatusUpdate {
        account_id: account,
        channel: Channel::Email,
        message_id,
        receipt,
        source: "ses",
        provider_message_id: Some(ses_id),
        // Herald's own tags name the message.
        names_message: true,
        at,
        raw: event,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sns(event: Value) -> String {
        json!({
            "Type": "Notification",
            "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:herald-ses-events",
            "Message": event.to_string(),
            "Timestamp": "2025-11-24T10:00:01.000Z"
        })
        .to_string()
    }

    fn mail() -> Value {
        json!({
            "timestamp": "2025-11-24T10:00:00.000Z",
            "messageId": "010001234567890a-abcdef",
            "source": "noreply@mail.example.com",
            "destination": ["signer@example.com"],
            "tags": {
                "ses:configuration-set": ["herald-events"],
                "herald-account": ["acme"],
                "herald-message": ["01JD6ZK5Q2V7X8Y9Z0A1B2C3D4"]
            }
        })
    }

    #[test]
    fn every_event_type_maps() {
        let cases = [
            (
                json!({"eventType": "Delivery", "mail": mail(), "delivery": {"timestamp": "2025-11-24T10:00:02.000Z", "recipients": ["signer@example.com"]}}),
                Some(Receipt::Delivered),
            ),
            (
                json!({"eventType": "Open", "mail": mail(), "open": {"timestamp": "2025-11-24T10:05:00.000Z", "userAgent": "Mozilla", "ipAddress": "192.0.2.1"}}),
                Some(Receipt::Opened),
            ),
            (
                json!({"eventType": "Bounce", "mail": mail(), "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "bouncedRecipients": [{"emailAddress": "signer@example.com", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}], "timestamp": "2025-11-24T10:00:03.000Z"}}),
                Some(Receipt::Failed {
                    reason: "Permanent bounce (General): smtp; 550 5.1.1 user unknown".into(),
                    code: Some("5.1.1".into()),
                }),
            ),
            (
                json!({"eventType": "Bounce", "mail": mail(), "bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull", "bouncedRecipients": [], "timestamp": "2025-11-24T10:00:03.000Z"}}),
                Some(Receipt::Note {
                    kind: NoteKind::TransientBounce,
                    detail: "Transient bounce (MailboxFull)".into(),
                }),
            ),
            (
                json!({"eventType": "Complaint", "mail": mail(), "complaint": {"complaintFeedbackType": "abuse", "complainedRecipients": [], "timestamp": "2025-11-24T11:00:00.000Z"}}),
                Some(Receipt::Failed {
                    reason: "the recipient complained (abuse)".into(),
                    code: Some("complaint".into()),
                }),
            ),
            (
                json!({"eventType": "Reject", "mail": mail(), "reject": {"reason": "Bad content"}}),
                Some(Receipt::Failed {
                    reason: "SES rejected the message: Bad content".into(),
                    code: Some("reject".into()),
                }),
            ),
            (
                json!({"eventType": "Rendering Failure", "mail": mail(), "failure": {"errorMessage": "Attribute 'name' is not present", "templateName": "t"}}),
                Some(Receipt::Failed {
                    reason: "the message could not be rendered: Attribute 'name' is not present"
                        .into(),
                    code: Some("renderingFailure".into()),
                }),
            ),
            (
                json!({"eventType": "DeliveryDelay", "mail": mail(), "deliveryDelay": {"delayType": "MailboxFull", "timestamp": "2025-11-24T10:30:00.000Z"}}),
                Some(Receipt::Note {
                    kind: NoteKind::DeliveryDelay,
                    detail: "MailboxFull".into(),
                }),
            ),
            (
                json!({"eventType": "Send", "mail": mail(), "send": {}}),
                None,
            ),
        ];
        for (event, expected) in cases {
            let update = parse(&sns(event.clone())).expect("an SES event");
            assert_eq!(
                update.as_ref().map(|u| u.receipt.clone()),
                expected,
                "{event}"
            );
            if let Some(u) = update {
                assert_eq!(u.account_id.as_str(), "acme");
                assert_eq!(u.message_id.as_str(), "01JD6ZK5Q2V7X8Y9Z0A1B2C3D4");
            }
        }
    }

    #[test]
    fn raw_delivery_untagged_mail_and_garbage() {
        let raw = json!({"eventType": "Delivery", "mail": mail(), "delivery": {}}).to_string();
        assert!(parse(&raw).expect("ok").is_some());
        let mut untagged = mail();
        untagged["tags"] = json!({});
        let e = json!({"eventType": "Delivery", "mail": untagged});
        assert_eq!(parse(&sns(e)).expect("ok"), None);
        assert!(parse("not json").is_err());
        assert!(parse("{\"hello\": 1}").is_err());
    }
}
