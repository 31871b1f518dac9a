//! The store: SQLite in WAL mode, and every SQL statement of the program.
//!
//! The store is the bus (DESIGN.md): jobs and items are written before anything acts, workers
//! claim items here, and views only read rows. Several processes may open one store at once;
//! every write runs in a `BEGIN IMMEDIATE` transaction and waits politely for the others.
//!
//! What the engine and clients need from a store is named by the role traits in [`roles`];
//! `Store` is their SQLite implementation, and the contract suite (`contract`, tests only)
//! is written against the traits so that a second implementation joins it with a factory.

mod alerts;
mod approvals;
mod audit;
mod claims;
mod clock;
#[cfg(test)]
mod contract;
mod copy;
mod decode;
mod evidence;
mod files;
mod handle;
mod indicators;
mod jobs;
mod limits;
mod messages;
mod pollers;
mod roles;
mod schema;
mod search;
mod submissions;
// Team mode: the same roles on PostgreSQL.
pub mod postgres;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use alerts::{AlertCounts, ClaimedRevision, DecisionEffect, DecisionRecord, NewDecision};
pub use approvals::{ApprovalRecord, NewApproval, Settlement};
pub use audit::{
    AUTHORITY_ADVISORY, AUTHORITY_SERVICE, AuditCheckpoint, AuditEntry, AuditFilter, AuditProgress,
    AuditVerdict, NewAudit,
};
pub use claims::Requeued;
pub use clock::{Clock, ManualClock, SystemClock};
pub use copy::{CopiedTable, CopyReport};
pub use decode::UnreadableValue;
pub use evidence::EvidenceRecord;
pub use files::{STORE_DIR_MODE, STORE_FILE_MODE, loose_modes};
pub use handle::{Access, Store};
pub use indicators::{IndicatorsAdded, MailboxHuntMark};
pub use jobs::{Claimed, ItemFinish, JobSignature, NewItem, NewJob};
pub use limits::MailboxTurn;
pub use messages::{ConversationEntry, IngestStats, MessageDetail, NewMessage, RefMatch};
pub use postgres::PgStore;
pub use roles::{
    AlertLog, Approvals, AuditTrail, EvidenceStore, IndicatorStore, ItemClaims, JobQueue,
    MessageLog, PhishReports, PollerCursors, ProgressChanged, ServiceSigning, SharedLimits,
    StoreRoles, WorkSignals,
};
pub use search::PageAnchor;
pub use submissions::{NewReport, ReportRecord};

use crate::trust::ServiceKey;
use clock::Now;

/// Errors from the store, with enough words to tell the user what went wrong. No variant
/// carries a database driver's type: a second implementation reports through the same cases.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be opened (or created, or migrated) at `path`.
    #[error("store {path}: {detail}")]
    Open { path: PathBuf, detail: String },
    /// The database refused or failed a statement; `detail` is its own words.
    #[error("store: {0}")]
    Database(String),
    /// A stored value this version does not know: the read (and the item it was for) stops.
    #[error("{0}")]
    Unreadable(Box<UnreadableValue>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Ambiguous(String),
    #[error("{0}")]
    Invalid(String),
}

impl StoreError {
    /// An opening failure at `path`, in the driver's words.
    fn open(path: &Path, detail: impl std::fmt::Display) -> StoreError {
        StoreError::Open {
            path: path.to_path_buf(),
            detail: detail.to_string(),
        }
    }
}

/// The SQLite implementation's conversion, so its statements can use `?`; only the words
/// cross over, never the driver's type.
impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        match err {
            // Row mappers report an unknown stored value this way (see `decode`).
            rusqlite::Error::FromSqlConversionFailure(index, kind, inner) => {
                match inner.downcast::<UnreadableValue>() {
                    Ok(value) => StoreError::Unreadable(value),
                    Err(inner) => StoreError::Database(
                        rusqlite::Error::FromSqlConversionFailure(index, kind, inner).to_string(),
                    ),
                }
            }
            other => StoreError::Database(other.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A handle on one SQLite store. Cheap to share behind an `Arc`; calls are short and serialised
/// per process by a mutex, and across processes by SQLite's locks.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
    clock: Arc<dyn Clock>,
    /// The service's key, once this process is the service: audit records and jobs are
    /// signed with it from then on.
    signer: OnceLock<Arc<ServiceKey>>,
}

impl SqliteStore {
    /// Open (creating if needed, privately: see `files`) and migrate the store at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        SqliteStore::open_with_clock(path, Arc::new(SystemClock))
    }

    /// [`SqliteStore::open`] with the clock its stored times come from (tests move a
    /// [`ManualClock`] past a lease instead of sleeping through it).
    pub fn open_with_clock(path: &Path, clock: Arc<dyn Clock>) -> Result<SqliteStore> {
        files::create_private(path)?;
        let open_err = |source: rusqlite::Error| StoreError::open(path, source);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        // 64 MiB of page cache: the log's indexes (Message-IDs arrive in random order) stay
        // in memory during large ingests instead of being re-read from disk.
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(open_err)?;
        // Statement journals (every INSERT with a trigger or ON CONFLICT keeps one) in memory
        // rather than in temporary files: a fifth of ingest time went to writing them.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(open_err)?;
        migrate(&mut conn).map_err(open_err)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            clock,
            signer: OnceLock::new(),
        })
    }

    /// Open the store for a command that only reads (`search`, `show`, `jobs`, `audit`):
    /// nothing is written, so a read-only store (a forensic copy on read-only media) works.
    /// A store that does not exist yet is created as by [`SqliteStore::open`], so a fresh
    /// configuration reads as empty rather than failing.
    pub fn open_read_only(path: &Path) -> Result<SqliteStore> {
        if !path.exists() {
            return SqliteStore::open(path);
        }
        Ok(SqliteStore {
            conn: Mutex::new(files::open_read_only(path)?),
            path: path.to_path_buf(),
            clock: Arc::new(SystemClock),
            signer: OnceLock::new(),
        })
    }

    /// Open a store for `audit verify`: read-only, and a store emptied (truncated to 0 bytes)
    /// opens as an empty trail, for the witness to show what it lost.
    pub fn open_for_verify(path: &Path) -> Result<SqliteStore> {
        Ok(SqliteStore {
            conn: Mutex::new(files::open_read_only_as(path, true)?),
            path: path.to_path_buf(),
            clock: Arc::new(SystemClock),
            signer: OnceLock::new(),
        })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sign from now on with the service's key: the process that owns the store in service
    /// mode (`retractor serve`, or a command run with `RETRACTOR_SIGN=1`) calls this once at
    /// start. Every audit record appended afterwards is signed and marked `service`, every job
    /// created is signed. A second call with another key is refused: one process, one key.
    pub fn set_signer(&self, key: Arc<ServiceKey>) -> Result<()> {
        let public = key.public();
        let set = self.signer.get_or_init(|| key);
        if set.public() != public {
            return Err(StoreError::Invalid(
                "the store already signs with another service key".into(),
            ));
        }
        Ok(())
    }

    /// The service's key, when this process signs.
    pub fn signer(&self) -> Option<&Arc<ServiceKey>> {
        self.signer.get()
    }

    /// SQLite cannot tell other processes of new work: they share this host, and the
    /// worker's idle poll finds their jobs. `wake` is never called.
    pub fn watch_for_work(&self, wake: Arc<dyn Fn() + Send + Sync>) -> Result<bool> {
        drop(wake);
        Ok(false)
    }

    /// Nor of progress: the feeds' poll reads what this host's processes wrote.
    pub fn watch_progress(&self, changed: ProgressChanged) -> Result<bool> {
        drop(changed);
        Ok(false)
    }

    /// Now, by the store's clock: the only source of the times it stores.
    fn now(&self) -> Now<'_> {
        Now(self.clock.now(), self.signer.get().map(|k| k.as_ref()))
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite itself consistent (transactions roll
        // back on drop), so a poisoned lock is safe to keep using.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run `f` in a write transaction that other processes wait for, with the moment of the
    /// write (every time it stores is this one).
    ///
    /// `BEGIN IMMEDIATE` takes SQLite's one write lock at the start, so two writers never
    /// interleave. The store does not lean on that for correctness where a second
    /// implementation could not: each read-then-write is one conditional statement, or names
    /// the row lock a multi-writer database must take instead (see `jobs::settle_job`,
    /// `audit::append`, `messages::set_delivery_state`).
    fn write<R>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>, Now) -> Result<R>) -> Result<R> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx, self.now())?;
        tx.commit()?;
        Ok(out)
    }

    /// [`Self::write`] with its commit on disk before it returns (the WAL synced, as
    /// `synchronous = FULL` does), for what the store acknowledges to someone outside: an
    /// alert answered 202 must survive a power cut, where the connection's `NORMAL` keeps a
    /// commit safe from a crash of the process only.
    fn write_durable<R>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>, Now) -> Result<R>,
    ) -> Result<R> {
        let mut conn = self.conn();
        conn.pragma_update(None, "synchronous", "FULL")?;
        let out = (|| -> Result<R> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx, self.now())?;
            tx.commit()?;
            Ok(out)
        })();
        let reset = conn.pragma_update(None, "synchronous", "NORMAL");
        let out = out?;
        reset?;
        Ok(out)
    }

    /// Run `f` on a consistent read snapshot.
    fn read<R>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<R>) -> Result<R> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: usize = tx.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in migrations_from(version) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()
}

fn migrations_from(version: usize) -> impl Iterator<Item = (usize, &'static str)> {
    schema::MIGRATIONS.iter().copied().enumerate().skip(version)
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::{SqliteStore, Store};

    /// A store in a fresh temporary directory (kept alive by the returned guard).
    pub fn temp_store() -> (tempfile::TempDir, Store) {
        let (dir, store) = temp_sqlite();
        (dir, store.into())
    }

    /// [`temp_store`]'s SQLite store itself, for tests of its SQL.
    pub fn temp_sqlite() -> (tempfile::TempDir, SqliteStore) {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("tempdir: {e}"),
        };
        let store = match SqliteStore::open(&dir.path().join("t.db")) {
            Ok(s) => s,
            Err(e) => panic!("open: {e}"),
        };
        (dir, store)
    }

    /// Overwrite one column of one row behind the store's back, as a newer version or a
    /// damaged file would leave it (tests of reading unknown values back).
    pub fn overwrite(store: &Store, table: &str, column: &str, id: i64, value: &str) {
        let conn = match rusqlite::Connection::open(sqlite_file(store)) {
            Ok(c) => c,
            Err(e) => panic!("open: {e}"),
        };
        let sql = format!("UPDATE {table} SET {column} = ?1 WHERE id = ?2");
        match conn.execute(&sql, rusqlite::params![value, id]) {
            Ok(1) => {}
            other => panic!("{sql}: {other:?}"),
        }
    }

    /// Rewrite one column of audit record `seq` as an attacker with the file would: the
    /// append-only trigger dropped first.
    pub fn rewrite_audit(store: &Store, seq: i64, column: &str, value: &str) {
        let conn = match rusqlite::Connection::open(sqlite_file(store)) {
            Ok(c) => c,
            Err(e) => panic!("open: {e}"),
        };
        let sql = format!("UPDATE audit SET {column} = ?1 WHERE seq = ?2");
        let done = conn
            .execute_batch("DROP TRIGGER IF EXISTS audit_no_update")
            .and_then(|_| conn.execute(&sql, rusqlite::params![value, seq]));
        match done {
            Ok(1) => {}
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn sqlite_file(store: &Store) -> &std::path::Path {
        match store.sqlite_path() {
            Some(path) => path,
            None => panic!("a SQLite store was expected"),
        }
    }
}
