//! The connection to PostgreSQL and where its calls run.
//!
//! The driver is `postgres` (rust-postgres): the synchronous face of tokio-postgres, by the
//! same maintainers, the most used PostgreSQL client in Rust. Its blocking API matches the
//! store's synchronous role traits statement for statement (as rusqlite does for SQLite), so
//! the SQL reads the same on both stores; sqlx would bring its own pool, macros and runtime
//! for nothing the traits can use.
//!
//! `postgres::Client` drives its socket on a private current-thread runtime, and entering a
//! runtime from inside another one panics. So a call made from an async context is moved
//! out of it first: on a multi-threaded runtime (the engine's) through `block_in_place`,
//! which hands the worker thread's other tasks to another thread while this one waits on the
//! database (spawn_blocking's effect without its `'static` bound); on a current-thread
//! runtime, where that is not allowed, on a scoped thread of its own.

use std::sync::{Mutex, MutexGuard};

use postgres::config::SslMode;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::statements::Statements;
use crate::store::{Result, StoreError};

/// One session with the database, shared by a store handle's callers one at a time.
pub(super) struct Connection {
    /// `None` only while the handle is dropped (see `Drop`).
    session: Mutex<Option<Session>>,
}

/// The driver's client and the statements prepared on it (they live as long as it does).
pub(super) struct Session {
    pub client: postgres::Client,
    pub statements: Statements,
}

/// How to open a session: the store's own, and each LISTEN thread's, the same way.
#[derive(Clone)]
pub(super) struct Connector {
    config: postgres::Config,
    /// `None` is plain TCP, `Some` is TLS or no session at all (never the driver's "prefer",
    /// which falls back to plain text when the server does not offer TLS).
    tls: Option<MakeRustlsConnect>,
}

impl Connector {
    pub fn new(config: &postgres::Config, tls: Option<MakeRustlsConnect>) -> Connector {
        let mut config = config.clone();
        if tls.is_some() {
            config.ssl_mode(SslMode::Require);
        }
        Connector { config, tls }
    }

    /// A new session, opened off any async worker thread.
    pub fn connect(&self) -> std::result::Result<postgres::Client, postgres::Error> {
        outside_any_runtime(|| match &self.tls {
            None => self.config.connect(postgres::NoTls),
            Some(tls) => self.config.connect(tls.clone()),
        })
    }
}

impl Connection {
    /// Connect as `connector` says.
    pub fn open(connector: &Connector, place: &str) -> Result<Connection> {
        let client = connector.connect().map_err(|e| StoreError::Open {
            path: place.into(),
            detail: words(&e),
        })?;
        Ok(Connection {
            session: Mutex::new(Some(Session {
                client,
                statements: Statements::default(),
            })),
        })
    }

    /// Run `f` on the session, off any async worker thread.
    pub fn run<R: Send>(&self, f: impl FnOnce(&mut Session) -> Result<R> + Send) -> Result<R> {
        outside_any_runtime(|| match self.lock().as_mut() {
            Some(session) => f(session),
            None => Err(StoreError::Database("the session is closed".into())),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Option<Session>> {
        // A panic mid-call drops its transaction, which rolls back: the session is clean.
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Closing the session blocks on the driver's runtime too, so a store dropped inside the
/// engine's runtime (every command's) closes it where that is allowed.
impl Drop for Connection {
    fn drop(&mut self) {
        let session = self
            .session
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(session) = session {
            outside_any_runtime(move || drop(session));
        }
    }
}

/// Run `f` where the driver's own runtime may block: here when no runtime is entered.
fn outside_any_runtime<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    match Handle::try_current() {
        Err(_) => f(),
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        Ok(_) => std::thread::scope(|scope| match scope.spawn(f).join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

/// A driver error in the database's own words (its message, detail and hint when it gave
/// them), never the driver's type.
pub(super) fn words(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {}", db.severity(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!("; hint: {hint}"));
            }
            text
        }
        // The driver's own words name the step ("error performing TLS handshake"); the
        // cause below it says what went wrong there (the certificate's issuer, a refused
        // connection), so it is said too.
        None => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(cause) = source {
                let cause_text = cause.to_string();
                if !text.contains(&cause_text) {
                    text.push_str(": ");
                    text.push_str(&cause_text);
                }
                source = cause.source();
            }
            text
        }
    }
}
