//! Reading PostgreSQL rows back into typed values, with the SQLite store's rule (see
//! `store/decode.rs`): a stored value this build does not know is an [`UnreadableValue`]
//! naming table, column, row and value, never a default.

use chrono::{DateTime, TimeZone, Utc};
use postgres::Row;
use postgres::types::FromSql;

use crate::store::{Result, StoreError, UnreadableValue};

/// A row of `table` whose id is column `id_column`.
#[derive(Clone, Copy)]
pub(super) struct RowOf {
    pub table: &'static str,
    pub id_column: usize,
}

/// Column `index` of `row`.
pub(super) fn get<'r, T: FromSql<'r>>(row: &'r Row, index: usize) -> Result<T> {
    Ok(row.try_get(index)?)
}

impl RowOf {
    /// Column `index` (named `column`), decoded by `parse`.
    pub fn known<T>(
        self,
        row: &Row,
        index: usize,
        column: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T> {
        self.known_or_null(row, index, column, parse)?
            .ok_or_else(|| {
                StoreError::Database(format!(
                    "{}.{column} of row {} is NULL",
                    self.table,
                    self.id(row)
                ))
            })
    }

    /// Like [`RowOf::known`] for a nullable column.
    pub fn known_or_null<T>(
        self,
        row: &Row,
        index: usize,
        column: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>> {
        let Some(text) = get::<Option<String>>(row, index)? else {
            return Ok(None);
        };
        match parse(&text) {
            Some(value) => Ok(Some(value)),
            None => Err(self.unreadable(row, column, text)),
        }
    }

    /// A JSON text column.
    pub fn json<T: serde::de::DeserializeOwned>(
        self,
        row: &Row,
        index: usize,
        column: &'static str,
    ) -> Result<T> {
        self.known(row, index, column, |text| serde_json::from_str(text).ok())
    }

    /// A time stored as unix milliseconds; one outside the calendar is unreadable.
    pub fn millis(self, row: &Row, index: usize, column: &'static str) -> Result<DateTime<Utc>> {
        let ms: i64 = get(row, index)?;
        Utc.timestamp_millis_opt(ms)
            .single()
            .ok_or_else(|| self.unreadable(row, column, ms.to_string()))
    }

    /// Like [`RowOf::millis`] for a nullable column.
    pub fn millis_or_null(
        self,
        row: &Row,
        index: usize,
        column: &'static str,
    ) -> Result<Option<DateTime<Utc>>> {
        match get::<Option<i64>>(row, index)? {
            None => Ok(None),
            Some(_) => self.millis(row, index, column).map(Some),
        }
    }

    /// A time stored as unix seconds.
    pub fn secs(self, row: &Row, index: usize, column: &'static str) -> Result<DateTime<Utc>> {
        let s: i64 = get(row, index)?;
        Utc.timestamp_opt(s, 0)
            .single()
            .ok_or_else(|| self.unreadable(row, column, s.to_string()))
    }

    fn id(self, row: &Row) -> i64 {
        row.try_get::<_, i64>(self.id_column).unwrap_or(-1)
    }

    fn unreadable(self, row: &Row, column: &'static str, value: String) -> StoreError {
        StoreError::Unreadable(Box::new(UnreadableValue {
            table: self.table,
            column,
            row: self.id(row),
            value,
        }))
    }
}

/// An integer column read into a narrower type; a value out of its range is unreadable.
pub(super) fn narrow<T: TryFrom<i64>>(
    row: &Row,
    of: RowOf,
    index: usize,
    column: &'static str,
) -> Result<T> {
    let wide: i64 = get(row, index)?;
    T::try_from(wide).map_err(|_| of.unreadable(row, column, wide.to_string()))
}
