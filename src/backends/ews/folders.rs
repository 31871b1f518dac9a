//! The folders of a mailbox as the backend knows them: the well-known ones by id (GetFolder
//! of their distinguished ids, so a folder the owner names "junkemail" is never Junk Email),
//! every mail folder below the message root (FindFolder Deep) with its path as its name,
//! Recoverable Items\Deletions, and the archive's when configured. Learnt with two or three
//! requests per mailbox, kept for a few minutes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::EwsBackend;
use super::soap::{self, FolderRef};
use super::xml::Element;
use crate::backends::{BackendError, ErrorKind};
use crate::config::ews::EwsAccess;
use crate::model::text::sanitize;

/// Well-known names a copy's folder is shown by.
pub const INBOX: &str = "inbox";
pub const JUNK: &str = "junkemail";
pub const DELETED: &str = "deleteditems";
pub const RECOVERABLE: &str = "recoverableitemsdeletions";
pub const ARCHIVE_DELETED: &str = "archivedeleteditems";
pub const ARCHIVE_RECOVERABLE: &str = "archiverecoverableitemsdeletions";
/// Archive folders are shown under this prefix.
pub const ARCHIVE_PREFIX: &str = "archive/";

/// How long a mailbox's folder list is trusted: a folder the owner creates later is searched
/// once this passes.
const FOLDERS_TTL: Duration = Duration::from_secs(300);
/// A mailbox with more folders than this is paged no further (and said so).
const MAX_FOLDERS: usize = 20_000;

/// The folders of one mailbox.
#[derive(Clone, Debug)]
pub struct Folders {
    pub root: String,
    pub inbox: String,
    pub junk: String,
    pub deleted: String,
    pub recoverable: Option<String>,
    pub archive_deleted: Option<String>,
    pub archive_recoverable: Option<String>,
    /// Every folder a locate searches, id -> shown name, in search order.
    pub searched: Vec<(String, String)>,
    learnt: Option<Instant>,
}

impl Folders {
    /// The shown name of a folder id.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.searched
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.as_str())
    }

    /// The id of a folder by its shown name.
    pub fn id_of(&self, name: &str) -> Option<&str> {
        self.searched
            .iter()
            .find(|(_, n)| n == name)
            .map(|(i, _)| i.as_str())
    }

    /// Whether the folder is in the online archive.
    pub fn in_archive(&self, id: &str) -> bool {
        self.name_of(id)
            .is_some_and(|n| n.starts_with(ARCHIVE_PREFIX) || n.starts_with("archive"))
    }
}

/// The first folder id inside a GetFolder/CreateFolder response message.
fn folder_id_in(message: &Element) -> Option<String> {
    message
        .find("FolderId")
        .and_then(|f| f.attr("Id"))
        .map(str::to_string)
}

impl EwsBackend {
    /// A well-known folder of `mailbox`, named explicitly when acting as a delegate.
    pub(super) fn well_known(&self, mailbox: &str, id: &'static str) -> FolderRef {
        FolderRef::Distinguished {
            id,
            mailbox: (self.settings().access == EwsAccess::Delegate).then(|| mailbox.to_string()),
        }
    }

    /// The folders of `mailbox`, cached for [`FOLDERS_TTL`].
    pub(super) async fn folders(&self, mailbox: &str) -> Result<Folders, BackendError> {
        if let Some(f) = self.cached_folders(mailbox) {
            return Ok(f);
        }
        let archive = self.settings().scan_archive;
        let mut wanted = vec!["msgfolderroot", INBOX, JUNK, DELETED, RECOVERABLE];
        if archive {
            wanted.extend(["archivemsgfolderroot", ARCHIVE_DELETED, ARCHIVE_RECOVERABLE]);
        }
        let refs: Vec<FolderRef> = wanted.iter().map(|w| self.well_known(mailbox, w)).collect();
        let root = self.client.call(mailbox, &soap::get_folder(&refs)).await?;
        let messages = soap::response_messages(&root);
        let mut ids: Vec<Option<String>> = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            // The message root and the three user folders must exist; the rest may not
            // (no archive, Recoverable Items hidden by policy).
            if !m.ok() && i < 4 {
                return Err(self.client.error_of(mailbox, m));
            }
            ids.push(if m.ok() {
                folder_id_in(m.element)
            } else {
                None
            });
        }
        let id = |i: usize| ids.get(i).cloned().flatten();
        let required = |i: usize| {
            id(i).ok_or_else(|| {
                BackendError::new(
                    ErrorKind::Invalid,
                    format!(
                        "{mailbox}: Exchange named no id for the folder {}",
                        wanted[i]
                    ),
                )
            })
        };
        let mut f = Folders {
            root: required(0)?,
            inbox: required(1)?,
            junk: required(2)?,
            deleted: required(3)?,
            recoverable: id(4),
            archive_deleted: id(6),
            archive_recoverable: id(7),
            searched: Vec::new(),
            learnt: Some(Instant::now()),
        };
        let mut well_known: HashMap<String, &str> = HashMap::new();
        well_known.insert(f.inbox.clone(), INBOX);
        well_known.insert(f.junk.clone(), JUNK);
        well_known.insert(f.deleted.clone(), DELETED);
        if let Some(d) = &f.archive_deleted {
            well_known.insert(d.clone(), ARCHIVE_DELETED);
        }
        f.searched = self
            .tree(mailbox, FolderRef::Id(f.root.clone()), "", &well_known)
            .await?;
        if let Some(r) = &f.recoverable {
            f.searched.push((r.clone(), RECOVERABLE.to_string()));
        }
        if archive && let Some(archive_root) = id(5) {
            let below = self
                .tree(
                    mailbox,
                    FolderRef::Id(archive_root),
                    ARCHIVE_PREFIX,
                    &well_known,
                )
                .await?;
            f.searched.extend(below);
            if let Some(r) = &f.archive_recoverable {
                f.searched
                    .push((r.clone(), ARCHIVE_RECOVERABLE.to_string()));
            }
        }
        self.folder_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(mailbox.to_string(), f.clone());
        Ok(f)
    }

    fn cached_folders(&self, mailbox: &str) -> Option<Folders> {
        let cache = self.folder_cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(mailbox)
            .filter(|f| f.learnt.is_some_and(|t| t.elapsed() < FOLDERS_TTL))
            .cloned()
    }

    /// Forget a mailbox's folders (a folder was created in it).
    pub(super) fn forget_folders(&self, mailbox: &str) {
        self.folder_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(mailbox);
    }

    /// Every mail folder below `parent`, with its path (`Projects/2026`) as its name, or
    /// its well-known name.
    async fn tree(
        &self,
        mailbox: &str,
        parent: FolderRef,
        prefix: &str,
        well_known: &HashMap<String, &str>,
    ) -> Result<Vec<(String, String)>, BackendError> {
        let parent_id = match &parent {
            FolderRef::Id(id) => id.clone(),
            FolderRef::Distinguished { .. } => String::new(),
        };
        // id -> (display name, parent id)
        let mut all: Vec<(String, String, String)> = Vec::new();
        let mut offset = 0;
        loop {
            let root = self
                .client
                .call(mailbox, &soap::find_folder(&parent, None, offset))
                .await?;
            let messages = soap::response_messages(&root);
            let Some(m) = messages.first() else {
                return Err(BackendError::new(
                    ErrorKind::Invalid,
                    format!("{mailbox}: FindFolder answered no response message"),
                ));
            };
            if !m.ok() {
                return Err(self.client.error_of(mailbox, m));
            }
            let Some(page) = m.element.find("RootFolder") else {
                break;
            };
            let folders = page
                .child("Folders")
                .map(|f| f.children.as_slice())
                .unwrap_or(&[]);
            for folder in folders.iter().filter(|f| f.name == "Folder") {
                let Some(id) = folder.child("FolderId").and_then(|i| i.attr("Id")) else {
                    continue;
                };
                let up = folder
                    .child("ParentFolderId")
                    .and_then(|p| p.attr("Id"))
                    .unwrap_or_default();
                all.push((
                    id.to_string(),
                    sanitize(folder.child_text("DisplayName")).replace('/', "\\/"),
                    up.to_string(),
                ));
            }
            offset += folders.len();
            if page.attr("IncludesLastItemInRange") != Some("false") || folders.is_empty() {
                break;
            }
            if all.len() > MAX_FOLDERS {
                return Err(BackendError::new(
                    ErrorKind::Invalid,
                    format!("{mailbox}: more than {MAX_FOLDERS} folders; the listing was stopped"),
                ));
            }
        }
        let by_id: HashMap<&str, (&str, &str)> = all
            .iter()
            .map(|(id, name, up)| (id.as_str(), (name.as_str(), up.as_str())))
            .collect();
        let path = |id: &str| -> String {
            let mut parts = Vec::new();
            let mut at = id;
            // Bounded walk: a server's parent links may loop.
            for _ in 0..64 {
                let Some((name, up)) = by_id.get(at) else {
                    break;
                };
                parts.push(*name);
                if *up == parent_id || up.is_empty() {
                    break;
                }
                at = up;
            }
            parts.reverse();
            format!("{prefix}{}", parts.join("/"))
        };
        Ok(all
            .iter()
            .map(|(id, _, _)| {
                let name = match well_known.get(id) {
                    Some(w) => (*w).to_string(),
                    None => path(id),
                };
                (id.clone(), name)
            })
            .collect())
    }

    /// The id of the folder `name` under `parent` of `mailbox`, created when missing;
    /// `true` when it was created now (so it is known to be empty).
    pub(super) async fn child_folder(
        &self,
        mailbox: &str,
        parent: &FolderRef,
        name: &str,
    ) -> Result<(String, bool), BackendError> {
        let found = self
            .client
            .call(mailbox, &soap::find_folder(parent, Some(name), 0))
            .await?;
        if let Some(m) = soap::response_messages(&found).first() {
            if !m.ok() {
                return Err(self.client.error_of(mailbox, m));
            }
            if let Some(id) = m
                .element
                .find("Folders")
                .and_then(|f| {
                    f.children
                        .iter()
                        .find(|c| c.child_text("DisplayName") == name)
                })
                .and_then(|f| f.child("FolderId"))
                .and_then(|i| i.attr("Id"))
            {
                return Ok((id.to_string(), false));
            }
        }
        let created = self
            .client
            .call(mailbox, &soap::create_folder(parent, name))
            .await?;
        let messages = soap::response_messages(&created);
        let Some(m) = messages.first() else {
            return Err(BackendError::new(
                ErrorKind::Invalid,
                format!("{mailbox}: CreateFolder answered no response message"),
            ));
        };
        if m.ok() {
            self.forget_folders(mailbox);
            return folder_id_in(m.element).map(|id| (id, true)).ok_or_else(|| {
                BackendError::new(
                    ErrorKind::Invalid,
                    format!("{mailbox}: a folder without an id"),
                )
            });
        }
        if m.code == "ErrorFolderExists" {
            // Created meanwhile by another item: look again, once.
            let again = self
                .client
                .call(mailbox, &soap::find_folder(parent, Some(name), 0))
                .await?;
            if let Some(id) = again
                .find("Folders")
                .and_then(|f| f.find("FolderId"))
                .and_then(|i| i.attr("Id"))
            {
                return Ok((id.to_string(), false));
            }
        }
        Err(self.client.error_of(mailbox, m))
    }
}
