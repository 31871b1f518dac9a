//! Turning stored text back into typed values. A value this build does not know (a row
//! written by a newer version, a hand-edited store, a damaged file) is an error naming the
//! table, column, row and value, never a default: a default action would be an act nobody
//! asked for (an unknown action once became move-to-junk).

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::Row;
use rusqlite::types::Type;

/// A stored value that does not decode, with where it is.
#[derive(Debug, thiserror::Error)]
#[error("store: {table}.{column} of row {row} holds {value:?}, which this version does not know")]
pub struct UnreadableValue {
    pub table: &'static str,
    pub column: &'static str,
    pub row: i64,
    pub value: String,
}

/// Where a row's columns come from: its table and the column holding its id.
#[derive(Clone, Copy)]
pub(super) struct RowOf {
    pub table: &'static str,
    pub id_column: usize,
}

impl RowOf {
    /// Column `index` (named `column`) of `row`, decoded by `parse`; an unknown value is an
    /// [`UnreadableValue`], carried through rusqlite's conversion error so that row mappers
    /// keep their signature, and unpacked again by `From<rusqlite::Error> for StoreError`.
    pub(super) fn known<T>(
        self,
        row: &Row<'_>,
        index: usize,
        column: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> rusqlite::Result<T> {
        self.known_or_null(row, index, column, parse)?
            .ok_or_else(|| rusqlite::Error::InvalidColumnType(index, column.into(), Type::Null))
    }

    /// Like [`RowOf::known`] for a nullable column: NULL is `None`, an unknown value an error.
    pub(super) fn known_or_null<T>(
        self,
        row: &Row<'_>,
        index: usize,
        column: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> rusqlite::Result<Option<T>> {
        let Some(text) = row.get::<_, Option<String>>(index)? else {
            return Ok(None);
        };
        match parse(&text) {
            Some(value) => Ok(Some(value)),
            None => Err(self.unreadable(row, index, column, text)),
        }
    }

    /// A JSON column, decoded into `T`.
    pub(super) fn json<T: serde::de::DeserializeOwned>(
        self,
        row: &Row<'_>,
        index: usize,
        column: &'static str,
    ) -> rusqlite::Result<T> {
        self.known(row, index, column, |text| serde_json::from_str(text).ok())
    }

    /// A time stored as unix milliseconds. One outside the calendar's range is unreadable,
    /// never 1970.
    pub(super) fn millis(
        self,
        row: &Row<'_>,
        index: usize,
        column: &'static str,
    ) -> rusqlite::Result<DateTime<Utc>> {
        let ms: i64 = row.get(index)?;
        self.time(
            row,
            index,
            column,
            ms,
            Utc.timestamp_millis_opt(ms).single(),
        )
    }

    /// Like [`RowOf::millis`] for a nullable column.
    pub(super) fn millis_or_null(
        self,
        row: &Row<'_>,
        index: usize,
        column: &'static str,
    ) -> rusqlite::Result<Option<DateTime<Utc>>> {
        match row.get::<_, Option<i64>>(index)? {
            None => Ok(None),
            Some(_) => self.millis(row, index, column).map(Some),
        }
    }

    /// A time stored as unix seconds.
    pub(super) fn secs(
        self,
        row: &Row<'_>,
        index: usize,
        column: &'static str,
    ) -> rusqlite::Result<DateTime<Utc>> {
        let s: i64 = row.get(index)?;
        self.time(row, index, column, s, Utc.timestamp_opt(s, 0).single())
    }

    fn time(
        self,
        row: &Row<'_>,
        index: usize,
        column: &'static str,
        stored: i64,
        decoded: Option<DateTime<Utc>>,
    ) -> rusqlite::Result<DateTime<Utc>> {
        decoded.ok_or_else(|| self.unreadable(row, index, column, stored.to_string()))
    }

    fn unreadable(
        self,
        row: &Row<'_>,
        index: usize,
        column: &'static str,
        value: String,
    ) -> rusqlite::Error {
        let id = row.get::<_, i64>(self.id_column).unwrap_or(-1);
        rusqlite::Error::FromSqlConversionFailure(
            index,
            Type::Text,
            Box::new(UnreadableValue {
                table: self.table,
                column,
                row: id,
                value,
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{overwrite, temp_store};
    use super::super::{NewAudit, NewItem, NewJob, Store, StoreError};
    use crate::model::{Action, ItemOutcome, ItemState, JobKind, JobStatus};

    fn job_with_items(store: &Store, mailboxes: &[&str]) -> i64 {
        let job = NewJob {
            kind: JobKind::Retract,
            action: Action::Trash,
            initiated_by: "tester".into(),
            ssh_from: None,
            reason: None,
            target: "<m@x>".into(),
            restores_job: None,
            audit: NewAudit::default(),
        };
        let items: Vec<NewItem> = mailboxes
            .iter()
            .map(|m| NewItem {
                tenant: "t".into(),
                mailbox: (*m).into(),
                message_id: "<m@x>".into(),
                ..NewItem::default()
            })
            .collect();
        store.create_job(&job, &items).expect("create job")
    }

    fn unreadable(err: StoreError) -> (String, String, i64, String) {
        match err {
            StoreError::Unreadable(v) => (v.table.into(), v.column.into(), v.row, v.value),
            other => panic!("not an unreadable value: {other}"),
        }
    }

    #[test]
    fn an_unknown_action_is_an_error_naming_where_it_is_not_move_to_junk() {
        let (_dir, store) = temp_store();
        let job = job_with_items(&store, &["a@t.test"]);
        overwrite(&store, "jobs", "action", job, "shred-everything");

        let err = store.job(job).expect_err("an unknown action does not read");
        let shown = err.to_string();
        assert_eq!(
            unreadable(err),
            (
                "jobs".into(),
                "action".into(),
                job,
                "shred-everything".into()
            )
        );
        assert!(
            shown.contains(&format!("jobs.action of row {job}")),
            "{shown}"
        );
        assert!(shown.contains("\"shred-everything\""), "{shown}");
    }

    #[test]
    fn unknown_kinds_statuses_states_outcomes_and_placements_do_not_read() {
        for (table, column, value) in [
            ("jobs", "kind", "purge"),
            ("jobs", "status", "paused"),
            ("items", "state", "limbo"),
            ("items", "outcome", "vanished"),
            ("items", "placements", "{not json"),
            // Past the calendar's end: once read back as 1970.
            ("jobs", "created_at", "9000000000000000000"),
        ] {
            let (_dir, store) = temp_store();
            let job = job_with_items(&store, &["a@t.test"]);
            let id = if table == "jobs" {
                job
            } else {
                store.job_items(job).expect("items")[0].id
            };
            overwrite(&store, table, column, id, value);
            let err = if table == "jobs" {
                store.job(job).map(|_| ())
            } else {
                store.job_items(job).map(|_| ())
            }
            .expect_err(value);
            assert_eq!(
                unreadable(err),
                (table.into(), column.into(), id, value.into())
            );
        }
    }

    #[test]
    fn a_claimed_item_whose_job_action_is_unknown_fails_alone_and_is_audited() {
        let (_dir, store) = temp_store();
        let bad = job_with_items(&store, &["a@t.test", "b@t.test"]);
        let good = job_with_items(&store, &["c@t.test"]);
        overwrite(&store, "jobs", "action", bad, "shred-everything");

        let claimed = store.claim_items("host:1:w", 10, None).expect("claim");

        // Only the readable job's item reaches a worker.
        let mailboxes: Vec<&str> = claimed.iter().map(|c| c.item.mailbox.as_str()).collect();
        assert_eq!(mailboxes, ["c@t.test"]);
        assert_eq!(claimed[0].action, Action::Trash);
        assert_eq!(claimed[0].item.job_id, good);
        // The others ended failed, saying why, and their job is settled as failed.
        overwrite(&store, "jobs", "action", bad, "trash");
        let items = store.job_items(bad).expect("items");
        assert_eq!(items.len(), 2);
        for i in &items {
            assert_eq!(i.state, ItemState::Failed);
            assert_eq!(i.outcome, Some(ItemOutcome::Failed));
            let error = i.error.as_deref().unwrap_or_default();
            assert!(
                error.starts_with("internal: store: jobs.action of row")
                    && error.contains("\"shred-everything\""),
                "{error}"
            );
        }
        assert_eq!(store.job(bad).expect("job").status, JobStatus::Failed);
        let audit = store.audit_entries(&Default::default()).expect("audit");
        let failed = audit
            .iter()
            .filter(|e| e.outcome == "failed" && e.job == Some(bad))
            .count();
        assert_eq!(failed, 2, "{audit:?}");
    }
}
