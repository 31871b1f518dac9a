//! `ingest --format postfix`: a Postfix maillog, its lines joined by queue id into records.
//!
//! One message's life under one queue id: smtpd `client=` (or pickup `uid=`), cleanup
//! `message-id=`, qmgr `from=, size=`, one delivery-agent `to=, status=` line per recipient and
//! attempt, then qmgr `removed`. A content filter or alias moves the message on to another
//! queue id; [`queue`] follows it there. Only queue ids still in the queue are held in
//! memory, so a maillog of any size streams.

mod line;
mod queue;
#[cfg(test)]
mod tests;

use std::io::BufRead;

use chrono::{DateTime, TimeDelta, Utc};

use super::decode::Decoded;
use super::lines::{InputLine, Lines, MAX_LINE};
use super::{IngestReport, Loader, TenantResolver};
use crate::store::{Store, StoreError};
use line::{Line, classify};
use queue::Queue;

/// A queue id with no line for this long (log time) has left the queue: deferred mail is
/// retried every few hours at most and expires after 5 days by default. Some queue ids end
/// without a `removed` line (milter rejects, a log rotated mid-message); they must not pile up.
const STALE: TimeDelta = TimeDelta::days(7);
/// How often, in lines, stale queue ids are looked for.
const SWEEP_EVERY: u64 = 65_536;
/// Syslog-form timestamps are host-local time without a zone or year and are read as UTC; a
/// date up to this far ahead of now is still this year rather than last year.
const FUTURE_GRACE: TimeDelta = TimeDelta::days(1);
/// The status recorded for an alias that local(8) forwarded under a new queue id.
const FORWARDED: &str = "forwarded";
/// The status recorded for a recipient a content filter or another local queue took over.
const HANDED_OFF: &str = "handed-off";

/// Load a Postfix maillog from `input`. Syslog-form timestamps (`Nov 20 10:00:01`) have no
/// year: it is the current one, or the previous one when that would put the line in the
/// future. Unrelated lines are counted as ignored; postfix queue lines that cannot be parsed
/// are reported with their number. Only a store failure stops the run.
pub fn ingest(
    store: &Store,
    resolver: &TenantResolver<'_>,
    input: impl BufRead,
) -> Result<IngestReport, StoreError> {
    ingest_at(store, resolver, input, Utc::now())
}

/// [`ingest`] with the clock that decides syslog-form years.
pub(crate) fn ingest_at(
    store: &Store,
    resolver: &TenantResolver<'_>,
    input: impl BufRead,
    now: DateTime<Utc>,
) -> Result<IngestReport, StoreError> {
    let mut loader = Loader::new(store, resolver);
    let mut queue = Queue::default();
    let mut latest: Option<DateTime<Utc>> = None;
    for (index, line) in Lines::new(Decoded::new(input)).enumerate() {
        let number = index as u64 + 1;
        let bytes = match line {
            Ok(InputLine::Text(b)) => b,
            Ok(InputLine::TooLong) => {
                loader.reject(number, format!("longer than {} MiB", MAX_LINE >> 20));
                continue;
            }
            Err(e) => {
                loader.reject(number, format!("cannot read: {e}"));
                break;
            }
        };
        // Postfix logs header text as it arrived; an 8-bit subject must not cost the line.
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        match classify(text, now) {
            Line::Ignored => loader.report.ignored += 1,
            Line::Bad(reason) => loader.reject(number, reason),
            // One line dated far ahead (a host with a wrong clock) would make every open
            // queue id look stale and split its message: refused, and the clock kept.
            Line::Queue { at, .. } if at > now + FUTURE_GRACE => loader.reject(
                number,
                format!(
                    "timestamp {} is in the future",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ),
            Line::Queue {
                at,
                queue_id,
                event,
            } => {
                latest = latest.max(Some(at));
                queue.apply(&mut loader, number, at, queue_id, event)?;
            }
        }
        if number.is_multiple_of(SWEEP_EVERY)
            && let Some(latest) = latest
        {
            queue.close_idle(&mut loader, Some(latest - STALE), latest)?;
        }
    }
    queue.close_idle(&mut loader, None, latest.unwrap_or(now))?;
    loader.report.unresolved_handoffs = std::mem::take(&mut queue.unresolved);
    loader.report.unresolved_handoffs_total = queue.unresolved_total;
    loader.finish()
}
