//! Phish reports read from the abuse mailbox (`[submissions]`): one row per report, written
//! before the report is moved out of the inbox, so a report is never handled twice (a run
//! that died between the two finds the row and only moves it).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::decode::RowOf;
use super::{Result, SqliteStore};

const REPORT_ROW: RowOf = RowOf {
    table: "submissions",
    id_column: 0,
};

pub(super) const REPORT_COLUMNS: &str = "id, tenant, mailbox, report_id, reporter, \
     original_message_id, format, outcome, detail, alert, received_at, processed_at";

/// A report as it is first recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewReport {
    /// The tenant and mailbox the report was read from (the abuse mailbox).
    pub tenant: String,
    pub mailbox: String,
    /// The report's own Message-ID (or `sha256:HEX` of its bytes when it has none).
    pub report_id: String,
    /// Who reported, normalised.
    pub reporter: String,
    /// The reported message, when it was found.
    pub original_message_id: Option<String>,
    /// `attached`, `arf`, `forward`, or `malformed`.
    pub format: String,
    /// `reported`, `phish`, `unconfirmed`, `not-found`, or `malformed`.
    pub outcome: String,
    /// What was found or what is wrong, safe to show.
    pub detail: String,
    /// The id of the alert it raised (source `submission`).
    pub alert: Option<String>,
}

/// A stored report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ReportRecord {
    pub id: i64,
    pub tenant: String,
    pub mailbox: String,
    pub report_id: String,
    pub reporter: String,
    pub original_message_id: Option<String>,
    pub format: String,
    pub outcome: String,
    pub detail: String,
    pub alert: Option<String>,
    pub received_at: DateTime<Utc>,
    /// When the report was moved to the processed folder (`None`: not yet).
    pub processed_at: Option<DateTime<Utc>>,
}

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReportRecord> {
    Ok(ReportRecord {
        id: r.get(0)?,
        tenant: r.get(1)?,
        mailbox: r.get(2)?,
        report_id: r.get(3)?,
        reporter: r.get(4)?,
        original_message_id: r.get(5)?,
        format: r.get(6)?,
        outcome: r.get(7)?,
        detail: r.get(8)?,
        alert: r.get(9)?,
        received_at: REPORT_ROW.millis(r, 10, "received_at")?,
        processed_at: REPORT_ROW.millis_or_null(r, 11, "processed_at")?,
    })
}

impl SqliteStore {
    /// Record a report; its id, or `None` when this report (tenant, mailbox, report id) was
    /// recorded before (the stored one stands).
    pub fn record_report(&self, report: &NewReport) -> Result<Option<i64>> {
        self.write(|tx, now| {
            let id = tx
                .prepare_cached(
                    "INSERT INTO submissions (tenant, mailbox, report_id, reporter,
                         original_message_id, format, outcome, detail, alert, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                     ON CONFLICT (tenant, mailbox, report_id) DO NOTHING RETURNING id",
                )?
                .query_row(
                    params![
                        report.tenant,
                        report.mailbox,
                        report.report_id,
                        report.reporter,
                        report.original_message_id,
                        report.format,
                        report.outcome,
                        report.detail,
                        report.alert,
                        now.millis()
                    ],
                    |r| r.get::<_, i64>(0),
                )
                .optional()?;
            Ok(id)
        })
    }

    /// The report recorded for (tenant, mailbox, report id), if any.
    pub fn report(
        &self,
        tenant: &str,
        mailbox: &str,
        report_id: &str,
    ) -> Result<Option<ReportRecord>> {
        self.read(|tx| {
            let sql = format!(
                "SELECT {REPORT_COLUMNS} FROM submissions
                 WHERE tenant = ?1 AND mailbox = ?2 AND report_id = ?3"
            );
            Ok(tx
                .prepare_cached(&sql)?
                .query_row(params![tenant, mailbox, report_id], record)
                .optional()?)
        })
    }

    /// The newest `limit` reports, newest first.
    pub fn reports(&self, limit: usize) -> Result<Vec<ReportRecord>> {
        self.read(|tx| {
            let sql = format!("SELECT {REPORT_COLUMNS} FROM submissions ORDER BY id DESC LIMIT ?1");
            let rows = tx
                .prepare_cached(&sql)?
                .query_map(params![limit as i64], record)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Mark a report moved to the processed folder (the first time only).
    pub fn mark_report_processed(&self, id: i64) -> Result<()> {
        self.write(|tx, now| {
            tx.prepare_cached(
                "UPDATE submissions SET processed_at = ?2 WHERE id = ?1 AND processed_at IS NULL",
            )?
            .execute(params![id, now.millis()])?;
            Ok(())
        })
    }

    /// Raise every `reported` report of `original_message_id` to `outcome` (a threshold
    /// reached); how many.
    pub fn set_report_outcome(&self, original_message_id: &str, outcome: &str) -> Result<u64> {
        self.write(|tx, _| {
            Ok(tx
                .prepare_cached(
                    "UPDATE submissions SET outcome = ?2 WHERE original_message_id = ?1 AND outcome = 'reported'",
                )?
                .execute(params![original_message_id, outcome])? as u64)
        })
    }

    /// The distinct reporters of `original_message_id` whose report raised it, sorted.
    pub fn reporters_of(&self, original_message_id: &str) -> Result<Vec<String>> {
        self.read(|tx| {
            let rows = tx
                .prepare_cached(
                    "SELECT DISTINCT reporter FROM submissions WHERE original_message_id = ?1
                     AND outcome IN ('reported', 'phish') ORDER BY reporter",
                )?
                .query_map(params![original_message_id], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Whether an `active` alert of `classification` stands for `message_id` (any source):
    /// a live indicator match (`ioc-match`) confirms a single report.
    pub fn has_active_alert(&self, message_id: &str, classification: &str) -> Result<bool> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached(
                    "SELECT 1 FROM alerts WHERE message_id = ?1 AND classification = ?2
                     AND status = 'active' LIMIT 1",
                )?
                .query_row(params![message_id, classification], |_| Ok(()))
                .optional()?
                .is_some())
        })
    }
}
