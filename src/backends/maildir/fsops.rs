//! Filesystem changes that a live Dovecot reading the same tree must never see half-done:
//! moves are `rename`s that never replace a file, anything written goes through `tmp/`.

use std::fs::{self, DirBuilder, File, Metadata, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use filetime::FileTime;

use super::layout::{self, FOLDER_MARKER, Subdir};
use crate::backends::{BackendError, ErrorKind};

/// Fresh names are random, so a clash twice in a row means something else is wrong.
const NAME_ATTEMPTS: usize = 4;

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

/// Like [`io_error`], for the file being acted on: its absence means the copy moved.
pub(super) fn source_error(err: &io::Error, path: &Path) -> BackendError {
    if err.kind() == io::ErrorKind::NotFound {
        BackendError::new(
            ErrorKind::Gone,
            format!("message file {} is gone", path.display()),
        )
    } else {
        io_error(err, path)
    }
}

/// The metadata of a message file about to be acted on; refuses anything but a regular
/// file so that a planted symlink is never followed into evidence or moved around.
pub(super) fn message_metadata(path: &Path) -> Result<Metadata, BackendError> {
    let meta = fs::symlink_metadata(path).map_err(|e| source_error(&e, path))?;
    if meta.is_file() {
        Ok(meta)
    } else {
        Err(BackendError::new(
            ErrorKind::Invalid,
            format!("{} is not a regular message file", path.display()),
        ))
    }
}

/// The modification time, which Dovecot uses as a Maildir message's received date.
pub(super) fn mtime_of(meta: &Metadata) -> Option<DateTime<Utc>> {
    meta.modified().ok().map(DateTime::<Utc>::from)
}

/// Create a mailbox directory with its INBOX (`cur/ new/ tmp/`) if it is missing.
pub(super) fn ensure_mailbox(mailbox_dir: &Path) -> Result<(), BackendError> {
    make_maildir(mailbox_dir)
}

/// Create `folder` in a mailbox if it is missing, the way Dovecot does: `cur/ new/ tmp/`
/// and a `maildirfolder` marker.
pub(super) fn ensure_folder(mailbox_dir: &Path, folder: &str) -> Result<(), BackendError> {
    let folder_dir = layout::folder_path(mailbox_dir, folder)?;
    make_maildir(&folder_dir)?;
    if folder_dir != mailbox_dir {
        let marker = folder_dir.join(FOLDER_MARKER);
        if !marker.exists() {
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&marker)
                .map_err(|e| io_error(&e, &marker))?;
            inherit_owner(&marker, mailbox_dir);
        }
    }
    Ok(())
}

fn make_maildir(dir: &Path) -> Result<(), BackendError> {
    let created = !dir.is_dir();
    for sub in ["cur", "new", "tmp"] {
        let path = dir.join(sub);
        if !path.is_dir() {
            private_dir_builder()
                .create(&path)
                .map_err(|e| io_error(&e, &path))?;
            if let Some(parent) = dir.parent() {
                inherit_owner(&path, parent);
            }
        }
    }
    if created && let Some(parent) = dir.parent() {
        inherit_owner(dir, parent);
    }
    Ok(())
}

/// Mail stores are private to the mail user, as Dovecot creates them.
fn private_dir_builder() -> DirBuilder {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
}

/// When retractor runs as root, what it creates must still belong to the mail user, or
/// Dovecot cannot deliver into it. Best effort: a non-root run already owns what it makes.
fn inherit_owner(path: &Path, like: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(want), Ok(have)) = (fs::metadata(like), fs::symlink_metadata(path))
            && (want.uid(), want.gid()) != (have.uid(), have.gid())
        {
            let _ = std::os::unix::fs::lchown(path, Some(want.uid()), Some(want.gid()));
        }
    }
}

/// Set a message file's mtime (its received date for Dovecot), leaving atime alone.
pub(super) fn set_mtime(path: &Path, when: DateTime<Utc>) -> Result<(), BackendError> {
    let time = FileTime::from_unix_time(when.timestamp(), when.timestamp_subsec_nanos());
    filetime::set_file_mtime(path, time).map_err(|e| source_error(&e, path))
}

/// Move the message file `src` into `subdir` of the folder at `folder_dir`, named
/// `file_name` unless a file already has that name, then under a fresh name with the same
/// flags. Returns the name it got.
pub(super) fn place(
    src: &Path,
    folder_dir: &Path,
    subdir: Subdir,
    file_name: &str,
) -> Result<String, BackendError> {
    let target_dir = folder_dir.join(subdir.as_str());
    let mut name = file_name.to_string();
    for _ in 0..NAME_ATTEMPTS {
        let dst = target_dir.join(&name);
        match move_no_replace(src, &dst, folder_dir) {
            Ok(()) => {
                sync_dir(&target_dir);
                if let Some(src_dir) = src.parent() {
                    sync_dir(src_dir);
                }
                return Ok(name);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                name = layout::renamed_with_unique(file_name, &unique_name());
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && !src.exists() => {
                return Err(source_error(&e, src));
            }
            Err(e) => return Err(io_error(&e, &dst)),
        }
    }
    Err(BackendError::new(
        ErrorKind::Unavailable,
        format!(
            "no free file name for {file_name} in {}",
            target_dir.display()
        ),
    ))
}

/// Unlink a message file.
pub(super) fn remove_message(path: &Path) -> Result<(), BackendError> {
    fs::remove_file(path).map_err(|e| source_error(&e, path))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
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

fn move_no_replace(src: &Path, dst: &Path, folder_dir: &Path) -> io::Result<()> {
    match rename_no_replace(src, dst) {
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => copy_via_tmp(src, dst, folder_dir),
        other => other,
    }
}

/// Across filesystems (a domain on its own mount), a message is written to the folder's
/// `tmp/`, synced, and only then given its name in `new/` or `cur/`.
fn copy_via_tmp(src: &Path, dst: &Path, folder_dir: &Path) -> io::Result<()> {
    let tmp = folder_dir.join("tmp").join(unique_name());
    let written = write_synced_copy(src, &tmp).and_then(|()| rename_no_replace(&tmp, dst));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::remove_file(src)
}

fn write_synced_copy(src: &Path, tmp: &Path) -> io::Result<()> {
    let mut from = File::open(src)?;
    let modified = from.metadata()?.modified()?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    // Mail is private to its user, as Dovecot writes it.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut to = options.open(tmp)?;
    io::copy(&mut from, &mut to)?;
    to.sync_all()?;
    filetime::set_file_handle_times(&to, None, Some(FileTime::from_system_time(modified)))
}

/// `rename` that fails with `AlreadyExists` instead of replacing a file, so a move can never
/// destroy another message.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn rename_no_replace(src: &Path, dst: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    let src_c = CString::new(src.as_os_str().as_bytes())?;
    let dst_c = CString::new(dst.as_os_str().as_bytes())?;
    // SAFETY: both pointers come from CStrings that outlive the call; renameat2 only reads them.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            src_c.as_ptr(),
            libc::AT_FDCWD,
            dst_c.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        // The filesystem does not support the flag: fall back to link, which never replaces.
        Some(libc::EINVAL) | Some(libc::ENOSYS) => link_then_unlink(src, dst),
        _ => Err(err),
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn rename_no_replace(src: &Path, dst: &Path) -> io::Result<()> {
    link_then_unlink(src, dst)
}

fn link_then_unlink(src: &Path, dst: &Path) -> io::Result<()> {
    fs::hard_link(src, dst)?;
    fs::remove_file(src)
}

/// Make a rename durable. Best effort: the rename itself already happened.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_never_replaces_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(".Junk");
        ensure_folder(dir.path(), "Junk").unwrap();
        assert!(folder.join(FOLDER_MARKER).is_file());
        let existing = folder.join("cur/1.M1.h:2,S");
        fs::write(&existing, "old").unwrap();
        let src = dir.path().join("moving");
        fs::write(&src, "new").unwrap();

        let name = place(&src, &folder, Subdir::Cur, "1.M1.h:2,S").unwrap();

        assert_ne!(name, "1.M1.h:2,S");
        assert!(name.ends_with(":2,S"), "{name}");
        assert_eq!(fs::read_to_string(&existing).unwrap(), "old");
        assert_eq!(
            fs::read_to_string(folder.join("cur").join(&name)).unwrap(),
            "new"
        );
        assert!(!src.exists());
    }

    #[test]
    fn place_of_a_missing_file_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        ensure_folder(dir.path(), "Trash").unwrap();
        let err = place(
            &dir.path().join("nope"),
            &dir.path().join(".Trash"),
            Subdir::New,
            "x",
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Gone);
    }

    #[test]
    fn copies_keep_content_and_mtime() {
        let dir = tempfile::tempdir().unwrap();
        ensure_folder(dir.path(), "Q").unwrap();
        let src = dir.path().join("src");
        fs::write(&src, "message").unwrap();
        filetime::set_file_mtime(&src, FileTime::from_unix_time(1_700_000_000, 0)).unwrap();
        let dst = dir.path().join(".Q/cur/m:2,S");

        copy_via_tmp(&src, &dst, &dir.path().join(".Q")).unwrap();

        assert_eq!(fs::read_to_string(&dst).unwrap(), "message");
        let mtime = FileTime::from_last_modification_time(&fs::metadata(&dst).unwrap());
        assert_eq!(mtime.unix_seconds(), 1_700_000_000);
        assert!(!src.exists());
        assert_eq!(fs::read_dir(dir.path().join(".Q/tmp")).unwrap().count(), 0);
    }

    #[test]
    fn unique_names_differ() {
        assert_ne!(unique_name(), unique_name());
        assert!(!unique_name().contains([':', '/']));
    }
}
