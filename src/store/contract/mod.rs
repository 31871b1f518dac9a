//! The store contract suite: scenarios written against the role traits only, so that every
//! implementation is held to the same behaviour. Each scenario is a generic function over a
//! [`Subject`] (a factory for one implementation); [`contract_suite!`] turns the list of
//! scenarios into tests for one subject. A second store joins by implementing `Subject` and
//! adding one `contract_suite!` line.

mod alerts;
mod claims;
mod indicators;
mod limits;
mod records;
mod reports;
mod search;

use alerts::*;
use claims::*;
use indicators::*;
use limits::*;
use records::*;
use reports::*;
use search::*;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::{ManualClock, NewAudit, NewItem, NewJob, PgStore, Store, StoreRoles};
use crate::model::{Action, JobKind};

/// One implementation under test: a fresh, empty store whose clock the test moves.
pub(super) trait Subject: Sized {
    type Store: StoreRoles + Send + Sync + 'static;

    /// A fresh store; its clock stands at [`START`] and moves only by [`Subject::advance`].
    fn open() -> Self;
    /// The store.
    fn store(&self) -> &Self::Store;
    /// Another handle on the same store, as a second process or host would hold, sharing
    /// the test's clock.
    fn another_handle(&self) -> Self::Store;
    /// Move the store's clock forward.
    fn advance(&self, by: Duration);
    /// Change audit record `seq`'s outcome behind the store's back, as an intruder with
    /// write access to the database would.
    fn alter_audit_record(&self, seq: i64);
    /// Overwrite one column of one row behind the store's back (a newer version's value).
    fn overwrite(&self, table: &str, column: &str, id: i64, value: &str);
}

/// Where every subject's clock starts: far from the host's clock, so a time taken from the
/// wrong clock shows.
pub(super) fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 3, 4, 5, 6, 7)
        .single()
        .unwrap_or_default()
}

/// The lease the scenarios use.
pub(super) const LEASE: Duration = Duration::from_secs(10);

pub(super) fn lease_ms() -> i64 {
    LEASE.as_millis() as i64
}

/// A retract job with one item per mailbox, not yet written.
pub(super) fn retract_job(mailboxes: &[String]) -> (NewJob, Vec<NewItem>) {
    let job = NewJob {
        kind: JobKind::Retract,
        action: Action::Trash,
        initiated_by: "tester".into(),
        ssh_from: None,
        reason: Some("contract".into()),
        target: "<m@x>".into(),
        restores_job: None,
        audit: NewAudit {
            actor: "tester".into(),
            role: "analyst".into(),
            action: "retract".into(),
            target: "<m@x>".into(),
            outcome: "queued".into(),
            ..NewAudit::default()
        },
    };
    let items: Vec<NewItem> = mailboxes
        .iter()
        .map(|m| NewItem {
            tenant: "t".into(),
            mailbox: m.clone(),
            message_id: "<m@x>".into(),
            ..NewItem::default()
        })
        .collect();
    (job, items)
}

/// A retract job with one item per mailbox, written; its id.
pub(super) fn job_with_items(store: &impl StoreRoles, mailboxes: &[String]) -> i64 {
    let (job, items) = retract_job(mailboxes);
    store.create_job(&job, &items).expect("create job")
}

/// `n` mailbox names.
pub(super) fn mailboxes(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("u{i}@t.test")).collect()
}

/// The SQLite store, on a file in a fresh temporary directory.
pub(super) struct Sqlite {
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    store: Store,
}

impl Sqlite {
    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("contract.db")
    }

    fn raw(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path()).expect("open raw")
    }
}

impl Subject for Sqlite {
    type Store = Store;

    fn open() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Arc::new(ManualClock::new(start()));
        let store =
            Store::open_with_clock(&dir.path().join("contract.db"), clock.clone()).expect("open");
        Sqlite { dir, clock, store }
    }

    fn store(&self) -> &Store {
        &self.store
    }

    fn another_handle(&self) -> Store {
        Store::open_with_clock(&self.path(), self.clock.clone()).expect("open again")
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    fn alter_audit_record(&self, seq: i64) {
        let conn = self.raw();
        conn.execute_batch("DROP TRIGGER audit_no_update")
            .expect("drop trigger");
        let n = conn
            .execute("UPDATE audit SET outcome = 'refused' WHERE seq = ?1", [seq])
            .expect("tamper");
        assert_eq!(n, 1, "no audit record {seq}");
    }

    fn overwrite(&self, table: &str, column: &str, id: i64, value: &str) {
        let sql = format!("UPDATE {table} SET {column} = ?1 WHERE id = ?2");
        let n = self
            .raw()
            .execute(&sql, rusqlite::params![value, id])
            .expect("overwrite");
        assert_eq!(n, 1, "{sql}");
    }
}

/// The PostgreSQL store, on a fresh database of the test binary's one server (see
/// `postgres::testdb`), its times from the test's clock instead of the server's.
pub(super) struct Postgres {
    db: super::postgres::testdb::TestDatabase,
    config: ::postgres::Config,
    clock: Arc<ManualClock>,
    store: PgStore,
}

impl Postgres {
    /// Run `sql` as the superuser (behind the store's back); what it printed.
    fn psql(&self, sql: &str) -> String {
        super::postgres::testdb::server().psql(&self.db.name, sql)
    }
}

impl Subject for Postgres {
    type Store = PgStore;

    fn open() -> Self {
        let db = super::postgres::testdb::fresh_database();
        let config: ::postgres::Config = db.url.parse().expect("test database url");
        let clock = Arc::new(ManualClock::new(start()));
        let store = PgStore::open_with_clock(&config, &db.name, clock.clone()).expect("open");
        Postgres {
            db,
            config,
            clock,
            store,
        }
    }

    fn store(&self) -> &PgStore {
        &self.store
    }

    fn another_handle(&self) -> PgStore {
        PgStore::open_with_clock(&self.config, &self.db.name, self.clock.clone())
            .expect("open again")
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    fn alter_audit_record(&self, seq: i64) {
        let out = self.psql(&format!(
            "ALTER TABLE audit DISABLE TRIGGER audit_no_update; \
             UPDATE audit SET outcome = 'refused' WHERE seq = {seq} RETURNING seq"
        ));
        assert_eq!(out.trim(), seq.to_string(), "no audit record {seq}");
    }

    fn overwrite(&self, table: &str, column: &str, id: i64, value: &str) {
        let value = value.replace('\'', "''");
        let out = self.psql(&format!(
            "UPDATE {table} SET {column} = '{value}' WHERE id = {id} RETURNING id"
        ));
        assert_eq!(out.trim(), id.to_string(), "{table}.{column} of {id}");
    }
}

/// Tests for one subject: one `#[test]` per scenario.
macro_rules! contract_suite {
    ($module:ident, $subject:ty) => {
        mod $module {
            contract_suite!(@tests $subject;
                two_workers_never_claim_the_same_item,
                an_expired_lease_hands_the_item_over,
                a_fenced_writer_is_refused,
                a_retry_is_due_by_the_store_clock,
                a_retry_in_a_cancelled_job_ends_cancelled,
                a_cancel_is_final_and_a_second_cancel_refused,
                a_job_settles_by_its_counts,
                delivery_counters_follow_each_change,
                a_copy_remembers_where_it_first_was,
                stored_times_come_from_the_store_clock,
                the_audit_chain_verifies_and_shows_tampering,
                audit_records_are_listed_by_filter,
                the_message_log_is_searched_and_followed,
                evidence_keeps_bytes_and_digest,
                an_unknown_stored_value_stops_the_read,
                the_query_language_finds_the_same_messages,
                a_phish_report_is_recorded_once_and_its_reporters_counted,
                indicators_are_kept_refreshed_and_expire,
                an_unknown_indicator_kind_stops_the_read,
                mailbox_hunt_marks_move_forward_and_a_removal_clears_them,
                an_alert_is_stored_once_and_each_revision_decided_once,
                an_approval_is_decided_once_or_expires,
                a_poller_cursor_is_kept_per_source,
                one_worker_at_a_time_has_a_mailboxs_turn,
                a_forgotten_worker_gives_its_turns_back,
                a_mailbox_hold_is_kept_by_every_handle,
                a_breaker_stops_earlier_jobs_everywhere,
            );
        }
    };
    (@tests $subject:ty; $($scenario:ident),* $(,)?) => {
        $( #[test] fn $scenario() { super::$scenario::<$subject>(); } )*
    };
}

contract_suite!(sqlite, super::Sqlite);
contract_suite!(postgres, super::Postgres);
