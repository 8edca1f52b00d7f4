//! When a delivery that may be retried (see [`crate::events::delivery::outcome::Verdict::Retry`]) is tried again.
//!
//! The reference: "the time between each delivery attempt starts at approximately one second and
//! rapidly increases towards 24 hours, for up to five days"; no attempt after the event's
//! `expiresAt`; a `Retry-After` delays the next attempt at least as long as it says.
//!
//! The waits after the 1st, 2nd, ... failed attempt are [`SCHEDULE`]: 1 s, 5 s, 30 s, 2 min,
//! 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 16 h, then 24 h for every later one. Each is stretched or
//! shrunk by up to [`JITTER`] (±20 %) at random, so that the deliveries failing together during a
//! receiver's outage do not all come back at the same instant. The first eleven waits add up to
//! about 31.7 hours; the 24-hour waits then fill the rest of the five days: about fifteen
//! attempts in all when every one fails.

use rand::Rng;
use time::{Duration, OffsetDateTime};

use crate::events::delivery::retry_after::RetryAfter;

/// The waits after the 1st, 2nd, ... failed attempt; the last one repeats.
pub const SCHEDULE: [Duration; 12] = [
    Duration::seconds(1),
    Duration::seconds(5),
    Duration::seconds(30),
    Duration::minutes(2),
    Duration::minutes(10),
    Duration::minutes(30),
    Duration::hours(1),
    Duration::hours(2),
    Duration::hours(4),
    Duration::hours(8),
    Duration::hours(16),
    Duration::hours(24),
];

/// Each wait varies at random by up to this fraction either way.
pub const JITTER: f64 = 0.2;

/// No attempt is made more than five days after the first.
pub const MAX_RETRY_WINDOW: Duration = Duration::days(5);

/// The wait after the `failed_attempts`-th failed attempt, before jitter. Counting starts at 1;
/// 0 is read as 1.
pub fn base_delay(failed_attempts: u32) -> Duration {
    let index = usize::try_from(failed_attempts.saturating_sub(1)).unwrap_or(usize::MAX);
    SCHEDULE
        .get(index)
        .or(SCHEDULE.last())
        .copied()
        .unwrap_or(Duration::DAY)
}

/// `base` with jitter: `unit` (drawn uniformly from `[0, 1)`) picks a point between
/// `base × (1 − JITTER)` and `base × (1 + JITTER)`. Values outside `[0, 1]` are clamped.
/// Millisecond precision.
pub fn jittered(base: Duration, unit: f64) -> Duration {
    let unit = if unit.is_nan() {
        0.5
    } else {
        unit.clamp(0.0, 1.0)
    };
    let factor = 1.0 - JITTER + 2.0 * JITTER * unit;
    // At most a day and a fifth in milliseconds: far inside f64's exact integers and i64.
    Duration::milliseconds((base.whole_milliseconds() as f64 * factor).round() as i64)
}

/// Where a delivery stands after an attempt that may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryState {
    /// When the first attempt was made: the five-day window counts from it.
    pub first_attempt_at: OffsetDateTime,
    /// How many attempts have failed so far, the one just made included.
    pub failed_attempts: u32,
    /// The event's `expiresAt`.
    pub expires_at: OffsetDateTime,
}

impl RetryState {
    /// The last instant an attempt may be made: five days after the first attempt, or the
    /// event's expiry if that is sooner.
    pub fn give_up_at(&self) -> OffsetDateTime {
        self.first_attempt_at
            .checked_add(MAX_RETRY_WINDOW)
            .unwrap_or(self.first_attempt_at)
            .min(self.expires_at)
    }
}

/// When to make the next attempt, for an attempt that failed at `now` in a way that may be
/// retried; `None` to give up.
///
/// The wait is [`base_delay`] with jitter drawn from `rng`, lengthened to what the receiver's
/// `Retry-After` asks for, if it asks for more. Past the give-up time ([`RetryState::give_up_at`]):
///
/// - a wait from the schedule is cut short so that one last attempt is made right at the
///   give-up time: an event that expires in 30 seconds still gets its attempt at the 30th
///   second rather than none after the 6th;
/// - a `Retry-After` is not: the receiver said not before then, and then is too late, so Herald
///   gives up at once.
///
/// Nothing is scheduled once the give-up time has come.
pub fn next_attempt_at<R: Rng + ?Sized>(
    state: &RetryState,
    now: OffsetDateTime,
    retry_after: Option<RetryAfter>,
    rng: &mut R,
) -> Option<OffsetDateTime> {
    let give_up_at = state.give_up_at();
    if now >= give_up_at {
        return None;
    }
    let wait = jittered(base_delay(state.failed_attempts), rng.random::<f64>());
    let scheduled = now.checked_add(wait).unwrap_or(give_up_at);
    let at = match retry_after.map(|r| r.not_before(now)) {
        Some(asked) if asked > give_up_at => return None,
        Some(asked) => scheduled.max(asked),
        None => scheduled,
    };
    Some(at.min(give_up_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngCore, SeedableRng};
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2024-05-01 12:00 UTC);

    /// An RNG whose every draw is the same: `random::<f64>()` yields 0 for `Fixed(0)` and just
    /// under 1 for `Fixed(u64::MAX)`.
    struct Fixed(u64);

    impl RngCore for Fixed {
        fn next_u32(&mut self) -> u32 {
            (self.0 >> 32) as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            rand::rand_core::impls::fill_bytes_via_next(self, dst);
        }
    }

    /// Draws the middle of the jitter range: no jitter.
    fn middle() -> Fixed {
        Fixed(1 << 63)
    }

    fn state(failed_attempts: u32) -> RetryState {
        RetryState {
            first_attempt_at: T0,
            failed_attempts,
            expires_at: T0 + Duration::days(30),
        }
    }

    #[test]
    fn the_schedule_starts_at_a_second_and_grows_to_a_day() {
        let secs: Vec<i64> = (1..=14).map(|n| base_delay(n).whole_seconds()).collect();
        assert_eq!(
            secs,
            [
                1, 5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 57600, 86400, 86400, 86400
            ]
        );
        assert_eq!(base_delay(0), base_delay(1));
        assert_eq!(base_delay(u32::MAX), Duration::DAY);
        assert!(SCHEDULE.windows(2).all(|w| w[0] < w[1]), "strictly growing");
    }

    #[test]
    fn jitter_is_at_most_a_fifth_either_way() {
        let base = Duration::minutes(10);
        assert_eq!(jittered(base, 0.0), Duration::minutes(8));
        assert_eq!(jittered(base, 0.5), base);
        assert_eq!(jittered(base, 1.0), Duration::minutes(12));
        assert_eq!(jittered(base, -3.0), Duration::minutes(8));
        assert_eq!(jittered(base, 7.0), Duration::minutes(12));
        assert_eq!(jittered(base, f64::NAN), base);
        assert_eq!(
            jittered(Duration::seconds(1), 0.25),
            Duration::milliseconds(900)
        );
    }

    #[test]
    fn draws_jitter_from_the_given_rng() {
        let low = next_attempt_at(&state(5), T0, None, &mut Fixed(0));
        assert_eq!(low, Some(T0 + Duration::minutes(8)));
        let high = next_attempt_at(&state(5), T0, None, &mut Fixed(u64::MAX));
        assert_eq!(high, Some(T0 + Duration::minutes(12)));
        let none = next_attempt_at(&state(5), T0, None, &mut middle());
        assert_eq!(none, Some(T0 + Duration::minutes(10)));
    }

    #[test]
    fn random_jitter_stays_in_bounds_and_spreads() {
        let mut rng = StdRng::seed_from_u64(42);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            let at = next_attempt_at(&state(12), T0, None, &mut rng).expect("an attempt");
            let wait = at - T0;
            assert!(wait >= Duration::hours(24) * 0.8, "{wait}");
            assert!(wait <= Duration::hours(24) * 1.2, "{wait}");
            seen.insert(wait.whole_minutes());
        }
        assert!(seen.len() > 100, "jitter spreads attempts: {}", seen.len());
    }

    #[test]
    fn a_delivery_failing_every_time_is_tried_for_five_days() {
        let mut now = T0;
        let mut attempts = 1;
        let mut rng = middle();
        while let Some(next) = next_attempt_at(&state(attempts), now, None, &mut rng) {
            assert!(next > now);
            assert!(next <= T0 + MAX_RETRY_WINDOW);
            now = next;
            attempts += 1;
        }
        // 11 growing waits (31.7 h), three 24 h waits, then the last attempt at the fifth day.
        assert_eq!(attempts, 16);
        assert_eq!(now, T0 + MAX_RETRY_WINDOW);
    }

    #[test]
    fn never_after_the_event_expires() {
        // The reference's sample event expires 30 seconds after it was created.
        let s = |failed| RetryState {
            first_attempt_at: T0,
            failed_attempts: failed,
            expires_at: T0 + Duration::seconds(30),
        };
        let mut rng = middle();
        let a2 = next_attempt_at(&s(1), T0, None, &mut rng).expect("retry");
        assert_eq!(a2, T0 + Duration::seconds(1));
        let a3 = next_attempt_at(&s(2), a2, None, &mut rng).expect("retry");
        assert_eq!(a3, T0 + Duration::seconds(6));
        // 30 s from the 6th second overshoots: one last attempt at the expiry instead.
        let a4 = next_attempt_at(&s(3), a3, None, &mut rng).expect("last retry");
        assert_eq!(a4, T0 + Duration::seconds(30));
        assert_eq!(next_attempt_at(&s(4), a4, None, &mut rng), None);
        assert_eq!(
            next_attempt_at(&s(4), a4 + Duration::seconds(15), None, &mut rng),
            None,
            "the last attempt timed out after the expiry"
        );
    }

    #[test]
    fn give_up_at_is_the_sooner_of_five_days_and_the_expiry() {
        assert_eq!(state(1).give_up_at(), T0 + Duration::days(5));
        let soon = RetryState {
            expires_at: T0 + Duration::hours(1),
            ..state(1)
        };
        assert_eq!(soon.give_up_at(), T0 + Duration::hours(1));
    }

    #[test]
    fn retry_after_delays_the_next_attempt() {
        let mut rng = middle();
        // Longer than the schedule's 1 s: Retry-After wins.
        let at = next_attempt_at(&state(1), T0, Some(RetryAfter::Seconds(120)), &mut rng);
        assert_eq!(at, Some(T0 + Duration::minutes(2)));
        // Shorter than the schedule's 4 h: the schedule wins (no sooner than either).
        let at = next_attempt_at(&state(9), T0, Some(RetryAfter::Seconds(60)), &mut rng);
        assert_eq!(at, Some(T0 + Duration::hours(4)));
        // A date.
        let date = RetryAfter::At(T0 + Duration::hours(3));
        let at = next_attempt_at(&state(2), T0, Some(date), &mut rng);
        assert_eq!(at, Some(T0 + Duration::hours(3)));
        // A date in the past: the schedule alone.
        let past = RetryAfter::At(T0 - Duration::hours(3));
        let at = next_attempt_at(&state(2), T0, Some(past), &mut rng);
        assert_eq!(at, Some(T0 + Duration::seconds(5)));
    }

    #[test]
    fn retry_after_beyond_the_give_up_time_means_give_up() {
        let mut rng = middle();
        let six_days = RetryAfter::Seconds(6 * 24 * 3600);
        assert_eq!(
            next_attempt_at(&state(1), T0, Some(six_days), &mut rng),
            None
        );
        let expiring = RetryState {
            expires_at: T0 + Duration::minutes(5),
            ..state(1)
        };
        assert_eq!(
            next_attempt_at(&expiring, T0, Some(RetryAfter::Seconds(301)), &mut rng),
            None
        );
        assert_eq!(
            next_attempt_at(&expiring, T0, Some(RetryAfter::Seconds(300)), &mut rng),
            Some(T0 + Duration::minutes(5)),
            "exactly at the expiry is still allowed"
        );
    }

    #[test]
    fn the_window_counts_from_the_first_attempt() {
        let mut rng = middle();
        let late = T0 + Duration::days(5) - Duration::hours(1);
        assert_eq!(
            next_attempt_at(&state(13), late, None, &mut rng),
            Some(T0 + Duration::days(5))
        );
        assert_eq!(
            next_attempt_at(&state(14), T0 + Duration::days(5), None, &mut rng),
            None
        );
    }
}
