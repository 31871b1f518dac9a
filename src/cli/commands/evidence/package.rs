//! Writing an evidence package: `message.eml` (the copy's exact bytes), `evidence.json` and
//! `manifest.json` (every file's SHA-256, who exported it and when), as a new zip file or a
//! new directory. Nothing existing is overwritten or followed: the zip and the directory are
//! created new (`O_EXCL`, no-follow), files inside the directory are opened relative to its
//! descriptor, everything is private (0600 / 0700), and a failed write removes what it made.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::super::super::{CliError, exit};
use crate::api::EvidenceExport;

/// Where the package goes.
pub enum Target {
    Zip(PathBuf),
    Dir(PathBuf),
}

impl Target {
    /// A path ending in `.zip` is a zip file; anything else a directory.
    pub fn parse(destination: &str) -> Result<Target, CliError> {
        if destination.trim().is_empty() {
            return Err(CliError::bad_input(
                "--export is empty: name a new FILE.zip or a new directory",
            ));
        }
        let path = PathBuf::from(destination);
        Ok(if destination.to_ascii_lowercase().ends_with(".zip") {
            Target::Zip(path)
        } else {
            Target::Dir(path)
        })
    }

    fn path(&self) -> &Path {
        match self {
            Target::Zip(p) | Target::Dir(p) => p,
        }
    }

    /// The path as given, for the audit and the messages.
    pub fn display(&self) -> String {
        self.path().display().to_string()
    }

    /// Refuse a name already taken (a link included) before anything is read.
    pub fn must_be_free(&self) -> Result<(), CliError> {
        if std::fs::symlink_metadata(self.path()).is_ok() {
            return Err(CliError::bad_input(format!(
                "--export {}: already exists; an evidence package is never written over anything",
                self.display()
            )));
        }
        Ok(())
    }
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn failed(target: &Target, e: impl std::fmt::Display) -> CliError {
    CliError::new(
        exit::ERROR,
        format!("--export {}: {e} (nothing left behind)", target.display()),
    )
}

/// Write the package; the manifest written, as JSON.
pub fn write(target: &Target, export: &EvidenceExport) -> Result<Value, CliError> {
    let evidence = serde_json::to_vec_pretty(&json!({
        "source": export.view.source,
        "evidence": export.view.evidence,
    }))
    .map_err(|e| failed(target, e))?;
    let manifest = json!({
        "message_id": export.view.evidence.message_id,
        "source": export.view.source,
        "exported_by": export.exported_by,
        "exported_at": export.exported_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "tool": format!("retractor {}", env!("CARGO_PKG_VERSION")),
        "files": [
            {"name": "message.eml", "size": export.raw.len(), "sha256": sha(&export.raw)},
            {"name": "evidence.json", "size": evidence.len(), "sha256": sha(&evidence)},
        ],
    });
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| failed(target, e))?;
    let files: [(&str, &[u8]); 3] = [
        ("message.eml", &export.raw),
        ("evidence.json", &evidence),
        ("manifest.json", &manifest_bytes),
    ];
    let result = match target {
        Target::Zip(path) => write_zip(path, &files),
        Target::Dir(path) => write_dir(path, &files),
    };
    if let Err(e) = result {
        // Only what this call created: the name was free a moment ago and is ours now.
        match target {
            Target::Zip(path) => {
                let _ = std::fs::remove_file(path);
            }
            Target::Dir(path) => {
                for (name, _) in &files {
                    let _ = std::fs::remove_file(path.join(name));
                }
                let _ = std::fs::remove_dir(path);
            }
        }
        return Err(failed(target, e));
    }
    Ok(manifest)
}

fn create_new(dir: Option<&OwnedFd>, path: &Path) -> std::io::Result<std::fs::File> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mode = Mode::from_raw_mode(0o600);
    let fd = match dir {
        Some(dir) => rustix::fs::openat(dir, path, flags, mode)?,
        None => rustix::fs::open(path, flags, mode)?,
    };
    // The umask may have narrowed the mode, never widened it; set it exactly anyway.
    rustix::fs::fchmod(&fd, mode)?;
    Ok(std::fs::File::from(fd))
}

fn write_zip(path: &Path, files: &[(&str, &[u8])]) -> std::io::Result<()> {
    let file = create_new(None, path)?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o600);
    for (name, bytes) in files {
        zip.start_file(*name, options)
            .map_err(std::io::Error::other)?;
        zip.write_all(bytes)?;
    }
    let file = zip.finish().map_err(std::io::Error::other)?;
    file.sync_all()
}

fn write_dir(path: &Path, files: &[(&str, &[u8])]) -> std::io::Result<()> {
    // mkdir fails on any existing name, a link included; the mode is exact after fchmod.
    rustix::fs::mkdir(path, Mode::from_raw_mode(0o700))?;
    let dir = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    rustix::fs::fchmod(&dir, Mode::from_raw_mode(0o700))?;
    for (name, bytes) in files {
        let mut f = create_new(Some(&dir), Path::new(name))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    Ok(())
}
