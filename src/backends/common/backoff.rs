//! The one back-off rule of the program, for the engine's requeues and for a backend's own
//! retries alike: exponential with jitter, never sooner than the server asks, never longer
//! than [`MAX_WAIT`].
//!
//! It lives under `backends/common` because the engine may import backends but backends may
//! not import the engine (DESIGN.md): here both can reach it.

use std::time::Duration;

/// The longest any single wait lasts, a server's `Retry-After` included: a server's number
/// must not overflow the clock or park an item or a mailbox for years.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// The longest the exponential part grows to (the hint may ask for more, up to [`MAX_WAIT`]).
const MAX_EXPONENTIAL: Duration = Duration::from_secs(60);

/// The delay before attempt `attempt + 1` (attempts count from 1): `base_ms` doubled per
/// attempt up to a minute, a random point in its upper half, or the server's `hint` when that
/// is longer (capped at [`MAX_WAIT`]).
pub fn backoff(base_ms: u64, attempt: u32, hint: Option<Duration>) -> Duration {
    let exponential = base_ms
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(16))
        .min(MAX_EXPONENTIAL.as_millis() as u64);
    // Jitter over the upper half, so workers that failed together retry apart.
    let jitter = rand::random::<f64>();
    let delay = Duration::from_millis(exponential / 2 + (exponential as f64 / 2.0 * jitter) as u64);
    match hint {
        Some(hint) if hint > delay => hint.min(MAX_WAIT),
        _ => delay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_per_attempt_within_the_upper_half() {
        for attempt in 1..=8 {
            let full = 200u64 << (attempt - 1);
            for _ in 0..200 {
                let d = backoff(200, attempt, None).as_millis() as u64;
                assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d} ms");
            }
        }
    }

    #[test]
    fn jitter_spreads_attempts_that_failed_together() {
        let delays: std::collections::HashSet<Duration> =
            (0..50).map(|_| backoff(1000, 3, None)).collect();
        assert!(delays.len() > 10, "{} distinct delays", delays.len());
    }

    #[test]
    fn never_over_a_minute_without_a_hint_and_no_overflow() {
        for attempt in [17, 40, u32::MAX] {
            let d = backoff(600_000, attempt, None);
            assert!(d <= MAX_EXPONENTIAL && d >= MAX_EXPONENTIAL / 2, "{d:?}");
        }
        assert!(backoff(u64::MAX, u32::MAX, None) <= MAX_EXPONENTIAL);
    }

    #[test]
    fn a_longer_hint_is_obeyed_up_to_the_bound() {
        assert_eq!(
            backoff(200, 1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        // A hint shorter than the back-off does not shorten it.
        assert!(backoff(200, 5, Some(Duration::from_millis(1))) >= Duration::from_millis(1600));
        assert_eq!(
            backoff(200, 1, Some(Duration::from_secs(86_400 * 365))),
            MAX_WAIT
        );
        assert_eq!(backoff(200, 1, Some(Duration::MAX)), MAX_WAIT);
    }
}
