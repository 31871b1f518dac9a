//! Listing folders and message files of a mailbox. Whatever is not part of a Maildir is
//! collected as foreign (for `check`) and otherwise ignored: nothing found on disk may stop
//! a walk.

use std::collections::HashSet;
use std::fs::{self, DirEntry};
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::fsops;
use super::layout::{self, INBOX, MessagePath, Subdir};

/// A folder of a mailbox as found on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FolderDir {
    /// Display name (`INBOX`, `Junk`).
    pub name: String,
    pub path: PathBuf,
}

/// A message file as found on disk.
#[derive(Clone, Debug)]
pub(super) struct MessageFile {
    pub rel: MessagePath,
    pub path: PathBuf,
    pub size: u64,
    pub mtime: Option<DateTime<Utc>>,
}

/// What a walk came across that has no place in a Maildir.
pub(super) type Foreign = Vec<PathBuf>;

/// The folders of the mailbox at `mailbox_dir`: INBOX first, then the rest by name.
pub(super) fn folders(mailbox_dir: &Path, foreign: &mut Foreign) -> io::Result<Vec<FolderDir>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(mailbox_dir)? {
        let entry = entry?;
        match classify_mailbox_entry(&entry) {
            MailboxEntry::Folder(name) => found.push(FolderDir {
                name,
                path: entry.path(),
            }),
            MailboxEntry::Known => {}
            MailboxEntry::Foreign => foreign.push(entry.path()),
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found.insert(
        0,
        FolderDir {
            name: INBOX.to_string(),
            path: mailbox_dir.to_path_buf(),
        },
    );
    Ok(found)
}

enum MailboxEntry {
    Folder(String),
    /// INBOX's own subdirectories and the server's files.
    Known,
    Foreign,
}

fn classify_mailbox_entry(entry: &DirEntry) -> MailboxEntry {
    let Ok(name) = entry.file_name().into_string() else {
        return MailboxEntry::Foreign;
    };
    let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
    if is_dir && matches!(name.as_str(), "cur" | "new" | "tmp") {
        return MailboxEntry::Known;
    }
    // Folders first: a user folder may well be called `dovecot-notes`.
    if is_dir
        && let Some(folder) = layout::folder_name_of_dir(&name)
        && looks_like_maildir(&entry.path())
    {
        return MailboxEntry::Folder(folder.to_string());
    }
    if layout::is_server_file(&name) {
        MailboxEntry::Known
    } else {
        MailboxEntry::Foreign
    }
}

/// A maildir has at least one of the directories messages are delivered to.
pub(super) fn looks_like_maildir(dir: &Path) -> bool {
    Subdir::ALL
        .iter()
        .any(|sub| dir.join(sub.as_str()).is_dir())
}

/// Entries of a folder directory (not INBOX, whose directory is the mailbox's) that are
/// neither its subdirectories nor server files.
pub(super) fn strays_in_folder_dir(folder: &FolderDir, foreign: &mut Foreign) -> io::Result<()> {
    for entry in fs::read_dir(&folder.path)? {
        let entry = entry?;
        let name = entry.file_name();
        let known = name.to_str().is_some_and(|name| {
            layout::is_server_file(name) || matches!(name, "cur" | "new" | "tmp")
        });
        if !known {
            foreign.push(entry.path());
        }
    }
    Ok(())
}

/// Call `visit` for every message file of `folder` (`new/` then `cur/`).
///
/// `visit` returns `NotFound` when a file vanished before it could be read: a live Dovecot
/// renames files to change flags or to move them from `new/` to `cur/`. Those files are
/// looked for once more under their new names, so a copy is not missed for being read.
pub(super) fn for_each_message(
    folder: &FolderDir,
    foreign: &mut Foreign,
    mut visit: impl FnMut(&MessageFile) -> io::Result<()>,
) -> io::Result<()> {
    let mut seen_names = HashSet::new();
    let mut vanished = HashSet::new();
    for file in message_files(folder, foreign)? {
        visit_one(&file, &mut visit, &mut vanished)?;
        seen_names.insert(file.rel.file_name);
    }
    if vanished.is_empty() {
        return Ok(());
    }
    let mut ignored = Foreign::new();
    for file in message_files(folder, &mut ignored)? {
        let renamed = !seen_names.contains(&file.rel.file_name)
            && vanished.contains(layout::unique_part(&file.rel.file_name));
        if renamed {
            visit_one(&file, &mut visit, &mut HashSet::new())?;
        }
    }
    Ok(())
}

fn visit_one(
    file: &MessageFile,
    visit: &mut impl FnMut(&MessageFile) -> io::Result<()>,
    vanished: &mut HashSet<String>,
) -> io::Result<()> {
    match visit(file) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            vanished.insert(layout::unique_part(&file.rel.file_name).to_string());
            Ok(())
        }
        other => other,
    }
}

/// The message files of `folder`, `new/` first. A folder missing one of its subdirectories
/// is still read.
fn message_files(folder: &FolderDir, foreign: &mut Foreign) -> io::Result<Vec<MessageFile>> {
    let mut files = Vec::new();
    for subdir in Subdir::ALL {
        let dir = folder.path.join(subdir.as_str());
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            if let Some(file) = message_file(&entry?, folder, subdir, foreign) {
                files.push(file);
            }
        }
    }
    Ok(files)
}

fn message_file(
    entry: &DirEntry,
    folder: &FolderDir,
    subdir: Subdir,
    foreign: &mut Foreign,
) -> Option<MessageFile> {
    let name = entry.file_name();
    let name = name.to_str();
    if name.is_some_and(|n| n.starts_with('.')) {
        return None;
    }
    // DirEntry::metadata does not follow symlinks: a link is never taken for a message.
    let meta = match entry.metadata() {
        Ok(meta) => meta,
        Err(_) => return None,
    };
    let name = match name {
        Some(name) if meta.is_file() && layout::is_message_file_name(name) => name,
        _ => {
            foreign.push(entry.path());
            return None;
        }
    };
    Some(MessageFile {
        rel: MessagePath {
            folder: folder.name.clone(),
            subdir,
            file_name: name.to_string(),
        },
        path: entry.path(),
        size: meta.len(),
        mtime: fsops::mtime_of(&meta),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(path, "Subject: x\n\n").unwrap();
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

        let mut foreign = Foreign::new();
        let names: Vec<String> = folders(mb, &mut foreign)
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();

        assert_eq!(names, vec!["INBOX", "Junk", "Trash", "dovecot-notes"]);
        foreign.sort();
        assert_eq!(foreign, vec![mb.join(".Empty"), mb.join("notes.txt")]);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_and_subdirectories_in_cur_are_not_messages() {
        let dir = tempfile::tempdir().unwrap();
        let mb = dir.path();
        touch(&mb.join("cur/1.M1.h:2,S"));
        touch(&mb.join("new/.hidden"));
        fs::create_dir_all(mb.join("cur/sub")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", mb.join("new/2.M2.h")).unwrap();
        let inbox = FolderDir {
            name: INBOX.into(),
            path: mb.to_path_buf(),
        };

        let mut foreign = Foreign::new();
        let mut found = Vec::new();
        for_each_message(&inbox, &mut foreign, |f| {
            found.push(f.rel.provider_id());
            Ok(())
        })
        .unwrap();

        assert_eq!(found, vec!["cur/1.M1.h:2,S"]);
        foreign.sort();
        assert_eq!(foreign, vec![mb.join("cur/sub"), mb.join("new/2.M2.h")]);
    }

    #[test]
    fn a_file_renamed_while_read_is_found_under_its_new_name() {
        let dir = tempfile::tempdir().unwrap();
        let mb = dir.path();
        touch(&mb.join("new/1.M1.h"));
        fs::create_dir_all(mb.join("cur")).unwrap();
        let inbox = FolderDir {
            name: INBOX.into(),
            path: mb.to_path_buf(),
        };

        let mut read = Vec::new();
        let mut first = true;
        for_each_message(&inbox, &mut Foreign::new(), |f| {
            if first {
                // What Dovecot does when a client first sees the message.
                first = false;
                fs::rename(&f.path, mb.join("cur/1.M1.h:2,S"))?;
            }
            fs::read(&f.path)?;
            read.push(f.rel.provider_id());
            Ok(())
        })
        .unwrap();

        assert_eq!(read, vec!["cur/1.M1.h:2,S"]);
    }
}
