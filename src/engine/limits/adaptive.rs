//! The concurrency of one tenant that finds its own level: additive increase while the
//! tenant answers as fast as it did and nothing is throttled, multiplicative decrease on a
//! throttle (AIMD, as TCP does for the same reason: a server tells its capacity only by
//! slowing down or refusing).
//!
//! Pure state on an explicit clock, so the rules are tested with simulated time and latency.

use std::time::{Duration, Instant};

use crate::backends::common::backoff::MAX_WAIT;

/// How much slower than the best seen the smoothed latency may be and still count as flat:
/// half again, plus a couple of milliseconds so that sub-millisecond local answers do not
/// read scheduler noise as a queue building up.
const FLAT_FACTOR: f64 = 1.5;
const FLAT_SLACK: Duration = Duration::from_millis(2);

/// Throttles closer together than this (a multiple of the smoothed latency) are one event:
/// the answers that were already in flight when the server began refusing all arrive within
/// about one latency, and halving for each would drop the limit to 1 for one overload.
const CUT_WINDOW_LATENCIES: u32 = 2;
const MIN_CUT_WINDOW: Duration = Duration::from_millis(20);

/// How fast the baseline follows a server that became slower for good: it closes the gap to
/// the smoothed latency over about this long (by time, not answers, so a fast tenant at a
/// high limit does not forget its baseline in a second).
const BASELINE_DRIFT: Duration = Duration::from_secs(60);

/// The kind of backend call an answer came from. Each kind has its own latency: a locate
/// that resolves a user and searches two folders takes longer than the move that follows it,
/// and a mix of the two would read as latency rising whenever the mix changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    List,
    Locate,
    Fetch,
    Act,
    PutBack,
    Scan,
}

impl CallKind {
    const COUNT: usize = 6;

    fn index(self) -> usize {
        self as usize
    }
}

/// The latency of one kind of call: smoothed, and the best smoothed value seen.
#[derive(Clone, Copy, Debug)]
struct Latency {
    /// Smoothed latency of recent answers.
    recent: Duration,
    /// The best smoothed latency seen, drifting up slowly so that a server that became
    /// slower for good is not held against its old self for ever.
    baseline: Duration,
}

/// The adaptive limit of one tenant.
#[derive(Clone, Debug)]
pub struct Controller {
    limit: usize,
    start: usize,
    ceiling: usize,
    latencies: [Option<Latency>; CallKind::COUNT],
    /// Answers since the limit last changed: the limit grows once per "round" of answers.
    since_change: usize,
    last_answer: Option<Instant>,
    /// Until when the server asked for quiet (its `Retry-After`): no growth before then.
    hold_until: Option<Instant>,
    last_cut: Option<Instant>,
    /// Once the server has throttled, growth slows from `start` per round to 1 per round:
    /// the level is known to be near.
    throttled_once: bool,
}

impl Controller {
    /// A limit starting at `start`, never above `ceiling` nor below 1.
    pub fn new(start: usize, ceiling: usize) -> Controller {
        let ceiling = ceiling.max(1);
        let start = start.clamp(1, ceiling);
        Controller {
            limit: start,
            start,
            ceiling,
            latencies: [None; CallKind::COUNT],
            since_change: 0,
            last_answer: None,
            hold_until: None,
            last_cut: None,
            throttled_once: false,
        }
    }

    /// How many items may be in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Until when the server asked to be left alone, if that is still ahead of `now`.
    pub fn held_until(&self, now: Instant) -> Option<Instant> {
        self.hold_until.filter(|t| *t > now)
    }

    /// An answer to a call of `kind` came back (not throttled) after `latency`.
    pub fn answered(&mut self, kind: CallKind, latency: Duration, now: Instant) {
        let since_last = self
            .last_answer
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        self.last_answer = Some(now);
        let track = match self.latencies[kind.index()] {
            Some(Latency { recent, baseline }) => {
                // An exponential average over about eight answers.
                let recent = recent.mul_f64(7.0 / 8.0) + latency.mul_f64(1.0 / 8.0);
                let baseline = if recent < baseline {
                    recent
                } else {
                    let share = (since_last.as_secs_f64() / BASELINE_DRIFT.as_secs_f64()).min(1.0);
                    baseline + (recent - baseline).mul_f64(share)
                };
                Latency { recent, baseline }
            }
            None => Latency {
                recent: latency,
                baseline: latency,
            },
        };
        self.latencies[kind.index()] = Some(track);
        let (recent, baseline) = (track.recent, track.baseline);
        if self.held_until(now).is_some() {
            return;
        }
        let flat = recent <= baseline.mul_f64(FLAT_FACTOR) + FLAT_SLACK;
        if !flat {
            self.since_change = 0;
            return;
        }
        self.since_change += 1;
        if self.since_change >= self.limit {
            self.since_change = 0;
            let step = if self.throttled_once { 1 } else { self.start };
            self.limit = (self.limit + step).min(self.ceiling);
        }
    }

    /// The server throttled (429, or 503 / busy with a `Retry-After`): halve the limit (once
    /// per overload) and grow no more until `retry_after` has passed.
    pub fn throttled(&mut self, retry_after: Option<Duration>, now: Instant) {
        self.throttled_once = true;
        if let Some(wait) = retry_after {
            let until = now + wait.min(MAX_WAIT);
            if self.hold_until.is_none_or(|t| t < until) {
                self.hold_until = Some(until);
            }
        }
        let slowest = self
            .latencies
            .iter()
            .flatten()
            .map(|l| l.recent)
            .max()
            .unwrap_or(MIN_CUT_WINDOW);
        let window = (slowest * CUT_WINDOW_LATENCIES).max(MIN_CUT_WINDOW);
        let same_overload = self
            .last_cut
            .is_some_and(|t| now.saturating_duration_since(t) < window);
        if !same_overload {
            self.limit = (self.limit / 2).max(1);
            self.last_cut = Some(now);
        }
        self.since_change = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LATENCY: Duration = Duration::from_millis(50);

    /// Feed `rounds` rounds of answers at `latency`, one latency apart per round.
    fn rounds(c: &mut Controller, now: &mut Instant, rounds: usize, latency: Duration) {
        for _ in 0..rounds {
            for _ in 0..c.limit() {
                c.answered(CallKind::Act, latency, *now);
            }
            *now += latency;
        }
    }

    #[test]
    fn grows_additively_while_latency_stays_flat_and_stops_at_the_ceiling() {
        let mut now = Instant::now();
        let mut c = Controller::new(16, 512);
        rounds(&mut c, &mut now, 1, LATENCY);
        assert_eq!(c.limit(), 32, "one round of flat answers adds the start");
        rounds(&mut c, &mut now, 1, LATENCY);
        assert_eq!(c.limit(), 48);
        rounds(&mut c, &mut now, 100, LATENCY);
        assert_eq!(c.limit(), 512);
    }

    /// A locate that takes twice as long as the move after it is no queue building up: each
    /// kind of call is held to its own latency, so alternating kinds still grow the limit.
    #[test]
    fn calls_of_different_kinds_at_steady_latencies_still_grow() {
        let mut now = Instant::now();
        let mut c = Controller::new(16, 512);
        for _ in 0..100 {
            for n in 0..c.limit() {
                let (kind, latency) = if n % 3 == 0 {
                    (CallKind::Locate, LATENCY * 2)
                } else {
                    (CallKind::Act, LATENCY)
                };
                c.answered(kind, latency, now);
            }
            now += LATENCY;
        }
        assert_eq!(c.limit(), 512);
    }

    #[test]
    fn does_not_grow_while_latency_rises() {
        let mut now = Instant::now();
        let mut c = Controller::new(16, 512);
        rounds(&mut c, &mut now, 2, LATENCY);
        let level = c.limit();
        // The server now queues: every answer takes four times as long.
        rounds(&mut c, &mut now, 20, LATENCY * 4);
        assert_eq!(c.limit(), level, "grew on rising latency");
    }

    #[test]
    fn halves_on_a_throttle_once_per_overload_and_never_below_one() {
        let mut now = Instant::now();
        let mut c = Controller::new(64, 512);
        rounds(&mut c, &mut now, 1, LATENCY);
        assert_eq!(c.limit(), 128);
        // A burst of 429s from one overload: one cut.
        for _ in 0..30 {
            c.throttled(None, now);
        }
        assert_eq!(c.limit(), 64);
        for _ in 0..20 {
            now += Duration::from_secs(1);
            c.throttled(None, now);
        }
        assert_eq!(c.limit(), 1);
    }

    #[test]
    fn waits_out_retry_after_before_growing_then_grows_by_one() {
        let mut now = Instant::now();
        let mut c = Controller::new(16, 512);
        c.throttled(Some(Duration::from_secs(2)), now);
        assert_eq!(c.limit(), 8);
        assert_eq!(c.held_until(now), Some(now + Duration::from_secs(2)));
        // Answers during the hold (requests that were already in flight) do not grow it.
        rounds(&mut c, &mut now, 10, LATENCY);
        assert_eq!(c.limit(), 8);
        now += Duration::from_secs(2);
        assert_eq!(c.held_until(now), None);
        rounds(&mut c, &mut now, 1, LATENCY);
        assert_eq!(c.limit(), 9, "after a throttle, growth is one per round");
        // A shorter later Retry-After does not shorten a longer hold.
        c.throttled(Some(Duration::from_secs(30)), now);
        c.throttled(Some(Duration::from_secs(1)), now);
        assert_eq!(c.held_until(now), Some(now + Duration::from_secs(30)));
        // An absurd Retry-After is bounded.
        c.throttled(Some(Duration::MAX), now);
        assert!(c.held_until(now).is_some_and(|t| t <= now + MAX_WAIT));
    }

    #[test]
    fn start_and_ceiling_are_kept_in_range() {
        assert_eq!(Controller::new(0, 0).limit(), 1);
        assert_eq!(Controller::new(900, 512).limit(), 512);
        let mut now = Instant::now();
        let mut c = Controller::new(1, 3);
        rounds(&mut c, &mut now, 50, LATENCY);
        assert_eq!(c.limit(), 3);
    }
}
