//! The Maildir backend: no server; each scenario gets a Maildir++ tree of its own
//! (`<dir>/mail/corp.test/<user>`, Dovecot's layout). Flags are the file name's info
//! (`:2,FS`), the date is the file's mtime.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::fixture::{Copy, Fixture, Seed, Tenant, toml_list, write_config};

/// The mtime every seeded file gets (2026-11-18).
const SEEDED_MTIME: i64 = 1_795_000_000;

pub struct MaildirFixture;

impl Fixture for MaildirFixture {
    fn name(&self) -> &'static str {
        "maildir"
    }

    fn tenant(
        &self,
        tag: &str,
        users: &[&str],
        held: &[&str],
        engine: &str,
    ) -> Box<dyn Tenant + '_> {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = MaildirTenant {
            dir,
            tag: tag.to_string(),
            next_file: AtomicU64::new(1),
        };
        for user in users {
            crate::common::make_maildir(&t.mailbox(&t.addr(user)));
        }
        let held: Vec<String> = held.iter().map(|u| t.addr(u)).collect();
        let keys = format!(
            "kind = \"maildir\"\nroot = \"mail\"\ndomains = [\"corp.test\"]\n\
             quarantine_mailbox = \"{}\"\nholds = {}\n",
            t.addr("quarantine"),
            toml_list(&held)
        );
        write_config(t.dir.path(), engine, &keys);
        Box::new(t)
    }
}

struct MaildirTenant {
    dir: tempfile::TempDir,
    tag: String,
    next_file: AtomicU64,
}

impl MaildirTenant {
    fn mailbox(&self, address: &str) -> PathBuf {
        let (local, domain) = address.split_once('@').expect("an address");
        self.dir.path().join("mail").join(domain).join(local)
    }
}

impl Tenant for MaildirTenant {
    fn addr(&self, user: &str) -> String {
        format!("{user}-{}@corp.test", self.tag)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn seed(&self, address: &str, seed: &Seed) {
        let mut base = self.mailbox(address);
        if seed.folder != "INBOX" {
            base = base.join(format!(".{}", seed.folder));
        }
        crate::common::make_maildir(&base);
        let name = format!(
            "{}.M{}.contract",
            SEEDED_MTIME,
            self.next_file.fetch_add(1, Ordering::Relaxed)
        );
        // Maildir info letters are sorted ASCII: F before S.
        let info: String = [(seed.flagged, 'F'), (seed.seen, 'S')]
            .iter()
            .filter_map(|(on, letter)| on.then_some(*letter))
            .collect();
        let path = if info.is_empty() {
            base.join("new").join(name)
        } else {
            base.join("cur").join(format!("{name}:2,{info}"))
        };
        fs::write(&path, seed.raw(address)).expect("write message");
        filetime::set_file_mtime(&path, filetime::FileTime::from_unix_time(SEEDED_MTIME, 0))
            .expect("mtime");
    }

    fn seed_raw(&self, address: &str, raw: &str) {
        let base = self.mailbox(address);
        crate::common::make_maildir(&base);
        let name = format!(
            "{}.M{}.contract",
            SEEDED_MTIME,
            self.next_file.fetch_add(1, Ordering::Relaxed)
        );
        let path = base.join("new").join(name);
        fs::write(&path, raw).expect("write message");
        filetime::set_file_mtime(&path, filetime::FileTime::from_unix_time(SEEDED_MTIME, 0))
            .expect("mtime");
    }

    fn read(&self, address: &str) -> Vec<Copy> {
        let root = self.mailbox(address);
        let mut folders = vec![("INBOX".to_string(), root.clone())];
        for entry in fs::read_dir(&root).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(folder) = name.strip_prefix('.') {
                folders.push((folder.to_string(), entry.path()));
            }
        }
        let mut out = Vec::new();
        for (folder, path) in folders {
            for sub in ["cur", "new"] {
                for file in fs::read_dir(path.join(sub)).into_iter().flatten().flatten() {
                    out.push(copy_of(&folder, &file.path()));
                }
            }
        }
        out.sort();
        out
    }

    fn holder(&self, action: &str, address: &str) -> String {
        if action == "quarantine" {
            self.addr("quarantine")
        } else {
            address.to_string()
        }
    }

    fn is_destination(&self, action: &str, address: &str, folder: &str) -> bool {
        let local = address.split('@').next().unwrap_or(address);
        match action {
            "move-to-junk" => folder == "Junk",
            "trash" => folder == "Trash",
            "soft-delete" => folder == "Retractor-Deleted",
            "quarantine" => folder.starts_with("Quarantine.") && folder.contains(local),
            _ => false,
        }
    }
}

/// One message file as a [`Copy`]: Message-ID from the header, flags from the info part.
fn copy_of(folder: &str, path: &Path) -> Copy {
    let text = fs::read_to_string(path).unwrap_or_default();
    let message_id = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("message-id")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let info = name.split_once(":2,").map(|(_, i)| i).unwrap_or("");
    let mut flags: Vec<String> = info
        .chars()
        .map(|c| match c {
            'S' => "\\Seen".to_string(),
            'F' => "\\Flagged".to_string(),
            'R' => "\\Answered".to_string(),
            'T' => "\\Deleted".to_string(),
            'D' => "\\Draft".to_string(),
            other => other.to_string(),
        })
        .collect();
    flags.sort();
    let mtime = fs::metadata(path)
        .map(|m| filetime::FileTime::from_last_modification_time(&m).unix_seconds())
        .unwrap_or(0);
    Copy {
        message_id,
        folder: folder.to_string(),
        flags,
        date: mtime.to_string(),
    }
}
