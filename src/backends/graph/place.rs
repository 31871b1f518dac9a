//! Where an action puts a copy and where a located copy stands. Destinations are well-known
//! folder names (or the quarantine folder's), known without the server; standing compares
//! folder ids, learnt from the server when not cached, because a display name is the mailbox
//! owner's to choose: a folder they name `junkemail` is not Junk Email.

use super::resource::GraphCopy;
use super::{DELETED, GraphBackend, JUNK, RECOVERABLE};
use crate::backends::{BackendError, Destination, MailboxRef, Standing};
use crate::model::{Action, Location};

impl GraphBackend {
    /// The folder name `action` moves a copy to, `None` when the copy leaves the mailbox.
    /// Graph cannot move across mailboxes: quarantine is a hidden folder of the recipient's.
    pub(super) fn destination_name(&self, action: Action) -> Option<String> {
        match action {
            Action::MoveToJunk => Some(JUNK.into()),
            Action::Trash => Some(DELETED.into()),
            Action::SoftDelete => Some(RECOVERABLE.into()),
            Action::Quarantine => Some(self.settings().quarantine_folder.clone()),
            Action::HardDelete | Action::Restore => None,
        }
    }

    /// See [`crate::backends::Backend::standing`]. A copy in the inbox (the common case) is
    /// answered from the id the locate learnt, with no request.
    pub(super) async fn standing_of(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Standing, BackendError> {
        let handle = GraphCopy::of(copy)?;
        let Some(folder) = handle.folder_id else {
            // A copy without a folder id is one nothing can be said of by id; by its name.
            let destination = self
                .destination_name(action)
                .map_or(Destination::Gone, Destination::Folder);
            return Ok(Standing::by_folder(
                &copy.folder,
                action,
                &destination,
                Some(RECOVERABLE),
                None,
            ));
        };
        let address = mailbox.address.as_str();
        let user = self.user_id(address).await?;
        if self.cached_inbox(&user).as_deref() == Some(folder.as_str()) {
            return Ok(Standing::InView);
        }
        let known = self.folders(address, &user).await?;
        let rest = known.rest.as_ref();
        let destination = match action {
            Action::MoveToJunk => rest.map(|r| r.junk.clone()),
            Action::Trash => rest.map(|r| r.deleted.clone()),
            Action::Quarantine => rest.and_then(|r| r.quarantine.clone()),
            Action::SoftDelete => Some(self.recoverable_id(address, &user).await?),
            Action::HardDelete | Action::Restore => None,
        };
        if destination.as_deref() == Some(folder.as_str()) {
            return Ok(Standing::AtDestination);
        }
        // Soft-deleted is out of view for every action but a hard-delete, which acts on it.
        let elsewhere = folder == known.inbox
            || rest.is_some_and(|r| {
                r.junk == folder || r.deleted == folder || r.quarantine.as_ref() == Some(&folder)
            });
        if action != Action::HardDelete
            && !elsewhere
            && self.recoverable_id(address, &user).await? == folder
        {
            return Ok(Standing::OutOfView);
        }
        Ok(Standing::InView)
    }

    /// The id of Recoverable Items\Deletions: cached when a locate found a copy there, else
    /// asked once.
    async fn recoverable_id(&self, mailbox: &str, user: &str) -> Result<String, BackendError> {
        if let Some(id) = self.cached_folders(user).and_then(|f| f.recoverable) {
            return Ok(id);
        }
        let answer = self
            .client
            .call(
                Some(mailbox),
                "GET",
                &Self::well_known_request(user, RECOVERABLE).url,
                None,
            )
            .await?
            .json();
        let id = Self::folder_id(&answer)?;
        self.update_folders(user, |f| f.recoverable = Some(id.clone()));
        Ok(id)
    }
}
