//! The PostgreSQL store (team mode): the same schema, and the same role traits held to the
//! same contract suite as the SQLite [`Store`](super::Store), for several hosts sharing one
//! log, one job queue and one audit trail.
//!
//! Where SQLite leans on its one writer, this store takes the lock a multi-writer database
//! needs, as the SQLite code names it at each place: claims `FOR UPDATE SKIP LOCKED`, the
//! job row locked before its items finish or are given back, audit appends serialised by a
//! transaction-scoped advisory lock taken before the tail is read. Stored times come from
//! the database server's clock (`now()`, once per transaction), so hosts whose clocks differ
//! still agree on leases and retries.

mod alerts;
mod approvals;
mod audit;
mod claims;
mod conn;
mod copy;
mod decode;
mod indicators;
mod jobs;
mod limits;
mod listen;
mod messages;
mod pollers;
mod schema;
mod search;
mod statements;
mod submissions;
#[cfg(test)]
pub(crate) mod testdb;
#[cfg(test)]
mod tests;
mod tls;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use postgres::IsolationLevel;

use super::clock::Now;
use super::{Clock, ProgressChanged, Result, StoreError};
use crate::trust::ServiceKey;
use conn::{Connection, Connector, Session};
pub use copy::{Cell, CopyRow, CopyTable};
use statements::{Statements, Tx};

/// The SQL of a driver error, in words (see [`conn::words`]).
impl From<postgres::Error> for StoreError {
    fn from(err: postgres::Error) -> Self {
        StoreError::Database(conn::words(&err))
    }
}

/// A handle on one PostgreSQL store: one session, calls serialised per handle (as the SQLite
/// store's are per process); other handles, processes and hosts hold sessions of their own.
pub struct PgStore {
    conn: Connection,
    /// Where the store is, for messages: the URL without any password.
    place: String,
    /// `None`: the database server's clock. Tests give a clock they move.
    clock: Option<Arc<dyn Clock>>,
    signer: OnceLock<Arc<ServiceKey>>,
    /// How to open another session (the LISTEN threads'), as this one was: with its TLS.
    connector: Connector,
    /// Set when the handle is dropped: its LISTEN threads stop.
    stop_listening: Arc<AtomicBool>,
    progress_told: listen::ProgressTold,
}

impl PgStore {
    /// Connect to the database `config` names and migrate it to this version's schema.
    /// `place` names it in messages (never with a password).
    pub fn open(config: &postgres::Config, place: &str) -> Result<PgStore> {
        PgStore::open_with(config, place, None, None)
    }

    /// Connect as `[store]` says, with TLS as `sslmode` asks (`ca_file`: the CA that signs
    /// the server's certificate, else the system's roots; see `tls.rs`). A failed handshake
    /// names the settings to check.
    pub fn open_tls(
        config: &postgres::Config,
        place: &str,
        sslmode: crate::config::SslMode,
        ca_file: Option<&std::path::Path>,
    ) -> Result<PgStore> {
        let opened = tls::connector(sslmode, ca_file)
            .map_err(|detail| StoreError::Open {
                path: place.into(),
                detail,
            })
            .and_then(|tls| PgStore::open_with(config, place, None, tls));
        opened.map_err(|e| match e {
            StoreError::Open { path, detail } => StoreError::Open {
                path,
                detail: tls::explain(detail, sslmode, ca_file),
            },
            other => other,
        })
    }

    /// [`PgStore::open`] with the clock stored times come from instead of the server's
    /// (tests move a [`super::ManualClock`] past a lease instead of sleeping through it).
    pub fn open_with_clock(
        config: &postgres::Config,
        place: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<PgStore> {
        PgStore::open_with(config, place, Some(clock), None)
    }

    fn open_with(
        config: &postgres::Config,
        place: &str,
        clock: Option<Arc<dyn Clock>>,
        tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    ) -> Result<PgStore> {
        let connector = Connector::new(config, tls);
        let conn = Connection::open(&connector, place)?;
        conn.run(|session| schema::migrate(&mut session.client))
            .map_err(|e| StoreError::Open {
                path: place.into(),
                detail: e.to_string(),
            })?;
        Ok(PgStore {
            conn,
            place: place.to_string(),
            clock,
            signer: OnceLock::new(),
            connector,
            stop_listening: Arc::default(),
            progress_told: listen::ProgressTold::default(),
        })
    }

    /// Where the store is (the URL without a password).
    pub fn place(&self) -> &str {
        &self.place
    }

    /// Sign from now on with the service's key (as [`super::Store::set_signer`]).
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

    /// Call `wake` whenever any session commits a job, and on every (re)connect of the
    /// listening session, whose absence loses notifications (see `listen`). Each call starts
    /// one more session on a thread of its own, until this handle is dropped.
    pub fn watch_for_work(&self, wake: Arc<dyn Fn() + Send + Sync>) -> Result<bool> {
        self.listen(listen::WORK_CHANNEL, Arc::new(move |_| wake()))
    }

    /// Call `changed` with a job's id whenever any session changes its progress (at most
    /// every [`listen::PROGRESS_EVERY`] per writing handle, and at its end), and with `None`
    /// on every (re)connect of the listening session.
    pub fn watch_progress(&self, changed: ProgressChanged) -> Result<bool> {
        self.listen(
            listen::PROGRESS_CHANNEL,
            Arc::new(move |payload| match payload {
                None => changed(None),
                // Only this build's writers notify the channel; anything else is ignored.
                Some(id) => {
                    if let Ok(job) = id.parse::<i64>() {
                        changed(Some(job));
                    }
                }
            }),
        )
    }

    fn listen(&self, channel: &'static str, heard: listen::Heard) -> Result<bool> {
        listen::spawn(
            self.connector.clone(),
            self.place.clone(),
            channel,
            heard,
            Arc::clone(&self.stop_listening),
        )
        .map(|()| true)
        .map_err(|e| StoreError::Database(format!("cannot start the LISTEN thread: {e}")))
    }

    /// Run `f` in a read-committed write transaction with the moment of the write. Row locks
    /// (and the audit chain's advisory lock) are taken by the statements that need them.
    fn write<R: Send>(&self, f: impl FnOnce(&mut Tx<'_>, Now) -> Result<R> + Send) -> Result<R> {
        let clock = self.clock.clone();
        let signer = self.signer.get().map(Arc::as_ref);
        let told = &self.progress_told;
        self.conn.run(move |session| {
            let Session { client, statements } = session;
            let run = || {
                let mut tx = Tx::new(client.transaction()?, statements);
                let at = moment(&mut tx, clock.as_deref())?;
                let out = f(&mut tx, Now(at, signer))?;
                // Delivered at commit to every host's progress feeds of these jobs.
                for job in told.due(tx.take_progressed()) {
                    tx.execute(
                        "SELECT pg_notify($1, $2)",
                        &[&listen::PROGRESS_CHANNEL, &job.to_string()],
                    )?;
                }
                tx.commit()?;
                Ok(out)
            };
            forget_on_error(run(), statements)
        })
    }

    /// Run `f` on one consistent snapshot (repeatable read, read only), with the moment.
    fn read<R: Send>(
        &self,
        f: impl FnOnce(&mut Tx<'_>, DateTime<Utc>) -> Result<R> + Send,
    ) -> Result<R> {
        let clock = self.clock.clone();
        self.conn.run(move |session| {
            let Session { client, statements } = session;
            let run = || {
                let tx = client
                    .build_transaction()
                    .isolation_level(IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()?;
                let mut tx = Tx::new(tx, statements);
                let at = moment(&mut tx, clock.as_deref())?;
                let out = f(&mut tx, at)?;
                tx.commit()?;
                Ok(out)
            };
            forget_on_error(run(), statements)
        })
    }
}

/// A failed transaction may have left the session in any state: its statements are
/// prepared again rather than trusted.
fn forget_on_error<R>(out: Result<R>, statements: &mut Statements) -> Result<R> {
    if out.is_err() {
        statements.forget();
    }
    out
}

/// Now: the given clock's, else the server's transaction time (`now()` is the same for every
/// statement of one transaction, as one write's times must be).
fn moment(tx: &mut Tx<'_>, clock: Option<&dyn Clock>) -> Result<DateTime<Utc>> {
    match clock {
        Some(clock) => Ok(clock.now()),
        None => Ok(tx.query_one("SELECT now()", &[])?.try_get(0)?),
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.stop_listening.store(true, Ordering::Relaxed);
    }
}

impl super::WorkSignals for PgStore {
    fn watch_for_work(&self, wake: Arc<dyn Fn() + Send + Sync>) -> Result<bool> {
        PgStore::watch_for_work(self, wake)
    }

    fn watch_progress(&self, changed: ProgressChanged) -> Result<bool> {
        PgStore::watch_progress(self, changed)
    }
}

impl super::ServiceSigning for PgStore {
    fn set_signer(&self, key: Arc<ServiceKey>) -> Result<()> {
        PgStore::set_signer(self, key)
    }

    fn signer(&self) -> Option<&Arc<ServiceKey>> {
        PgStore::signer(self)
    }
}
