//! On-premises Exchange (2016, 2019, Subscription Edition) through Exchange Web Services.
//!
//! SOAP is written and read here (`soap.rs` over the small quick-xml tree of `xml.rs`)
//! rather than taken from the `ews` crate: that crate has no `ExchangeImpersonation` header,
//! and this backend must control the exact envelopes, `BackOffMilliseconds`, the account's
//! concurrency and the mapping of response codes itself.
//!
//! A copy's `Location`: `provider_id` is the EWS ItemId, which changes when the item moves
//! (so every act returns the new one in `Applied::to`); `folder_id` is the parent folder's id
//! (what restore moves it back to); `folder` is a well-known name (`inbox`, `junkemail`,
//! `deleteditems`, `recoverableitemsdeletions`, `archive...`) or the folder's path; `seen`
//! is `IsRead`; `internal_date` is `DateTimeReceived`. Where a copy stands is decided by
//! folder ids, never by names (`folders.rs`).

mod check;
mod client;
mod filing;
mod folders;
mod items;
mod ntlm;
mod quarantine;
mod soap;
mod xml;

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::backends::common::filing::FiledFolders;
use crate::backends::common::folder_names::encode_leaf;
use crate::backends::common::sender::logged_sender;
use crate::backends::{
    Applied, Backend, BackendError, Capabilities, CheckReport, Destination, ErrorKind,
    HeaderSummary, MailboxRef, ScanFilter, Standing,
};
use crate::config::ews::EwsSettings;
use crate::model::{Action, Location};

use client::EwsClient;
use folders::{ARCHIVE_DELETED, ARCHIVE_RECOVERABLE, DELETED, Folders, JUNK, RECOVERABLE};
use items::{addresses, new_item_id};
use soap::{Condition, FolderRef, IN_REPLY_TO_TAG, MESSAGE_ID_TAG, REFERENCES_TAG};

/// Recipients asked for in one GetItem of a scan.
const RECIPIENTS_PER_GET: usize = 50;

/// An on-premises Exchange organisation.
pub struct EwsBackend {
    client: EwsClient,
    quarantine_mailbox: Option<String>,
    per_recipient: bool,
    mailboxes: Vec<String>,
    /// Mailbox -> its folders.
    folder_cache: Mutex<HashMap<String, Folders>>,
    /// Quarantine folder name (`Quarantine/<leaf>`) -> id, in the quarantine mailbox.
    quarantine_folders: Mutex<HashMap<String, String>>,
    /// Folder paths reports were filed into, by mailbox: their ids (see `filing.rs`).
    filed: FiledFolders,
}

impl EwsBackend {
    /// A backend for one tenant; reads the password and CA file now.
    pub fn new(
        settings: EwsSettings,
        quarantine_mailbox: Option<String>,
        per_recipient: bool,
        mailboxes: Vec<String>,
    ) -> Result<EwsBackend, String> {
        Ok(EwsBackend {
            client: EwsClient::new(settings)?,
            quarantine_mailbox: quarantine_mailbox.map(|m| m.to_ascii_lowercase()),
            per_recipient,
            mailboxes,
            folder_cache: Mutex::new(HashMap::new()),
            quarantine_folders: Mutex::new(HashMap::new()),
            filed: FiledFolders::default(),
        })
    }

    fn settings(&self) -> &EwsSettings {
        self.client.settings()
    }

    /// The shown name of the quarantine folder holding `mailbox`'s copies.
    fn quarantine_name(&self, mailbox: &str) -> String {
        let parent = &self.settings().quarantine_folder;
        if self.per_recipient {
            format!("{parent}/{}", encode_leaf(mailbox, "/"))
        } else {
            parent.clone()
        }
    }

    /// Move one item; its new id comes back.
    async fn move_item(
        &self,
        mailbox: &str,
        id: &str,
        to: &FolderRef,
    ) -> Result<String, BackendError> {
        let root = self.client.call(mailbox, &soap::move_item(id, to)).await?;
        let messages = soap::response_messages(&root);
        let m = messages.first().ok_or_else(|| {
            BackendError::new(
                ErrorKind::Invalid,
                format!("{mailbox}: MoveItem answered nothing"),
            )
        })?;
        if !m.ok() {
            return Err(self.client.error_of(mailbox, m));
        }
        new_item_id(m.element).ok_or_else(|| {
            BackendError::new(
                ErrorKind::Invalid,
                format!("{mailbox}: MoveItem did not return the moved item's new id"),
            )
        })
    }

    /// One operation whose single response message must succeed.
    async fn expect_ok(&self, mailbox: &str, body: &str) -> Result<(), BackendError> {
        let root = self.client.call(mailbox, body).await?;
        match soap::response_messages(&root).first() {
            Some(m) if m.ok() => Ok(()),
            Some(m) => Err(self.client.error_of(mailbox, m)),
            None => Err(BackendError::new(
                ErrorKind::Invalid,
                format!("{mailbox}: Exchange answered no response message"),
            )),
        }
    }

    /// The folder id and shown name an act moves a copy in `folder_id` to.
    fn target_of(
        f: &Folders,
        folder_id: Option<&str>,
        action: Action,
    ) -> Result<(String, &'static str), BackendError> {
        let in_archive = folder_id.is_some_and(|id| f.in_archive(id));
        let missing = |what: &str| {
            BackendError::new(
                ErrorKind::Invalid,
                format!("the mailbox has no {what} folder Exchange would name"),
            )
        };
        Ok(match (action, in_archive) {
            (Action::MoveToJunk, false) => (f.junk.clone(), JUNK),
            (Action::Trash, false) => (f.deleted.clone(), DELETED),
            (Action::SoftDelete, false) => (
                f.recoverable
                    .clone()
                    .ok_or_else(|| missing("Recoverable Items"))?,
                RECOVERABLE,
            ),
            // The archive has no Junk Email: its Deleted Items is where the user stops seeing it.
            (Action::MoveToJunk | Action::Trash, true) => (
                f.archive_deleted
                    .clone()
                    .ok_or_else(|| missing("archive Deleted Items"))?,
                ARCHIVE_DELETED,
            ),
            (Action::SoftDelete, true) => (
                f.archive_recoverable
                    .clone()
                    .ok_or_else(|| missing("archive Recoverable Items"))?,
                ARCHIVE_RECOVERABLE,
            ),
            _ => return Err(BackendError::not_an_act(action)),
        })
    }

    /// The scan's search condition, on the server (exact matching is done here after).
    fn condition_of(filter: &ScanFilter) -> Option<Condition> {
        let mut any = Vec::new();
        for id in &filter.message_ids {
            any.push(Condition::Equals(MESSAGE_ID_TAG, id.clone()));
        }
        for id in &filter.replies_to {
            any.push(Condition::Equals(IN_REPLY_TO_TAG, id.clone()));
            any.push(Condition::Contains(REFERENCES_TAG, id.clone()));
        }
        let mut all = Vec::new();
        if !any.is_empty() {
            all.push(Condition::Or(any));
        }
        if let Some(since) = filter.since {
            all.push(Condition::ReceivedSince(
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ));
        }
        if let Some(words) = &filter.subject {
            all.push(Condition::SubjectContains(words.clone()));
        }
        (!all.is_empty()).then_some(Condition::And(all))
    }
}

#[async_trait]
impl Backend for EwsBackend {
    fn kind(&self) -> &'static str {
        "ews"
    }

    /// EWS lists no users: the tenant's `mailboxes` / `mailboxes_file`.
    async fn list_mailboxes(&self) -> Result<Vec<String>, BackendError> {
        if self.mailboxes.is_empty() {
            return Err(BackendError::new(
                ErrorKind::Invalid,
                "EWS cannot list mailboxes: give the tenant mailboxes or mailboxes_file",
            ));
        }
        Ok(self.mailboxes.clone())
    }

    /// One FindItem over every folder (Recoverable Items and the archive's included),
    /// restricted on PR_INTERNET_MESSAGE_ID, confirmed here on the exact value.
    async fn locate(
        &self,
        mailbox: &MailboxRef,
        message_id: &str,
    ) -> Result<Vec<Location>, BackendError> {
        let address = mailbox.address.as_str();
        let f = self.folders(address).await?;
        let ids: Vec<String> = f.searched.iter().map(|(id, _)| id.clone()).collect();
        let condition = Condition::Equals(MESSAGE_ID_TAG, message_id.to_string());
        let found = self.find_items(address, &ids, Some(&condition)).await?;
        Ok(found
            .iter()
            .filter(|item| item.message_id == message_id)
            .map(|item| {
                let name = f.name_of(&item.folder_id).unwrap_or("(unknown folder)");
                item.location(name)
            })
            .collect())
    }

    /// Exchange searches headers itself; acts go one by one; quarantine goes into another
    /// mailbox; ItemIds change on every move.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            header_search: true,
            batch_acts: false,
            cross_mailbox_copy: self.quarantine_mailbox.is_some(),
            labels: false,
            ids_survive_move: false,
            local_directory: false,
            mailbox_request_limit: true,
        }
    }

    async fn destination(
        &self,
        mailbox: &MailboxRef,
        action: Action,
    ) -> Result<Destination, BackendError> {
        Ok(match action {
            Action::MoveToJunk => Destination::Folder(JUNK.into()),
            Action::Trash => Destination::Folder(DELETED.into()),
            Action::SoftDelete => Destination::Folder(RECOVERABLE.into()),
            Action::Quarantine => match &self.quarantine_mailbox {
                Some(q) => Destination::Mailbox {
                    mailbox: q.clone(),
                    folder: self.quarantine_name(&mailbox.address),
                },
                None => Destination::Folder(self.settings().quarantine_folder.clone()),
            },
            Action::HardDelete | Action::Restore => Destination::Gone,
        })
    }

    /// By folder id: at the action's folder, out of view in Recoverable Items (unless a
    /// hard-delete with `scan_recoverable_items` acts there), else in view.
    async fn standing(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Standing, BackendError> {
        let f = self.folders(&mailbox.address).await?;
        let Some(folder) = copy.folder_id.as_deref() else {
            return Ok(Standing::InView);
        };
        let is = |id: &Option<String>| id.as_deref() == Some(folder);
        let at = match action {
            Action::MoveToJunk => f.junk == folder || is(&f.archive_deleted),
            Action::Trash => f.deleted == folder || is(&f.archive_deleted),
            Action::SoftDelete => is(&f.recoverable) || is(&f.archive_recoverable),
            Action::Quarantine if self.quarantine_mailbox.is_none() => {
                f.id_of(&self.settings().quarantine_folder) == Some(folder)
            }
            _ => false,
        };
        if at {
            return Ok(Standing::AtDestination);
        }
        let recoverable = is(&f.recoverable) || is(&f.archive_recoverable);
        if recoverable && (action != Action::HardDelete || !self.settings().scan_recoverable_items)
        {
            return Ok(Standing::OutOfView);
        }
        Ok(Standing::InView)
    }

    /// GetItem with `IncludeMimeContent`, for the evidence copy taken before a hard-delete.
    async fn fetch_raw(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
    ) -> Result<Vec<u8>, BackendError> {
        self.mime_of(&mailbox.address, &copy.provider_id).await
    }

    async fn apply(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Applied, BackendError> {
        let address = mailbox.address.as_str();
        match action {
            Action::Restore => Err(BackendError::not_an_act(action)),
            Action::HardDelete => {
                // The engine has stored the evidence copy (`fetch_raw`) before calling this.
                self.expect_ok(address, &soap::hard_delete(&copy.provider_id))
                    .await?;
                // Under a hold Exchange keeps it in Recoverable Items\Purges.
                Ok(Applied::deleted(mailbox.on_hold))
            }
            Action::Quarantine => self.quarantine(mailbox, copy).await,
            Action::MoveToJunk | Action::Trash | Action::SoftDelete => {
                let f = self.folders(address).await?;
                let (target, name) = Self::target_of(&f, copy.folder_id.as_deref(), action)?;
                let id = self
                    .move_item(address, &copy.provider_id, &FolderRef::Id(target.clone()))
                    .await?;
                let moved = Location {
                    folder: name.to_string(),
                    provider_id: id,
                    folder_id: Some(target),
                    ..copy.clone()
                };
                Ok(Applied::moved(moved, action))
            }
        }
    }

    /// Move the copy back to the folder id recorded when it was pulled (from the quarantine
    /// mailbox: a copy made there), and its read state back to what it was then.
    async fn put_back(
        &self,
        mailbox: &MailboxRef,
        current_mailbox: &str,
        current: &Location,
        original: &Location,
    ) -> Result<Location, BackendError> {
        let address = mailbox.address.as_str();
        if !current_mailbox.eq_ignore_ascii_case(address) {
            return self
                .restore_from_quarantine(mailbox, current_mailbox, current, original)
                .await;
        }
        let target = self.original_folder(address, original).await?;
        let id = self
            .move_item(
                address,
                &current.provider_id,
                &FolderRef::Id(target.clone()),
            )
            .await?;
        if current.seen != original.seen {
            self.expect_ok(address, &soap::set_read(&id, original.seen))
                .await?;
        }
        Ok(Location {
            folder: original.folder.clone(),
            provider_id: id,
            seen: original.seen,
            flags: original.flags.clone(),
            internal_date: current.internal_date.or(original.internal_date),
            folder_id: Some(target),
            labels: Vec::new(),
        })
    }

    /// Matches of a scan: Message-IDs, reply links (0x1042, 0x1039), date and subject
    /// filtered by Exchange, every part confirmed here; recipients from one GetItem per 50.
    async fn scan(
        &self,
        mailbox: &MailboxRef,
        filter: &ScanFilter,
    ) -> Result<Vec<HeaderSummary>, BackendError> {
        let address = mailbox.address.as_str();
        let f = self.folders(address).await?;
        let quarantine = self.settings().quarantine_folder.clone();
        let is_admin = |name: &str| {
            name == RECOVERABLE
                || name == ARCHIVE_RECOVERABLE
                || (self.quarantine_mailbox.as_deref() == Some(address)
                    && (name == quarantine || name.starts_with(&format!("{quarantine}/"))))
        };
        let ids: Vec<String> = f
            .searched
            .iter()
            .filter(|(_, name)| !filter.skip_admin_folders || !is_admin(name))
            .filter(|(id, _)| !filter.inbox_only || *id == f.inbox)
            .map(|(id, _)| id.clone())
            .collect();
        let condition = Self::condition_of(filter);
        let found = self.find_items(address, &ids, condition.as_ref()).await?;
        let from_word = filter.from.as_deref().map(str::to_lowercase);
        let subject_word = filter.subject.as_deref().map(str::to_lowercase);
        let hits: Vec<_> = found
            .into_iter()
            .filter(|m| {
                let by_id = filter.message_ids.is_empty() && filter.replies_to.is_empty()
                    || filter.message_ids.contains(&m.message_id)
                    || filter.replies_to.iter().any(|id| {
                        m.in_reply_to.as_deref() == Some(id.as_str()) || m.references.contains(id)
                    });
                let sender = format!("{} {}", m.from_name, m.from_address).to_lowercase();
                by_id
                    && from_word
                        .as_ref()
                        .is_none_or(|w| sender.contains(w.as_str()))
                    && subject_word
                        .as_ref()
                        .is_none_or(|w| m.subject.to_lowercase().contains(w.as_str()))
                    && filter
                        .since
                        .is_none_or(|s| m.received.is_some_and(|r| r >= s))
            })
            .collect();
        let mut summaries = Vec::with_capacity(hits.len());
        for chunk in hits.chunks(RECIPIENTS_PER_GET) {
            let ids: Vec<&str> = chunk.iter().map(|m| m.id.as_str()).collect();
            let root = self
                .client
                .call(address, &soap::get_item(&ids, false))
                .await?;
            let messages = soap::response_messages(&root);
            for (i, m) in chunk.iter().enumerate() {
                let item = messages
                    .get(i)
                    .filter(|r| r.ok())
                    .and_then(|r| r.element.find("Items"))
                    .and_then(|items| items.children.first());
                summaries.push(HeaderSummary {
                    message_id: m.message_id.clone(),
                    from: logged_sender(&m.from_address, &m.from_name),
                    to: addresses(item.and_then(|i| i.child("ToRecipients"))),
                    cc: addresses(item.and_then(|i| i.child("CcRecipients"))),
                    subject: m.subject.clone(),
                    date: m.received,
                    in_reply_to: m.in_reply_to.clone(),
                    references: m.references.clone(),
                    location: m.location(f.name_of(&m.folder_id).unwrap_or("(unknown folder)")),
                    size: m.size,
                });
            }
        }
        Ok(summaries)
    }

    /// FindFolder/CreateFolder by path, then MoveItem (see `filing.rs`).
    async fn file_to_folder(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        folder: &str,
    ) -> Result<Location, BackendError> {
        self.file_copy(mailbox, copy, folder).await
    }

    /// TRAP's Test button (see `check.rs`).
    async fn check(&self) -> CheckReport {
        self.check_tenant().await
    }
}
