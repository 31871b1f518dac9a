//! Finding items: FindItem over many folders at once (one answer per folder, each paged on
//! its own), and reading an item's properties into a `Location` or a header summary.

use chrono::{DateTime, Utc};

use super::EwsBackend;
use super::soap::{self, Condition, FolderRef};
use super::xml::Element;
use crate::backends::{BackendError, ErrorKind};
use crate::model::Location;
use crate::model::text::sanitize;

/// Items a FindItem page returns (Exchange's EWSFindCountLimit default is 1,000).
const PAGE: usize = 500;
/// Folders named in one FindItem.
const FOLDERS_PER_FIND: usize = 100;
/// Pages one folder is read to; a folder that never ends is an error, not a loop.
const MAX_PAGES: usize = 2_000;

/// One item as FindItem shows it.
#[derive(Clone, Debug, Default)]
pub struct Found {
    pub id: String,
    pub folder_id: String,
    pub read: bool,
    pub received: Option<DateTime<Utc>>,
    pub message_id: String,
    pub subject: String,
    pub from_address: String,
    pub from_name: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub size: u64,
}

impl Found {
    /// The copy as the engine stores it, in the folder shown as `folder`.
    pub fn location(&self, folder: &str) -> Location {
        Location {
            folder: folder.to_string(),
            provider_id: self.id.clone(),
            seen: self.read,
            flags: String::new(),
            internal_date: self.received,
            folder_id: (!self.folder_id.is_empty()).then(|| self.folder_id.clone()),
            labels: Vec::new(),
        }
    }
}

/// The item id inside an answer's `Items` (MoveItem, CreateItem), if the server gave one.
pub fn new_item_id(message: &Element) -> Option<String> {
    message
        .find("Items")?
        .children
        .iter()
        .find_map(|item| item.child("ItemId").and_then(|i| i.attr("Id")))
        .map(str::to_string)
}

pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// An item element of a FindItem answer.
pub fn found_of(item: &Element) -> Option<Found> {
    let id = item.child("ItemId")?.attr("Id")?.to_string();
    let mut found = Found {
        id,
        folder_id: item
            .child("ParentFolderId")
            .and_then(|p| p.attr("Id"))
            .unwrap_or_default()
            .to_string(),
        read: item.child_text("IsRead") == "true",
        received: parse_time(item.child_text("DateTimeReceived")),
        message_id: item.child_text("InternetMessageId").to_string(),
        subject: item.child_text("Subject").to_string(),
        size: item.child_text("Size").parse().unwrap_or(0),
        ..Found::default()
    };
    if let Some(from) = item.child("From").and_then(|f| f.child("Mailbox")) {
        found.from_address = from.child_text("EmailAddress").to_ascii_lowercase();
        found.from_name = from.child_text("Name").to_string();
    }
    for p in item.children_named("ExtendedProperty") {
        let tag = p
            .child("ExtendedFieldURI")
            .and_then(|u| u.attr("PropertyTag"))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let value = p.child_text("Value");
        match tag.as_str() {
            "0x1042" => found.in_reply_to = Some(value.to_string()),
            "0x1039" => {
                found.references = value.split_whitespace().map(str::to_string).collect();
            }
            _ => {}
        }
    }
    Some(found)
}

/// The addresses of a recipient list element (`ToRecipients`), lower-case.
pub fn addresses(list: Option<&Element>) -> Vec<String> {
    list.map(|l| {
        l.children_named("Mailbox")
            .map(|m| m.child_text("EmailAddress").to_ascii_lowercase())
            .filter(|a| !a.is_empty() && !a.chars().any(|c| c.is_control() || c.is_whitespace()))
            .collect()
    })
    .unwrap_or_default()
}

impl EwsBackend {
    /// Every item matching `condition` in `folders` (ids) of `mailbox`.
    pub(super) async fn find_items(
        &self,
        mailbox: &str,
        folders: &[String],
        condition: Option<&Condition>,
    ) -> Result<Vec<Found>, BackendError> {
        let mut out = Vec::new();
        for chunk in folders.chunks(FOLDERS_PER_FIND) {
            let refs: Vec<FolderRef> = chunk.iter().cloned().map(FolderRef::Id).collect();
            let root = self
                .client
                .call(mailbox, &soap::find_item(&refs, condition, 0, PAGE))
                .await?;
            let messages = soap::response_messages(&root);
            let mut unfinished = Vec::new();
            for (i, m) in messages.iter().enumerate() {
                let Some(folder) = chunk.get(i) else { break };
                if !m.ok() {
                    if m.code == "ErrorFolderNotFound" {
                        // Deleted since the folder list was learnt: nothing of ours is there.
                        self.forget_folders(mailbox);
                        continue;
                    }
                    return Err(self.client.error_of(mailbox, m));
                }
                let (items, more) = page_of(m.element, folder);
                out.extend(items);
                if more {
                    unfinished.push(folder.clone());
                }
            }
            for folder in unfinished {
                out.extend(self.rest_of_folder(mailbox, &folder, condition).await?);
            }
        }
        Ok(out)
    }

    /// The pages after the first of one folder.
    async fn rest_of_folder(
        &self,
        mailbox: &str,
        folder: &str,
        condition: Option<&Condition>,
    ) -> Result<Vec<Found>, BackendError> {
        let mut out = Vec::new();
        let refs = [FolderRef::Id(folder.to_string())];
        let mut offset = PAGE;
        for _ in 0..MAX_PAGES {
            let root = self
                .client
                .call(mailbox, &soap::find_item(&refs, condition, offset, PAGE))
                .await?;
            let messages = soap::response_messages(&root);
            let Some(m) = messages.first() else { break };
            if !m.ok() {
                return Err(self.client.error_of(mailbox, m));
            }
            let (items, more) = page_of(m.element, folder);
            let got = items.len();
            out.extend(items);
            if !more || got == 0 {
                return Ok(out);
            }
            offset += got;
        }
        Err(BackendError::new(
            ErrorKind::Invalid,
            format!("{mailbox}: a folder's pages did not end; the search was stopped"),
        ))
    }

    /// GetItem with the MIME content, decoded.
    pub(super) async fn mime_of(&self, mailbox: &str, id: &str) -> Result<Vec<u8>, BackendError> {
        let root = self
            .client
            .call(mailbox, &soap::get_item(&[id], true))
            .await?;
        let messages = soap::response_messages(&root);
        let m = messages.first().ok_or_else(|| {
            BackendError::new(
                ErrorKind::Invalid,
                format!("{mailbox}: GetItem answered nothing"),
            )
        })?;
        if !m.ok() {
            return Err(self.client.error_of(mailbox, m));
        }
        let text: String = m
            .element
            .find("MimeContent")
            .map(|c| c.text.split_whitespace().collect())
            .unwrap_or_default();
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|_| {
                BackendError::new(
                    ErrorKind::Invalid,
                    format!("{mailbox}: the item's MIME content is not base64"),
                )
            })
    }
}

/// The items of one folder's answer and whether more pages follow.
fn page_of(message: &Element, folder: &str) -> (Vec<Found>, bool) {
    let Some(page) = message.find("RootFolder") else {
        return (Vec::new(), false);
    };
    let items: Vec<Found> = page
        .child("Items")
        .map(|i| i.children.as_slice())
        .unwrap_or(&[])
        .iter()
        .filter_map(found_of)
        .map(|mut f| {
            if f.folder_id.is_empty() {
                f.folder_id = folder.to_string();
            }
            f.subject = sanitize(&f.subject);
            f
        })
        .collect();
    let more = page.attr("IncludesLastItemInRange") == Some("false");
    (items, more)
}
