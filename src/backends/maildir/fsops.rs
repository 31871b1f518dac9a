//! Filesystem changes that a live Dovecot reading the same tree must never see half-done:
//! moves are renames that never replace a file, anything written goes through `tmp/`.
//! Every change is made relative to directory handles opened without following links
//! (`handle.rs`), so nothing a mailbox owner plants can redirect it.

use std::fs::File;
use std::io::{self, Seek};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use filetime::FileTime;
use rustix::fs::Stat;

use super::handle::{DirHandle, FsError};
use super::layout::{self, FOLDER_MARKER, Subdir};
use crate::backends::{BackendError, ErrorKind};

/// Fresh names are random, so a clash twice in a row means something else is wrong.
const NAME_ATTEMPTS: usize = 4;

/// The three subdirectories of every maildir, in the order they are created.
const MAILDIR_SUBDIRS: [&str; 3] = ["cur", "new", "tmp"];

/// Map an I/O error on `path` to the failure class the engine acts on.
///
/// Errors that the same call would meet again (a name too long for the filesystem, a link
/// loop, a file where a directory should be, a read-only filesystem) are permanent
/// (`Invalid`): retrying them only delays the failure and hides its reason.
pub(super) fn io_error(err: &io::Error, path: &Path) -> BackendError {
    let permanent = matches!(
        err.raw_os_error(),
        Some(
            libc::ENAMETOOLONG
                | libc::ELOOP
                | libc::ENOTDIR
                | libc::EISDIR
                | libc::EROFS
                | libc::EINVAL
        )
    );
    let kind = match err.kind() {
        _ if permanent => ErrorKind::Invalid,
        io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => ErrorKind::OverQuota,
        _ => ErrorKind::Unavailable,
    };
    BackendError::new(kind, format!("{}: {err}", path.display()))
}

/// The backend error for a filesystem step; an unsafe layout is refused for good (a retry
/// cannot help, and nothing was touched).
pub(super) fn fs_error(err: FsError) -> BackendError {
    match err {
        FsError::Unsafe { rel, problem } => BackendError::new(
            ErrorKind::Invalid,
            format!(
                "unsafe layout: {} {problem}; nothing was touched",
                rel.display()
            ),
        ),
        FsError::Io { path, err } => io_error(&err, &path),
    }
}

/// Like [`fs_error`], for the file being acted on: its absence means the copy moved.
pub(super) fn source_error(err: FsError) -> BackendError {
    match err {
        FsError::Io { path, err } if err.kind() == io::ErrorKind::NotFound => BackendError::new(
            ErrorKind::Gone,
            format!("message file {} is gone", path.display()),
        ),
        other => fs_error(other),
    }
}

/// The modification time of an fstat, which Dovecot uses as a message's received date.
pub(super) fn mtime_of(stat: &Stat) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(stat.st_mtime_nsec).unwrap_or(0);
    DateTime::<Utc>::from_timestamp(stat.st_mtime, nanos)
}

/// One folder's `cur/ new/ tmp/`, all checked to be plain directories.
pub(super) struct FolderHandles {
    pub cur: DirHandle,
    pub new: DirHandle,
    pub tmp: DirHandle,
}

impl FolderHandles {
    pub(super) fn subdir(&self, subdir: Subdir) -> &DirHandle {
        match subdir {
            Subdir::Cur => &self.cur,
            Subdir::New => &self.new,
        }
    }
}

/// Open (creating what is missing, the way Dovecot does on first delivery) the directory
/// `name` under `parent` as a mailbox with its INBOX, owned like `parent`.
pub(super) fn ensure_mailbox(parent: &DirHandle, name: &str) -> Result<DirHandle, BackendError> {
    let mailbox = parent.ensure_dir(name, parent.owner()).map_err(fs_error)?;
    make_maildir(&mailbox, mailbox.owner())?;
    Ok(mailbox)
}

/// Open `folder` of a mailbox, creating it if it is missing the way Dovecot does:
/// `cur/ new/ tmp/` and a `maildirfolder` marker, owned by the mailbox's owner. Every
/// level must be a plain directory (a link anywhere is an unsafe layout).
pub(super) fn ensure_folder(
    mailbox: &DirHandle,
    folder: &str,
) -> Result<FolderHandles, BackendError> {
    let owner = mailbox.owner();
    let dir = match layout::folder_dir_name(folder)? {
        Some(dir_name) => mailbox.ensure_dir(&dir_name, owner).map_err(fs_error)?,
        None => mailbox.try_clone().map_err(fs_error)?,
    };
    let handles = make_maildir(&dir, owner)?;
    if dir.identity() != mailbox.identity() {
        match dir.create_file(FOLDER_MARKER, 0o600, owner) {
            Ok(_) => {}
            // Already there (or a link there: created through it, never).
            Err(FsError::Io { err, .. }) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fs_error(e)),
        }
    }
    Ok(handles)
}

fn make_maildir(dir: &DirHandle, owner: (u32, u32)) -> Result<FolderHandles, BackendError> {
    let [cur, new, tmp] = MAILDIR_SUBDIRS;
    let open = |name| dir.ensure_dir(name, owner).map_err(fs_error);
    Ok(FolderHandles {
        cur: open(cur)?,
        new: open(new)?,
        tmp: open(tmp)?,
    })
}

/// Set an open message file's mtime (its received date for Dovecot), leaving atime alone.
pub(super) fn set_mtime(
    file: &File,
    shown: &Path,
    when: DateTime<Utc>,
) -> Result<(), BackendError> {
    let time = FileTime::from_unix_time(when.timestamp(), when.timestamp_subsec_nanos());
    filetime::set_file_handle_times(file, None, Some(time)).map_err(|e| io_error(&e, shown))
}

/// The message being moved: its directory, its name there and the open file.
pub(super) struct Source<'a> {
    pub dir: &'a DirHandle,
    pub name: &'a str,
    pub file: &'a File,
    pub stat: &'a Stat,
}

/// Move the message `src` into `subdir` of `target`, named `file_name` unless a file
/// already has that name, then under a fresh name with the same flags. Returns the name
/// it got.
pub(super) fn place(
    src: &Source<'_>,
    target: &FolderHandles,
    subdir: Subdir,
    file_name: &str,
) -> Result<String, BackendError> {
    let target_dir = target.subdir(subdir);
    let mut name = file_name.to_string();
    for _ in 0..NAME_ATTEMPTS {
        match move_no_replace(src, target, target_dir, &name) {
            Ok(()) => {
                target_dir.sync();
                src.dir.sync();
                return Ok(name);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                name = layout::renamed_with_unique(file_name, &unique_name());
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(source_error(FsError::Io {
                    path: src.dir.shown_path(src.name),
                    err: e,
                }));
            }
            Err(e) => return Err(io_error(&e, &target_dir.shown_path(&name))),
        }
    }
    Err(BackendError::new(
        ErrorKind::Unavailable,
        format!(
            "no free file name for {file_name} in {}",
            target_dir.rel().display()
        ),
    ))
}

/// Unlink a message file (a link swapped in meanwhile is removed as a link).
pub(super) fn remove_message(dir: &DirHandle, name: &str) -> Result<(), BackendError> {
    dir.unlink(name).map_err(|err| {
        source_error(FsError::Io {
            path: dir.shown_path(name),
            err,
        })
    })?;
    dir.sync();
    Ok(())
}

/// A new Maildir unique name in Dovecot's `<secs>.M<usecs>P<pid>Q<n>` style; the random
/// part stands in for the host name so that several consoles never collide.
pub(super) fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}.M{}P{}Q{}R{:016x}.retractor",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u64>()
    )
}

fn move_no_replace(
    src: &Source<'_>,
    target: &FolderHandles,
    target_dir: &DirHandle,
    name: &str,
) -> io::Result<()> {
    match src.dir.rename_no_replace(src.name, target_dir, name) {
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            copy_via_tmp(src, target, target_dir, name)
        }
        other => other,
    }
}

/// Across filesystems (a domain on its own mount), a message is written to the folder's
/// `tmp/`, synced, and only then given its name in `new/` or `cur/`. The copy is read from
/// the descriptor that was checked to be a regular file, and written through handles.
fn copy_via_tmp(
    src: &Source<'_>,
    target: &FolderHandles,
    target_dir: &DirHandle,
    name: &str,
) -> io::Result<()> {
    let tmp_name = unique_name();
    let written = write_synced_copy(src, &target.tmp, &tmp_name)
        .and_then(|()| target.tmp.rename_no_replace(&tmp_name, target_dir, name));
    if let Err(e) = written {
        let _ = target.tmp.unlink(&tmp_name);
        return Err(e);
    }
    src.dir.unlink(src.name)
}

fn write_synced_copy(src: &Source<'_>, tmp: &DirHandle, tmp_name: &str) -> io::Result<()> {
    let mut from = src.file.try_clone()?;
    from.rewind()?;
    let modified = FileTime::from_unix_time(
        src.stat.st_mtime,
        u32::try_from(src.stat.st_mtime_nsec).unwrap_or(0),
    );
    // Mail is private to its user, as Dovecot writes it; the copy keeps the original's owner.
    let mut to = tmp
        .create_file(tmp_name, 0o600, (src.stat.st_uid, src.stat.st_gid))
        .map_err(|e| match e {
            FsError::Io { err, .. } => err,
            FsError::Unsafe { problem, .. } => io::Error::other(problem),
        })?;
    io::copy(&mut from, &mut to)?;
    to.sync_all()?;
    filetime::set_file_handle_times(&to, None, Some(modified))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn open_message<'a>(dir: &'a DirHandle, name: &'a str) -> (File, Stat) {
        dir.open_message(name).unwrap()
    }

    #[test]
    fn place_never_replaces_an_existing_file() {
        let tmp = tempfile::tempdir().unwrap();
        let root = DirHandle::open_root(tmp.path()).unwrap();
        let junk = ensure_folder(&root, "Junk").unwrap();
        let folder = tmp.path().join(".Junk");
        assert!(folder.join(FOLDER_MARKER).is_file());
        let existing = folder.join("cur/1.M1.h:2,S");
        fs::write(&existing, "old").unwrap();
        fs::write(tmp.path().join("moving"), "new").unwrap();
        let (file, stat) = open_message(&root, "moving");
        let src = Source {
            dir: &root,
            name: "moving",
            file: &file,
            stat: &stat,
        };

        let name = place(&src, &junk, Subdir::Cur, "1.M1.h:2,S").unwrap();

        assert_ne!(name, "1.M1.h:2,S");
        assert!(name.ends_with(":2,S"), "{name}");
        assert_eq!(fs::read_to_string(&existing).unwrap(), "old");
        assert_eq!(
            fs::read_to_string(folder.join("cur").join(&name)).unwrap(),
            "new"
        );
        assert!(!tmp.path().join("moving").exists());
    }

    #[test]
    fn place_of_a_vanished_file_is_gone() {
        let tmp = tempfile::tempdir().unwrap();
        let root = DirHandle::open_root(tmp.path()).unwrap();
        let trash = ensure_folder(&root, "Trash").unwrap();
        fs::write(tmp.path().join("x"), "m").unwrap();
        let (file, stat) = open_message(&root, "x");
        fs::remove_file(tmp.path().join("x")).unwrap();
        let src = Source {
            dir: &root,
            name: "x",
            file: &file,
            stat: &stat,
        };
        let err = place(&src, &trash, Subdir::New, "x").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Gone);
    }

    #[test]
    fn copies_keep_content_and_mtime() {
        let tmp = tempfile::tempdir().unwrap();
        let root = DirHandle::open_root(tmp.path()).unwrap();
        let q = ensure_folder(&root, "Q").unwrap();
        let src_path = tmp.path().join("src");
        fs::write(&src_path, "message").unwrap();
        filetime::set_file_mtime(&src_path, FileTime::from_unix_time(1_700_000_000, 0)).unwrap();
        let (file, stat) = open_message(&root, "src");
        let src = Source {
            dir: &root,
            name: "src",
            file: &file,
            stat: &stat,
        };

        copy_via_tmp(&src, &q, &q.cur, "m:2,S").unwrap();

        let dst = tmp.path().join(".Q/cur/m:2,S");
        assert_eq!(fs::read_to_string(&dst).unwrap(), "message");
        let mtime = FileTime::from_last_modification_time(&fs::metadata(&dst).unwrap());
        assert_eq!(mtime.unix_seconds(), 1_700_000_000);
        assert!(!src_path.exists());
        assert_eq!(fs::read_dir(tmp.path().join(".Q/tmp")).unwrap().count(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_marker_is_never_written_through() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("created-by-root");
        fs::create_dir_all(tmp.path().join(".Junk")).unwrap();
        std::os::unix::fs::symlink(&target, tmp.path().join(".Junk/maildirfolder")).unwrap();
        let root = DirHandle::open_root(tmp.path()).unwrap();

        ensure_folder(&root, "Junk").unwrap();

        assert!(!target.exists());
    }

    #[test]
    fn unique_names_differ() {
        assert_ne!(unique_name(), unique_name());
        assert!(!unique_name().contains([':', '/']));
    }
}
