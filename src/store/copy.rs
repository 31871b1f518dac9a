//! `retractor store copy --to URL`: a SQLite store into an empty PostgreSQL database (a
//! single host becoming a team), every table as it is: the log (its search index is rebuilt
//! by PostgreSQL from the copied text), jobs and items, evidence, the audit trail with its
//! hashes and signatures unchanged (so it verifies on the target, and a witness's anchor
//! still matches), alerts, decisions, approvals, reports, indicators, poller cursors.
//!
//! The SQLite store is read in one read transaction (one consistent snapshot, even while a
//! service writes) on a thread of its own, and its rows stream to the PostgreSQL session
//! through a bounded channel, so a store of millions of messages is never held in memory.
//! The target is written in one transaction: on any error nothing is left there.

use std::collections::BTreeSet;
use std::sync::mpsc::{SyncSender, sync_channel};

use rusqlite::types::ValueRef;

use super::postgres::{Cell, CopyRow, CopyTable};
use super::{Result, SqliteStore, Store, StoreError};

/// Rows in flight between the reader and the writer.
const IN_FLIGHT: usize = 4_096;

/// What a copy did: per table, the rows read from the source and written to the target
/// (the same, or the copy fails).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CopyReport {
    pub tables: Vec<CopiedTable>,
}

/// One table's count.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CopiedTable {
    pub table: String,
    pub rows: u64,
}

impl Store {
    /// Copy this store (SQLite, at this build's schema) into `target` (PostgreSQL, opened and
    /// so migrated, holding no row yet).
    pub fn copy_to(&self, target: &Store) -> Result<CopyReport> {
        let (Some(source), Some(target)) = (self.as_sqlite(), target.as_postgres()) else {
            return Err(StoreError::Invalid(
                "store copy copies a SQLite store ([store] path) into a PostgreSQL database (--to postgresql://...)".into(),
            ));
        };
        let plan = target.copy_plan()?;
        let (send, receive) = sync_channel(IN_FLIGHT);
        let (read, written) = std::thread::scope(|scope| {
            let reader = scope.spawn(|| read_tables(source, &plan, send));
            let written = target.copy_in(&plan, receive);
            let read = match reader.join() {
                Ok(read) => read,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            (read, written)
        });
        // The reader's error first: when it stops, the writer only knows that it stopped.
        let read = read?;
        let written = written?;
        let mut tables = Vec::with_capacity(plan.len());
        for ((table, read), written) in plan.iter().zip(read).zip(written) {
            if read != written {
                return Err(StoreError::Invalid(format!(
                    "{}: {read} rows read but {written} written",
                    table.name
                )));
            }
            tables.push(CopiedTable {
                table: table.name.clone(),
                rows: written,
            });
        }
        Ok(CopyReport { tables })
    }
}

/// Send every table of `plan` from the SQLite store, in its order, each ended by `None`; the
/// rows sent per table. The store must have this build's schema, table for table and column
/// for column.
fn read_tables(
    source: &SqliteStore,
    plan: &[CopyTable],
    send: SyncSender<CopyRow>,
) -> Result<Vec<u64>> {
    let stopped = || StoreError::Invalid("the target stopped taking rows".into());
    source.read(|tx| {
        same_schema(tx, plan)?;
        let mut counts = Vec::with_capacity(plan.len());
        for table in plan {
            let columns: Vec<String> = table.columns.iter().map(|c| quoted(c)).collect();
            let mut statement = tx.prepare(&format!(
                "SELECT {} FROM {}",
                columns.join(", "),
                quoted(&table.name)
            ))?;
            let mut rows = statement.query([])?;
            let mut count = 0u64;
            while let Some(row) = rows.next()? {
                let mut cells = Vec::with_capacity(table.columns.len());
                for (i, column) in table.columns.iter().enumerate() {
                    cells.push(cell(row.get_ref(i)?, &table.name, column)?);
                }
                send.send(Some(cells)).map_err(|_| stopped())?;
                count += 1;
            }
            send.send(None).map_err(|_| stopped())?;
            counts.push(count);
        }
        Ok(counts)
    })
}

/// The source's schema is the target's: the same version, the same tables, the same columns
/// (FTS5's own tables aside: PostgreSQL indexes with columns of `messages`).
fn same_schema(tx: &rusqlite::Transaction<'_>, plan: &[CopyTable]) -> Result<()> {
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = super::schema::MIGRATIONS.len() as i64;
    if version != known {
        return Err(StoreError::Invalid(format!(
            "the SQLite store's schema is version {version}, this build's {known}: open it once \
             with this version (it migrates the store), then copy"
        )));
    }
    let mut statement = tx.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table'
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'messages_fts%'",
    )?;
    let tables: BTreeSet<String> = statement
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let planned: BTreeSet<String> = plan.iter().map(|t| t.name.clone()).collect();
    if let Some(table) = tables.symmetric_difference(&planned).next() {
        return Err(StoreError::Invalid(format!(
            "table {table} is in only one of the two stores: both must be at this build's schema"
        )));
    }
    for table in plan {
        let mut statement = tx.prepare(&format!("PRAGMA table_info({})", quoted(&table.name)))?;
        let columns: BTreeSet<String> = statement
            .query_map([], |r| r.get(1))?
            .collect::<rusqlite::Result<_>>()?;
        let planned: BTreeSet<String> = table.columns.iter().cloned().collect();
        if columns != planned {
            return Err(StoreError::Invalid(format!(
                "table {}: the columns differ between the two stores ({} here, {} there)",
                table.name,
                columns.into_iter().collect::<Vec<_>>().join(", "),
                planned.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(())
}

fn cell(value: ValueRef<'_>, table: &str, column: &str) -> Result<Cell> {
    Ok(match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Integer(i),
        ValueRef::Real(f) => Cell::Real(f),
        // PostgreSQL text is UTF-8: a value that is not cannot be copied unchanged, and
        // changing it would break what hashes it (the audit chain).
        ValueRef::Text(bytes) => Cell::Text(String::from_utf8(bytes.to_vec()).map_err(|_| {
            StoreError::Invalid(format!("{table}.{column}: a text value that is not UTF-8"))
        })?),
        ValueRef::Blob(bytes) => Cell::Blob(bytes.to_vec()),
    })
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
