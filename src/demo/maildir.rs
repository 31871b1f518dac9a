//! Writing the tenant to disk as Dovecot Maildir++ mailboxes.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use filetime::FileTime;

use super::DemoError;
use super::people::DOMAIN;
use super::plan::{Folder, Planned};
use super::rng::Rng;

/// Folders every member of staff has besides INBOX.
const FOLDERS: [Folder; 3] = [Folder::Junk, Folder::Trash, Folder::Sent];

/// One message file as written, so tests can check each file holds the message it should.
#[derive(Debug)]
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "only the tests read the manifest")
)]
pub struct Written {
    pub path: PathBuf,
    pub message_id: String,
    pub at: DateTime<Utc>,
}

pub fn io_error(path: &Path, what: &str, e: std::io::Error) -> DemoError {
    DemoError(format!("{}: cannot {what}: {e}", path.display()))
}

fn mkdir(path: &Path) -> Result<(), DemoError> {
    fs::create_dir_all(path).map_err(|e| io_error(path, "create directory", e))
}

/// `<root>/<domain>/<local part>/`
pub fn mailbox_dir(root: &Path, address: &str) -> PathBuf {
    let local = address.split('@').next().unwrap_or(address);
    root.join(DOMAIN).join(local)
}

pub fn make_maildir(dir: &Path) -> Result<(), DemoError> {
    for sub in ["cur", "new", "tmp"] {
        mkdir(&dir.join(sub))?;
    }
    Ok(())
}

/// Create the mailboxes, with Junk/Trash/Sent for staff and a bare INBOX for `quarantine`.
pub fn create_mailboxes(root: &Path, staff: &[String], quarantine: &str) -> Result<(), DemoError> {
    for address in staff {
        let dir = mailbox_dir(root, address);
        make_maildir(&dir)?;
        for folder in FOLDERS {
            let fdir = dir.join(folder.dir());
            make_maildir(&fdir)?;
            // Dovecot's marker that this directory is a folder, not a mailbox root.
            let marker = fdir.join("maildirfolder");
            fs::write(&marker, b"").map_err(|e| io_error(&marker, "write", e))?;
        }
    }
    make_maildir(&mailbox_dir(root, quarantine))
}

/// Write every copy of every message. Files are named the way Dovecot names them
/// (`<time>.M<micro>P<pid>.<host>`), read ones in `cur/` with the `:2,S` flag, unread ones in
/// `new/`, each with its delivery time as mtime, which is what Maildir readers show as date.
pub fn write_messages(
    root: &Path,
    planned: &[Planned],
    rng: &mut Rng,
) -> Result<Vec<Written>, DemoError> {
    let mut written = Vec::new();
    let mut serial: u64 = 0;
    for p in planned {
        let bytes = p.mail.render();
        let pid = 1000 + rng.below(60_000);
        for copy in &p.copies {
            serial += 1;
            let unique = format!("{}.M{}P{pid}.demo", copy.at.timestamp(), 100_000 + serial);
            let folder = mailbox_dir(root, &copy.mailbox).join(copy.folder.dir());
            let path = if copy.seen {
                folder.join("cur").join(format!("{unique}:2,S"))
            } else {
                folder.join("new").join(unique)
            };
            fs::write(&path, &bytes).map_err(|e| io_error(&path, "write", e))?;
            let mtime = FileTime::from_unix_time(copy.at.timestamp(), 0);
            filetime::set_file_mtime(&path, mtime)
                .map_err(|e| io_error(&path, "set the time of", e))?;
            written.push(Written {
                path,
                message_id: p.mail.message_id.clone(),
                at: copy.at,
            });
        }
    }
    Ok(written)
}
