//! Back-off between attempts: exponential with jitter, never sooner than the provider asks.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The delay before attempt `attempt + 1` (attempts count from 1).
pub fn backoff(base_ms: u64, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let exp = base_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(16));
    let capped = exp.min(60_000);
    // Full jitter over the upper half, so workers that failed together retry apart.
    let jitter = jitter_fraction();
    let delay = Duration::from_millis(capped / 2 + (capped as f64 / 2.0 * jitter) as u64);
    // A provider hint is obeyed, but an absurd one (days) must not park the item forever.
    match retry_after {
        Some(hint) if hint > delay => hint.min(Duration::from_secs(3600)),
        _ => delay,
    }
}

/// A cheap pseudo-random fraction in [0, 1): retry timing needs spread, not cryptography.
fn jitter_fraction() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed = (u64::from(nanos) ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_honours_retry_after() {
        let first = backoff(200, 1, None);
        assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(200));
        let fifth = backoff(200, 5, None);
        assert!(fifth >= Duration::from_millis(1600), "{fifth:?}");
        assert_eq!(
            backoff(200, 1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert!(backoff(200, 40, None) <= Duration::from_secs(60));
    }
}
