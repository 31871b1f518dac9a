//! Phish reports on PostgreSQL: the SQLite store's statements (see `store::submissions`).

use postgres::Row;

use super::PgStore;
use super::decode::{RowOf, get};
use crate::store::submissions::REPORT_COLUMNS;
use crate::store::{NewReport, PhishReports, ReportRecord, Result};

const REPORT_ROW: RowOf = RowOf {
    table: "submissions",
    id_column: 0,
};

fn record(row: &Row) -> Result<ReportRecord> {
    Ok(ReportRecord {
        id: get(row, 0)?,
        tenant: get(row, 1)?,
        mailbox: get(row, 2)?,
        report_id: get(row, 3)?,
        reporter: get(row, 4)?,
        original_message_id: get(row, 5)?,
        format: get(row, 6)?,
        outcome: get(row, 7)?,
        detail: get(row, 8)?,
        alert: get(row, 9)?,
        received_at: REPORT_ROW.millis(row, 10, "received_at")?,
        processed_at: REPORT_ROW.millis_or_null(row, 11, "processed_at")?,
    })
}

impl PhishReports for PgStore {
    fn record_report(&self, report: &NewReport) -> Result<Option<i64>> {
        self.write(|tx, now| {
            let row = tx.query_opt(
                "INSERT INTO submissions (tenant, mailbox, report_id, reporter,
                     original_message_id, format, outcome, detail, alert, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (tenant, mailbox, report_id) DO NOTHING RETURNING id",
                &[
                    &report.tenant,
                    &report.mailbox,
                    &report.report_id,
                    &report.reporter,
                    &report.original_message_id,
                    &report.format,
                    &report.outcome,
                    &report.detail,
                    &report.alert,
                    &now.millis(),
                ],
            )?;
            row.map(|r| get::<i64>(&r, 0)).transpose()
        })
    }

    fn report(&self, tenant: &str, mailbox: &str, report_id: &str) -> Result<Option<ReportRecord>> {
        self.read(|tx, _| {
            let sql = format!(
                "SELECT {REPORT_COLUMNS} FROM submissions
                 WHERE tenant = $1 AND mailbox = $2 AND report_id = $3"
            );
            tx.query_opt(&sql, &[&tenant, &mailbox, &report_id])?
                .map(|r| record(&r))
                .transpose()
        })
    }

    fn reports(&self, limit: usize) -> Result<Vec<ReportRecord>> {
        self.read(|tx, _| {
            let sql = format!("SELECT {REPORT_COLUMNS} FROM submissions ORDER BY id DESC LIMIT $1");
            tx.query(&sql, &[&(limit as i64)])?
                .iter()
                .map(record)
                .collect()
        })
    }

    fn mark_report_processed(&self, id: i64) -> Result<()> {
        self.write(|tx, now| {
            tx.execute(
                "UPDATE submissions SET processed_at = $2 WHERE id = $1 AND processed_at IS NULL",
                &[&id, &now.millis()],
            )?;
            Ok(())
        })
    }

    fn set_report_outcome(&self, original_message_id: &str, outcome: &str) -> Result<u64> {
        self.write(|tx, _| {
            Ok(tx.execute(
                "UPDATE submissions SET outcome = $2 WHERE original_message_id = $1 AND outcome = 'reported'",
                &[&original_message_id, &outcome],
            )?)
        })
    }

    fn reporters_of(&self, original_message_id: &str) -> Result<Vec<String>> {
        self.read(|tx, _| {
            tx.query(
                "SELECT DISTINCT reporter FROM submissions WHERE original_message_id = $1
                 AND outcome IN ('reported', 'phish') ORDER BY reporter",
                &[&original_message_id],
            )?
            .iter()
            .map(|r| get::<String>(r, 0))
            .collect()
        })
    }

    fn has_active_alert(&self, message_id: &str, classification: &str) -> Result<bool> {
        self.read(|tx, _| {
            Ok(tx
                .query_opt(
                    "SELECT 1 FROM alerts WHERE message_id = $1 AND classification = $2
                     AND status = 'active' LIMIT 1",
                    &[&message_id, &classification],
                )?
                .is_some())
        })
    }
}
