//! Evidence copies: the raw message and its SHA-256, stored before a hard-delete acts.

use rusqlite::params;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::decode::RowOf;
use super::{Result, SqliteStore};

/// An evidence row: id first.
const EVIDENCE_ROW: RowOf = RowOf {
    table: "evidence",
    id_column: 0,
};

/// A stored evidence copy (without its bytes).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvidenceRecord {
    pub id: i64,
    pub item: i64,
    pub mailbox: String,
    pub message_id: String,
    pub folder: String,
    pub sha256: String,
    pub size: u64,
    pub taken_at: chrono::DateTime<chrono::Utc>,
}

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<EvidenceRecord> {
    Ok(EvidenceRecord {
        id: r.get(0)?,
        item: r.get(1)?,
        mailbox: r.get(2)?,
        message_id: r.get(3)?,
        folder: r.get(4)?,
        sha256: r.get(5)?,
        size: r.get::<_, i64>(6)?.max(0) as u64,
        taken_at: EVIDENCE_ROW.millis(r, 7, "taken_at")?,
    })
}

impl SqliteStore {
    /// Keep the raw message; returns its SHA-256 (hex). Committed before the caller acts.
    pub fn add_evidence(
        &self,
        item: i64,
        tenant: &str,
        mailbox: &str,
        message_id: &str,
        folder: &str,
        raw: &[u8],
    ) -> Result<String> {
        let sha = hex::encode(Sha256::digest(raw));
        self.write(|tx, now| {
            tx.prepare_cached(
                "INSERT INTO evidence (item, tenant, mailbox, message_id, folder, sha256, size, raw, taken_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![item, tenant, mailbox, message_id, folder, sha, raw.len() as i64, raw, now.millis()])?;
            Ok(())
        })?;
        Ok(sha)
    }

    /// The evidence copies taken for one item.
    pub fn evidence_for_item(&self, item: i64) -> Result<Vec<EvidenceRecord>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT id, item, mailbox, message_id, folder, sha256, size, taken_at FROM evidence
                 WHERE item = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([item], record)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The evidence copies taken of one tenant's message, by any item, newest first: where
    /// `evidence` reads a message whose every mailbox copy is gone.
    pub fn evidence_for_message(
        &self,
        tenant: &str,
        message_id: &str,
    ) -> Result<Vec<EvidenceRecord>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT id, item, mailbox, message_id, folder, sha256, size, taken_at FROM evidence
                 WHERE tenant = ?1 AND message_id = ?2 ORDER BY id DESC",
            )?;
            let rows = stmt.query_map(params![tenant, message_id], record)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The raw bytes of one evidence copy.
    pub fn evidence_raw(&self, id: i64) -> Result<Vec<u8>> {
        self.read(|tx| {
            Ok(tx.query_row("SELECT raw FROM evidence WHERE id = ?1", [id], |r| r.get(0))?)
        })
    }
}
