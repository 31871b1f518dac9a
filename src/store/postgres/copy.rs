//! `retractor store copy`, the PostgreSQL end: which tables a copy fills (read from the
//! database's own catalogue, so a migration's new table is copied without a list to keep),
//! and filling them in one transaction with binary `COPY`, the bulk path (a million messages
//! in one statement rather than a million round trips).
//!
//! Columns the database computes (the search index's `tsvector` columns) are not written:
//! PostgreSQL fills them from the copied text, so the search index comes with the rows.

use std::sync::mpsc::Receiver;

use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

use super::PgStore;
use crate::store::{Result, StoreError};

/// A value as the source store holds it (SQLite's five kinds).
#[derive(Debug)]
pub enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// One table a copy fills: the columns written, with their types on PostgreSQL.
#[derive(Debug)]
pub struct CopyTable {
    pub name: String,
    pub columns: Vec<String>,
    types: Vec<Type>,
    /// The identity column (`id`), whose sequence must continue after the copied ids.
    identity: Option<String>,
}

/// What one table sends: its rows, then `None`.
pub type CopyRow = Option<Vec<Cell>>;

impl PgStore {
    /// The tables a copy fills, each after the tables it references; refused when any holds
    /// a row (a copy fills an empty database, it never merges).
    pub fn copy_plan(&self) -> Result<Vec<CopyTable>> {
        self.conn.run(|session| {
            let mut tx = session.client.transaction()?;
            let plan = plan(&mut tx)?;
            refuse_rows(&mut tx, &plan)?;
            tx.commit()?;
            Ok(plan)
        })
    }

    /// Fill `plan`'s tables, in its order, from `rows` (each table's rows, then `None`), in
    /// one transaction: all of it or, on any error, nothing. The rows written per table.
    pub fn copy_in(&self, plan: &[CopyTable], rows: Receiver<CopyRow>) -> Result<Vec<u64>> {
        self.conn.run(move |session| {
            let mut tx = session.client.transaction()?;
            // Again inside the transaction: another copy may have begun since the plan.
            refuse_rows(&mut tx, plan)?;
            let mut written = Vec::with_capacity(plan.len());
            for table in plan {
                written.push(copy_table(&mut tx, table, &rows)?);
            }
            for table in plan {
                if let Some(column) = &table.identity {
                    tx.batch_execute(&format!(
                        "SELECT setval(pg_get_serial_sequence('{t}', '{c}'), max({qc})) FROM {qt} \
                         HAVING max({qc}) IS NOT NULL",
                        t = table.name,
                        c = column,
                        qt = quoted(&table.name),
                        qc = quoted(column),
                    ))?;
                }
            }
            tx.commit()?;
            Ok(written)
        })
    }
}

fn copy_table(
    tx: &mut Transaction<'_>,
    table: &CopyTable,
    rows: &Receiver<CopyRow>,
) -> Result<u64> {
    let columns: Vec<String> = table.columns.iter().map(|c| quoted(c)).collect();
    let sink = tx.copy_in(&format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        quoted(&table.name),
        columns.join(", ")
    ))?;
    let mut writer = BinaryCopyInWriter::new(sink, &table.types);
    loop {
        let row = match rows.recv() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            // The reader stopped (its error is the one to report); nothing is committed.
            Err(_) => {
                return Err(StoreError::Invalid(
                    "the source store's reading stopped".into(),
                ));
            }
        };
        if row.len() != table.columns.len() {
            return Err(StoreError::Invalid(format!(
                "{}: a row of {} values for {} columns",
                table.name,
                row.len(),
                table.columns.len()
            )));
        }
        let values = row
            .into_iter()
            .zip(&table.types)
            .zip(&table.columns)
            .map(|((cell, ty), column)| value(cell, ty, &table.name, column))
            .collect::<Result<Vec<_>>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
        writer.write(&refs)?;
    }
    Ok(writer.finish()?)
}

/// The tables of this schema but `schema_version` (the target's migrations wrote it), each
/// with its written columns, ordered so a table comes after those its foreign keys name.
fn plan(tx: &mut Transaction<'_>) -> Result<Vec<CopyTable>> {
    let mut tables: Vec<CopyTable> = Vec::new();
    for row in tx.query(
        "SELECT cl.relname::text, a.attname::text, a.atttypid, a.attidentity <> ''
         FROM pg_attribute a
         JOIN pg_class cl ON cl.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = cl.relnamespace
         WHERE n.nspname = current_schema() AND cl.relkind = 'r' AND a.attnum > 0
           AND NOT a.attisdropped AND a.attgenerated = '' AND cl.relname <> 'schema_version'
         ORDER BY cl.relname, a.attnum",
        &[],
    )? {
        let (table, column): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        let oid: u32 = row.try_get(2)?;
        let identity: bool = row.try_get(3)?;
        let ty = Type::from_oid(oid).ok_or_else(|| {
            StoreError::Invalid(format!("{table}.{column}: a type this build cannot copy"))
        })?;
        if tables.last().is_none_or(|t| t.name != table) {
            tables.push(CopyTable {
                name: table,
                columns: Vec::new(),
                types: Vec::new(),
                identity: None,
            });
        }
        if let Some(t) = tables.last_mut() {
            if identity {
                t.identity = Some(column.clone());
            }
            t.columns.push(column);
            t.types.push(ty);
        }
    }
    let references: Vec<(String, String)> = tx
        .query(
            "SELECT c.relname::text, f.relname::text
             FROM pg_constraint k
             JOIN pg_class c ON c.oid = k.conrelid
             JOIN pg_class f ON f.oid = k.confrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE k.contype = 'f' AND n.nspname = current_schema()",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_>>()?;
    Ok(in_reference_order(tables, &references))
}

/// `tables` with each after the tables it references (a table naming itself, as a restore
/// names the job it undoes, is checked at the end of its one `COPY` statement).
fn in_reference_order(mut left: Vec<CopyTable>, references: &[(String, String)]) -> Vec<CopyTable> {
    let mut ordered: Vec<CopyTable> = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready = left.iter().position(|t| {
            references.iter().all(|(from, to)| {
                from != &t.name || to == &t.name || ordered.iter().any(|o| &o.name == to)
            })
        });
        // A cycle between tables (none today): the rest in name order, and the database says
        // which reference failed.
        let next = ready.unwrap_or(0);
        ordered.push(left.remove(next));
    }
    ordered
}

fn refuse_rows(tx: &mut Transaction<'_>, plan: &[CopyTable]) -> Result<()> {
    for table in plan {
        let any: bool = tx
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(&table.name)),
                &[],
            )?
            .try_get(0)?;
        if any {
            return Err(StoreError::Invalid(format!(
                "the target database is not empty (table {} holds rows): store copy fills an \
                 empty database only; create a new one (see the README's team mode set-up)",
                table.name
            )));
        }
    }
    Ok(())
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A value as the column's own type (a NULL too: the driver checks each value's type
/// against its column's); the source's kind must fit it.
fn value(cell: Cell, ty: &Type, table: &str, column: &str) -> Result<Box<dyn ToSql + Sync>> {
    let misfit = |kind: &str| {
        StoreError::Invalid(format!(
            "{table}.{column}: a {kind} value where PostgreSQL keeps {ty}"
        ))
    };
    Ok(match (cell, ty) {
        (Cell::Null, &Type::INT8) => Box::new(None::<i64>),
        (Cell::Null, &Type::INT4) => Box::new(None::<i32>),
        (Cell::Null, &Type::BOOL) => Box::new(None::<bool>),
        (Cell::Null, &Type::FLOAT8) => Box::new(None::<f64>),
        (Cell::Null, &Type::TEXT) => Box::new(None::<String>),
        (Cell::Null, &Type::BYTEA) => Box::new(None::<Vec<u8>>),
        (Cell::Integer(i), &Type::INT8) => Box::new(i),
        (Cell::Integer(i), &Type::INT4) => {
            Box::new(i32::try_from(i).map_err(|_| misfit("too large integer"))?)
        }
        // SQLite keeps booleans as 0 and 1.
        (Cell::Integer(i), &Type::BOOL) => Box::new(i != 0),
        (Cell::Integer(i), &Type::FLOAT8) => Box::new(i as f64),
        (Cell::Real(f), &Type::FLOAT8) => Box::new(f),
        (Cell::Integer(i), &Type::TEXT) => Box::new(i.to_string()),
        (Cell::Text(s), &Type::TEXT) => Box::new(s),
        (Cell::Blob(b), &Type::BYTEA) => Box::new(b),
        (Cell::Text(s), &Type::BYTEA) => Box::new(s.into_bytes()),
        (Cell::Null, _) => return Err(misfit("NULL")),
        (Cell::Integer(_), _) => return Err(misfit("integer")),
        (Cell::Real(_), _) => return Err(misfit("real")),
        (Cell::Text(_), _) => return Err(misfit("text")),
        (Cell::Blob(_), _) => return Err(misfit("blob")),
    })
}

#[cfg(test)]
mod tests {
    use super::{CopyTable, in_reference_order};

    fn table(name: &str) -> CopyTable {
        CopyTable {
            name: name.into(),
            columns: Vec::new(),
            types: Vec::new(),
            identity: None,
        }
    }

    #[test]
    fn a_table_comes_after_the_tables_it_references() {
        let tables = ["audit", "items", "jobs", "messages"].map(table).into();
        let refs = [("items", "jobs"), ("items", "messages"), ("jobs", "jobs")]
            .map(|(a, b)| (a.to_string(), b.to_string()));
        let order: Vec<String> = in_reference_order(tables, &refs)
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(order, ["audit", "jobs", "messages", "items"]);
    }
}
