//! The backend's operations on one Maildir++ tree, as plain blocking functions; `mod.rs`
//! runs them off the async runtime. Every step below the root goes through directory
//! handles that never follow a link (`handle.rs`).

use std::io::Read;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::fsops::{self, FolderHandles, Source, fs_error, source_error};
use super::handle::{DirHandle, FsError};
use super::layout::{self, MessagePath, Subdir};
use super::walk::{self, Findings, FolderDir, MessageFile};
use crate::backends::common::headers;
use crate::backends::common::scan_match::{WantedIds, matches_filter};
use crate::backends::{
    Applied, BackendError, CheckReport, Destination, ErrorKind, HeaderSummary, MailboxRef,
    ScanFilter, Standing,
};
use crate::config::MaildirFolders;
use crate::model::{Action, Location, normalize_message_id};

/// One Maildir++ tree and the tenant settings that decide where copies go.
pub(super) struct Tree {
    pub root: PathBuf,
    pub folders: MaildirFolders,
    pub quarantine_mailbox: Option<String>,
    pub quarantine_per_recipient: bool,
}

/// Where a copy should end up, for one act.
struct Target<'a> {
    mailbox: &'a DirHandle,
    folder: &'a str,
    subdir: Subdir,
    file_name: &'a str,
    mtime: Option<DateTime<Utc>>,
}

impl Tree {
    pub(super) fn list_mailboxes(&self) -> Result<Vec<String>, BackendError> {
        let root = self.open_root()?;
        let mut found = Vec::new();
        for (domain, domain_dir) in plain_subdirs(&root)? {
            // An unreadable domain fails the listing: a sweep must not silently skip it.
            for (user, user_dir) in plain_subdirs(&domain_dir)? {
                if walk::looks_like_maildir(&user_dir) {
                    found.push(format!("{user}@{domain}"));
                }
            }
        }
        found.sort();
        Ok(found)
    }

    pub(super) fn locate(
        &self,
        address: &str,
        message_id: &str,
    ) -> Result<Vec<Location>, BackendError> {
        let mailbox = self.open_mailbox(address)?;
        let wanted = normalize_message_id(message_id);
        let inner = &wanted[1..wanted.len() - 1];
        if inner.is_empty() {
            return Err(BackendError::new(ErrorKind::Invalid, "empty Message-ID"));
        }
        let mut found = Vec::new();
        let mut findings = Findings::default();
        each_message(&mailbox, &mut findings, |_, file| {
            let block = read_header_block(file)?;
            // Most files do not mention the id at all; skip parsing those.
            if headers::contains_bytes(&block, inner.as_bytes())
                && headers::parse(&block).message_id.as_deref() == Some(wanted.as_str())
            {
                found.push(location_of(file));
            }
            Ok(())
        })?;
        // A folder or cur/ new/ that is a link may hide copies: "none found" would be a lie.
        if let Some(entry) = findings.first_structural() {
            return Err(fs_error(entry.to_error()));
        }
        Ok(found)
    }

    /// Where `action` puts this mailbox's copies: everything is known from the settings.
    pub(super) fn destination(&self, mailbox: &MailboxRef, action: Action) -> Destination {
        if let Some(folder) = self.destination_folder(mailbox, action) {
            return Destination::Folder(folder);
        }
        match (action, self.quarantine_destination(mailbox)) {
            (Action::Quarantine, Some((mailbox, folder))) => {
                Destination::Mailbox { mailbox, folder }
            }
            _ => Destination::Gone,
        }
    }

    /// Where a located copy of this mailbox stands for `action`.
    pub(super) fn standing(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Standing {
        Standing::by_folder(
            &copy.folder,
            action,
            &self.destination(mailbox, action),
            Some(&self.folders.soft_delete),
            Some(&self.folders.hold),
        )
    }

    /// The folder of the same mailbox `action` moves a copy to, if it stays in the mailbox.
    fn destination_folder(&self, mailbox: &MailboxRef, action: Action) -> Option<String> {
        let folder = match action {
            Action::MoveToJunk => &self.folders.junk,
            Action::Trash => &self.folders.trash,
            Action::SoftDelete => &self.folders.soft_delete,
            Action::HardDelete if mailbox.on_hold => &self.folders.hold,
            Action::HardDelete | Action::Quarantine | Action::Restore => return None,
        };
        Some(folder.clone())
    }

    pub(super) fn fetch_raw(
        &self,
        address: &str,
        copy: &Location,
    ) -> Result<Vec<u8>, BackendError> {
        let mailbox = self.open_mailbox(address)?;
        let path = MessagePath::of(copy)?;
        let dir = message_dir(&mailbox, &path)?;
        let (mut file, _) = dir.open_message(&path.file_name).map_err(source_error)?;
        let mut raw = Vec::new();
        file.read_to_end(&mut raw)
            .map_err(|e| fsops::io_error(&e, &dir.shown_path(&path.file_name)))?;
        Ok(raw)
    }

    pub(super) fn apply(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Applied, BackendError> {
        let mailbox_dir = self.open_mailbox(&mailbox.address)?;
        let source = MessagePath::of(copy)?;
        // Every act that keeps the copy in the mailbox is a move to its destination folder.
        if let Some(folder) = self.destination_folder(mailbox, action) {
            let target = Target::keeping(&mailbox_dir, &folder, &source);
            let to = move_copy(&mailbox_dir, &source, &target)?;
            return Ok(Applied::moved(to, action));
        }
        match action {
            Action::Quarantine => self.quarantine(mailbox, &mailbox_dir, &source),
            Action::HardDelete => {
                let dir = message_dir(&mailbox_dir, &source)?;
                // Only a regular file is deleted: a link or FIFO there is refused.
                dir.open_message(&source.file_name).map_err(source_error)?;
                fsops::remove_message(&dir, &source.file_name)?;
                Ok(Applied::deleted(false))
            }
            _ => Err(BackendError::not_an_act(action)),
        }
    }

    /// Move a copy to `folder` of its own mailbox (see [`crate::backends::Backend::file_to_folder`]).
    pub(super) fn file_to_folder(
        &self,
        address: &str,
        copy: &Location,
        folder: &str,
    ) -> Result<Location, BackendError> {
        let mailbox_dir = self.open_mailbox(address)?;
        let source = MessagePath::of(copy)?;
        let target = Target::keeping(&mailbox_dir, folder, &source);
        move_copy(&mailbox_dir, &source, &target)
    }

    pub(super) fn put_back(
        &self,
        mailbox: &MailboxRef,
        current_mailbox: &str,
        current: &Location,
        original: &Location,
    ) -> Result<Location, BackendError> {
        let target_dir = self.open_mailbox(&mailbox.address)?;
        let source_dir = self
            .open_mailbox(current_mailbox)
            .map_err(|e| match e.kind {
                ErrorKind::NoSuchMailbox => BackendError::new(
                    ErrorKind::Gone,
                    format!("the copy's mailbox {current_mailbox} no longer exists"),
                ),
                _ => e,
            })?;
        let source = MessagePath::of(current)?;
        let was = MessagePath::of(original)?;
        let target = Target {
            mailbox: &target_dir,
            folder: &original.folder,
            subdir: was.subdir,
            file_name: &was.file_name,
            mtime: original.internal_date,
        };
        move_copy(&source_dir, &source, &target)
    }

    pub(super) fn scan(
        &self,
        address: &str,
        filter: &ScanFilter,
    ) -> Result<Vec<HeaderSummary>, BackendError> {
        let mailbox = self.open_mailbox(address)?;
        let wanted = WantedIds::of(filter);
        let mut found = Vec::new();
        let mut findings = Findings::default();
        each_message(&mailbox, &mut findings, |folder, file| {
            if filter.skip_admin_folders && self.is_admin_folder(&folder.name) {
                return Ok(());
            }
            if filter.inbox_only && !folder.name.eq_ignore_ascii_case(layout::INBOX) {
                return Ok(());
            }
            let block = read_header_block(file)?;
            if !wanted.may_match(&block) {
                return Ok(());
            }
            let parsed = headers::parse(&block);
            if matches_filter(filter, &wanted, &parsed, file.mtime) {
                found.push(parsed.into_summary(location_of(file), file.size));
            }
            Ok(())
        })?;
        if let Some(first) = findings.unsafe_entries.first() {
            // A sweep or an index goes on past them; `check` names every one.
            tracing::warn!(
                mailbox = %crate::model::text::sanitize(address),
                skipped = findings.unsafe_entries.len(),
                first = %crate::model::text::sanitize(&format!(
                    "{} {}",
                    first.rel.display(),
                    first.problem
                )),
                "maildir scan skipped unsafe layout entries"
            );
        }
        Ok(found)
    }

    pub(super) fn check(&self) -> CheckReport {
        match DirHandle::open_root(&self.root) {
            Ok(root) => super::survey::survey(&root, &self.root),
            Err(e) => CheckReport {
                ok: false,
                detail: format!("maildir root unusable: {}", fs_error(e).detail),
            },
        }
    }

    fn open_root(&self) -> Result<DirHandle, BackendError> {
        DirHandle::open_root(&self.root).map_err(|e| {
            // A missing root (unmounted volume) must not make every mailbox "not actionable".
            if e.is_not_found() {
                BackendError::new(
                    ErrorKind::Unavailable,
                    format!("maildir root {} is missing", self.root.display()),
                )
            } else {
                fs_error(e)
            }
        })
    }

    /// The mailbox directory of `address`, opened level by level without following a link,
    /// and refused when it is the same directory as another mailbox.
    fn open_mailbox(&self, address: &str) -> Result<DirHandle, BackendError> {
        let (domain, user) = layout::mailbox_parts(address)?;
        let root = self.open_root()?;
        let missing = |e: FsError| {
            if e.is_not_found() {
                BackendError::new(
                    ErrorKind::NoSuchMailbox,
                    format!("no mailbox {address} (no directory {domain}/{user})"),
                )
            } else {
                fs_error(e)
            }
        };
        let domain_dir = root.child_dir(domain).map_err(missing)?;
        let mailbox = domain_dir.child_dir(user).map_err(missing)?;
        refuse_alias(&root, &domain_dir, &mailbox).map_err(fs_error)?;
        Ok(mailbox)
    }

    fn is_admin_folder(&self, folder: &str) -> bool {
        [
            &self.folders.soft_delete,
            &self.folders.hold,
            &self.folders.quarantine,
        ]
        .iter()
        .any(|admin| layout::is_in_folder_tree(folder, admin))
    }

    /// The quarantine mailbox and this recipient's folder in it.
    fn quarantine_destination(&self, mailbox: &MailboxRef) -> Option<(String, String)> {
        let quarantine = self.quarantine_mailbox.clone()?;
        let folder = layout::quarantine_folder(
            &self.folders.quarantine,
            &mailbox.address,
            self.quarantine_per_recipient,
        );
        Some((quarantine, folder))
    }

    fn quarantine(
        &self,
        mailbox: &MailboxRef,
        mailbox_dir: &DirHandle,
        source: &MessagePath,
    ) -> Result<Applied, BackendError> {
        let quarantine = self.quarantine_mailbox.as_deref().ok_or_else(|| {
            BackendError::new(
                ErrorKind::Invalid,
                "quarantine needs a quarantine mailbox: set quarantine_mailbox for this tenant",
            )
        })?;
        // The copy is checked before anything is created for it: an unsafe one leaves no trace.
        message_dir(mailbox_dir, source)?
            .open_message(&source.file_name)
            .map_err(source_error)?;
        let quarantine_dir = self.ensure_quarantine_mailbox(quarantine)?;
        let folder = layout::quarantine_folder(
            &self.folders.quarantine,
            &mailbox.address,
            self.quarantine_per_recipient,
        );
        let target = Target::keeping(&quarantine_dir, &folder, source);
        let to = move_copy(mailbox_dir, source, &target)?;
        Ok(Applied::moved_to_mailbox(to, quarantine.to_string()))
    }

    /// Dovecot creates a user's maildir on first delivery; do the same for a new tree.
    fn ensure_quarantine_mailbox(&self, address: &str) -> Result<DirHandle, BackendError> {
        let (domain, user) = layout::mailbox_parts(address)?;
        let root = self.open_root()?;
        let domain_dir = root.ensure_dir(domain, root.owner()).map_err(fs_error)?;
        let mailbox = fsops::ensure_mailbox(&domain_dir, user)?;
        refuse_alias(&root, &domain_dir, &mailbox).map_err(fs_error)?;
        Ok(mailbox)
    }
}

impl<'a> Target<'a> {
    /// Same subdir and file name (hence flags), same mtime: only the folder changes.
    fn keeping(mailbox: &'a DirHandle, folder: &'a str, source: &'a MessagePath) -> Self {
        Target {
            mailbox,
            folder,
            subdir: source.subdir,
            file_name: &source.file_name,
            mtime: None,
        }
    }
}

/// Refuse a mailbox directory that is also another mailbox's (a bind mount, or a hard link
/// on a filesystem that allows them): an act for one user would reach the other's mail.
/// A directory on the same device as its domain and not a mount root cannot be one, so the
/// whole tree is only compared in that rare case.
fn refuse_alias(root: &DirHandle, domain: &DirHandle, mailbox: &DirHandle) -> Result<(), FsError> {
    if mailbox.identity().0 == domain.identity().0 && !mailbox.is_mount_root() {
        return Ok(());
    }
    for (_, domain_dir) in plain_subdirs(root).map_err(|e| FsError::Unsafe {
        rel: mailbox.rel().to_path_buf(),
        problem: format!(
            "could not be compared with the other mailboxes: {}",
            e.detail
        ),
    })? {
        for (name, kind) in domain_dir.entries()? {
            let Some(name) = name.to_str() else { continue };
            let other = domain_dir.rel_of(name);
            if kind != rustix::fs::FileType::Directory || other == mailbox.rel() {
                continue;
            }
            let same = domain_dir
                .entry_type(name)?
                .is_some_and(|stat| (stat.st_dev, stat.st_ino) == mailbox.identity());
            if same {
                return Err(FsError::Unsafe {
                    rel: mailbox.rel().to_path_buf(),
                    problem: format!("is the same directory as {}", other.display()),
                });
            }
        }
    }
    Ok(())
}

/// The plain subdirectories of `dir` whose names are not hidden, opened; links and other
/// entries are left out (`check` names them).
fn plain_subdirs(dir: &DirHandle) -> Result<Vec<(String, DirHandle)>, BackendError> {
    let mut found = Vec::new();
    for (name, kind) in dir.entries().map_err(fs_error)? {
        let Ok(name) = name.into_string() else {
            continue;
        };
        if kind != rustix::fs::FileType::Directory || name.starts_with('.') {
            continue;
        }
        match dir.child_dir(&name) {
            Ok(child) => found.push((name, child)),
            Err(FsError::Unsafe { .. }) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(fs_error(e)),
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// The directory (`cur/` or `new/` of its folder) holding the message at `path`; a missing
/// level means the copy is gone, a link there is an unsafe layout.
fn message_dir(mailbox: &DirHandle, path: &MessagePath) -> Result<DirHandle, BackendError> {
    let folder = match layout::folder_dir_name(&path.folder)? {
        Some(dir_name) => mailbox.child_dir(&dir_name),
        None => mailbox.try_clone(),
    }
    .map_err(source_error)?;
    folder.child_dir(path.subdir.as_str()).map_err(source_error)
}

/// The header block of a listed message, read from a descriptor checked to be a regular
/// file (never a FIFO, never through a link).
fn read_header_block(file: &MessageFile<'_>) -> Result<Vec<u8>, FsError> {
    let mut opened = file.open()?;
    headers::read_header_block(&mut opened).map_err(|err| FsError::Io {
        path: file.dir.shown_path(&file.rel.file_name),
        err,
    })
}

/// Visit every message of every folder of a mailbox; files that vanish while read are
/// skipped (or found again under their new name, see `walk::for_each_message`), unsafe
/// entries are skipped and kept in `findings`.
fn each_message(
    mailbox: &DirHandle,
    findings: &mut Findings,
    mut visit: impl FnMut(&FolderDir, &MessageFile<'_>) -> Result<(), FsError>,
) -> Result<(), BackendError> {
    let folders = walk::folders(mailbox, findings).map_err(fs_error)?;
    for folder in &folders {
        walk::for_each_message(folder, findings, |file| visit(folder, file)).map_err(fs_error)?;
    }
    Ok(())
}

/// A rename moves whatever the name holds at that instant: a file swapped for a link after
/// it was checked would be moved as a link (into the quarantine mailbox, say). What now has
/// the new name is compared with the file that was checked; anything else goes back where
/// it came from and the act fails as an unsafe layout. (A copy across devices was read
/// from the checked descriptor, so it is the checked file's content whatever happened.)
fn undo_if_swapped(src: &Source<'_>, dir: &DirHandle, name: &str) -> Result<(), BackendError> {
    let Some(now) = dir.entry_type(name).map_err(fs_error)? else {
        return Ok(());
    };
    if now.st_dev != src.stat.st_dev || now.st_ino == src.stat.st_ino {
        return Ok(());
    }
    let _ = dir.rename_no_replace(name, src.dir, src.name);
    Err(fs_error(FsError::Unsafe {
        rel: src.dir.rel_of(src.name),
        problem: "was swapped for another entry while it was moved, not a message file".into(),
    }))
}

/// Move the copy at `source` (in `source_mailbox`) to `target`; a copy already there is
/// left alone, so repeating an act after a crash is harmless.
fn move_copy(
    source_mailbox: &DirHandle,
    source: &MessagePath,
    target: &Target<'_>,
) -> Result<Location, BackendError> {
    let from_dir = message_dir(source_mailbox, source)?;
    let (file, stat) = from_dir
        .open_message(&source.file_name)
        .map_err(source_error)?;
    let already_there = source_mailbox.identity() == target.mailbox.identity()
        && layout::folder_dir_name(&source.folder)? == layout::folder_dir_name(target.folder)?
        && source.subdir == target.subdir
        && source.file_name == target.file_name;
    let file_name = if already_there {
        source.file_name.clone()
    } else {
        let handles: FolderHandles = fsops::ensure_folder(target.mailbox, target.folder)?;
        if let Some(when) = target.mtime {
            // Before the move, so that Dovecot never sees the copy with a wrong date.
            fsops::set_mtime(&file, &from_dir.shown_path(&source.file_name), when)?;
        }
        let src = Source {
            dir: &from_dir,
            name: &source.file_name,
            file: &file,
            stat: &stat,
        };
        let name = fsops::place(&src, &handles, target.subdir, target.file_name)?;
        undo_if_swapped(&src, handles.subdir(target.subdir), &name)?;
        name
    };
    let placed = MessagePath {
        folder: target.folder.to_string(),
        subdir: target.subdir,
        file_name,
    };
    Ok(location(
        &placed,
        target.mtime.or_else(|| fsops::mtime_of(&stat)),
    ))
}

fn location_of(file: &MessageFile<'_>) -> Location {
    location(&file.rel, file.mtime)
}

fn location(path: &MessagePath, internal_date: Option<DateTime<Utc>>) -> Location {
    let flags = layout::flags_of(&path.file_name);
    Location {
        folder: path.folder.clone(),
        provider_id: path.provider_id(),
        seen: layout::is_seen(flags),
        flags: flags.to_string(),
        internal_date,
        ..Location::default()
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn an_entry_swapped_in_during_a_move_is_put_back_and_refused() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("src")).unwrap();
        fs::create_dir_all(tmp.path().join("dst")).unwrap();
        fs::write(tmp.path().join("src/m"), "checked").unwrap();
        let root = DirHandle::open_root(tmp.path()).unwrap();
        let from = root.child_dir("src").unwrap();
        let to = root.child_dir("dst").unwrap();
        let (file, stat) = from.open_message("m").unwrap();
        // What the rename moved is not the file that was checked (a link swapped in).
        fs::rename(tmp.path().join("src/m"), tmp.path().join("src/kept")).unwrap();
        std::os::unix::fs::symlink("/etc/shadow", tmp.path().join("dst/m")).unwrap();
        let src = Source {
            dir: &from,
            name: "m",
            file: &file,
            stat: &stat,
        };

        let err = undo_if_swapped(&src, &to, "m").unwrap_err();

        assert_eq!(err.kind, ErrorKind::Invalid);
        assert!(
            err.detail.contains("unsafe layout: src/m was swapped"),
            "{}",
            err.detail
        );
        assert!(tmp.path().join("src/m").is_symlink());
        assert!(!tmp.path().join("dst/m").exists());
        // The checked file itself passes.
        fs::rename(tmp.path().join("src/kept"), tmp.path().join("dst/real")).unwrap();
        assert!(undo_if_swapped(&src, &to, "real").is_ok());
    }
}
