//! Google Workspace mailboxes through the Gmail API, as a service account with domain-wide
//! delegation: every mailbox call is made as its user (a token per user and scope), the
//! directory is read as the configured admin.
//!
//! Labels, not folders, are this backend's places (see `labels.rs` for a copy's
//! `Location`). The client is hand-written over the shared reqwest client (`client.rs`): the
//! surface is small, and the per-user quota units, per-user concurrency and Google's error
//! reasons are what this backend must control itself. No real Workspace tenant was reached
//! while building it: it is tested against `tests/gmail_server`, written from Google's
//! documentation.

mod account;
mod acts;
mod check;
mod client;
mod filing;
mod labels;
mod quota;
mod scan;

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::Value;

use crate::backends::{
    Applied, Backend, BackendError, Capabilities, CheckReport, Destination, ErrorKind,
    HeaderSummary, MailboxRef, ScanFilter, Standing,
};
use crate::config::gmail::GmailSettings;
use crate::model::{Action, Location, normalize_message_id};

use account::{DIRECTORY_SCOPE, MODIFY_SCOPE, ServiceAccount};
use client::{Api, GmailClient, encode, with_query};
use labels::{LabelNames, SPAM, TRASH};
use quota::Method;

/// The most pages one listing follows (users at 500 a page, copies of a message at 100).
const MAX_PAGES: usize = 10_000;

/// A Google Workspace tenant.
pub struct GmailBackend {
    client: GmailClient,
    /// The tenant's quarantine mailbox (copies are imported into it, a label per recipient).
    quarantine_mailbox: Option<String>,
    /// User -> label id -> name, learnt when first needed.
    labels: Mutex<HashMap<String, LabelNames>>,
    /// Conversation searches shared by the per-mailbox scans of one depth level.
    threads: scan::ThreadSearches,
}

impl GmailBackend {
    /// A backend for one tenant; reads the service-account key now, so a missing or
    /// unreadable one is reported when the tenant is opened, not on the first item.
    pub fn new(
        settings: GmailSettings,
        quarantine_mailbox: Option<String>,
    ) -> Result<GmailBackend, String> {
        let account = ServiceAccount::load(&settings.service_account_file)?;
        Ok(GmailBackend {
            client: GmailClient::new(settings, account)?,
            quarantine_mailbox: quarantine_mailbox.map(|m| m.to_ascii_lowercase()),
            labels: Mutex::new(HashMap::new()),
            threads: scan::ThreadSearches::default(),
        })
    }

    fn as_user<'a>(user: &'a str) -> Api<'a> {
        Api::Gmail {
            user,
            scope: MODIFY_SCOPE,
        }
    }

    /// The label the quarantine mailbox files `recipient`'s copies under.
    fn quarantine_label_for(&self, recipient: &str) -> String {
        format!("{}/{}", self.client.settings().quarantine_label, recipient)
    }

    /// Message ids (and thread ids) matching a Gmail search in `user`'s mailbox, Spam and
    /// Trash included, every page followed.
    async fn search(&self, user: &str, q: &str) -> Result<Vec<(String, String)>, BackendError> {
        let mut found = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![
                ("q", q.to_string()),
                ("includeSpamTrash", "true".to_string()),
                ("maxResults", "100".to_string()),
            ];
            if let Some(t) = &page_token {
                query.push(("pageToken", t.clone()));
            }
            let v = self
                .client
                .json(
                    Self::as_user(user),
                    Method::MessagesList,
                    "GET",
                    &with_query("/messages", &query),
                    None,
                )
                .await?;
            for m in v["messages"].as_array().into_iter().flatten() {
                if let (Some(id), Some(thread)) = (m["id"].as_str(), m["threadId"].as_str()) {
                    found.push((id.to_string(), thread.to_string()));
                }
            }
            match v["nextPageToken"].as_str() {
                Some(t) if !t.is_empty() && page_token.as_deref() != Some(t) => {
                    page_token = Some(t.to_string())
                }
                _ => return Ok(found),
            }
        }
        Err(BackendError::new(
            ErrorKind::Invalid,
            format!(
                "{user}: Gmail's result pages did not end (over {MAX_PAGES}); the search was stopped"
            ),
        ))
    }

    /// One message with these header fields (`format=metadata`); `None` when it is gone.
    async fn metadata(
        &self,
        user: &str,
        id: &str,
        headers: &[&str],
    ) -> Result<Option<Value>, BackendError> {
        let mut query = vec![("format", "metadata".to_string())];
        for h in headers {
            query.push(("metadataHeaders", h.to_string()));
        }
        let path = with_query(&format!("/messages/{}", encode(id)), &query);
        match self
            .client
            .json(Self::as_user(user), Method::MessagesGet, "GET", &path, None)
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind == ErrorKind::Gone => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Copies of `message_id` in `user`'s mailbox: searched with `rfc822msgid:`, each
    /// confirmed on its own Message-ID header (a search is not an exact match).
    async fn copies_of(&self, user: &str, message_id: &str) -> Result<Vec<Value>, BackendError> {
        let wanted = normalize_message_id(message_id);
        let mut copies = Vec::new();
        for (id, _) in self.search(user, &format!("rfc822msgid:{wanted}")).await? {
            let Some(m) = self.metadata(user, &id, &["Message-ID"]).await? else {
                continue;
            };
            let header = scan::header(&m, "Message-ID");
            if header.map(|h| normalize_message_id(&h)) == Some(wanted.clone()) {
                copies.push(m);
            }
        }
        Ok(copies)
    }

    /// Every active user's primary address, from the Directory (suspended and archived users
    /// cannot be acted on and are left out).
    async fn directory_users(&self, limit: Option<usize>) -> Result<Vec<String>, BackendError> {
        let mut addresses = Vec::new();
        let mut page_token: Option<String> = None;
        let page_size = limit.map_or(500, |l| l.clamp(1, 500));
        for _ in 0..MAX_PAGES {
            let mut query = vec![
                ("customer", "my_customer".to_string()),
                ("maxResults", page_size.to_string()),
            ];
            if let Some(t) = &page_token {
                query.push(("pageToken", t.clone()));
            }
            let v = self
                .client
                .json(
                    Api::Directory,
                    Method::UsersList,
                    "GET",
                    &with_query("/users", &query),
                    None,
                )
                .await?;
            for u in v["users"].as_array().into_iter().flatten() {
                if u["suspended"].as_bool() == Some(true) || u["archived"].as_bool() == Some(true) {
                    continue;
                }
                let address = u["primaryEmail"]
                    .as_str()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                // An address with control characters or spaces is no mailbox we can name safely.
                if address.is_empty()
                    || address.chars().any(|c| c.is_control() || c.is_whitespace())
                {
                    continue;
                }
                addresses.push(address);
            }
            if limit.is_some_and(|l| addresses.len() >= l) {
                break;
            }
            match v["nextPageToken"].as_str() {
                Some(t) if !t.is_empty() && page_token.as_deref() != Some(t) => {
                    page_token = Some(t.to_string())
                }
                _ => {
                    addresses.sort();
                    addresses.dedup();
                    return Ok(addresses);
                }
            }
        }
        if limit.is_some() {
            return Ok(addresses);
        }
        Err(BackendError::new(
            ErrorKind::Invalid,
            format!(
                "the directory's pages did not end (over {MAX_PAGES}); the listing was stopped"
            ),
        ))
    }
}

#[async_trait]
impl Backend for GmailBackend {
    fn kind(&self) -> &'static str {
        "gmail"
    }

    async fn list_mailboxes(&self) -> Result<Vec<String>, BackendError> {
        self.directory_users(None).await
    }

    /// `rfc822msgid:` with `includeSpamTrash=true` (else copies in Spam and Trash are
    /// missed), each hit confirmed on its Message-ID header.
    async fn locate(
        &self,
        mailbox: &MailboxRef,
        message_id: &str,
    ) -> Result<Vec<Location>, BackendError> {
        let user = mailbox.address.as_str();
        let mut found = Vec::new();
        for m in self.copies_of(user, message_id).await? {
            found.push(self.location_of(user, &m).await?);
        }
        Ok(found)
    }

    /// Gmail searches by Message-ID itself (not by reply headers); acts are one call per
    /// copy (`batchModify` costs 50 units, ten single modifies' worth, and a retraction
    /// meets one copy per mailbox); quarantine imports into another mailbox; message ids
    /// survive label changes.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            header_search: true,
            batch_acts: false,
            cross_mailbox_copy: self.quarantine_mailbox.is_some(),
            labels: true,
            ids_survive_move: true,
            local_directory: false,
            mailbox_request_limit: true,
        }
    }

    async fn destination(
        &self,
        mailbox: &MailboxRef,
        action: Action,
    ) -> Result<Destination, BackendError> {
        let settings = self.client.settings();
        Ok(match action {
            Action::MoveToJunk => Destination::Folder(SPAM.into()),
            Action::Trash => Destination::Folder(TRASH.into()),
            Action::SoftDelete => Destination::Folder(settings.soft_delete_label.clone()),
            Action::Quarantine => Destination::Mailbox {
                mailbox: self.quarantine_target()?.to_string(),
                folder: self.quarantine_label_for(&mailbox.address),
            },
            Action::HardDelete | Action::Restore => Destination::Gone,
        })
    }

    /// Decided by label ids, never by names: SPAM for junk, TRASH without the soft-delete
    /// label for trash, both for soft-delete; a soft-deleted copy is out of view for every
    /// action but hard-delete.
    async fn standing(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Standing, BackendError> {
        let has = |l: &str| copy.labels.iter().any(|i| i == l);
        let names = self.names_for(&mailbox.address, &copy.labels).await?;
        let soft = self.soft_delete_id(&names).is_some_and(|id| has(&id));
        Ok(match action {
            Action::MoveToJunk if has(SPAM) => Standing::AtDestination,
            Action::Trash if has(TRASH) && !soft => Standing::AtDestination,
            Action::SoftDelete if has(TRASH) && soft => Standing::AtDestination,
            Action::HardDelete | Action::Restore | Action::SoftDelete => Standing::InView,
            _ if soft => Standing::OutOfView,
            _ => Standing::InView,
        })
    }

    async fn fetch_raw(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
    ) -> Result<Vec<u8>, BackendError> {
        self.raw(&mailbox.address, &copy.provider_id).await
    }

    async fn apply(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Applied, BackendError> {
        self.act(mailbox, copy, action).await
    }

    async fn put_back(
        &self,
        mailbox: &MailboxRef,
        current_mailbox: &str,
        current: &Location,
        original: &Location,
    ) -> Result<Location, BackendError> {
        self.restore(mailbox, current_mailbox, current, original)
            .await
    }

    async fn scan(
        &self,
        mailbox: &MailboxRef,
        filter: &ScanFilter,
    ) -> Result<Vec<HeaderSummary>, BackendError> {
        self.scan_mailbox(&mailbox.address, filter).await
    }

    /// A shown user label for the path, INBOX removed (see `filing.rs`).
    async fn file_to_folder(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        folder: &str,
    ) -> Result<Location, BackendError> {
        self.file_copy(mailbox, copy, folder).await
    }

    async fn check(&self) -> CheckReport {
        self.check_tenant().await
    }
}

/// Scopes named by `check`, with what each is for.
const NEEDED_SCOPES: [(&str, &str); 3] = [
    (MODIFY_SCOPE, "locate, label, trash and import messages"),
    (
        account::FULL_SCOPE,
        "hard-delete, and quarantine's removal of the original",
    ),
    (DIRECTORY_SCOPE, "list the directory's users (as the admin)"),
];
