//! Compiling a parsed [`Query`] into SQL over the log and its FTS5 index.

use rusqlite::types::Value;

use super::messages::{MESSAGE_COLUMNS, message_from_row};
use super::{Result, SqliteStore};
use crate::model::{LoggedMessage, MessageStatus};
use crate::query::{Query, Term, TextField};

/// Where a page of the log starts, for a client that pages through a large result (the
/// console): OFFSET costs a scan of every skipped row, so neighbouring pages are read from a
/// known row (keyset paging) and pages near the end are counted from the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PageAnchor {
    /// Skip this many rows from the newest.
    Offset(usize),
    /// The rows just older than this (received_at seconds, id), newest first.
    After(i64, i64),
    /// The rows just newer than this, returned newest first.
    Before(i64, i64),
    /// Skip this many rows from the oldest; the page is returned newest first.
    FromEnd(usize),
}

impl SqliteStore {
    /// One page of `query`'s matches (newest first), starting where `anchor` says.
    pub fn search_page(
        &self,
        query: &Query,
        anchor: PageAnchor,
        limit: usize,
    ) -> Result<Vec<LoggedMessage>> {
        let (filter, mut args) = compile(query);
        let limit = Value::Integer(limit.min(i64::MAX as usize) as i64);
        let (extra, order, offset) = match anchor {
            PageAnchor::Offset(n) => ("1", "DESC", n),
            PageAnchor::FromEnd(n) => ("1", "ASC", n),
            PageAnchor::After(at, id) => {
                args.extend([Value::Integer(at), Value::Integer(at), Value::Integer(id)]);
                // The first conjunct alone is an index range; an OR at the top is not.
                (
                    "m.received_at <= ? AND (m.received_at < ? OR m.id < ?)",
                    "DESC",
                    0,
                )
            }
            PageAnchor::Before(at, id) => {
                args.extend([Value::Integer(at), Value::Integer(at), Value::Integer(id)]);
                (
                    "m.received_at >= ? AND (m.received_at > ? OR m.id > ?)",
                    "ASC",
                    0,
                )
            }
        };
        args.push(limit);
        args.push(Value::Integer(offset.min(i64::MAX as usize) as i64));
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE ({filter}) AND {extra}
             ORDER BY m.received_at {order}, m.id {order} LIMIT ? OFFSET ?"
        );
        let mut rows = self.read(|tx| {
            let mut stmt = tx.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args), message_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        if order == "ASC" {
            rows.reverse();
        }
        Ok(rows)
    }

    /// Messages matching `query`, newest first.
    pub fn search(&self, query: &Query, limit: usize, offset: usize) -> Result<Vec<LoggedMessage>> {
        let (filter, mut args) = compile(query);
        args.push(Value::Integer(limit.min(i64::MAX as usize) as i64));
        args.push(Value::Integer(offset.min(i64::MAX as usize) as i64));
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE {filter}
             ORDER BY m.received_at DESC, m.id DESC LIMIT ? OFFSET ?"
        );
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args), message_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// How many messages match `query` (for "N of M" in views).
    pub fn search_count(&self, query: &Query) -> Result<u64> {
        let (filter, args) = compile(query);
        let sql = format!("SELECT count(*) FROM messages m WHERE {filter}");
        self.read(|tx| {
            let n: i64 = tx
                .prepare_cached(&sql)?
                .query_row(rusqlite::params_from_iter(args), |r| r.get(0))?;
            Ok(n.max(0) as u64)
        })
    }
}

/// A WHERE clause and its arguments. Positive text terms share one FTS MATCH (the index does
/// the AND); negated ones each exclude their own match set, since FTS5's NOT needs a left side.
fn compile(query: &Query) -> (String, Vec<Value>) {
    let mut conditions: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut positive_fts: Vec<String> = Vec::new();
    for clause in &query.clauses {
        match &clause.term {
            Term::Text {
                field,
                words,
                prefix,
            } => {
                let Some(expr) = fts_phrase(*field, words, *prefix) else {
                    continue;
                };
                if clause.negated {
                    conditions.push(
                        "m.id NOT IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)"
                            .into(),
                    );
                    args.push(Value::Text(expr));
                } else {
                    positive_fts.push(expr);
                }
            }
            other => {
                let (sql, mut values) = scalar_condition(other);
                conditions.push(if clause.negated {
                    format!("NOT coalesce({sql}, 0)")
                } else {
                    sql
                });
                args.append(&mut values);
            }
        }
    }
    if !positive_fts.is_empty() {
        conditions.insert(
            0,
            "m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)".into(),
        );
        args.insert(0, Value::Text(positive_fts.join(" AND ")));
    }
    if conditions.is_empty() {
        ("1".into(), args)
    } else {
        (conditions.join(" AND "), args)
    }
}

/// `{columns} : "w1 w2" *`: the words as one phrase, quoted so no word is read as syntax.
fn fts_phrase(field: TextField, words: &[String], prefix: bool) -> Option<String> {
    if words.is_empty() {
        return None;
    }
    let columns = match field {
        TextField::Any => "{subject sender recipients}",
        TextField::From => "{sender}",
        TextField::To => "{recipients}",
        TextField::Subject => "{subject}",
    };
    let phrase = words
        .iter()
        .map(|w| w.replace('"', "\"\""))
        .collect::<Vec<_>>()
        .join(" ");
    Some(format!(
        "{columns} : \"{phrase}\"{}",
        if prefix { " *" } else { "" }
    ))
}

fn scalar_condition(term: &Term) -> (String, Vec<Value>) {
    match term {
        Term::MessageId(id) => ("m.message_id = ?".into(), vec![Value::Text(id.clone())]),
        // "retracted" means at least one copy pulled, so partial retractions count too.
        Term::Status(MessageStatus::Retracted) => {
            ("m.status IN ('retracted', 'partial')".into(), vec![])
        }
        Term::Status(s) => ("m.status = ?".into(), vec![Value::Text(s.as_str().into())]),
        Term::Disposition(d) => ("m.disposition = ?".into(), vec![Value::Text(d.clone())]),
        Term::Tenant(t) => ("m.tenant = ?".into(), vec![Value::Text(t.clone())]),
        Term::Since(t) => (
            "m.received_at >= ?".into(),
            vec![Value::Integer(t.timestamp())],
        ),
        Term::Until(t) => (
            "m.received_at < ?".into(),
            vec![Value::Integer(t.timestamp())],
        ),
        Term::Text { .. } => ("1".into(), vec![]),
    }
}
