//! Filing a copy into a folder path of its own mailbox ([`Backend::file_to_folder`]: where
//! processed phish reports go). Each level is a child folder, the first under
//! `msgfolderroot` (so the path shows at the top of the user's folder list, beside the
//! Inbox), found by display name with `childFolders?$filter` and created when missing. Two
//! passes filing at once may both create a level: Graph answers the second 409
//! `ErrorFolderExists`, and that pass reads the folder back rather than failing.
//!
//! The ids of resolved paths are kept per user, so a pass over many reports asks once. A
//! kept id whose folder was deleted since answers the move 404: the path is resolved again
//! and the move tried once more.
//!
//! [`Backend::file_to_folder`]: crate::backends::Backend::file_to_folder

use serde_json::json;

use super::GraphBackend;
use super::odata::{encode, literal, path_with_query};
use super::resource::{GraphCopy, location_in};
use crate::backends::common::filing::filing_levels;
use crate::backends::{BackendError, ErrorKind, MailboxRef};
use crate::model::Location;
use crate::model::text::sanitize;

/// The well-known folder above the user's own folders.
const ROOT: &str = "msgfolderroot";

impl GraphBackend {
    /// Move `copy` into `folder` (levels split by `/`) of its mailbox; a copy already there
    /// is left alone.
    pub(super) async fn file_copy(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        folder: &str,
    ) -> Result<Location, BackendError> {
        let address = mailbox.address.as_str();
        let handle = GraphCopy::of(copy)?;
        let user = self.user_id(address).await?;
        let levels = filing_levels(folder)?;
        let leaf = levels.last().map(|l| sanitize(l)).unwrap_or_default();
        let (target, kept) = self.folder_path(address, &user, &levels).await?;
        if handle.folder_id.as_deref() == Some(target.as_str()) {
            return Ok(copy.clone());
        }
        let moved = match self.move_to(address, &user, &handle.id, &target).await {
            Err(e) if e.kind == ErrorKind::Gone && kept => {
                // The kept folder may be what is gone (deleted by someone): look again.
                self.filed.forget(&user, &levels);
                let (target, _) = self.folder_path(address, &user, &levels).await?;
                self.move_to(address, &user, &handle.id, &target).await?
            }
            other => other?,
        };
        if let Some(id) = moved["parentFolderId"].as_str() {
            self.update_folders(&user, |f| {
                f.others.insert(id.to_string(), leaf.clone());
            });
        }
        // Shown by the leaf's display name, as a locate would show it.
        Ok(location_in(&moved, leaf))
    }

    /// The id of the folder at `levels` below the message root, each level created when
    /// missing; `true` when it came from the kept ids rather than the server.
    async fn folder_path(
        &self,
        address: &str,
        user: &str,
        levels: &[&str],
    ) -> Result<(String, bool), BackendError> {
        if let Some(id) = self.filed.get(user, levels) {
            return Ok((id, true));
        }
        let mut parent = ROOT.to_string();
        for level in levels {
            parent = self.child_folder(address, user, &parent, level).await?;
        }
        self.filed.remember(user, levels, &parent);
        Ok((parent, false))
    }

    /// The id of the child folder `name` of `parent`, created when missing.
    async fn child_folder(
        &self,
        address: &str,
        user: &str,
        parent: &str,
        name: &str,
    ) -> Result<String, BackendError> {
        if let Some(id) = self.find_child(address, user, parent, name).await? {
            return Ok(id);
        }
        let path = format!(
            "/users/{}/mailFolders/{}/childFolders",
            encode(user),
            encode(parent)
        );
        let body = json!({"displayName": name});
        match self
            .client
            .call(Some(address), "POST", &path, Some(body))
            .await
        {
            Ok(reply) => reply.json()?["id"]
                .as_str()
                .filter(|id| !id.is_empty())
                .map(str::to_string)
                .ok_or_else(|| {
                    BackendError::new(
                        ErrorKind::Invalid,
                        format!("{address}: folder {name} created without an id"),
                    )
                }),
            // Created meanwhile by another pass: read it back.
            Err(e) if e.kind == ErrorKind::Invalid && e.detail.contains("ErrorFolderExists") => {
                self.find_child(address, user, parent, name).await?.ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    /// The child folder of `parent` named `name` (Exchange compares names without case).
    async fn find_child(
        &self,
        address: &str,
        user: &str,
        parent: &str,
        name: &str,
    ) -> Result<Option<String>, BackendError> {
        let path = path_with_query(
            &format!(
                "/users/{}/mailFolders/{}/childFolders",
                encode(user),
                encode(parent)
            ),
            &[
                ("$filter", format!("displayName eq {}", literal(name))),
                ("$select", "id,displayName".into()),
            ],
        );
        let found = self
            .client
            .call(Some(address), "GET", &path, None)
            .await?
            .json()?;
        // The filter narrows; the name is checked here too, for a server that ignored it.
        Ok(found["value"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| {
                f["displayName"]
                    .as_str()
                    .is_some_and(|n| n.to_lowercase() == name.to_lowercase())
            })
            .and_then(|f| f["id"].as_str())
            .map(str::to_string))
    }
}
