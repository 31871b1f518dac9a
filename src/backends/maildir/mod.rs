//! Dovecot Maildir++ backend: mailbox `user@domain` is `<root>/<domain>/<user>/`.
//!
//! A copy's `provider_id` is its file path relative to the mailbox directory
//! (`new/<name>`, `.Junk/cur/<name>:2,S`), typed as `layout::MessagePath` (parsed from and
//! written to a `Location` there only); folders are `.Name` subdirectories. Moves are
//! atomic renames that keep the file name (hence flags) and mtime (Dovecot's received date),
//! so a live Dovecot reading the same tree never sees a half-done act.

mod fsops;
mod handle;
mod layout;
mod survey;
pub(crate) mod tree;
mod walk;

#[cfg(test)]
mod place_tests;
#[cfg(all(test, unix))]
mod safety_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;

use crate::backends::{
    Applied, Backend, BackendError, Capabilities, CheckReport, Destination, ErrorKind,
    HeaderSummary, MailboxRef, ScanFilter, Standing,
};
use crate::config::MaildirSettings;
use crate::model::{Action, Location};

use tree::Tree;

/// A Dovecot Maildir++ tree on a local (or mounted) filesystem.
pub struct MaildirBackend {
    tree: Arc<Tree>,
}

impl MaildirBackend {
    /// A backend for the tree at `settings.root`. Quarantined copies go to
    /// `quarantine_mailbox` (folder `<quarantine>.<recipient>` when
    /// `quarantine_folder_per_recipient`, else `<quarantine>`).
    pub fn new(
        settings: MaildirSettings,
        quarantine_mailbox: Option<String>,
        quarantine_folder_per_recipient: bool,
    ) -> Self {
        MaildirBackend {
            tree: Arc::new(Tree {
                root: settings.root,
                folders: settings.folders,
                quarantine_mailbox,
                quarantine_per_recipient: quarantine_folder_per_recipient,
            }),
        }
    }

    /// Run filesystem work on tokio's blocking pool: the engine runs many items at once and
    /// a slow disk must not stall the runtime.
    async fn blocking<T, F>(&self, work: F) -> Result<T, BackendError>
    where
        T: Send + 'static,
        F: FnOnce(&Tree) -> Result<T, BackendError> + Send + 'static,
    {
        let tree = Arc::clone(&self.tree);
        tokio::task::spawn_blocking(move || work(&tree))
            .await
            .map_err(|e| {
                BackendError::new(ErrorKind::Internal, format!("maildir worker failed: {e}"))
            })?
    }
}

#[async_trait]
impl Backend for MaildirBackend {
    fn kind(&self) -> &'static str {
        "maildir"
    }

    async fn list_mailboxes(&self) -> Result<Vec<String>, BackendError> {
        self.blocking(Tree::list_mailboxes).await
    }

    async fn locate(
        &self,
        mailbox: &MailboxRef,
        message_id: &str,
    ) -> Result<Vec<Location>, BackendError> {
        let address = mailbox.address.clone();
        let message_id = message_id.to_string();
        self.blocking(move |tree| tree.locate(&address, &message_id))
            .await
    }

    /// Files are read one by one (no server to search headers), one rename per copy, into
    /// any mailbox of the tree; a copy's path changes when it moves.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            header_search: false,
            batch_acts: false,
            cross_mailbox_copy: true,
            labels: false,
            ids_survive_move: false,
            local_directory: true,
            mailbox_request_limit: false,
        }
    }

    async fn destination(
        &self,
        mailbox: &MailboxRef,
        action: Action,
    ) -> Result<Destination, BackendError> {
        Ok(self.tree.destination(mailbox, action))
    }

    async fn standing(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Standing, BackendError> {
        // The stored handle must still be one of ours before anything is said about it.
        layout::MessagePath::of(copy)?;
        Ok(self.tree.standing(mailbox, copy, action))
    }

    async fn fetch_raw(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
    ) -> Result<Vec<u8>, BackendError> {
        let address = mailbox.address.clone();
        let copy = copy.clone();
        self.blocking(move |tree| tree.fetch_raw(&address, &copy))
            .await
    }

    async fn apply(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Applied, BackendError> {
        let mailbox = mailbox.clone();
        let copy = copy.clone();
        self.blocking(move |tree| tree.apply(&mailbox, &copy, action))
            .await
    }

    async fn put_back(
        &self,
        mailbox: &MailboxRef,
        current_mailbox: &str,
        current: &Location,
        original: &Location,
    ) -> Result<Location, BackendError> {
        let mailbox = mailbox.clone();
        let current_mailbox = current_mailbox.to_string();
        let current = current.clone();
        let original = original.clone();
        self.blocking(move |tree| tree.put_back(&mailbox, &current_mailbox, &current, &original))
            .await
    }

    async fn scan(
        &self,
        mailbox: &MailboxRef,
        filter: &ScanFilter,
    ) -> Result<Vec<HeaderSummary>, BackendError> {
        let address = mailbox.address.clone();
        let filter = filter.clone();
        self.blocking(move |tree| tree.scan(&address, &filter))
            .await
    }

    async fn file_to_folder(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        folder: &str,
    ) -> Result<Location, BackendError> {
        let address = mailbox.address.clone();
        let copy = copy.clone();
        // Maildir++ writes hierarchy levels with `.`.
        let folder = folder.replace('/', ".");
        self.blocking(move |tree| tree.file_to_folder(&address, &copy, &folder))
            .await
    }

    async fn check(&self) -> CheckReport {
        let tree = Arc::clone(&self.tree);
        tokio::task::spawn_blocking(move || tree.check())
            .await
            .unwrap_or_else(|e| CheckReport {
                ok: false,
                detail: format!("maildir check failed: {e}"),
            })
    }
}
