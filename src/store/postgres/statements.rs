//! The session's statement cache: each SQL text is prepared once per session and run by name
//! after that. Without it every statement costs two round trips (prepare, then run), which
//! made a finished item about 25 round trips; a statement the session has seen costs one.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Error, Row, Statement, Transaction};

/// Past this many texts the cache starts again: the store's SQL is a few dozen fixed texts,
/// but search builds its text from the query, and the server keeps every one prepared.
const MOST_STATEMENTS: usize = 256;

/// The statements one session has prepared, by their SQL text.
#[derive(Default)]
pub(super) struct Statements(HashMap<String, Statement>);

impl Statements {
    /// Drop every statement (after a failed transaction, where nothing is taken on trust).
    pub fn forget(&mut self) {
        self.0.clear();
    }
}

/// SQL a transaction can run: a text (looked up in, or added to, the cache) or a statement.
pub(super) trait Sql {
    fn statement(&self, tx: &mut Tx<'_>) -> Result<Statement, Error>;
}

impl Sql for str {
    fn statement(&self, tx: &mut Tx<'_>) -> Result<Statement, Error> {
        if let Some(statement) = tx.statements.0.get(self) {
            return Ok(statement.clone());
        }
        let statement = tx.tx.prepare(self)?;
        if tx.statements.0.len() >= MOST_STATEMENTS {
            tx.statements.forget();
        }
        tx.statements.0.insert(self.to_string(), statement.clone());
        Ok(statement)
    }
}

impl Sql for String {
    fn statement(&self, tx: &mut Tx<'_>) -> Result<Statement, Error> {
        self.as_str().statement(tx)
    }
}

impl Sql for Statement {
    fn statement(&self, _: &mut Tx<'_>) -> Result<Statement, Error> {
        Ok(self.clone())
    }
}

impl<T: Sql + ?Sized> Sql for &T {
    fn statement(&self, tx: &mut Tx<'_>) -> Result<Statement, Error> {
        (**self).statement(tx)
    }
}

/// A transaction whose statements go through its session's cache.
pub(super) struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut Statements,
    /// The jobs whose progress this transaction changed, each with whether it ended them:
    /// told to the listening hosts before the commit (see `PgStore::write`).
    progressed: Vec<(i64, bool)>,
}

impl<'a> Tx<'a> {
    pub fn new(tx: Transaction<'a>, statements: &'a mut Statements) -> Tx<'a> {
        Tx {
            tx,
            statements,
            progressed: Vec::new(),
        }
    }

    /// This transaction changes job `job`'s progress (`ended`: it finished the job).
    pub fn progressed(&mut self, job: i64, ended: bool) {
        self.progressed.push((job, ended));
    }

    /// The jobs this transaction changed, once each, `ended` if any change ended the job.
    pub fn take_progressed(&mut self) -> Vec<(i64, bool)> {
        once_each(std::mem::take(&mut self.progressed))
    }

    pub fn commit(self) -> Result<(), Error> {
        self.tx.commit()
    }

    /// The prepared statement of `sql`, from the cache when the session has seen it.
    pub fn prepare(&mut self, sql: &str) -> Result<Statement, Error> {
        sql.statement(self)
    }

    pub fn query<S: Sql + ?Sized>(
        &mut self,
        sql: &S,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error> {
        let statement = sql.statement(self)?;
        self.tx.query(&statement, params)
    }

    pub fn query_one<S: Sql + ?Sized>(
        &mut self,
        sql: &S,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, Error> {
        let statement = sql.statement(self)?;
        self.tx.query_one(&statement, params)
    }

    pub fn query_opt<S: Sql + ?Sized>(
        &mut self,
        sql: &S,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error> {
        let statement = sql.statement(self)?;
        self.tx.query_opt(&statement, params)
    }

    pub fn execute<S: Sql + ?Sized>(
        &mut self,
        sql: &S,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Error> {
        let statement = sql.statement(self)?;
        self.tx.execute(&statement, params)
    }
}

/// Each job once, `ended` if any of its changes ended it, in job order.
fn once_each(mut jobs: Vec<(i64, bool)>) -> Vec<(i64, bool)> {
    jobs.sort_unstable();
    let mut once: Vec<(i64, bool)> = Vec::with_capacity(jobs.len());
    for (job, ended) in jobs {
        match once.last_mut() {
            Some(last) if last.0 == job => last.1 |= ended,
            _ => once.push((job, ended)),
        }
    }
    once
}

#[cfg(test)]
mod tests {
    use super::once_each;

    #[test]
    fn each_job_is_told_once_and_ended_if_any_change_ended_it() {
        assert_eq!(
            once_each(vec![
                (7, false),
                (3, false),
                (7, true),
                (7, false),
                (3, false)
            ]),
            [(3, false), (7, true)]
        );
        assert_eq!(once_each(Vec::new()), []);
    }
}
