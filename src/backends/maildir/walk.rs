//! Listing folders and message files of a mailbox, through handles that never follow a
//! link. Whatever is not part of a Maildir is collected as foreign, and whatever is not a
//! plain directory or regular file is collected as unsafe (both for `check`); a walk
//! otherwise skips them: nothing found on disk may stop a walk, and nothing is followed.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rustix::fs::FileType;

use super::fsops;
use super::handle::{self, DirHandle, FsError};
use super::layout::{self, INBOX, MessagePath, Subdir};

/// A folder of a mailbox as found on disk.
#[derive(Debug)]
pub(super) struct FolderDir {
    /// Display name (`INBOX`, `Junk`).
    pub name: String,
    pub dir: DirHandle,
}

/// A message file as found on disk, in the directory `dir` (its `cur/` or `new/`).
#[derive(Debug)]
pub(super) struct MessageFile<'a> {
    pub rel: MessagePath,
    pub dir: &'a DirHandle,
    pub size: u64,
    pub mtime: Option<DateTime<Utc>>,
}

impl MessageFile<'_> {
    /// Open the file for reading: still a regular file, never followed, never blocking.
    pub(super) fn open(&self) -> Result<File, FsError> {
        self.dir
            .open_message(&self.rel.file_name)
            .map(|(file, _)| file)
    }
}

/// Something that is not a plain directory or regular file where a walk looked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct UnsafeEntry {
    /// Relative to the tree's root.
    pub rel: PathBuf,
    /// Finishes the sentence "`rel` ...".
    pub problem: String,
    /// Where a folder or `cur/ new/ tmp/` belongs, so that copies may hide behind it (a
    /// locate that skipped it could not say "not there"); else a single entry.
    pub structural: bool,
}

impl UnsafeEntry {
    fn of(err: FsError, structural: bool) -> Result<UnsafeEntry, FsError> {
        match err {
            FsError::Unsafe { rel, problem } => Ok(UnsafeEntry {
                rel,
                problem,
                structural,
            }),
            other => Err(other),
        }
    }

    /// The same, as the error an act or a locate fails with.
    pub(super) fn to_error(&self) -> FsError {
        FsError::Unsafe {
            rel: self.rel.clone(),
            problem: self.problem.clone(),
        }
    }
}

/// What a walk came across that has no place in a Maildir.
#[derive(Debug, Default)]
pub(super) struct Findings {
    /// Paths as the operator configured the root (they are shown as such).
    pub foreign: Vec<PathBuf>,
    pub unsafe_entries: Vec<UnsafeEntry>,
}

impl Findings {
    fn foreign(&mut self, dir: &DirHandle, name: &OsStr) {
        self.foreign.push(dir.shown_path(&name.to_string_lossy()));
    }

    /// Record an entry of `kind` where `wanted` belongs: foreign when it is a plain
    /// directory or file, unsafe otherwise.
    fn misplaced(&mut self, dir: &DirHandle, name: &OsStr, kind: FileType, wanted: &str) {
        if matches!(kind, FileType::Directory | FileType::RegularFile) {
            self.foreign(dir, name);
        } else {
            self.record_unsafe(handle::unsafe_found(dir, name, kind, wanted), false);
        }
    }

    fn record_unsafe(&mut self, err: FsError, structural: bool) {
        if let Ok(entry) = UnsafeEntry::of(err, structural) {
            self.unsafe_entries.push(entry);
        }
    }

    /// Keep an unsafe layout as a finding; other errors are the caller's.
    fn absorb(&mut self, err: FsError, structural: bool) -> Result<(), FsError> {
        UnsafeEntry::of(err, structural).map(|entry| self.unsafe_entries.push(entry))
    }

    /// The first unsafe entry that may hide copies.
    pub(super) fn first_structural(&self) -> Option<&UnsafeEntry> {
        self.unsafe_entries.iter().find(|e| e.structural)
    }
}

/// The folders of the mailbox `mailbox`: INBOX first, then the rest by name.
pub(super) fn folders(
    mailbox: &DirHandle,
    findings: &mut Findings,
) -> Result<Vec<FolderDir>, FsError> {
    let mut found = Vec::new();
    for (name, kind) in mailbox.entries()? {
        let Some(text) = name.to_str() else {
            findings.misplaced(mailbox, &name, kind, "a Maildir entry");
            continue;
        };
        if matches!(text, "cur" | "new" | "tmp") {
            if kind != FileType::Directory {
                let err = handle::unsafe_found(mailbox, &name, kind, "a directory");
                findings.record_unsafe(err, true);
            }
            continue;
        }
        // Folders first: a user folder may well be called `dovecot-notes`.
        if let Some(folder) = layout::folder_name_of_dir(text) {
            match kind {
                FileType::Directory => match mailbox.child_dir(text) {
                    Ok(dir) if looks_like_maildir(&dir) => {
                        found.push(FolderDir {
                            name: folder.to_string(),
                            dir,
                        });
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) if e.is_not_found() => continue,
                    Err(e) => {
                        findings.absorb(e, true)?;
                        continue;
                    }
                },
                FileType::RegularFile => {}
                _ => {
                    let err = handle::unsafe_found(mailbox, &name, kind, "a folder directory");
                    findings.record_unsafe(err, true);
                    continue;
                }
            }
        }
        if layout::is_server_file(text) && kind == FileType::RegularFile {
            continue;
        }
        findings.misplaced(mailbox, &name, kind, "a Maildir entry");
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found.insert(
        0,
        FolderDir {
            name: INBOX.to_string(),
            dir: mailbox.try_clone()?,
        },
    );
    Ok(found)
}

/// A maildir has at least one of the directories messages are delivered to (a link there
/// does not count).
pub(super) fn looks_like_maildir(dir: &DirHandle) -> bool {
    Subdir::ALL.iter().any(|sub| {
        dir.entry_type(sub.as_str())
            .ok()
            .flatten()
            .is_some_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::Directory)
    })
}

/// Entries of a folder directory (not INBOX, whose directory is the mailbox's) that are
/// neither its subdirectories nor server files.
pub(super) fn strays_in_folder_dir(
    folder: &FolderDir,
    findings: &mut Findings,
) -> Result<(), FsError> {
    for (name, kind) in folder.dir.entries()? {
        let text = name.to_str();
        if text.is_some_and(|n| matches!(n, "cur" | "new" | "tmp")) {
            if kind != FileType::Directory {
                let err = handle::unsafe_found(&folder.dir, &name, kind, "a directory");
                findings.record_unsafe(err, true);
            }
            continue;
        }
        let server_file = text.is_some_and(layout::is_server_file);
        if !(server_file && kind == FileType::RegularFile) {
            findings.misplaced(&folder.dir, &name, kind, "a Maildir entry");
        }
    }
    Ok(())
}

/// Call `visit` for every message file of `folder` (`new/` then `cur/`).
///
/// `visit` returns `NotFound` when a file vanished before it could be read: a live Dovecot
/// renames files to change flags or to move them from `new/` to `cur/`. Those files are
/// looked for once more under their new names, so a copy is not missed for being read.
/// A file swapped for something else after it was listed is recorded as unsafe, and the
/// walk goes on.
pub(super) fn for_each_message(
    folder: &FolderDir,
    findings: &mut Findings,
    mut visit: impl FnMut(&MessageFile<'_>) -> Result<(), FsError>,
) -> Result<(), FsError> {
    let subdirs = open_subdirs(folder, findings)?;
    let mut seen_names = HashSet::new();
    let mut vanished = HashSet::new();
    for (subdir, dir) in &subdirs {
        for file in message_files(folder, *subdir, dir, findings)? {
            visit_one(&file, &mut visit, &mut vanished, findings)?;
            seen_names.insert(file.rel.file_name);
        }
    }
    if vanished.is_empty() {
        return Ok(());
    }
    let mut ignored = Findings::default();
    for (subdir, dir) in &subdirs {
        for file in message_files(folder, *subdir, dir, &mut ignored)? {
            let renamed = !seen_names.contains(&file.rel.file_name)
                && vanished.contains(layout::unique_part(&file.rel.file_name));
            if renamed {
                visit_one(&file, &mut visit, &mut HashSet::new(), findings)?;
            }
        }
    }
    Ok(())
}

/// `new/` and `cur/` of a folder; a missing one is skipped, a link there is unsafe.
fn open_subdirs(
    folder: &FolderDir,
    findings: &mut Findings,
) -> Result<Vec<(Subdir, DirHandle)>, FsError> {
    let mut dirs = Vec::new();
    for subdir in Subdir::ALL {
        match folder.dir.child_dir(subdir.as_str()) {
            Ok(dir) => dirs.push((subdir, dir)),
            Err(e) if e.is_not_found() => {}
            Err(e) => findings.absorb(e, true)?,
        }
    }
    Ok(dirs)
}

fn visit_one(
    file: &MessageFile<'_>,
    visit: &mut impl FnMut(&MessageFile<'_>) -> Result<(), FsError>,
    vanished: &mut HashSet<String>,
    findings: &mut Findings,
) -> Result<(), FsError> {
    match visit(file) {
        Err(e) if e.is_not_found() => {
            vanished.insert(layout::unique_part(&file.rel.file_name).to_string());
            Ok(())
        }
        Err(e) => findings.absorb(e, false),
        Ok(()) => Ok(()),
    }
}

/// The message files of one subdirectory of `folder`.
fn message_files<'a>(
    folder: &FolderDir,
    subdir: Subdir,
    dir: &'a DirHandle,
    findings: &mut Findings,
) -> Result<Vec<MessageFile<'a>>, FsError> {
    let mut files = Vec::new();
    for (name, kind) in dir.entries()? {
        // Maildir readers ignore dot files here.
        if name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let text = match name.to_str() {
            Some(text) if kind == FileType::RegularFile && layout::is_message_file_name(text) => {
                text
            }
            _ => {
                findings.misplaced(dir, &name, kind, "a message file");
                continue;
            }
        };
        // Size and date without following anything; a file gone since the listing is
        // simply not there.
        let Some(stat) = dir.entry_type(text)? else {
            continue;
        };
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            let kind = FileType::from_raw_mode(stat.st_mode);
            findings.misplaced(dir, &name, kind, "a message file");
            continue;
        }
        files.push(MessageFile {
            rel: MessagePath {
                folder: folder.name.clone(),
                subdir,
                file_name: text.to_string(),
            },
            dir,
            size: u64::try_from(stat.st_size).unwrap_or(0),
            mtime: fsops::mtime_of(&stat),
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::*;

    fn touch(path: &Path) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(path, "Subject: x\n\n").unwrap();
    }

    fn inbox(mb: &Path) -> FolderDir {
        FolderDir {
            name: INBOX.into(),
            dir: DirHandle::open_root(mb).unwrap(),
        }
    }

    #[test]
    fn folders_are_inbox_then_sorted_and_foreign_entries_are_collected() {
        let dir = tempfile::tempdir().unwrap();
        let mb = dir.path();
        for sub in ["cur", "new", "tmp", ".Trash/cur", ".Junk/new", ".Empty"] {
            fs::create_dir_all(mb.join(sub)).unwrap();
        }
        touch(&mb.join("dovecot-uidlist"));
        touch(&mb.join("notes.txt"));
        fs::create_dir_all(mb.join(".dovecot-notes/cur")).unwrap();

        let mut findings = Findings::default();
        let root = DirHandle::open_root(mb).unwrap();
        let names: Vec<String> = folders(&root, &mut findings)
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();

        assert_eq!(names, vec!["INBOX", "Junk", "Trash", "dovecot-notes"]);
        findings.foreign.sort();
        assert_eq!(
            findings.foreign,
            vec![mb.join(".Empty"), mb.join("notes.txt")]
        );
        assert!(findings.unsafe_entries.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn links_fifos_and_subdirectories_in_cur_are_not_messages() {
        let dir = tempfile::tempdir().unwrap();
        let mb = dir.path();
        touch(&mb.join("cur/1.M1.h:2,S"));
        touch(&mb.join("new/.hidden"));
        fs::create_dir_all(mb.join("cur/sub")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", mb.join("new/2.M2.h")).unwrap();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            mb.join("cur/3.M3.h"),
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();

        let mut findings = Findings::default();
        let mut found = Vec::new();
        for_each_message(&inbox(mb), &mut findings, |f| {
            found.push(f.rel.provider_id());
            Ok(())
        })
        .unwrap();

        assert_eq!(found, vec!["cur/1.M1.h:2,S"]);
        assert_eq!(findings.foreign, vec![mb.join("cur/sub")]);
        let mut problems: Vec<(String, String)> = findings
            .unsafe_entries
            .iter()
            .map(|e| (e.rel.display().to_string(), e.problem.clone()))
            .collect();
        problems.sort();
        assert_eq!(
            problems,
            vec![
                ("cur/3.M3.h".into(), "is a FIFO, not a message file".into()),
                (
                    "new/2.M2.h".into(),
                    "is a symbolic link, not a message file".into()
                ),
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_folder_or_subdirectory_is_unsafe_and_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        touch(&outside.path().join("cur/1.M1.out:2,S"));
        let mb = dir.path();
        fs::create_dir_all(mb.join("cur")).unwrap();
        std::os::unix::fs::symlink(outside.path(), mb.join(".Junk")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("cur"), mb.join("new")).unwrap();
        let root = DirHandle::open_root(mb).unwrap();

        let mut findings = Findings::default();
        let mut found = Vec::new();
        for folder in folders(&root, &mut findings).unwrap() {
            for_each_message(&folder, &mut findings, |f| {
                found.push(f.rel.provider_id());
                Ok(())
            })
            .unwrap();
        }

        assert!(found.is_empty(), "{found:?}");
        let rels: Vec<String> = findings
            .unsafe_entries
            .iter()
            .filter(|e| e.structural)
            .map(|e| e.rel.display().to_string())
            .collect();
        assert!(rels.contains(&".Junk".to_string()), "{rels:?}");
        assert!(rels.contains(&"new".to_string()), "{rels:?}");
    }

    #[test]
    fn a_file_renamed_while_read_is_found_under_its_new_name() {
        let dir = tempfile::tempdir().unwrap();
        let mb = dir.path();
        touch(&mb.join("new/1.M1.h"));
        fs::create_dir_all(mb.join("cur")).unwrap();

        let mut read = Vec::new();
        let mut first = true;
        for_each_message(&inbox(mb), &mut Findings::default(), |f| {
            if first {
                // What Dovecot does when a client first sees the message.
                first = false;
                fs::rename(mb.join("new/1.M1.h"), mb.join("cur/1.M1.h:2,S")).unwrap();
            }
            f.open()?;
            read.push(f.rel.provider_id());
            Ok(())
        })
        .unwrap();

        assert_eq!(read, vec!["cur/1.M1.h:2,S"]);
    }
}
