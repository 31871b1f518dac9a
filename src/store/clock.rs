//! The one clock stored times come from.
//!
//! Every time the store writes (a job's creation, a claim, a heartbeat, an audit record, a
//! retry's due time) is read from the [`Clock`] the store owns, never from a caller's clock or
//! the database's `datetime('now')`, so no column mixes two clocks. Callers pass durations
//! ("retry in 300 ms", "a lease of 10 s"), and the store turns them into stored times.
//!
//! Team mode (several hosts, one database) will take times from the database server instead:
//! that store's `Clock` answers `SELECT now()`, and nothing else changes.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeZone, Utc};

/// Where the store's times come from.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// This host's clock: the SQLite store's, since the database is a file on this host.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told: for tests of lease expiry and retry times, which would
/// otherwise sleep through the lease.
#[derive(Debug)]
pub struct ManualClock {
    micros: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            micros: AtomicI64::new(start.timestamp_micros()),
        }
    }

    /// Move the clock forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.micros.fetch_add(micros, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_micros(self.micros.load(Ordering::SeqCst))
            .single()
            .unwrap_or_default()
    }
}

/// The moment of one write, read once from the clock so that every time one transaction
/// stores is the same, and the key it signs with (the service's, when this process is the
/// service; `None` in embedded mode, where roles are advisory).
#[derive(Clone, Copy, Debug)]
pub(super) struct Now<'k>(pub DateTime<Utc>, pub Option<&'k crate::trust::ServiceKey>);

impl Now<'_> {
    /// Unix milliseconds, as job, item, worker and evidence times are stored.
    pub fn millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    /// RFC 3339 with microseconds, as audit times are stored (and hashed).
    pub fn audit_text(self) -> String {
        self.0.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    }

    /// Unix milliseconds `after` from now, saturating.
    pub fn millis_after(self, after: std::time::Duration) -> i64 {
        self.millis()
            .saturating_add(i64::try_from(after.as_millis()).unwrap_or(i64::MAX))
    }
}
