//! The spool directory: drop a `*.json` (one alert) or `*.jsonl` (one alert a line) file in
//! it and the service hands its alerts to the sink, then moves it to `done/`; a file with a bad
//! line goes to `rejected/` unread by the sink, beside a `.reason` naming the line and the
//! problem.
//!
//! Writers write to a dotfile or a `.tmp` name and rename into place, so a file is never read
//! half-written (neither is picked up). Whoever may write here is less trusted than the
//! service: entries are opened relative to the directory's own descriptor without following
//! links, must be regular files, and are read up to a cap.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustix::fs::{self as rfs, FileType, Mode, OFlags, RenameFlags};
use rustix::io::Errno;
use tokio::sync::watch;

use super::{parse_batch, stop_or_sleep};
use crate::config::alerts::SpoolSettings;
use crate::model::AlertSink;
use crate::model::text::sanitize;

/// How often the directory is looked at.
const POLL: Duration = Duration::from_secs(1);
/// Files taken per look, so a drain on SIGTERM waits for a bounded batch.
const FILES_PER_SCAN: usize = 500;

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC);

/// What became of one spool file.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every alert stored; the file is in `done/`.
    Done(usize),
    /// Refused; the file is in `rejected/` with a reason.
    Rejected(String),
    /// The sink failed: the file stays for the next look.
    Kept(String),
}

/// An open spool directory with its `done/` and `rejected/`.
pub struct Spool {
    path: PathBuf,
    dir: OwnedFd,
    done: OwnedFd,
    rejected: OwnedFd,
    max_file_bytes: u64,
}

impl Spool {
    /// Open the spool, creating it and its subdirectories (mode 0700) when missing. The
    /// spool's own path is the operator's and may be a link; nothing inside it is followed.
    pub fn open(settings: &SpoolSettings) -> Result<Spool, String> {
        let path = settings.dir.clone();
        let shown = |e: &dyn std::fmt::Display| format!("alert spool {}: {e}", path.display());
        match std::fs::create_dir(&path) {
            Ok(()) => set_private(&path).map_err(|e| shown(&e))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(shown(&e)),
        }
        let dir = rfs::open(&path, DIR_FLAGS, Mode::empty()).map_err(|e| shown(&e))?;
        let sub = |name: &str| -> Result<OwnedFd, String> {
            match rfs::mkdirat(&dir, name, Mode::from_raw_mode(0o700)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(shown(&format!("{name}/: {e}"))),
            }
            // NOFOLLOW: a writer of the spool must not point done/ somewhere else.
            rfs::openat(&dir, name, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty())
                .map_err(|e| shown(&format!("{name}/ (must be a directory, not a link): {e}")))
        };
        let done = sub("done")?;
        let rejected = sub("rejected")?;
        Ok(Spool {
            path,
            dir,
            done,
            rejected,
            max_file_bytes: settings.max_file_bytes,
        })
    }

    /// Look at the directory every second until `stopping`; the batch in hand is finished.
    pub async fn run(self, sink: Arc<dyn AlertSink>, mut stopping: watch::Receiver<bool>) {
        let spool = Arc::new(self);
        tracing::info!(dir = %spool.path.display(), "alert spool watched");
        loop {
            let (s, k) = (Arc::clone(&spool), Arc::clone(&sink));
            if let Err(e) = tokio::task::spawn_blocking(move || s.scan(k.as_ref())).await {
                tracing::warn!("alert spool: a look at the directory failed: {e}");
            }
            if stop_or_sleep(&mut stopping, POLL).await {
                break;
            }
        }
    }

    /// Take every ready file once, in name order. Returns each file's outcome.
    pub fn scan(&self, sink: &dyn AlertSink) -> Vec<(String, Outcome)> {
        let mut names = match std::fs::read_dir(&self.path) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name())
                .filter(|n| is_ready(n))
                .collect::<Vec<_>>(),
            Err(e) => {
                tracing::warn!(dir = %self.path.display(), "alert spool unreadable: {e}");
                return Vec::new();
            }
        };
        names.sort();
        names.truncate(FILES_PER_SCAN);
        let mut outcomes = Vec::new();
        for name in names {
            let shown = sanitize(&name.to_string_lossy());
            let outcome = self.take(&name, sink);
            match &outcome {
                Outcome::Done(n) => {
                    tracing::info!(file = %shown, alerts = n, "alert spool file stored")
                }
                Outcome::Rejected(why) => {
                    tracing::warn!(file = %shown, "alert spool file rejected: {why}")
                }
                Outcome::Kept(why) => {
                    tracing::warn!(file = %shown, "alert spool file kept for a retry: {why}");
                    outcomes.push((shown, outcome));
                    // The sink is down: the next files would fail the same way.
                    break;
                }
            }
            outcomes.push((shown, outcome));
        }
        outcomes
    }

    fn take(&self, name: &OsStr, sink: &dyn AlertSink) -> Outcome {
        let text = match self.read(name) {
            Ok(text) => text,
            Err(why) => return self.reject(name, why),
        };
        let alerts = match parse_batch(&text) {
            Ok(alerts) => alerts,
            Err(e) => return self.reject(name, e.to_string()),
        };
        for alert in &alerts {
            if let Err(e) = sink.receive(alert) {
                // Alerts before this one are stored; the next look hands them again and the
                // sink recognises them as repeats.
                return Outcome::Kept(format!("{e:#}"));
            }
        }
        match move_into(&self.dir, name, &self.done) {
            Ok(_) => Outcome::Done(alerts.len()),
            Err(e) => Outcome::Kept(format!("stored, but not moved to done/: {e}")),
        }
    }

    /// The file's text: a regular file (never through a link), within the cap, UTF-8.
    fn read(&self, name: &OsStr) -> Result<String, String> {
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = match rfs::openat(&self.dir, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::LOOP) => return Err("is a symbolic link; links are refused".into()),
            Err(e) => return Err(format!("cannot be opened: {e}")),
        };
        let stat = rfs::fstat(&fd).map_err(|e| format!("cannot be examined: {e}"))?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err("is not a regular file".into());
        }
        if stat.st_size as u64 > self.max_file_bytes {
            return Err(format!(
                "is {} bytes, over the spool's limit of {} (spool_max_bytes)",
                stat.st_size, self.max_file_bytes
            ));
        }
        let mut bytes = Vec::new();
        File::from(fd)
            .take(self.max_file_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot be read: {e}"))?;
        if bytes.len() as u64 > self.max_file_bytes {
            return Err("grew over the spool's limit while being read".into());
        }
        String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".into())
    }

    /// Move the file to `rejected/` and write `<name>.reason` beside it.
    fn reject(&self, name: &OsStr, why: String) -> Outcome {
        let why = sanitize(&why);
        match move_into(&self.dir, name, &self.rejected) {
            Ok(moved) => {
                let mut reason_name = moved.into_encoded_bytes();
                reason_name.extend_from_slice(b".reason");
                if let Err(e) = write_new(&self.rejected, OsStr::from_bytes(&reason_name), &why) {
                    tracing::warn!("alert spool: the reason file was not written: {e}");
                }
                Outcome::Rejected(why)
            }
            Err(e) => Outcome::Kept(format!("rejected ({why}) but not moved: {e}")),
        }
    }
}

/// A name the spool takes: `*.json` or `*.jsonl`, not a dotfile (writers' temporary names).
fn is_ready(name: &OsStr) -> bool {
    let bytes = name.as_bytes();
    !bytes.starts_with(b".") && (bytes.ends_with(b".json") || bytes.ends_with(b".jsonl"))
}

/// Rename `name` from `from` into `to` under the same name, or `name.N` when taken (an
/// earlier file of the same name is never overwritten). Returns the name used.
fn move_into(from: &OwnedFd, name: &OsStr, to: &OwnedFd) -> Result<std::ffi::OsString, Errno> {
    for n in 0..1000u32 {
        let target = if n == 0 {
            name.to_os_string()
        } else {
            let mut t = name.to_os_string();
            t.push(format!(".{n}"));
            t
        };
        match rfs::renameat_with(from, name, to, &target, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(target),
            Err(Errno::EXIST) => continue,
            // A filesystem without RENAME_NOREPLACE: look first (the service is the only
            // one renaming inside the spool's subdirectories).
            Err(Errno::INVAL) => {
                if rfs::statat(to, &target, rfs::AtFlags::SYMLINK_NOFOLLOW).is_ok() {
                    continue;
                }
                rfs::renameat(from, name, to, &target)?;
                return Ok(target);
            }
            Err(e) => return Err(e),
        }
    }
    Err(Errno::EXIST)
}

fn write_new(dir: &OwnedFd, name: &OsStr, text: &str) -> Result<(), String> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd =
        rfs::openat(dir, name, flags, Mode::from_raw_mode(0o600)).map_err(|e| e.to_string())?;
    File::from(fd)
        .write_all(format!("{text}\n").as_bytes())
        .map_err(|e| e.to_string())
}

fn set_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finished_json_files_are_taken() {
        for (name, ready) in [
            ("a.json", true),
            ("a.jsonl", true),
            (".a.json", false),
            ("a.json.tmp", false),
            ("a.txt", false),
            ("a.reason", false),
        ] {
            assert_eq!(is_ready(OsStr::new(name)), ready, "{name}");
        }
    }
}
