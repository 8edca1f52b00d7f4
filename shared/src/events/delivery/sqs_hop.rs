//! Waiting longer than SQS can. A delivery's next attempt is scheduled by sending its job back to
//! the deliveries queue with a delay, but SQS delays a message by at most 15 minutes. A longer
//! wait is cut into hops: the job is delayed 15 minutes, and when it comes back with time still
//! to wait it is sent on again, until the wait is used up.

use std::time::Duration;

use time::OffsetDateTime;

/// The longest delay SQS puts on a message (`DelaySeconds`).
pub const MAX_SQS_DELAY_SECS: i32 = 900;

/// The next hop of a wait of `remaining`: the `DelaySeconds` to send the job with, and what is
/// left to wait when it comes back. Delays are whole seconds rounded up, so that an attempt is
/// never made before its time (a `Retry-After` must be honoured): 1.2 s is a 2-second hop.
pub fn next_hop(remaining: Duration) -> (i32, Duration) {
    let max = Duration::from_secs(MAX_SQS_DELAY_SECS.unsigned_abs().into());
    if remaining > max {
        return (MAX_SQS_DELAY_SECS, remaining - max);
    }
    let whole = remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0);
    // At most 900 here.
    let secs = i32::try_from(whole).unwrap_or(MAX_SQS_DELAY_SECS);
    (secs, Duration::ZERO)
}

/// How long is left from `now` until `not_before`: zero when that time has come.
///
/// SQS makes a message visible at the earliest when its delay ends, and possibly later; a job
/// that carries the absolute time of its next attempt and recomputes the wait with this each
/// time it comes back never drifts, where one that carries the remainder of [`next_hop`] adds
/// the queue's lateness at every hop.
pub fn remaining_until(not_before: OffsetDateTime, now: OffsetDateTime) -> Duration {
    Duration::try_from(not_before - now).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn short_waits_are_one_hop() {
        assert_eq!(next_hop(Duration::ZERO), (0, Duration::ZERO));
        assert_eq!(next_hop(secs(1)), (1, Duration::ZERO));
        assert_eq!(next_hop(secs(899)), (899, Duration::ZERO));
        assert_eq!(next_hop(secs(900)), (900, Duration::ZERO));
    }

    #[test]
    fn fractions_round_up() {
        assert_eq!(next_hop(Duration::from_millis(1)), (1, Duration::ZERO));
        assert_eq!(next_hop(Duration::from_millis(1200)), (2, Duration::ZERO));
        assert_eq!(
            next_hop(Duration::from_millis(899_001)),
            (900, Duration::ZERO)
        );
    }

    #[test]
    fn long_waits_carry_the_rest() {
        assert_eq!(next_hop(secs(901)), (900, secs(1)));
        assert_eq!(
            next_hop(Duration::from_millis(900_500)),
            (900, Duration::from_millis(500))
        );
        assert_eq!(next_hop(secs(86_400)), (900, secs(85_500)));
    }

    #[test]
    fn a_day_is_ninety_six_hops() {
        let mut remaining = secs(86_400);
        let mut hops = 0;
        let mut total = 0i64;
        loop {
            let (delay, rest) = next_hop(remaining);
            assert!((0..=MAX_SQS_DELAY_SECS).contains(&delay));
            total += i64::from(delay);
            hops += 1;
            if rest.is_zero() {
                break;
            }
            remaining = rest;
        }
        assert_eq!(hops, 96);
        assert_eq!(total, 86_400);
    }

    #[test]
    fn remaining_until_a_time() {
        let now = datetime!(2024-05-01 12:00 UTC);
        assert_eq!(
            remaining_until(datetime!(2024-05-01 12:20:00.5 UTC), now),
            Duration::from_millis(1_200_500)
        );
        assert_eq!(remaining_until(now, now), Duration::ZERO);
        assert_eq!(
            remaining_until(datetime!(2024-05-01 11:00 UTC), now),
            Duration::ZERO
        );
    }
}
