//! Indicators of compromise a hunt looks for, how far each one's hunt has read the log, and
//! how far the mailbox hunt has read each mailbox.
//!
//! A (kind, value, source) is stored once: importing a feed again refreshes its
//! classification and expiry instead of adding a second row a hunt would match twice.

use rusqlite::params;
use serde::Serialize;

use super::decode::RowOf;
use super::{Result, SqliteStore, StoreError};
use crate::model::{Indicator, IndicatorKind, IndicatorRecord};

/// An indicator row: id first.
const INDICATOR_ROW: RowOf = RowOf {
    table: "indicators",
    id_column: 0,
};

/// The columns [`record`] reads, in its order.
const COLUMNS: &str =
    "id, kind, value, source, classification, expires_at, added_by, added_at FROM indicators";

/// How far the mailbox hunt has read one mailbox: the indicators it matched against the
/// copies received there before `hunted_until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxHuntMark {
    pub mailbox: String,
    pub hunted_until: chrono::DateTime<chrono::Utc>,
    /// Indicator ids, ascending.
    pub indicators: Vec<i64>,
}

impl MailboxHuntMark {
    /// The stored list of ids: ascending, comma-separated.
    pub(super) fn ids_text(ids: &[i64]) -> String {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    }

    /// The ids back from their stored text; `None` when it is not such a list.
    pub(super) fn ids_of(text: &str) -> Option<Vec<i64>> {
        if text.is_empty() {
            return Some(Vec::new());
        }
        text.split(',').map(|id| id.parse().ok()).collect()
    }
}

/// What adding a batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IndicatorsAdded {
    /// New rows.
    pub added: u64,
    /// Rows already stored for the same kind, value and source, their classification and
    /// expiry replaced by the batch's.
    pub refreshed: u64,
}

/// The kind's stored spelling back, or the row is unreadable.
fn kind_of(text: &str) -> Option<IndicatorKind> {
    IndicatorKind::parse(text).ok()
}

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<IndicatorRecord> {
    Ok(IndicatorRecord {
        id: r.get(0)?,
        indicator: Indicator {
            kind: INDICATOR_ROW.known(r, 1, "kind", kind_of)?,
            value: r.get(2)?,
            source: r.get(3)?,
            classification: r.get(4)?,
            expires_at: INDICATOR_ROW.millis_or_null(r, 5, "expires_at")?,
        },
        added_by: r.get(6)?,
        added_at: INDICATOR_ROW.millis(r, 7, "added_at")?,
    })
}

impl SqliteStore {
    /// Add indicators in one transaction (all or none); one already stored for its kind,
    /// value and source gets the new classification and expiry.
    pub fn add_indicators(&self, batch: &[Indicator], added_by: &str) -> Result<IndicatorsAdded> {
        self.write(|tx, now| {
            let mut done = IndicatorsAdded::default();
            for i in batch {
                let expires = i.expires_at.map(|e| e.timestamp_millis());
                let updated = tx
                    .prepare_cached(
                        "UPDATE indicators SET classification = ?4, expires_at = ?5
                         WHERE kind = ?1 AND value = ?2 AND source = ?3",
                    )?
                    .execute(params![i.kind.as_str(), i.value, i.source, i.classification, expires])?;
                if updated > 0 {
                    done.refreshed += 1;
                    continue;
                }
                tx.prepare_cached(
                    "INSERT INTO indicators (kind, value, source, classification, expires_at, added_by, added_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![i.kind.as_str(), i.value, i.source, i.classification, expires, added_by, now.millis()])?;
                done.added += 1;
            }
            Ok(done)
        })
    }

    /// Every stored indicator, expired ones included, oldest first.
    pub fn indicators(&self) -> Result<Vec<IndicatorRecord>> {
        self.read(|tx| {
            let sql = format!("SELECT {COLUMNS} ORDER BY id");
            let rows = tx
                .prepare_cached(&sql)?
                .query_map([], record)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// The indicators that count now (no expiry, or one still ahead), oldest first.
    pub fn live_indicators(&self) -> Result<Vec<IndicatorRecord>> {
        let now = self.now().millis();
        self.read(|tx| {
            let sql =
                format!("SELECT {COLUMNS} WHERE expires_at IS NULL OR expires_at > ?1 ORDER BY id");
            let rows = tx
                .prepare_cached(&sql)?
                .query_map(params![now], record)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Remove one indicator (`NotFound` when there is none with that id); what it was.
    pub fn remove_indicator(&self, id: i64) -> Result<IndicatorRecord> {
        self.write(|tx, _| {
            let sql = format!("SELECT {COLUMNS} WHERE id = ?1");
            let found = tx
                .prepare_cached(&sql)?
                .query_map(params![id], record)?
                .next()
                .transpose()?
                .ok_or_else(|| StoreError::NotFound(format!("no indicator {id}")))?;
            tx.prepare_cached("DELETE FROM indicators WHERE id = ?1")?
                .execute(params![id])?;
            // Its id may be the next one added: no mark may say it was hunted.
            tx.execute("DELETE FROM mailbox_hunt_marks", [])?;
            Ok(found)
        })
    }

    /// Remove every indicator; how many there were.
    pub fn remove_all_indicators(&self) -> Result<u64> {
        self.write(|tx, _| {
            tx.execute("DELETE FROM mailbox_hunt_marks", [])?;
            Ok(tx.execute("DELETE FROM indicators", [])? as u64)
        })
    }

    /// The highest log id indicator `id`'s hunt has read (0: none yet).
    pub fn hunted_to(&self, id: i64) -> Result<i64> {
        self.read(|tx| {
            tx.prepare_cached("SELECT hunted_to FROM indicators WHERE id = ?1")?
                .query_row(params![id], |r| r.get(0))
                .map_err(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => {
                        StoreError::NotFound(format!("no indicator {id}"))
                    }
                    e => e.into(),
                })
        })
    }

    /// Record that indicator `id`'s hunt has read the log up to `log_id`; never backwards.
    pub fn set_hunted_to(&self, id: i64, log_id: i64) -> Result<()> {
        self.write(|tx, _| {
            tx.prepare_cached(
                "UPDATE indicators SET hunted_to = ?2 WHERE id = ?1 AND hunted_to < ?2",
            )?
            .execute(params![id, log_id])?;
            Ok(())
        })
    }

    /// The mailbox hunt's marks in `tenant`'s mailboxes.
    pub fn mailbox_hunt_marks(&self, tenant: &str) -> Result<Vec<MailboxHuntMark>> {
        const MARK_ROW: RowOf = RowOf {
            table: "mailbox_hunt_marks",
            id_column: 3,
        };
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT mailbox, hunted_until, indicators, rowid FROM mailbox_hunt_marks
                 WHERE tenant = ?1 ORDER BY mailbox",
            )?;
            let marks = stmt
                .query_map(params![tenant], |r| {
                    Ok(MailboxHuntMark {
                        mailbox: r.get(0)?,
                        hunted_until: MARK_ROW.millis(r, 1, "hunted_until")?,
                        indicators: MARK_ROW.known(r, 2, "indicators", MailboxHuntMark::ids_of)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(marks)
        })
    }

    /// Record that the `indicators` were matched against every copy received in each of
    /// `tenant`'s `mailboxes` before `hunted_until`; a mark is never moved backwards.
    pub fn set_mailbox_hunt_marks(
        &self,
        tenant: &str,
        mailboxes: &[String],
        hunted_until: chrono::DateTime<chrono::Utc>,
        indicators: &[i64],
    ) -> Result<()> {
        let ids = MailboxHuntMark::ids_text(indicators);
        let until = hunted_until.timestamp_millis();
        self.write(|tx, _| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO mailbox_hunt_marks (tenant, mailbox, hunted_until, indicators)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (tenant, mailbox) DO UPDATE
                 SET hunted_until = excluded.hunted_until, indicators = excluded.indicators
                 WHERE excluded.hunted_until >= mailbox_hunt_marks.hunted_until",
            )?;
            for mailbox in mailboxes {
                stmt.execute(params![tenant, mailbox, until, ids])?;
            }
            Ok(())
        })
    }
}
