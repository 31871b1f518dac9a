//! Filing a copy into a folder path of its own mailbox ([`Backend::file_to_folder`]: where
//! processed phish reports go): each level found below `msgfolderroot` with FindFolder
//! (Shallow, by DisplayName) and made with CreateFolder when missing (an
//! `ErrorFolderExists` from a pass filing at once is read back: `child_folder`), then
//! MoveItem, which gives the item a new id. The resolved path's id is kept, so a pass over
//! many reports asks once; a kept folder deleted since (`ErrorFolderNotFound` on the move,
//! mapped to gone) is resolved again and the move tried once more.
//!
//! [`Backend::file_to_folder`]: crate::backends::Backend::file_to_folder

use super::EwsBackend;
use super::soap::FolderRef;
use crate::backends::common::filing::filing_levels;
use crate::backends::{BackendError, ErrorKind, MailboxRef};
use crate::model::Location;

impl EwsBackend {
    /// Move `copy` into `folder` (levels split by `/`) of its mailbox; a copy already there
    /// is left alone.
    pub(super) async fn file_copy(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        folder: &str,
    ) -> Result<Location, BackendError> {
        let address = mailbox.address.as_str();
        let levels = filing_levels(folder)?;
        // Shown by its path below the message root, as `folders.rs` names every folder.
        let shown = levels.join("/");
        let (target, kept) = self.folder_path(address, &levels).await?;
        if copy.folder_id.as_deref() == Some(target.as_str()) {
            return Ok(copy.clone());
        }
        let id = match self
            .move_item(address, &copy.provider_id, &FolderRef::Id(target.clone()))
            .await
        {
            Err(e) if e.kind == ErrorKind::Gone && kept => {
                self.filed.forget(address, &levels);
                let (again, _) = self.folder_path(address, &levels).await?;
                let id = self
                    .move_item(address, &copy.provider_id, &FolderRef::Id(again.clone()))
                    .await?;
                return Ok(moved(copy, id, again, shown));
            }
            other => other?,
        };
        Ok(moved(copy, id, target, shown))
    }

    /// The id of the folder at `levels` below the message root, each level created when
    /// missing; `true` when it was kept from an earlier call.
    async fn folder_path(
        &self,
        address: &str,
        levels: &[&str],
    ) -> Result<(String, bool), BackendError> {
        if let Some(id) = self.filed.get(address, levels) {
            return Ok((id, true));
        }
        let mut parent = self.well_known(address, "msgfolderroot");
        for level in levels {
            let (id, _) = self.child_folder(address, &parent, level).await?;
            parent = FolderRef::Id(id);
        }
        let FolderRef::Id(id) = parent else {
            // `levels` is never empty here: the loop always ends on an id.
            return Err(BackendError::new(
                ErrorKind::Internal,
                "no folder level to file into",
            ));
        };
        self.filed.remember(address, levels, &id);
        Ok((id, false))
    }
}

/// The copy after MoveItem: its new id, in the target folder.
fn moved(copy: &Location, id: String, folder_id: String, shown: String) -> Location {
    Location {
        folder: shown,
        provider_id: id,
        folder_id: Some(folder_id),
        ..copy.clone()
    }
}
