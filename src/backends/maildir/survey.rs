//! `check` for a Maildir tree: walk all of it through no-follow handles and name what has
//! no place in a Maildir (foreign) and what is not a plain directory or regular file where
//! one belongs (unsafe layout: links, FIFOs, sockets, devices, one mailbox under two names).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rustix::fs::FileType;

use super::fsops::fs_error;
use super::handle::{self, DirHandle, FsError};
use super::walk::{self, Findings, UnsafeEntry};
use crate::backends::CheckReport;

/// How many foreign paths `check` names before it only counts.
const FOREIGN_SHOWN: usize = 5;

/// How many unsafe entries `check` names before it only counts: each may be an attack, so
/// more of them are named than of the merely foreign.
const UNSAFE_SHOWN: usize = 20;

/// What `check` found while walking the tree.
#[derive(Default)]
struct Survey {
    domains: usize,
    mailboxes: usize,
    findings: Findings,
    unreadable: Vec<String>,
    /// Mailbox directories by (device, inode), to find one directory under two names.
    seen: HashMap<(u64, u64), PathBuf>,
}

/// Walk the tree at `root` (shown as `shown`) and report.
pub(super) fn survey(root: &DirHandle, shown: &Path) -> CheckReport {
    let mut survey = Survey::default();
    let domains = match survey.subdirs(root, "a domain directory") {
        Ok(domains) => domains,
        Err(e) => {
            return CheckReport {
                ok: false,
                detail: format!("maildir root unusable: {}", fs_error(e).detail),
            };
        }
    };
    survey.domains = domains.len();
    for domain in &domains {
        survey.domain(domain);
    }
    survey.report(shown)
}

impl Survey {
    /// The subdirectories of `dir` (sorted, so that reports are stable); other entries are
    /// foreign, links and special files unsafe.
    fn subdirs(&mut self, dir: &DirHandle, wanted: &str) -> Result<Vec<DirHandle>, FsError> {
        let mut entries = dir.entries()?;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut found = Vec::new();
        for (name, kind) in entries {
            let visible = name.to_str().is_some_and(|n| !n.starts_with('.'));
            match kind {
                FileType::Directory if visible => match dir.child_dir(&name.to_string_lossy()) {
                    Ok(child) => found.push(child),
                    Err(e) if e.is_not_found() => {}
                    Err(e) => self.absorb(e)?,
                },
                FileType::Directory | FileType::RegularFile => {
                    self.findings
                        .foreign
                        .push(dir.shown_path(&name.to_string_lossy()));
                }
                _ => self.absorb(handle::unsafe_found(dir, &name, kind, wanted))?,
            }
        }
        Ok(found)
    }

    fn absorb(&mut self, err: FsError) -> Result<(), FsError> {
        match err {
            FsError::Unsafe { rel, problem } => {
                self.findings.unsafe_entries.push(UnsafeEntry {
                    rel,
                    problem,
                    structural: true,
                });
                Ok(())
            }
            other => Err(other),
        }
    }

    fn domain(&mut self, domain: &DirHandle) {
        let users = match self.subdirs(domain, "a mailbox directory") {
            Ok(users) => users,
            Err(e) => {
                self.unreadable.push(fs_error(e).detail);
                return;
            }
        };
        for user in users {
            if !walk::looks_like_maildir(&user) {
                self.findings.foreign.push(
                    domain
                        .shown_path(&user.rel().file_name().unwrap_or_default().to_string_lossy()),
                );
                continue;
            }
            if let Some(first) = self.seen.get(&user.identity()) {
                let problem = format!("is the same directory as {}", first.display());
                self.findings.unsafe_entries.push(UnsafeEntry {
                    rel: user.rel().to_path_buf(),
                    problem,
                    structural: true,
                });
                continue;
            }
            self.seen.insert(user.identity(), user.rel().to_path_buf());
            self.mailboxes += 1;
            if let Err(e) = survey_mailbox(&user, &mut self.findings) {
                self.unreadable.push(fs_error(e).detail);
            }
        }
    }

    fn report(mut self, root: &Path) -> CheckReport {
        let foreign = &mut self.findings.foreign;
        foreign.sort();
        let mut detail = format!(
            "maildir root {}: {} domain(s), {} mailbox(es)",
            root.display(),
            self.domains,
            self.mailboxes
        );
        if !foreign.is_empty() {
            detail.push_str(&format!("; {} foreign file(s)", foreign.len()));
            for path in foreign.iter().take(FOREIGN_SHOWN) {
                detail.push_str(&format!(
                    "; foreign file {}: not part of a Maildir",
                    path.display()
                ));
            }
            if foreign.len() > FOREIGN_SHOWN {
                detail.push_str(&format!("; and {} more", foreign.len() - FOREIGN_SHOWN));
            }
        }
        let unsafe_entries = &mut self.findings.unsafe_entries;
        unsafe_entries.sort_by(|a, b| a.rel.cmp(&b.rel));
        unsafe_entries.dedup();
        if !unsafe_entries.is_empty() {
            detail.push_str(&format!(
                "; {} unsafe layout entr{} (skipped by every walk, refused by every act)",
                unsafe_entries.len(),
                if unsafe_entries.len() == 1 {
                    "y"
                } else {
                    "ies"
                }
            ));
            for entry in unsafe_entries.iter().take(UNSAFE_SHOWN) {
                detail.push_str(&format!(
                    "; unsafe layout {}: {}",
                    entry.rel.display(),
                    entry.problem
                ));
            }
            if unsafe_entries.len() > UNSAFE_SHOWN {
                detail.push_str(&format!(
                    "; and {} more unsafe",
                    unsafe_entries.len() - UNSAFE_SHOWN
                ));
            }
        }
        for problem in &self.unreadable {
            detail.push_str(&format!("; unreadable: {problem}"));
        }
        CheckReport {
            ok: self.unreadable.is_empty(),
            detail,
        }
    }
}

fn survey_mailbox(mailbox: &DirHandle, findings: &mut Findings) -> Result<(), FsError> {
    for folder in walk::folders(mailbox, findings)? {
        if folder.dir.identity() != mailbox.identity() {
            walk::strays_in_folder_dir(&folder, findings)?;
        }
        walk::for_each_message(&folder, findings, |_| Ok(()))?;
    }
    Ok(())
}
