//! Directory handles that never follow links.
//!
//! The tool runs as root and a mailbox owner controls the inside of their Maildir: any name
//! in it may be swapped for a symbolic link, a FIFO or a device between two system calls.
//! So nothing below the tree's root is ever reached by path. Each directory is opened one
//! component at a time relative to its parent's descriptor, with `O_NOFOLLOW` (and, where
//! the kernel has `openat2`, `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`), and every act
//! (rename, unlink, create, chown, set a time, read) is made relative to such a descriptor
//! or on the descriptor itself. A name swapped after it was checked therefore cannot
//! redirect an act: the descriptor still is the directory that was checked, and a swapped
//! final name is renamed or unlinked as the link it is, never followed.
//!
//! Anything that is not a plain directory or a regular file where one is expected is an
//! unsafe layout ([`FsError::Unsafe`]): the caller refuses the act and names the path.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{
    self as rfs, AtFlags, FileType, Mode, OFlags, RenameFlags, ResolveFlags, Stat, StatxAttributes,
    StatxFlags,
};
use rustix::io::Errno;

/// Why a filesystem step failed.
#[derive(Debug)]
pub(super) enum FsError {
    /// Not a plain directory or regular file where one is expected; `rel` is relative to
    /// the tree's root, `problem` finishes the sentence "`rel` ...".
    Unsafe { rel: PathBuf, problem: String },
    /// An ordinary I/O failure on `path` (as the operator configured it, for the log).
    Io { path: PathBuf, err: io::Error },
}

impl FsError {
    pub(super) fn is_not_found(&self) -> bool {
        matches!(self, FsError::Io { err, .. } if err.kind() == io::ErrorKind::NotFound)
    }

    fn io(path: PathBuf, err: impl Into<io::Error>) -> FsError {
        FsError::Io {
            path,
            err: err.into(),
        }
    }
}

/// An open directory of the tree, with where it is (for messages) and what it is.
#[derive(Debug)]
pub(super) struct DirHandle {
    fd: OwnedFd,
    /// Relative to the tree's root (`""` for the root itself).
    rel: PathBuf,
    /// The root as configured joined with `rel`, for I/O error messages.
    shown: PathBuf,
    stat: Stat,
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC)
    .union(OFlags::NONBLOCK);

impl DirHandle {
    /// Open the tree's root. The root is the operator's configuration, so a link there is
    /// theirs and is followed; nothing below it is.
    pub(super) fn open_root(root: &Path) -> Result<DirHandle, FsError> {
        let flags = DIR_FLAGS.difference(OFlags::NOFOLLOW);
        let fd = rfs::open(root, flags, Mode::empty())
            .map_err(|e| FsError::io(root.to_path_buf(), e))?;
        let stat = rfs::fstat(&fd).map_err(|e| FsError::io(root.to_path_buf(), e))?;
        Ok(DirHandle {
            fd,
            rel: PathBuf::new(),
            shown: root.to_path_buf(),
            stat,
        })
    }

    /// The path relative to the tree's root.
    pub(super) fn rel(&self) -> &Path {
        &self.rel
    }

    /// Relative path of an entry of this directory.
    pub(super) fn rel_of(&self, name: impl AsRef<OsStr>) -> PathBuf {
        self.rel.join(name.as_ref())
    }

    fn shown_of(&self, name: impl AsRef<OsStr>) -> PathBuf {
        self.shown.join(name.as_ref())
    }

    /// Device and inode: two handles with the same identity are the same directory.
    pub(super) fn identity(&self) -> (u64, u64) {
        (self.stat.st_dev, self.stat.st_ino)
    }

    /// Owner and group, for what is created inside (Dovecot must be able to use it).
    pub(super) fn owner(&self) -> (u32, u32) {
        (self.stat.st_uid, self.stat.st_gid)
    }

    /// Whether this directory is the root of a mount (a bind mount can make one mailbox
    /// directory appear under two names). Unknown (old kernel) counts as not.
    pub(super) fn is_mount_root(&self) -> bool {
        let flags = AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT;
        rfs::statx(&self.fd, "", flags, StatxFlags::empty()).is_ok_and(|s| {
            s.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
                && s.stx_attributes.contains(StatxAttributes::MOUNT_ROOT)
        })
    }

    /// Another descriptor on the same directory.
    pub(super) fn try_clone(&self) -> Result<DirHandle, FsError> {
        Ok(DirHandle {
            fd: self
                .fd
                .try_clone()
                .map_err(|e| FsError::io(self.shown.clone(), e))?,
            rel: self.rel.clone(),
            shown: self.shown.clone(),
            stat: self.stat,
        })
    }

    /// Open the subdirectory `name` (one path component), never through a link.
    pub(super) fn child_dir(&self, name: &str) -> Result<DirHandle, FsError> {
        debug_assert!(!name.contains('/') && name != ".." && name != ".");
        let resolve =
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        let opened = match rfs::openat2(&self.fd, name, DIR_FLAGS, Mode::empty(), resolve) {
            // No openat2 (kernel before 5.6, or a seccomp filter answering ENOSYS or EPERM):
            // the name is one component, so O_NOFOLLOW alone already refuses a link.
            Err(Errno::NOSYS | Errno::PERM) => {
                rfs::openat(&self.fd, name, DIR_FLAGS, Mode::empty())
            }
            other => other,
        };
        let fd = match opened {
            Ok(fd) => fd,
            Err(Errno::LOOP | Errno::NOTDIR | Errno::XDEV) => {
                return Err(self.unsafe_entry(name, "a directory"));
            }
            Err(e) => return Err(FsError::io(self.shown_of(name), e)),
        };
        let stat = rfs::fstat(&fd).map_err(|e| FsError::io(self.shown_of(name), e))?;
        Ok(DirHandle {
            fd,
            rel: self.rel_of(name),
            shown: self.shown_of(name),
            stat,
        })
    }

    /// Open `name` as a subdirectory, creating it (mode 0700, owned like `owner`) when it
    /// is missing. The new directory is chowned through its own descriptor, never by name.
    pub(super) fn ensure_dir(&self, name: &str, owner: (u32, u32)) -> Result<DirHandle, FsError> {
        match rfs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o700)) {
            Ok(()) => {
                let dir = self.child_dir(name)?;
                chown_to(&dir.fd, owner);
                sync_best_effort(&self.fd);
                Ok(dir)
            }
            Err(Errno::EXIST) => self.child_dir(name),
            Err(e) => Err(FsError::io(self.shown_of(name), e)),
        }
    }

    /// What `name` is, without following it; `None` when there is no such entry.
    pub(super) fn entry_type(&self, name: &str) -> Result<Option<Stat>, FsError> {
        match rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(stat)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(FsError::io(self.shown_of(name), e)),
        }
    }

    /// The entries of this directory (not `.` and `..`), with their type (links not
    /// followed).
    pub(super) fn entries(&self) -> Result<Vec<(OsString, FileType)>, FsError> {
        let dir = rfs::Dir::read_from(&self.fd).map_err(|e| FsError::io(self.shown.clone(), e))?;
        let mut found = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| FsError::io(self.shown.clone(), e))?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name == "." || name == ".." {
                continue;
            }
            let mut kind = entry.file_type();
            if kind == FileType::Unknown {
                // Some filesystems leave the type out of directory entries.
                kind = match rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(stat) => FileType::from_raw_mode(stat.st_mode),
                    Err(Errno::NOENT) => continue,
                    Err(e) => return Err(FsError::io(self.shown_of(name), e)),
                };
            }
            found.push((name.to_os_string(), kind));
        }
        Ok(found)
    }

    /// Open the message file `name` for reading. It must be a regular file: the type is
    /// checked before the open (a device is never opened) and again on the descriptor
    /// (the name may have been swapped in between); the open never follows a link and
    /// never blocks, so a FIFO cannot hang the caller.
    pub(super) fn open_message(&self, name: &str) -> Result<(File, Stat), FsError> {
        match self.entry_type(name)? {
            None => {
                return Err(FsError::io(
                    self.shown_of(name),
                    io::Error::from(io::ErrorKind::NotFound),
                ));
            }
            Some(stat) if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile => {
                return Err(self.unsafe_kind(name, stat, "a message file"));
            }
            Some(_) => {}
        }
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = match rfs::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::LOOP) => return Err(self.unsafe_entry(name, "a message file")),
            Err(e) => return Err(FsError::io(self.shown_of(name), e)),
        };
        let stat = rfs::fstat(&fd).map_err(|e| FsError::io(self.shown_of(name), e))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(self.unsafe_kind(name, stat, "a message file"));
        }
        Ok((File::from(fd), stat))
    }

    /// Create the file `name`, which must not exist (a link there is not followed: the
    /// create fails), mode `mode`, owned like `owner`.
    pub(super) fn create_file(
        &self,
        name: &str,
        mode: u32,
        owner: (u32, u32),
    ) -> Result<File, FsError> {
        let flags = OFlags::WRONLY
            | OFlags::CREATE
            | OFlags::EXCL
            | OFlags::NOFOLLOW
            | OFlags::NOCTTY
            | OFlags::CLOEXEC;
        let fd = rfs::openat(&self.fd, name, flags, Mode::from_raw_mode(mode))
            .map_err(|e| FsError::io(self.shown_of(name), e))?;
        chown_to(&fd, owner);
        Ok(File::from(fd))
    }

    /// Rename `name` to `to_name` in `to`, never replacing an existing entry
    /// (`AlreadyExists` then). A link is renamed as a link, never followed.
    pub(super) fn rename_no_replace(
        &self,
        name: &str,
        to: &DirHandle,
        to_name: &str,
    ) -> io::Result<()> {
        match rfs::renameat_with(&self.fd, name, &to.fd, to_name, RenameFlags::NOREPLACE) {
            Ok(()) => Ok(()),
            // The filesystem does not support the flag: a hard link never replaces either
            // (and linkat without AT_SYMLINK_FOLLOW links a link, not its target).
            Err(Errno::INVAL | Errno::NOSYS) => {
                rfs::linkat(&self.fd, name, &to.fd, to_name, AtFlags::empty())?;
                Ok(rfs::unlinkat(&self.fd, name, AtFlags::empty())?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Unlink the file `name` (a link is removed as a link).
    pub(super) fn unlink(&self, name: &str) -> io::Result<()> {
        Ok(rfs::unlinkat(&self.fd, name, AtFlags::empty())?)
    }

    /// Make renames into or out of this directory durable. Best effort: the rename itself
    /// already happened.
    pub(super) fn sync(&self) {
        sync_best_effort(&self.fd);
    }

    /// The path of `name` as the operator sees it, for I/O error messages.
    pub(super) fn shown_path(&self, name: &str) -> PathBuf {
        self.shown_of(name)
    }

    fn unsafe_entry(&self, name: &str, wanted: &str) -> FsError {
        match rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => self.unsafe_kind(name, stat, wanted),
            Err(_) => FsError::Unsafe {
                rel: self.rel_of(name),
                problem: format!("changed while it was opened, not {wanted}"),
            },
        }
    }

    fn unsafe_kind(&self, name: &str, stat: Stat, wanted: &str) -> FsError {
        FsError::Unsafe {
            rel: self.rel_of(name),
            problem: format!(
                "is {}, not {wanted}",
                kind_name(FileType::from_raw_mode(stat.st_mode))
            ),
        }
    }
}

/// "a symbolic link", "a FIFO", ... for an unsafe-layout message.
pub(super) fn kind_name(kind: FileType) -> &'static str {
    match kind {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Unknown => "of an unknown type",
    }
}

/// The `FsError` for an entry of `dir` found by a walk to be of `kind` where `wanted`
/// belongs.
pub(super) fn unsafe_found(dir: &DirHandle, name: &OsStr, kind: FileType, wanted: &str) -> FsError {
    FsError::Unsafe {
        rel: dir.rel_of(name),
        problem: format!("is {}, not {wanted}", kind_name(kind)),
    }
}

/// When retractor runs as root, what it creates must belong to the mail user, or Dovecot
/// cannot use it. Best effort (a non-root run already owns what it makes), and always on
/// the descriptor, never through a name.
fn chown_to(fd: &impl AsFd, (uid, gid): (u32, u32)) {
    let have = rfs::fstat(fd).map(|s| (s.st_uid, s.st_gid));
    if have.is_ok_and(|have| have != (uid, gid)) {
        let _ = rfs::fchown(
            fd,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
        );
    }
}

fn sync_best_effort(fd: &impl AsFd) {
    let _ = rfs::fsync(fd);
}
