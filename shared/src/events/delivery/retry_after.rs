//! The `Retry-After` response header (RFC 9110, section 10.2.3): how long a receiver asks Herald
//! to wait before the next attempt.

use time::OffsetDateTime;

/// A `Retry-After` value: a number of seconds from when the response was received, or a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: 120`.
    Seconds(u64),
    /// `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`.
    At(OffsetDateTime),
}

impl RetryAfter {
    /// Anything longer is as good as forever: Herald gives up on a delivery after five days.
    /// Capping keeps the arithmetic on dates from overflowing.
    const MAX_SECONDS: u64 = 10 * 365 * 24 * 3600;

    /// Reads the header's value. Both forms of RFC 9110 are understood: delta-seconds (digits
    /// only) and an HTTP-date in any of its three formats (IMF-fixdate, and the obsolete RFC 850
    /// and asctime ones). Anything else is `None`, and ignored: a receiver's malformed header
    /// should not stop its deliveries.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if value.is_empty() {
            return None;
        }
        if value.bytes().all(|b| b.is_ascii_digit()) {
            // Too many digits to count is still a (very long) number of seconds.
            let secs = value.parse::<u64>().unwrap_or(u64::MAX);
            return Some(Self::Seconds(secs.min(Self::MAX_SECONDS)));
        }
        httpdate::parse_http_date(value)
            .ok()
            .map(|t| Self::At(OffsetDateTime::from(t)))
    }

    /// The earliest time the next attempt may be made, for a response received at
    /// `received_at`. A date in the past allows an attempt at once.
    pub fn not_before(self, received_at: OffsetDateTime) -> OffsetDateTime {
        match self {
            Self::Seconds(secs) => {
                let secs = i64::try_from(secs.min(Self::MAX_SECONDS)).unwrap_or(i64::MAX);
                received_at
                    .checked_add(time::Duration::seconds(secs))
                    .unwrap_or(received_at)
            }
            Self::At(at) => at.max(received_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2024-05-01 12:00 UTC);

    #[test]
    fn delta_seconds() {
        assert_eq!(RetryAfter::parse("120"), Some(RetryAfter::Seconds(120)));
        assert_eq!(RetryAfter::parse(" 0 "), Some(RetryAfter::Seconds(0)));
        assert_eq!(
            RetryAfter::parse("120").map(|r| r.not_before(NOW)),
            Some(datetime!(2024-05-01 12:02 UTC))
        );
        assert_eq!(RetryAfter::parse("0").map(|r| r.not_before(NOW)), Some(NOW));
    }

    #[test]
    fn huge_delays_are_capped_not_overflowed() {
        let huge = RetryAfter::parse("99999999999999999999999999").expect("seconds");
        let at = huge.not_before(NOW);
        assert!(at > NOW + time::Duration::days(365 * 9), "{at}");
        let max = RetryAfter::Seconds(u64::MAX).not_before(NOW);
        assert_eq!(max, at);
    }

    #[test]
    fn http_dates_in_all_three_formats() {
        for value in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                RetryAfter::parse(value),
                Some(RetryAfter::At(datetime!(1994-11-06 08:49:37 UTC))),
                "{value}"
            );
        }
        let later = RetryAfter::parse("Wed, 01 May 2024 13:30:00 GMT").expect("date");
        assert_eq!(later.not_before(NOW), datetime!(2024-05-01 13:30 UTC));
    }

    #[test]
    fn past_dates_allow_an_attempt_at_once() {
        let past = RetryAfter::parse("Sun, 06 Nov 1994 08:49:37 GMT").expect("date");
        assert_eq!(past.not_before(NOW), NOW);
    }

    #[test]
    fn malformed_values_are_ignored() {
        for bad in [
            "",
            "  ",
            "-5",
            "1.5",
            "+10",
            "10s",
            "soon",
            "2024-05-01T13:30:00Z",
            "Wed, 32 May 2024 13:30:00 GMT",
        ] {
            assert_eq!(RetryAfter::parse(bad), None, "{bad:?}");
        }
    }
}
