//! What an account reports about a message its own provider took
//! (`POST /accounts/{accountId}/messages/{messageId}/receipts`): the account is the provider
//! here, authenticated by its bearer token, and its report moves the message log under the
//! rules of every receipt (forward only; one that changes nothing is kept, `applied: false`).

use time::OffsetDateTime;

use crate::common::validation::FieldErrors;
use crate::messaging::message::{Channel, NoteKind, Receipt};

/// What the account says became of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportedStatus {
    /// Its provider took it: settles a send whose answer never came, else changes nothing.
    Sent,
    Delivered,
    /// Emails only.
    Opened,
    Failed,
}

impl ReportedStatus {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "sent" => Ok(Self::Sent),
            "delivered" => Ok(Self::Delivered),
            "opened" => Ok(Self::Opened),
            "failed" => Ok(Self::Failed),
            other => Err(format!(
                "must be sent, delivered, opened or failed, not {other:?}"
            )),
        }
    }

    /// Whether a message of `channel` can reach it (an SMS is never opened).
    pub fn fits(self, channel: Channel) -> bool {
        self != Self::Opened || channel == Channel::Email
    }
}

/// Free text of a report (why it failed, the provider's code): 1 to `max` characters, not
/// blank, no control characters.
fn text(s: &str, max: usize) -> Result<String, String> {
    let len = s.chars().count();
    if s.trim().is_empty() {
        Err("must not be blank".into())
    } else if len > max {
        Err(format!("must be at most {max} characters (it has {len})"))
    } else if s.chars().any(char::is_control) {
        Err("must not contain control characters or line breaks".into())
    } else {
        Ok(s.to_owned())
    }
}

/// Why a message failed, as the account's provider puts it.
pub fn reason(s: &str) -> Result<String, String> {
    text(s, Report::MAX_REASON)
}

/// The provider's code for a failure.
pub fn code(s: &str) -> Result<String, String> {
    text(s, Report::MAX_CODE)
}

/// How far ahead of Herald's clock a report's time may be: clocks apart, not the future.
pub const CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

/// One report, its fields consistent with each other: a failure says why, and only a failure
/// carries a reason or a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    status: ReportedStatus,
    reason: Option<String>,
    code: Option<String>,
    at: Option<OffsetDateTime>,
}

impl Report {
    pub const MAX_REASON: usize = 500;
    pub const MAX_CODE: usize = 64;

    /// Checks the rules between the fields at `now`; errors name the fields as the API spells
    /// them.
    pub fn new(
        status: ReportedStatus,
        reason: Option<String>,
        code: Option<String>,
        at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let failed = status == ReportedStatus::Failed;
        if failed && reason.is_none() {
            errors.push("reason", "is required when the status is failed");
        }
        if !failed && reason.is_some() {
            errors.push("reason", "is taken only with the status failed");
        }
        if !failed && code.is_some() {
            errors.push("code", "is taken only with the status failed");
        }
        if at.is_some_and(|at| at > now + CLOCK_SKEW) {
            errors.push("at", "must not be in the future");
        }
        errors.into_result(Self {
            status,
            reason,
            code,
            at,
        })
    }

    pub fn status(&self) -> ReportedStatus {
        self.status
    }

    /// When the account says it happened.
    pub fn at(&self) -> Option<OffsetDateTime> {
        self.at
    }

    /// The receipt the message log keeps.
    pub fn receipt(&self) -> Receipt {
        match self.status {
            ReportedStatus::Sent => Receipt::Note {
                kind: NoteKind::ProviderStatus,
                detail: "sent".into(),
            },
            ReportedStatus::Delivered => Receipt::Delivered,
            ReportedStatus::Opened => Receipt::Opened,
            ReportedStatus::Failed => Receipt::Failed {
                reason: self.reason.clone().unwrap_or_default(),
                code: self.code.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2030-01-01 12:00:00 UTC);

    fn fields(result: Result<Report, FieldErrors>) -> Vec<String> {
        result
            .expect_err("refused")
            .iter()
            .map(|e| e.field.clone())
            .collect()
    }

    #[test]
    fn statuses_and_the_receipts_they_make() {
        let report = |status| Report::new(status, None, None, None, NOW).expect("valid");
        assert_eq!(
            report(ReportedStatus::Delivered).receipt(),
            Receipt::Delivered
        );
        assert_eq!(report(ReportedStatus::Opened).receipt(), Receipt::Opened);
        assert!(matches!(
            report(ReportedStatus::Sent).receipt(),
            Receipt::Note {
                kind: NoteKind::ProviderStatus,
                ..
            }
        ));
        let failed = Report::new(
            ReportedStatus::Failed,
            Some("unknown subscriber".into()),
            Some("E42".into()),
            Some(NOW),
            NOW,
        )
        .expect("valid");
        assert_eq!(
            failed.receipt(),
            Receipt::Failed {
                reason: "unknown subscriber".into(),
                code: Some("E42".into())
            }
        );
        assert_eq!(failed.at(), Some(NOW));
        assert!(ReportedStatus::parse("bounced").is_err());
        assert!(ReportedStatus::parse("Delivered").is_err());
        assert!(!ReportedStatus::Opened.fits(Channel::Sms));
        assert!(ReportedStatus::Opened.fits(Channel::Email));
        assert!(ReportedStatus::Delivered.fits(Channel::Sms));
    }

    #[test]
    fn a_failure_says_why_and_only_a_failure_does() {
        assert_eq!(
            fields(Report::new(ReportedStatus::Failed, None, None, None, NOW)),
            ["reason"]
        );
        assert_eq!(
            fields(Report::new(
                ReportedStatus::Delivered,
                Some("why".into()),
                Some("E1".into()),
                Some(NOW + time::Duration::hours(1)),
                NOW
            )),
            ["reason", "code", "at"]
        );
        // Clocks a little apart are fine.
        assert!(
            Report::new(
                ReportedStatus::Delivered,
                None,
                None,
                Some(NOW + time::Duration::minutes(4)),
                NOW
            )
            .is_ok()
        );
    }

    #[test]
    fn reasons_and_codes_are_bounded_one_line_texts() {
        assert!(reason("mailbox full").is_ok());
        assert!(reason(" ").is_err());
        assert!(reason("a\nb").is_err());
        assert!(reason(&"r".repeat(Report::MAX_REASON + 1)).is_err());
        assert!(code("550").is_ok());
        assert!(code(&"c".repeat(Report::MAX_CODE + 1)).is_err());
    }
}
