//! The loop every alert poller runs: ask for the next window, catch up without pausing while
//! behind, wait `interval` once level with now, and back off on throttling or failure with
//! the program's one back-off rule (a server's `Retry-After` obeyed).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use super::stop_or_sleep;
use crate::backends::common::backoff::backoff;
use crate::model::AlertSink;

/// Why a poll got no window done.
#[derive(Debug)]
pub enum PollError {
    /// The source said "too many requests" (429), with its wait when it gave one.
    Throttled(Option<Duration>),
    /// Anything else: unreachable, refused, an answer that is not what the API documents,
    /// or the sink failing. The window is asked again later; the cursor did not move.
    Failed(String),
}

impl std::fmt::Display for PollError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PollError::Throttled(Some(wait)) => write!(f, "throttled; asked to wait {wait:?}"),
            PollError::Throttled(None) => f.write_str("throttled"),
            PollError::Failed(why) => f.write_str(why),
        }
    }
}

/// What one poll did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Alerts handed to the sink.
    pub alerts: usize,
    /// The window ended at now: wait `interval` before the next.
    pub caught_up: bool,
}

/// Where a poller's next window starts: the end of the last window the source answered (its
/// stored cursor), or `lookback` before `now` on the first poll. `source` names the poller in
/// the error when the stored cursor is not a time.
pub fn window_start(
    store: &crate::store::Store,
    cursor_key: &str,
    source: &str,
    now: chrono::DateTime<chrono::Utc>,
    lookback: Duration,
) -> Result<chrono::DateTime<chrono::Utc>, PollError> {
    let stored = store
        .poller_cursor(cursor_key)
        .map_err(|e| PollError::Failed(e.to_string()))?;
    match stored {
        Some(cursor) => chrono::DateTime::parse_from_rfc3339(&cursor)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|_| {
                PollError::Failed(format!(
                    "the stored {source} cursor {cursor:?} is not a time"
                ))
            }),
        None => Ok(now - chrono::Duration::from_std(lookback).unwrap_or_default()),
    }
}

/// A source of alerts read window by window.
#[async_trait]
pub trait Poller: Send + Sync {
    /// The source's name in logs (`proofpoint-tap`, `defender`).
    fn name(&self) -> &'static str;
    /// How long to wait once caught up.
    fn interval(&self) -> Duration;
    /// Read the next window, hand its alerts to `sink`, store the cursor after it.
    async fn poll_once(&self, sink: &Arc<dyn AlertSink>) -> Result<Step, PollError>;
}

/// The first back-off after a failure; doubled per failure in a row, up to a minute.
const FAILURE_BACKOFF_MS: u64 = 1000;

/// Poll until `stopping`. A window in progress is finished first.
pub async fn run(
    poller: &dyn Poller,
    sink: Arc<dyn AlertSink>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut failures = 0u32;
    loop {
        let wait = match poller.poll_once(&sink).await {
            Ok(step) => {
                failures = 0;
                if step.caught_up {
                    poller.interval()
                } else {
                    Duration::ZERO
                }
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let hint = match &e {
                    PollError::Throttled(hint) => *hint,
                    PollError::Failed(_) => None,
                };
                let wait = backoff(FAILURE_BACKOFF_MS, failures, hint);
                tracing::warn!(
                    source = poller.name(),
                    attempt = failures,
                    "alert poll failed, next in {wait:?}: {e}"
                );
                wait
            }
        };
        if stop_or_sleep(&mut stopping, wait).await {
            return;
        }
    }
}
