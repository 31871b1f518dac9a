//! The store's files on disk: created private, opened read-only for commands that only read,
//! and their modes reported for `check`.
//!
//! The store holds the log, the audit trail and evidence copies of hard-deleted mail, so its
//! directory is created 0700 and its file 0600 whatever the umask. SQLite gives the `-wal`
//! and `-shm` files the database file's mode, so creating the database file ourselves, before
//! SQLite does, makes all three private.

use std::fs::{DirBuilder, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{Result, StoreError, schema};

/// Mode of the store's directory when retractor creates it.
pub const STORE_DIR_MODE: u32 = 0o700;

/// Mode of the store's files (database, `-wal`, `-shm`) when retractor creates them.
pub const STORE_FILE_MODE: u32 = 0o600;

fn open_error(path: &Path, e: io::Error) -> StoreError {
    StoreError::open(path, e)
}

/// Create the store's directory (0700) and an empty database file (0600) when they do not
/// exist yet; existing ones are left as they are (`check` reports loose modes).
pub(super) fn create_private(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        DirBuilder::new()
            .recursive(true)
            .mode(STORE_DIR_MODE)
            .create(dir)
            .map_err(|e| open_error(path, e))?;
        // The umask may have taken bits away (or a umask of 0 none): set the mode exactly.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(STORE_DIR_MODE))
            .map_err(|e| open_error(path, e))?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(STORE_FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(file) => file
            .set_permissions(std::fs::Permissions::from_mode(STORE_FILE_MODE))
            .map_err(|e| open_error(path, e)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(open_error(path, e)),
    }
}

/// Open an existing store for reading only. The plain read-only mode is tried first (it sees
/// other processes' writes); a store on read-only media, where SQLite cannot create the
/// `-shm` file a WAL database needs, is opened as immutable instead.
pub(super) fn open_read_only(path: &Path) -> Result<Connection> {
    open_read_only_as(path, false)
}

/// [`open_read_only`]; with `allow_empty`, a database with nothing in it at all (a file cut
/// to 0 bytes) opens too, so `audit verify` can report what it lost instead of failing.
pub(super) fn open_read_only_as(path: &Path, allow_empty: bool) -> Result<Connection> {
    let open_err = |source: rusqlite::Error| StoreError::open(path, source);
    let attempt = |immutable: bool| -> rusqlite::Result<Connection> {
        let uri = format!(
            "file:{}?mode=ro{}",
            uri_path(path),
            if immutable { "&immutable=1" } else { "" }
        );
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(uri, flags)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        // Opening is lazy: a WAL store whose `-shm` cannot be made fails at the first read.
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?;
        Ok(conn)
    };
    let conn = attempt(false)
        .or_else(|_| attempt(true))
        .map_err(open_err)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(open_err)?;
    let empty = || {
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .is_ok_and(|n| n == 0)
    };
    if version != schema::MIGRATIONS.len() as i64 && !(allow_empty && version == 0 && empty()) {
        return Err(StoreError::Invalid(format!(
            "store {}: schema version {version}, this build reads {}; open a writable copy once \
             with a command that writes (such as `retractor check`) to upgrade it",
            path.display(),
            schema::MIGRATIONS.len()
        )));
    }
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(open_err)?;
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(open_err)?;
    Ok(conn)
}

/// `path` for an SQLite URI: `%`, `?` and `#` would be read as URI syntax.
fn uri_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            _ => out.push(c),
        }
    }
    out
}

/// The store's directory and files that others (or, for files, the group too) may read
/// or write, each with its mode: what `check` warns about.
///
/// A group may share a store on purpose (several operators of one host, `chmod 660` and a
/// common group), so group bits on the directory are not reported; bits for others always are.
pub fn loose_modes(path: &Path) -> Vec<(PathBuf, u32)> {
    let mut loose = Vec::new();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(meta) = std::fs::metadata(dir)
        && meta.permissions().mode() & 0o007 != 0
    {
        loose.push((dir.to_path_buf(), meta.permissions().mode() & 0o7777));
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = PathBuf::from(name);
        if let Ok(meta) = std::fs::symlink_metadata(&file)
            && meta.permissions().mode() & 0o007 != 0
        {
            loose.push((file, meta.permissions().mode() & 0o7777));
        }
    }
    loose
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_store_is_private_under_a_permissive_umask() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/r.db");
        // The usual umask, which left the store 0644 before. Not 0: the mask is process-wide
        // and tests run in parallel threads.
        // SAFETY: umask only changes this process's file creation mask.
        let old = unsafe { libc::umask(0o022) };
        let store = Store::open(&path);
        unsafe { libc::umask(old) };
        let store = store.unwrap();
        store.message_count().unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("sub/dir")), 0o700);
        for suffix in ["-wal", "-shm"] {
            let side = dir.path().join(format!("sub/dir/r.db{suffix}"));
            assert_eq!(mode(&side), 0o600, "{}", side.display());
        }
        assert!(loose_modes(&path).is_empty(), "{:?}", loose_modes(&path));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(loose_modes(&path), vec![(path.clone(), 0o644)]);
    }
}
