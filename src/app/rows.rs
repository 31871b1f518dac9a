//! Display rows: every string here went through [`shown`] (the sanitiser) on the way in, so
//! the widgets that draw them never see attacker-controlled text raw.

use chrono::{DateTime, Utc};

use crate::model::text::sanitize;
use crate::model::{Delivery, Job, JobItem, LoggedMessage};
use crate::store::AuditEntry;

/// Sanitise attacker-controlled text for display (escapes, bidi overrides made visible).
pub fn shown(text: &str) -> String {
    sanitize(text)
}

/// Times are shown in UTC, to the minute (RFC 3339 is in the JSON; the table needs width).
pub fn short_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// One row of the message table.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageRow {
    pub id: i64,
    /// Unix seconds, the paging key with `id` (not drawn).
    pub received_ts: i64,
    pub received: String,
    pub from: String,
    pub subject: String,
    pub recipients: String,
    pub recipient_count: usize,
    pub verdict: String,
    pub status: String,
}

impl MessageRow {
    pub fn of(m: &LoggedMessage) -> MessageRow {
        MessageRow {
            id: m.id,
            received_ts: m.received_at.timestamp(),
            received: short_time(m.received_at),
            from: shown(&m.from),
            subject: shown(&m.subject),
            recipients: shown(&m.recipients.join(", ")),
            recipient_count: m.recipients.len(),
            verdict: shown(m.disposition.as_deref().unwrap_or("-")),
            status: m.status_label(),
        }
    }
}

/// One recipient of the retract tab.
#[derive(Clone, Debug, PartialEq)]
pub struct RecipientRow {
    /// Raw address, for the request to the engine (never drawn).
    pub address: String,
    /// Sanitised address, for drawing.
    pub shown: String,
    pub state: String,
    /// `yes` / `no` / `-`: whether the user had opened the copy before anything was done.
    pub read: String,
    /// Sanitised folder the copy sat in before anything was done (`-`: never touched).
    pub was_in: String,
    pub folder: String,
    pub on_hold: bool,
    pub external: bool,
    pub included: bool,
}

impl RecipientRow {
    pub fn of(d: &Delivery) -> RecipientRow {
        RecipientRow {
            address: d.recipient.clone(),
            shown: shown(&d.recipient),
            state: d.status.as_str().to_string(),
            read: d.read_label().to_string(),
            was_in: shown(d.original_folder.as_deref().unwrap_or("-")),
            folder: shown(d.folder.as_deref().unwrap_or("-")),
            on_hold: d.on_hold,
            external: d.external,
            // External recipients cannot be acted on; they start excluded.
            included: !d.external,
        }
    }
}

/// One job of the Operations view.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub action: String,
    pub status: String,
    pub finished: bool,
    pub initiated_by: String,
    pub reason: String,
    pub matched: u64,
    pub remediated: u64,
    pub failed: u64,
    pub skipped: u64,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created: String,
    pub throttle: Option<String>,
}

impl JobRow {
    pub fn of(j: &Job) -> JobRow {
        JobRow {
            id: j.id,
            kind: j.kind.as_str().to_string(),
            action: j.action.to_string(),
            status: j.status.as_str().to_string(),
            finished: j.status.is_finished(),
            initiated_by: shown(&j.initiated_by),
            reason: shown(j.reason.as_deref().unwrap_or("")),
            matched: j.counts.matched,
            remediated: j.counts.remediated,
            failed: j.counts.failed,
            skipped: j.counts.skipped,
            started_at: j.started_at,
            finished_at: j.finished_at,
            created: short_time(j.created_at),
            throttle: j.throttle_note.as_deref().map(shown),
        }
    }

    /// Items finished (remediated, failed or skipped).
    pub fn done(&self) -> u64 {
        self.remediated + self.failed + self.skipped
    }

    /// Items a second since the job started, measured at `now` (or at its end).
    pub fn rate(&self, now: DateTime<Utc>) -> Option<f64> {
        let start = self.started_at?;
        let end = self.finished_at.unwrap_or(now);
        let secs = (end - start).num_milliseconds() as f64 / 1000.0;
        (secs > 0.0).then(|| self.done() as f64 / secs)
    }

    /// Seconds left at the current rate, while the job runs.
    pub fn eta_secs(&self, now: DateTime<Utc>) -> Option<u64> {
        if self.finished {
            return None;
        }
        let rate = self.rate(now).filter(|r| *r > 0.0)?;
        Some((self.matched.saturating_sub(self.done()) as f64 / rate).ceil() as u64)
    }
}

/// One item of an open job.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemRow {
    pub mailbox: String,
    /// The item's Message-ID.
    pub message: String,
    /// Its subject, when the log has the message ("" otherwise).
    pub subject: String,
    pub depth: u32,
    pub result: String,
    pub error: String,
    pub from_folder: String,
    pub to_folder: String,
}

impl ItemRow {
    /// The row of `i`, with its message's subject when the log has it.
    pub fn of(i: &JobItem, subject: Option<&String>) -> ItemRow {
        ItemRow {
            mailbox: shown(&i.mailbox),
            message: shown(&i.message_id),
            subject: shown(subject.map_or("", String::as_str)),
            depth: i.depth,
            result: i
                .outcome
                .map(|o| o.as_str().to_string())
                .unwrap_or_else(|| i.state.as_str().to_string()),
            error: shown(i.error.as_deref().unwrap_or("")),
            from_folder: shown(&i.from_folder().unwrap_or_default()),
            to_folder: shown(&i.to_folder().unwrap_or_default()),
        }
    }
}

/// One audit record, with every field the full view (`Enter`) shows.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    /// The stored time as written (RFC 3339, to the microsecond).
    pub at_full: String,
    pub actor: String,
    pub ssh_from: String,
    pub role: String,
    pub action: String,
    pub target: String,
    pub reason: String,
    pub outcome: String,
    pub job: Option<i64>,
    pub detail: String,
    pub authority: String,
}

impl AuditRow {
    pub fn of(e: &AuditEntry) -> AuditRow {
        let at = DateTime::parse_from_rfc3339(&e.at)
            .map(|t| short_time(t.with_timezone(&Utc)))
            .unwrap_or_else(|_| shown(&e.at));
        AuditRow {
            seq: e.seq,
            at,
            at_full: shown(&e.at),
            actor: shown(&e.actor),
            ssh_from: shown(e.ssh_from.as_deref().unwrap_or("")),
            role: shown(&e.role),
            action: shown(&e.action),
            target: shown(&e.target),
            reason: shown(e.reason.as_deref().unwrap_or("")),
            outcome: shown(&e.outcome),
            job: e.job,
            detail: shown(e.detail.as_deref().unwrap_or("")),
            authority: shown(e.authority.as_deref().unwrap_or("")),
        }
    }
}
