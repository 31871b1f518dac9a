//! Quarantine into the quarantine mailbox and restore out of it.
//!
//! A copy moves between mailboxes as its MIME: GetItem (`IncludeMimeContent`) as the
//! recipient, CreateItem into the quarantine folder as the quarantine mailbox (its received
//! time and read state set with PR_MESSAGE_DELIVERY_TIME and PR_MESSAGE_FLAGS, the
//! quarantine header added in the InternetHeaders property set), then the original
//! hard-deleted. CopyItem would do the copy in one call, but across mailboxes its answer
//! carries no new id, so the copy would have to be searched for; CreateItem returns it. The
//! same path serves impersonation and delegate access. Restore is the same in reverse, into
//! the folder id recorded when the copy was pulled, stamped with the undo header.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::EwsBackend;
use super::items::new_item_id;
use super::soap::{self, Condition, FolderRef, MESSAGE_ID_TAG, NewCopy};
use crate::backends::common::folder_names::encode_leaf;
use crate::backends::common::headers;
use crate::backends::{Applied, BackendError, ErrorKind, MailboxRef};
use crate::config::ews::StampHeader;
use crate::model::{Action, Location};

impl EwsBackend {
    /// Quarantine one copy of `mailbox` (see the module docs). Without a quarantine mailbox
    /// the copy moves to the quarantine folder of its own mailbox.
    pub(super) async fn quarantine(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
    ) -> Result<Applied, BackendError> {
        let address = mailbox.address.as_str();
        let Some(holder) = self.quarantine_mailbox.clone() else {
            let f = self.folders(address).await?;
            let name = self.settings().quarantine_folder.clone();
            let (folder, _) = self
                .child_folder(address, &FolderRef::Id(f.root.clone()), &name)
                .await?;
            let id = self
                .move_item(address, &copy.provider_id, &FolderRef::Id(folder.clone()))
                .await?;
            let moved = Location {
                folder: name,
                provider_id: id,
                folder_id: Some(folder),
                ..copy.clone()
            };
            return Ok(Applied::moved(moved, Action::Quarantine));
        };
        let (folder, fresh) = self.quarantine_folder_id(&holder, address).await?;
        let mime = self.mime_of(address, &copy.provider_id).await?;
        // An interrupted attempt may have made the copy and not removed the original: in this
        // recipient's own folder, a copy already there is that one (a new folder is empty).
        let existing = if self.per_recipient && !fresh {
            let message_id = headers::parse(&mime).message_id.unwrap_or_default();
            let condition = Condition::Equals(MESSAGE_ID_TAG, message_id.clone());
            self.find_items(&holder, std::slice::from_ref(&folder), Some(&condition))
                .await?
                .into_iter()
                .find(|f| !message_id.is_empty() && f.message_id == message_id)
                .map(|f| f.id)
        } else {
            None
        };
        let id = match existing {
            Some(id) => id,
            None => {
                let stamp = self.settings().quarantine_header.clone();
                self.create_copy(&holder, &folder, &mime, copy, stamp.as_ref())
                    .await?
            }
        };
        self.expect_ok(address, &soap::hard_delete(&copy.provider_id))
            .await?;
        let placed = Location {
            folder: self.quarantine_name(address),
            provider_id: id,
            seen: copy.seen,
            flags: String::new(),
            internal_date: copy.internal_date,
            folder_id: Some(folder),
            labels: Vec::new(),
        };
        Ok(Applied::moved_to_mailbox(placed, holder))
    }

    /// Put a quarantined copy back into `mailbox` at `original`, then remove it from the
    /// quarantine mailbox.
    pub(super) async fn restore_from_quarantine(
        &self,
        mailbox: &MailboxRef,
        holder: &str,
        current: &Location,
        original: &Location,
    ) -> Result<Location, BackendError> {
        let address = mailbox.address.as_str();
        let target = self.original_folder(address, original).await?;
        let mime = self.mime_of(holder, &current.provider_id).await?;
        let back = Location {
            internal_date: original.internal_date.or(current.internal_date),
            seen: original.seen,
            ..current.clone()
        };
        let stamp = self.settings().undo_quarantine_header.clone();
        let id = self
            .create_copy(address, &target, &mime, &back, stamp.as_ref())
            .await?;
        self.expect_ok(holder, &soap::hard_delete(&current.provider_id))
            .await?;
        Ok(Location {
            folder: original.folder.clone(),
            provider_id: id,
            seen: original.seen,
            flags: original.flags.clone(),
            internal_date: back.internal_date,
            folder_id: Some(target),
            labels: Vec::new(),
        })
    }

    /// The folder id a restore puts a copy back in: the recorded one, else (older rows) the
    /// folder of that name.
    pub(super) async fn original_folder(
        &self,
        mailbox: &str,
        original: &Location,
    ) -> Result<String, BackendError> {
        if let Some(id) = original.folder_id.clone().filter(|id| !id.is_empty()) {
            return Ok(id);
        }
        let f = self.folders(mailbox).await?;
        f.id_of(&original.folder).map(str::to_string).ok_or_else(|| {
            BackendError::new(
                ErrorKind::Invalid,
                format!(
                    "{mailbox}: no folder id was recorded for this copy and no folder is named '{}'",
                    original.folder
                ),
            )
        })
    }

    /// CreateItem of `mime` in `folder` of `mailbox`, keeping `like`'s date and read state.
    async fn create_copy(
        &self,
        mailbox: &str,
        folder: &str,
        mime: &[u8],
        like: &Location,
        stamp: Option<&StampHeader>,
    ) -> Result<String, BackendError> {
        let encoded = STANDARD.encode(mime);
        let body = soap::create_item(
            &FolderRef::Id(folder.to_string()),
            &NewCopy {
                mime_base64: &encoded,
                read: like.seen,
                received: like
                    .internal_date
                    .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                header: stamp.map(|s| (s.name.as_str(), s.value.as_str())),
            },
        );
        let root = self.client.call(mailbox, &body).await?;
        let messages = soap::response_messages(&root);
        let m = messages.first().ok_or_else(|| {
            BackendError::new(
                ErrorKind::Invalid,
                format!("{mailbox}: CreateItem answered nothing"),
            )
        })?;
        if !m.ok() {
            return Err(self.client.error_of(mailbox, m));
        }
        new_item_id(m.element).ok_or_else(|| {
            BackendError::new(
                ErrorKind::Invalid,
                format!("{mailbox}: CreateItem did not return the new item's id"),
            )
        })
    }

    /// The id of the quarantine folder for `recipient` in `holder` (created when missing),
    /// and whether it was created now.
    async fn quarantine_folder_id(
        &self,
        holder: &str,
        recipient: &str,
    ) -> Result<(String, bool), BackendError> {
        let name = self.quarantine_name(recipient);
        if let Some(id) = self.cached_quarantine_folder(&name) {
            return Ok((id, false));
        }
        let parent_name = self.settings().quarantine_folder.clone();
        let parent = match self.cached_quarantine_folder(&parent_name) {
            Some(id) => (id, false),
            None => {
                let root = self.well_known(holder, "msgfolderroot");
                self.child_folder(holder, &root, &parent_name).await?
            }
        };
        self.remember_quarantine_folder(&parent_name, &parent.0);
        let found = if self.per_recipient {
            let leaf = encode_leaf(recipient, "/");
            self.child_folder(holder, &FolderRef::Id(parent.0.clone()), &leaf)
                .await?
        } else {
            parent
        };
        self.remember_quarantine_folder(&name, &found.0);
        Ok(found)
    }

    fn cached_quarantine_folder(&self, name: &str) -> Option<String> {
        self.quarantine_folders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    fn remember_quarantine_folder(&self, name: &str, id: &str) {
        self.quarantine_folders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), id.to_string());
    }
}
