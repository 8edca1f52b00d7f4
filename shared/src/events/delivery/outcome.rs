//! What one delivery attempt's result means for the delivery and the subscription, by the
//! reference's rules: failures the receiver may recover from are retried, failures caused by
//! misconfiguration are not.

use std::time::Duration;

/// How long Herald waits for a receiver's answer before the attempt counts as timed out.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// What came of one attempt to POST an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered with this HTTP status (redirects are not followed, so a 3xx is an
    /// answer like any other).
    Status(u16),
    /// No complete answer within [`ATTEMPT_TIMEOUT`].
    TimedOut,
    /// No answer at all: the name did not resolve, the connection was refused or reset, TLS
    /// failed.
    NetworkError,
    /// Herald would not connect: every address the host resolved to is refused by the URL policy
    /// (see [`crate::events::webhook::url::WebhookUrl::check_resolved`]).
    Blocked,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A 2xx: done.
    Delivered,
    /// 429, 5xx, a timeout or a network error: try again later (see [`crate::events::delivery::retry`]).
    Retry,
    /// Any other status: the receiver or the subscription is misconfigured, and trying again
    /// would get the same answer. Final.
    Fail,
    /// 410 Gone: the receiver says the endpoint is gone for good; the delivery fails and the
    /// subscription is disabled so that no further events are sent to it.
    DisableSubscription,
}

impl AttemptOutcome {
    pub fn verdict(self) -> Verdict {
        match self {
            Self::Status(200..=299) => Verdict::Delivered,
            Self::Status(410) => Verdict::DisableSubscription,
            // The reference retries 429 and 5xx only: not 408, not 409, not 425.
            Self::Status(429 | 500..=599) => Verdict::Retry,
            Self::Status(_) => Verdict::Fail,
            Self::TimedOut | Self::NetworkError => Verdict::Retry,
            // A name that resolves inside is a misconfiguration or an attack, not a hiccup.
            Self::Blocked => Verdict::Fail,
        }
    }
}

impl Verdict {
    /// Whether the delivery is settled, one way or the other.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Retry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> Verdict {
        AttemptOutcome::Status(code).verdict()
    }

    #[test]
    fn two_hundreds_are_delivered() {
        for code in [200, 201, 202, 204, 299] {
            assert_eq!(status(code), Verdict::Delivered, "{code}");
        }
    }

    #[test]
    fn gone_disables_the_subscription() {
        assert_eq!(status(410), Verdict::DisableSubscription);
        assert!(Verdict::DisableSubscription.is_final());
    }

    #[test]
    fn too_many_requests_server_errors_timeouts_and_network_errors_are_retried() {
        for code in [429, 500, 502, 503, 504, 599] {
            assert_eq!(status(code), Verdict::Retry, "{code}");
        }
        assert_eq!(AttemptOutcome::TimedOut.verdict(), Verdict::Retry);
        assert_eq!(AttemptOutcome::NetworkError.verdict(), Verdict::Retry);
        assert!(!Verdict::Retry.is_final());
    }

    #[test]
    fn other_statuses_fail_without_retry() {
        for code in [
            100, 199, 300, 301, 302, 304, 307, 308, 400, 401, 403, 404, 405, 408, 409, 413, 422,
            428, 430, 451, 600, 999, 0,
        ] {
            assert_eq!(status(code), Verdict::Fail, "{code}");
        }
        assert!(Verdict::Fail.is_final());
        assert!(Verdict::Delivered.is_final());
    }

    #[test]
    fn blocked_addresses_fail() {
        assert_eq!(AttemptOutcome::Blocked.verdict(), Verdict::Fail);
    }

    #[test]
    fn the_timeout_is_fifteen_seconds() {
        assert_eq!(ATTEMPT_TIMEOUT, Duration::from_secs(15));
    }
}
