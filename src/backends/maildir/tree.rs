//! The backend's operations on one Maildir++ tree, as plain blocking functions; `mod.rs`
//! runs them off the async runtime.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::fsops::{self, io_error, source_error};
use super::headers::{self, Headers};
use super::layout::{self, MessagePath, Subdir};
use super::walk::{self, FolderDir, Foreign, MessageFile};
use crate::backends::{
    Applied, BackendError, CheckReport, ErrorKind, HeaderSummary, MailboxRef, ScanFilter,
};
use crate::config::MaildirFolders;
use crate::model::{Action, Location, normalize_message_id};

/// How many foreign paths `check` names before it only counts.
const FOREIGN_SHOWN: usize = 5;

/// One Maildir++ tree and the tenant settings that decide where copies go.
pub(super) struct Tree {
    pub root: PathBuf,
    pub folders: MaildirFolders,
    pub quarantine_mailbox: Option<String>,
    pub quarantine_per_recipient: bool,
}

/// Where a copy should end up, for one act.
struct Target<'a> {
    mailbox_dir: &'a Path,
    folder: &'a str,
    subdir: Subdir,
    file_name: &'a str,
    mtime: Option<DateTime<Utc>>,
}

impl Tree {
    pub(super) fn list_mailboxes(&self) -> Result<Vec<String>, BackendError> {
        let mut found = Vec::new();
        for (domain, domain_dir) in self.subdirs(&self.root, &mut Foreign::new())? {
            // An unreadable domain fails the listing: a sweep must not silently skip it.
            for (user, user_dir) in self.subdirs(&domain_dir, &mut Foreign::new())? {
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
        let mailbox_dir = self.existing_mailbox_dir(address)?;
        let wanted = normalize_message_id(message_id);
        let inner = &wanted[1..wanted.len() - 1];
        if inner.is_empty() {
            return Err(BackendError::new(ErrorKind::Invalid, "empty Message-ID"));
        }
        let mut found = Vec::new();
        self.each_message(&mailbox_dir, |_, file| {
            let block = headers::read_header_block(&file.path)?;
            // Most files do not mention the id at all; skip parsing those.
            if headers::contains_bytes(&block, inner.as_bytes())
                && headers::parse(&block).message_id.as_deref() == Some(wanted.as_str())
            {
                found.push(location_of(file));
            }
            Ok(())
        })?;
        Ok(found)
    }

    pub(super) fn destination_folder(
        &self,
        mailbox: &MailboxRef,
        action: Action,
    ) -> Option<String> {
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
        let mailbox_dir = self.existing_mailbox_dir(address)?;
        let path = MessagePath::parse(&copy.provider_id)?.full_path(&mailbox_dir)?;
        fsops::message_metadata(&path)?;
        fs::read(&path).map_err(|e| source_error(&e, &path))
    }

    pub(super) fn apply(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Applied, BackendError> {
        let mailbox_dir = self.existing_mailbox_dir(&mailbox.address)?;
        let source = MessagePath::parse(&copy.provider_id)?;
        // Every act that keeps the copy in the mailbox is a move to its destination folder.
        if let Some(folder) = self.destination_folder(mailbox, action) {
            let target = Target::keeping(&mailbox_dir, &folder, &source);
            let to = self.move_copy(&mailbox_dir, &source, &target)?;
            return Ok(Applied::moved(to, action));
        }
        match action {
            Action::Quarantine => self.quarantine(mailbox, &mailbox_dir, &source),
            Action::HardDelete => {
                fsops::remove_message(&source.full_path(&mailbox_dir)?)?;
                Ok(Applied::deleted(false))
            }
            _ => Err(BackendError::not_an_act(action)),
        }
    }

    pub(super) fn put_back(
        &self,
        mailbox: &MailboxRef,
        current_mailbox: &str,
        current: &Location,
        original: &Location,
    ) -> Result<Location, BackendError> {
        let target_dir = self.existing_mailbox_dir(&mailbox.address)?;
        let source_dir = self
            .existing_mailbox_dir(current_mailbox)
            .map_err(|e| match e.kind {
                ErrorKind::NoSuchMailbox => BackendError::new(
                    ErrorKind::Gone,
                    format!("the copy's mailbox {current_mailbox} no longer exists"),
                ),
                _ => e,
            })?;
        let source = MessagePath::parse(&current.provider_id)?;
        let was = MessagePath::parse(&original.provider_id)?;
        let target = Target {
            mailbox_dir: &target_dir,
            folder: &original.folder,
            subdir: was.subdir,
            file_name: &was.file_name,
            mtime: original.internal_date,
        };
        self.move_copy(&source_dir, &source, &target)
    }

    pub(super) fn scan(
        &self,
        address: &str,
        filter: &ScanFilter,
    ) -> Result<Vec<HeaderSummary>, BackendError> {
        let mailbox_dir = self.existing_mailbox_dir(address)?;
        let wanted = WantedIds::of(filter);
        let mut found = Vec::new();
        self.each_message(&mailbox_dir, |folder, file| {
            if filter.skip_admin_folders && self.is_admin_folder(&folder.name) {
                return Ok(());
            }
            let block = headers::read_header_block(&file.path)?;
            if !wanted.may_match(&block) {
                return Ok(());
            }
            let parsed = headers::parse(&block);
            if matches_filter(filter, &wanted, &parsed, file.mtime) {
                found.push(summary(parsed, file));
            }
            Ok(())
        })?;
        Ok(found)
    }

    pub(super) fn check(&self) -> CheckReport {
        let mut survey = Survey::default();
        let domains = match self.subdirs(&self.root, &mut survey.foreign) {
            Ok(domains) => domains,
            Err(e) => {
                return CheckReport {
                    ok: false,
                    detail: format!("maildir root unusable: {}", e.detail),
                };
            }
        };
        survey.domains = domains.len();
        for (_, domain_dir) in &domains {
            self.survey_domain(domain_dir, &mut survey);
        }
        survey.report(&self.root)
    }

    fn survey_domain(&self, domain_dir: &Path, survey: &mut Survey) {
        let users = match self.subdirs(domain_dir, &mut survey.foreign) {
            Ok(users) => users,
            Err(e) => {
                survey.unreadable.push(e.detail);
                return;
            }
        };
        for (_, user_dir) in users {
            if !walk::looks_like_maildir(&user_dir) {
                survey.foreign.push(user_dir);
                continue;
            }
            survey.mailboxes += 1;
            if let Err(e) = survey_mailbox(&user_dir, &mut survey.foreign) {
                survey.unreadable.push(io_error(&e, &user_dir).detail);
            }
        }
    }

    /// The subdirectories of `dir` by name; other entries go to `foreign`.
    fn subdirs(
        &self,
        dir: &Path,
        foreign: &mut Foreign,
    ) -> Result<Vec<(String, PathBuf)>, BackendError> {
        let entries = fs::read_dir(dir).map_err(|e| io_error(&e, dir))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&e, dir))?;
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            match entry.file_name().into_string() {
                Ok(name) if is_dir && !name.starts_with('.') => found.push((name, entry.path())),
                _ => foreign.push(entry.path()),
            }
        }
        Ok(found)
    }

    fn existing_mailbox_dir(&self, address: &str) -> Result<PathBuf, BackendError> {
        let dir = layout::mailbox_dir(&self.root, address)?;
        match fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => Ok(dir),
            Ok(_) => Err(no_such_mailbox(address, &dir)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // A missing root (unmounted volume) must not make every mailbox "not actionable".
                if self.root.is_dir() {
                    Err(no_such_mailbox(address, &dir))
                } else {
                    Err(BackendError::new(
                        ErrorKind::Unavailable,
                        format!("maildir root {} is missing", self.root.display()),
                    ))
                }
            }
            Err(e) => Err(io_error(&e, &dir)),
        }
    }

    /// Visit every message of every folder of a mailbox; files that vanish while read are
    /// skipped (or found again under their new name, see `walk::for_each_message`).
    fn each_message(
        &self,
        mailbox_dir: &Path,
        mut visit: impl FnMut(&FolderDir, &MessageFile) -> io::Result<()>,
    ) -> Result<(), BackendError> {
        let mut ignored = Foreign::new();
        let folders =
            walk::folders(mailbox_dir, &mut ignored).map_err(|e| io_error(&e, mailbox_dir))?;
        for folder in &folders {
            walk::for_each_message(folder, &mut ignored, |file| visit(folder, file))
                .map_err(|e| io_error(&e, &folder.path))?;
        }
        Ok(())
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
    pub(super) fn quarantine_destination(&self, mailbox: &MailboxRef) -> Option<(String, String)> {
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
        mailbox_dir: &Path,
        source: &MessagePath,
    ) -> Result<Applied, BackendError> {
        let quarantine = self.quarantine_mailbox.as_deref().ok_or_else(|| {
            BackendError::new(
                ErrorKind::Invalid,
                "quarantine needs a quarantine mailbox: set quarantine_mailbox for this tenant",
            )
        })?;
        let quarantine_dir = layout::mailbox_dir(&self.root, quarantine)?;
        // Dovecot creates a user's maildir on first delivery; do the same for a new tree.
        fsops::ensure_mailbox(&quarantine_dir)?;
        let folder = layout::quarantine_folder(
            &self.folders.quarantine,
            &mailbox.address,
            self.quarantine_per_recipient,
        );
        let target = Target::keeping(&quarantine_dir, &folder, source);
        let to = self.move_copy(mailbox_dir, source, &target)?;
        Ok(Applied::moved_to_mailbox(to, quarantine.to_string()))
    }

    /// Move the copy at `source` (under `source_dir`) to `target`; a copy already there is
    /// left alone, so repeating an act after a crash is harmless.
    fn move_copy(
        &self,
        source_dir: &Path,
        source: &MessagePath,
        target: &Target<'_>,
    ) -> Result<Location, BackendError> {
        let from = source.full_path(source_dir)?;
        let meta = fsops::message_metadata(&from)?;
        let folder_dir = layout::folder_path(target.mailbox_dir, target.folder)?;
        let already_there = source_dir == target.mailbox_dir
            && layout::folder_path(source_dir, &source.folder)? == folder_dir
            && source.subdir == target.subdir
            && source.file_name == target.file_name;
        let file_name = if already_there {
            source.file_name.clone()
        } else {
            fsops::ensure_folder(target.mailbox_dir, target.folder)?;
            if let Some(when) = target.mtime {
                // Before the move, so that Dovecot never sees the copy with a wrong date.
                fsops::set_mtime(&from, when)?;
            }
            fsops::place(&from, &folder_dir, target.subdir, target.file_name)?
        };
        let placed = MessagePath {
            folder: target.folder.to_string(),
            subdir: target.subdir,
            file_name,
        };
        Ok(location(
            &placed,
            target.mtime.or_else(|| fsops::mtime_of(&meta)),
        ))
    }
}

impl<'a> Target<'a> {
    /// Same subdir and file name (hence flags), same mtime: only the folder changes.
    fn keeping(mailbox_dir: &'a Path, folder: &'a str, source: &'a MessagePath) -> Self {
        Target {
            mailbox_dir,
            folder,
            subdir: source.subdir,
            file_name: &source.file_name,
            mtime: None,
        }
    }
}

/// What `check` found while walking the tree.
#[derive(Default)]
struct Survey {
    domains: usize,
    mailboxes: usize,
    foreign: Foreign,
    unreadable: Vec<String>,
}

impl Survey {
    fn report(mut self, root: &Path) -> CheckReport {
        self.foreign.sort();
        let mut detail = format!(
            "maildir root {}: {} domain(s), {} mailbox(es)",
            root.display(),
            self.domains,
            self.mailboxes
        );
        if !self.foreign.is_empty() {
            detail.push_str(&format!("; {} foreign file(s)", self.foreign.len()));
            for path in self.foreign.iter().take(FOREIGN_SHOWN) {
                detail.push_str(&format!(
                    "; foreign file {}: not part of a Maildir",
                    path.display()
                ));
            }
            if self.foreign.len() > FOREIGN_SHOWN {
                detail.push_str(&format!(
                    "; and {} more",
                    self.foreign.len() - FOREIGN_SHOWN
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

fn survey_mailbox(mailbox_dir: &Path, foreign: &mut Foreign) -> io::Result<()> {
    for folder in walk::folders(mailbox_dir, foreign)? {
        if folder.path != mailbox_dir {
            walk::strays_in_folder_dir(&folder, foreign)?;
        }
        walk::for_each_message(&folder, foreign, |_| Ok(()))?;
    }
    Ok(())
}

/// A scan filter's Message-IDs, normalised once per scan (shared with the IMAP backend).
pub(crate) struct WantedIds {
    ids: Vec<String>,
    replies_to: Vec<String>,
}

impl WantedIds {
    pub(crate) fn of(filter: &ScanFilter) -> Self {
        let normalise = |ids: &[String]| ids.iter().map(|id| normalize_message_id(id)).collect();
        WantedIds {
            ids: normalise(&filter.message_ids),
            replies_to: normalise(&filter.replies_to),
        }
    }

    /// A cheap test on the raw header block: a message matching by id mentions the id.
    fn may_match(&self, block: &[u8]) -> bool {
        let mentions = |ids: &[String]| {
            ids.is_empty()
                || ids.iter().any(|id| {
                    headers::contains_bytes(block, id.trim_matches(['<', '>']).as_bytes())
                })
        };
        mentions(&self.ids) && mentions(&self.replies_to)
    }
}

/// Whether parsed headers match every part of a scan filter (`mtime`: the received time).
pub(crate) fn matches_filter(
    filter: &ScanFilter,
    wanted: &WantedIds,
    h: &Headers,
    mtime: Option<DateTime<Utc>>,
) -> bool {
    let id_ok = wanted.ids.is_empty()
        || h.message_id
            .as_ref()
            .is_some_and(|id| wanted.ids.contains(id));
    let reply_ok = wanted.replies_to.is_empty()
        || h.in_reply_to
            .iter()
            .chain(&h.references)
            .any(|id| wanted.replies_to.contains(id));
    let from_ok = filter.from.as_deref().is_none_or(|needle| {
        contains_ignoring_case(&h.from_text, needle)
            || contains_ignoring_case(&h.from_address, needle)
    });
    let subject_ok = filter
        .subject
        .as_deref()
        .is_none_or(|needle| contains_ignoring_case(&h.subject, needle));
    let since_ok = filter
        .since
        .is_none_or(|since| h.date.or(mtime).is_some_and(|when| when >= since));
    id_ok && reply_ok && from_ok && subject_ok && since_ok
}

fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

fn summary(h: Headers, file: &MessageFile) -> HeaderSummary {
    let from = h.sender();
    HeaderSummary {
        message_id: h.message_id.unwrap_or_default(),
        from,
        to: h.to,
        cc: h.cc,
        subject: h.subject,
        // Without a usable Date header, the received time is the best date there is.
        date: h.date.or(file.mtime),
        in_reply_to: h.in_reply_to.into_iter().next(),
        references: h.references,
        folder: file.rel.folder.clone(),
        size: file.size,
    }
}

fn location_of(file: &MessageFile) -> Location {
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
    }
}

fn no_such_mailbox(address: &str, dir: &Path) -> BackendError {
    BackendError::new(
        ErrorKind::NoSuchMailbox,
        format!("no mailbox {address} (no directory {})", dir.display()),
    )
}
