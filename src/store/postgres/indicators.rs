//! Indicators of compromise on PostgreSQL (the SQLite store's `indicators.rs`, same rules).
//! A refresh and an insert race between hosts is settled by the unique (kind, value,
//! source): `ON CONFLICT` makes the second writer's row a refresh, never a duplicate.

use chrono::{DateTime, Utc};
use postgres::Row;

use super::PgStore;
use super::decode::{RowOf, get};
use crate::model::{Indicator, IndicatorKind, IndicatorRecord};
use crate::store::{IndicatorStore, IndicatorsAdded, MailboxHuntMark, Result, StoreError};

const INDICATOR_ROW: RowOf = RowOf {
    table: "indicators",
    id_column: 0,
};

/// The columns [`record`] reads, in its order.
const COLUMNS: &str =
    "id, kind, value, source, classification, expires_at, added_by, added_at FROM indicators";

fn record(r: &Row) -> Result<IndicatorRecord> {
    Ok(IndicatorRecord {
        id: get(r, 0)?,
        indicator: Indicator {
            kind: INDICATOR_ROW.known(r, 1, "kind", |t| IndicatorKind::parse(t).ok())?,
            value: get(r, 2)?,
            source: get(r, 3)?,
            classification: get(r, 4)?,
            expires_at: INDICATOR_ROW.millis_or_null(r, 5, "expires_at")?,
        },
        added_by: get(r, 6)?,
        added_at: INDICATOR_ROW.millis(r, 7, "added_at")?,
    })
}

impl IndicatorStore for PgStore {
    fn add_indicators(&self, batch: &[Indicator], added_by: &str) -> Result<IndicatorsAdded> {
        self.write(|tx, now| {
            let mut done = IndicatorsAdded::default();
            for i in batch {
                let expires = i.expires_at.map(|e| e.timestamp_millis());
                // `xmax = 0` only on a row this statement inserted.
                let inserted: bool = tx
                    .query_one(
                        "INSERT INTO indicators (kind, value, source, classification, expires_at, added_by, added_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (kind, value, source) DO UPDATE
                             SET classification = excluded.classification, expires_at = excluded.expires_at
                         RETURNING (xmax = 0)",
                        &[&i.kind.as_str(), &i.value, &i.source, &i.classification, &expires, &added_by, &now.millis()],
                    )?
                    .try_get(0)?;
                if inserted {
                    done.added += 1;
                } else {
                    done.refreshed += 1;
                }
            }
            Ok(done)
        })
    }

    fn indicators(&self) -> Result<Vec<IndicatorRecord>> {
        let sql = format!("SELECT {COLUMNS} ORDER BY id");
        self.read(|tx, _| tx.query(sql.as_str(), &[])?.iter().map(record).collect())
    }

    fn live_indicators(&self) -> Result<Vec<IndicatorRecord>> {
        let sql =
            format!("SELECT {COLUMNS} WHERE expires_at IS NULL OR expires_at > $1 ORDER BY id");
        self.read(|tx, now| {
            tx.query(sql.as_str(), &[&now.timestamp_millis()])?
                .iter()
                .map(record)
                .collect()
        })
    }

    fn remove_indicator(&self, id: i64) -> Result<IndicatorRecord> {
        let sql = format!("SELECT {COLUMNS} WHERE id = $1 FOR UPDATE");
        self.write(|tx, _| {
            let row = tx
                .query_opt(sql.as_str(), &[&id])?
                .ok_or_else(|| StoreError::NotFound(format!("no indicator {id}")))?;
            let found = record(&row)?;
            tx.execute("DELETE FROM indicators WHERE id = $1", &[&id])?;
            // As on SQLite (where a removed id can come back): no mark outlives a removal.
            tx.execute("DELETE FROM mailbox_hunt_marks", &[])?;
            Ok(found)
        })
    }

    fn remove_all_indicators(&self) -> Result<u64> {
        self.write(|tx, _| {
            tx.execute("DELETE FROM mailbox_hunt_marks", &[])?;
            Ok(tx.execute("DELETE FROM indicators", &[])?)
        })
    }

    fn hunted_to(&self, id: i64) -> Result<i64> {
        self.read(|tx, _| {
            let row = tx
                .query_opt("SELECT hunted_to FROM indicators WHERE id = $1", &[&id])?
                .ok_or_else(|| StoreError::NotFound(format!("no indicator {id}")))?;
            get(&row, 0)
        })
    }

    fn set_hunted_to(&self, id: i64, log_id: i64) -> Result<()> {
        self.write(|tx, _| {
            tx.execute(
                "UPDATE indicators SET hunted_to = $2 WHERE id = $1 AND hunted_to < $2",
                &[&id, &log_id],
            )?;
            Ok(())
        })
    }

    fn mailbox_hunt_marks(&self, tenant: &str) -> Result<Vec<MailboxHuntMark>> {
        const MARK_ROW: RowOf = RowOf {
            table: "mailbox_hunt_marks",
            id_column: 3,
        };
        self.read(|tx, _| {
            tx.query(
                "SELECT mailbox, hunted_until, indicators, 0::BIGINT FROM mailbox_hunt_marks
                 WHERE tenant = $1 ORDER BY mailbox",
                &[&tenant],
            )?
            .iter()
            .map(|r| {
                Ok(MailboxHuntMark {
                    mailbox: get(r, 0)?,
                    hunted_until: MARK_ROW.millis(r, 1, "hunted_until")?,
                    indicators: MARK_ROW.known(r, 2, "indicators", MailboxHuntMark::ids_of)?,
                })
            })
            .collect()
        })
    }

    fn set_mailbox_hunt_marks(
        &self,
        tenant: &str,
        mailboxes: &[String],
        hunted_until: DateTime<Utc>,
        indicators: &[i64],
    ) -> Result<()> {
        let ids = MailboxHuntMark::ids_text(indicators);
        let until = hunted_until.timestamp_millis();
        // One statement for every mailbox: a round trip each would be most of a hunt's
        // bookkeeping on a remote database.
        self.write(|tx, _| {
            tx.execute(
                "INSERT INTO mailbox_hunt_marks (tenant, mailbox, hunted_until, indicators)
                 SELECT $1, m, $3, $4 FROM unnest($2::TEXT[]) AS m
                 ON CONFLICT (tenant, mailbox) DO UPDATE
                 SET hunted_until = excluded.hunted_until, indicators = excluded.indicators
                 WHERE excluded.hunted_until >= mailbox_hunt_marks.hunted_until",
                &[&tenant, &mailboxes, &until, &ids],
            )?;
            Ok(())
        })
    }
}
