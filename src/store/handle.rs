//! The store the configuration names: a SQLite file (`[store] path`, one host) or a
//! PostgreSQL database (`[store] url`, team mode). Everything above `store` holds a [`Store`]
//! and calls the role methods on it; which database answers is decided once, when it is
//! opened, and nothing else in the program asks.
//!
//! An enum rather than `Arc<dyn StoreRoles>`: the callers keep the role methods as inherent
//! ones (no trait imports), and what only one kind can do (a file's path) is said in one place.

use std::path::Path;
use std::sync::Arc;

use super::{Clock, PgStore, Result, SqliteStore, StoreError, StoreRoles};
use crate::config::{Config, PostgresStore};

/// What a command will do with the store it opens, which decides how a SQLite file is opened
/// (a team store is opened the same way for all three: its server enforces who may write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Commands that write (and the service): created and migrated if needed.
    Write,
    /// Commands that only read: a read-only file (a forensic copy) works.
    ReadOnly,
    /// `audit verify`: read-only, and a file emptied to 0 bytes reads as an empty trail.
    Verify,
}

/// A handle on the configured store. Cheap to share behind an `Arc`.
pub struct Store {
    kind: Kind,
}

enum Kind {
    Sqlite(SqliteStore),
    // Boxed: a PostgreSQL session is several times a SQLite handle's size.
    Postgres(Box<PgStore>),
}

impl Store {
    /// Open the store `config` names (`[store] url`, else `[store] path`) for `access`.
    pub fn open_configured(config: &Config, access: Access) -> Result<Store> {
        if let Some(team) = &config.team_store {
            return Store::open_team(team);
        }
        let path = &config.store_path;
        match access {
            Access::Write => Store::open(path),
            Access::ReadOnly => Store::open_read_only(path),
            Access::Verify if path.exists() => Store::open_for_verify(path),
            Access::Verify => Store::open_read_only(path),
        }
    }

    /// Open (creating if needed, privately) and migrate the SQLite store at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        SqliteStore::open(path).map(Store::from)
    }

    /// [`Store::open`] with the clock stored times come from (tests move a
    /// [`super::ManualClock`] instead of sleeping).
    pub fn open_with_clock(path: &Path, clock: Arc<dyn Clock>) -> Result<Store> {
        SqliteStore::open_with_clock(path, clock).map(Store::from)
    }

    /// Open the SQLite store at `path` for a command that only reads (see
    /// [`SqliteStore::open_read_only`]).
    pub fn open_read_only(path: &Path) -> Result<Store> {
        SqliteStore::open_read_only(path).map(Store::from)
    }

    /// Open the SQLite store at `path` for `audit verify` (see
    /// [`SqliteStore::open_for_verify`]).
    pub fn open_for_verify(path: &Path) -> Result<Store> {
        SqliteStore::open_for_verify(path).map(Store::from)
    }

    /// Connect to the team store `team` describes, its password resolved now (never kept in
    /// config), and migrate it.
    pub fn open_team(team: &PostgresStore) -> Result<Store> {
        let config = team.resolve().map_err(|e| StoreError::Open {
            path: team.url.clone().into(),
            detail: e,
        })?;
        PgStore::open_tls(&config, &team.url, team.sslmode, team.ca_file.as_deref())
            .map(Store::from)
    }

    /// Where the store is, for messages: the SQLite file, or the database's URL (which
    /// never holds a password).
    pub fn place(&self) -> String {
        match &self.kind {
            Kind::Sqlite(s) => s.path().display().to_string(),
            Kind::Postgres(p) => p.place().to_string(),
        }
    }

    /// The SQLite file, when the store is one (a file can be checked for its modes, copied,
    /// or opened behind the store's back in tests).
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.kind {
            Kind::Sqlite(s) => Some(s.path()),
            Kind::Postgres(_) => None,
        }
    }

    /// Whether several hosts share this store (team mode).
    pub fn is_shared(&self) -> bool {
        matches!(self.kind, Kind::Postgres(_))
    }

    /// The SQLite store behind the handle, when it is one (`store copy` reads it).
    pub(super) fn as_sqlite(&self) -> Option<&SqliteStore> {
        match &self.kind {
            Kind::Sqlite(s) => Some(s),
            Kind::Postgres(_) => None,
        }
    }

    /// The PostgreSQL store behind the handle, when it is one (`store copy` fills it).
    pub(super) fn as_postgres(&self) -> Option<&PgStore> {
        match &self.kind {
            Kind::Sqlite(_) => None,
            Kind::Postgres(p) => Some(p),
        }
    }

    /// The store behind the handle, as the role macro dispatches to it.
    pub(super) fn roles(&self) -> &dyn StoreRoles {
        match &self.kind {
            Kind::Sqlite(s) => s,
            Kind::Postgres(p) => p.as_ref(),
        }
    }
}

impl From<SqliteStore> for Store {
    fn from(store: SqliteStore) -> Store {
        Store {
            kind: Kind::Sqlite(store),
        }
    }
}

impl From<PgStore> for Store {
    fn from(store: PgStore) -> Store {
        Store {
            kind: Kind::Postgres(Box::new(store)),
        }
    }
}

/// What `trust::verify` needs of a store: its own verdict and a record's hash.
impl crate::trust::verify::AuditLookup for Store {
    fn chain(
        &self,
        key: Option<&crate::trust::KeyRing>,
    ) -> std::result::Result<crate::trust::verify::ChainVerdict, String> {
        self.verify_audit_with(None, key)
            .map(|progress| progress.verdict.into())
            .map_err(|e| e.to_string())
    }

    fn hash_of(&self, seq: i64) -> std::result::Result<Option<String>, String> {
        self.audit_hash(seq).map_err(|e| e.to_string())
    }
}
