//! Microsoft 365 (Exchange Online) through Microsoft Graph v1.0, app-only.
//!
//! The client is hand-written over reqwest rather than taken from an SDK: the surface needed
//! is small (token, users, message filter/move/permanentDelete/`$value`, `$batch`), and the
//! one Rust SDK (graph-rs-sdk) has no message `permanentDelete`, moves slowly, and hides the
//! HTTP details this backend must control itself: the exact encoding of Message-IDs in
//! `$filter`, `Retry-After`, the per-mailbox limit of 4 concurrent requests, and the
//! mapping of Graph error codes (see `shared/reference/mail-apis.md` §7).
//!
//! A copy's `Location`: `provider_id` is the message's immutable id (`Prefer:
//! IdType="ImmutableId"` on every request, so it survives moves); `folder` is the well-known
//! name (`inbox`, `junkemail`, `deleteditems`, `recoverableitemsdeletions`), the quarantine
//! folder's name, or another folder's display name; `folder_id` is the `parentFolderId`, the
//! exact folder restore moves the copy back to (older rows kept it in `flags` as
//! `folder=<id>`; `resource::GraphCopy` reads both); `seen` is `isRead`. Where a copy
//! stands is decided by folder ids, never by display names (see `place.rs`).

mod check;
mod client;
mod filing;
mod odata;
mod place;
pub mod reader;
mod resource;
mod token;

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::backends::common::filing::FiledFolders;
use crate::backends::common::sender::logged_sender;
use crate::backends::{
    Applied, Backend, BackendError, Capabilities, CheckReport, Destination, ErrorKind,
    HeaderSummary, MailboxRef, ScanFilter, Standing,
};
use crate::config::graph::GraphSettings;
use crate::model::text::sanitize;
use crate::model::{Action, Location};

use client::{GraphClient, Pages, SubRequest};
use odata::{encode, literal, path_with_query};
use resource::{GraphCopy, address_of, location_in, thread_headers};

/// Well-known folder names (they work in any locale).
const INBOX: &str = "inbox";
const JUNK: &str = "junkemail";
const DELETED: &str = "deleteditems";
const RECOVERABLE: &str = "recoverableitemsdeletions";

/// Fields a located copy needs.
const LOCATE_SELECT: &str = "id,parentFolderId,isRead,receivedDateTime,internetMessageId";
/// Fields a scan needs.
const SCAN_SELECT: &str = "id,parentFolderId,isRead,receivedDateTime,internetMessageId,from,toRecipients,ccRecipients,subject";

/// The folders of one mailbox that carry meaning, by id, learnt as they are needed: the inbox
/// with the first locate (where nearly every copy of a fresh message sits), the rest only
/// when a copy turns up elsewhere. Each look-up is a Graph operation counted against the
/// app's quota, so a retraction that finds its copies in inboxes pays for one, not four.
#[derive(Clone, Debug, Default)]
struct FolderIds {
    inbox: String,
    rest: Option<OtherWellKnown>,
    /// Display names of other folders seen, by id.
    others: HashMap<String, String>,
    /// Recoverable Items\Deletions, learnt from a copy located there or asked when needed.
    recoverable: Option<String>,
}

/// Junk Email, Deleted Items and the hidden quarantine folder (absent until first used).
#[derive(Clone, Debug)]
struct OtherWellKnown {
    junk: String,
    deleted: String,
    quarantine: Option<String>,
}

/// A Microsoft 365 tenant.
pub struct GraphBackend {
    client: GraphClient,
    /// Mailbox address -> Graph user id.
    users: Mutex<HashMap<String, String>>,
    /// Graph user id -> its folders.
    folders: Mutex<HashMap<String, FolderIds>>,
    /// Folder paths reports were filed into, by user: their ids (see `filing.rs`).
    filed: FiledFolders,
    /// The mailbox `check` tries first (the tenant's quarantine mailbox).
    check_first: Option<String>,
}

impl GraphBackend {
    /// A backend for one tenant; reads the secret or certificate now, so a missing one is
    /// reported when the tenant is opened, not on the first item.
    pub fn new(settings: GraphSettings) -> Result<GraphBackend, String> {
        let credential = token::Credential::load(&settings)?;
        Ok(GraphBackend {
            client: GraphClient::new(settings, credential)?,
            users: Mutex::new(HashMap::new()),
            folders: Mutex::new(HashMap::new()),
            filed: FiledFolders::default(),
            check_first: None,
        })
    }

    /// `check` tries this mailbox before the users the directory lists: the tenant's
    /// quarantine mailbox, the one every quarantine needs.
    pub fn check_first(mut self, mailbox: Option<String>) -> GraphBackend {
        self.check_first = mailbox.map(|m| m.to_ascii_lowercase());
        self
    }

    fn settings(&self) -> &GraphSettings {
        self.client.settings()
    }

    /// The Graph user id of a mailbox (`/users/{address}`), cached. A guest account, or an
    /// address Graph does not know, is not a mailbox this tenant can act on.
    async fn user_id(&self, mailbox: &str) -> Result<String, BackendError> {
        if let Some(id) = self.cached_user(mailbox) {
            return Ok(id);
        }
        let path = path_with_query(
            &format!("/users/{}", encode(mailbox)),
            &[("$select", "id,userType,mail,userPrincipalName".into())],
        );
        let user = match self.client.call(Some(mailbox), "GET", &path, None).await {
            Ok(reply) => reply.json()?,
            Err(e) if e.kind == ErrorKind::Gone => {
                return Err(BackendError::new(
                    ErrorKind::NoSuchMailbox,
                    format!("{mailbox}: no such user in the tenant"),
                ));
            }
            Err(e) => return Err(e),
        };
        if user["userType"].as_str() == Some("Guest") {
            return Err(BackendError::new(
                ErrorKind::NoSuchMailbox,
                format!("{mailbox}: a guest account, with no mailbox in this tenant"),
            ));
        }
        let id = user["id"]
            .as_str()
            .ok_or_else(|| BackendError::new(ErrorKind::Invalid, "a user without an id"))?
            .to_string();
        self.users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(mailbox.to_string(), id.clone());
        Ok(id)
    }

    fn cached_user(&self, mailbox: &str) -> Option<String> {
        self.users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(mailbox)
            .cloned()
    }

    fn cached_folders(&self, user: &str) -> Option<FolderIds> {
        self.folders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
            .cloned()
    }

    /// The cached inbox id of a user, if learnt (read without copying the whole entry: this
    /// is asked for every copy located).
    fn cached_inbox(&self, user: &str) -> Option<String> {
        self.folders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
            .map(|f| f.inbox.clone())
            .filter(|id| !id.is_empty())
    }

    /// Change the cached folders of a user (created empty when unknown).
    fn update_folders(&self, user: &str, change: impl FnOnce(&mut FolderIds)) {
        let mut all = self.folders.lock().unwrap_or_else(|e| e.into_inner());
        change(all.entry(user.to_string()).or_default());
    }

    /// The request that learns the id of a well-known folder (`inbox`, `junkemail`, ...).
    fn well_known_request(user: &str, name: &str) -> SubRequest {
        SubRequest {
            method: "GET",
            url: path_with_query(
                &format!("/users/{}/mailFolders/{name}", encode(user)),
                &[("$select", "id".into())],
            ),
            body: None,
        }
    }

    /// Requests that learn the ids of Junk Email, Deleted Items and the quarantine folder.
    fn other_requests(&self, user: &str) -> Vec<SubRequest> {
        let mut requests = vec![
            Self::well_known_request(user, JUNK),
            Self::well_known_request(user, DELETED),
        ];
        requests.push(SubRequest {
            method: "GET",
            url: self.quarantine_lookup_path(user),
            body: None,
        });
        requests
    }

    fn quarantine_lookup_path(&self, user: &str) -> String {
        path_with_query(
            &format!("/users/{}/mailFolders", encode(user)),
            &[
                (
                    "$filter",
                    format!(
                        "displayName eq {}",
                        literal(&self.settings().quarantine_folder)
                    ),
                ),
                ("includeHiddenFolders", "true".into()),
                ("$select", "id".into()),
            ],
        )
    }

    /// A folder id from the answer to a `mailFolders/{name}` request.
    fn folder_id(answer: &Result<Value, BackendError>) -> Result<String, BackendError> {
        match answer {
            Ok(v) => Ok(v["id"].as_str().unwrap_or_default().to_string()),
            Err(e) => Err(e.clone()),
        }
    }

    /// Every folder that names a location (inbox, junk, deleted items, quarantine), learnt
    /// with one `$batch` for what is not cached yet.
    async fn folders(&self, mailbox: &str, user: &str) -> Result<FolderIds, BackendError> {
        let cached = self.cached_folders(user).unwrap_or_default();
        if !cached.inbox.is_empty() && cached.rest.is_some() {
            return Ok(cached);
        }
        let mut requests = self.other_requests(user);
        if cached.inbox.is_empty() {
            requests.push(Self::well_known_request(user, INBOX));
        }
        let answers = self.client.batch(mailbox, requests).await?;
        let rest = OtherWellKnown {
            junk: Self::folder_id(&answers[0])?,
            deleted: Self::folder_id(&answers[1])?,
            quarantine: match &answers[2] {
                Ok(v) => v["value"][0]["id"].as_str().map(str::to_string),
                Err(e) => return Err(e.clone()),
            },
        };
        let inbox = match answers.get(3) {
            Some(answer) => Some(Self::folder_id(answer)?),
            None => None,
        };
        let mut known = FolderIds::default();
        self.update_folders(user, |f| {
            if let Some(inbox) = inbox {
                f.inbox = inbox;
            }
            // Another item of this mailbox may have created the quarantine folder while this
            // look-up was answered: an id learnt meanwhile is kept, never forgotten.
            let mut rest = rest;
            if let Some(created) = f.rest.as_ref().and_then(|r| r.quarantine.clone()) {
                rest.quarantine = Some(created);
            }
            f.rest = Some(rest);
            known = f.clone();
        });
        Ok(known)
    }

    /// The name of a copy's folder: a well-known name, the quarantine folder's name, or the
    /// folder's own display name (looked up once).
    async fn folder_name(
        &self,
        mailbox: &str,
        user: &str,
        id: &str,
    ) -> Result<String, BackendError> {
        if self.cached_inbox(user).is_some_and(|inbox| inbox == id) {
            return Ok(INBOX.into());
        }
        let folders = self.folders(mailbox, user).await?;
        let rest = folders.rest.as_ref();
        if id == folders.inbox {
            return Ok(INBOX.into());
        }
        if rest.is_some_and(|r| r.junk == id) {
            return Ok(JUNK.into());
        }
        if rest.is_some_and(|r| r.deleted == id) {
            return Ok(DELETED.into());
        }
        if rest.and_then(|r| r.quarantine.as_deref()) == Some(id) {
            return Ok(self.settings().quarantine_folder.clone());
        }
        if let Some(name) = folders.others.get(id) {
            return Ok(name.clone());
        }
        let path = path_with_query(
            &format!("/users/{}/mailFolders/{}", encode(user), encode(id)),
            &[("$select", "id,displayName".into())],
        );
        let folder = self
            .client
            .call(Some(mailbox), "GET", &path, None)
            .await?
            .json()?;
        let name = sanitize(folder["displayName"].as_str().unwrap_or(id));
        self.update_folders(user, |f| {
            f.others.insert(id.to_string(), name.clone());
        });
        Ok(name)
    }

    /// The id of the hidden quarantine folder, created when missing.
    async fn quarantine_folder_id(
        &self,
        mailbox: &str,
        user: &str,
    ) -> Result<String, BackendError> {
        let folders = self.folders(mailbox, user).await?;
        if let Some(id) = folders.rest.and_then(|r| r.quarantine) {
            return Ok(id);
        }
        let path = format!("/users/{}/mailFolders", encode(user));
        let body = json!({"displayName": self.settings().quarantine_folder, "isHidden": true});
        let id = match self
            .client
            .call(Some(mailbox), "POST", &path, Some(body))
            .await
        {
            Ok(reply) => reply.json()?["id"].as_str().unwrap_or_default().to_string(),
            // Created meanwhile by another item of the same mailbox: look it up.
            Err(e) if e.kind == ErrorKind::Invalid => {
                let found = self
                    .client
                    .call(
                        Some(mailbox),
                        "GET",
                        &self.quarantine_lookup_path(user),
                        None,
                    )
                    .await?
                    .json()?;
                found["value"][0]["id"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or(e)?
            }
            Err(e) => return Err(e),
        };
        self.update_folders(user, |f| {
            if let Some(rest) = f.rest.as_mut() {
                rest.quarantine = Some(id.clone());
            }
        });
        Ok(id)
    }

    /// A `Location` from a message resource, its folder named (see `folder_name`).
    async fn location(
        &self,
        mailbox: &str,
        user: &str,
        m: &Value,
        in_recoverable: bool,
    ) -> Result<Location, BackendError> {
        let folder = if in_recoverable {
            RECOVERABLE.to_string()
        } else {
            let parent = m["parentFolderId"].as_str().unwrap_or_default();
            self.folder_name(mailbox, user, parent).await?
        };
        Ok(location_in(m, folder))
    }

    /// Every page of a message listing that started with `first` (already fetched).
    async fn all_pages(&self, mailbox: &str, first: Value) -> Result<Vec<Value>, BackendError> {
        let mut messages: Vec<Value> = Vec::new();
        let mut page = first;
        let mut pages = Pages::default();
        loop {
            if let Some(list) = page["value"].as_array() {
                messages.extend(list.iter().cloned());
            }
            let Some(next) = page["@odata.nextLink"].as_str() else {
                return Ok(messages);
            };
            let path = self.client.next_link_path(next, &mut pages)?;
            page = self
                .client
                .call(Some(mailbox), "GET", &path, None)
                .await?
                .json()?;
        }
    }

    /// Move a copy; returns the moved message resource.
    async fn move_to(
        &self,
        mailbox: &str,
        user: &str,
        message: &str,
        destination: &str,
    ) -> Result<Value, BackendError> {
        let path = format!("/users/{}/messages/{}/move", encode(user), encode(message));
        self.client
            .call(
                Some(mailbox),
                "POST",
                &path,
                Some(json!({"destinationId": destination})),
            )
            .await?
            .json()
    }

    fn messages_path(user: &str, folder: Option<&str>) -> String {
        match folder {
            Some(f) => format!("/users/{}/mailFolders/{f}/messages", encode(user)),
            None => format!("/users/{}/messages", encode(user)),
        }
    }
}

#[async_trait]
impl Backend for GraphBackend {
    fn kind(&self) -> &'static str {
        "graph"
    }

    /// Every member user with a mailbox address, following `@odata.nextLink`. Guests are
    /// left out (they have no mailbox here).
    async fn list_mailboxes(&self) -> Result<Vec<String>, BackendError> {
        let mut path = path_with_query(
            "/users",
            &[
                ("$select", "id,userPrincipalName,mail,userType".into()),
                ("$top", "999".into()),
            ],
        );
        let mut addresses = Vec::new();
        let mut pages = Pages::default();
        loop {
            let page = self.client.call(None, "GET", &path, None).await?.json()?;
            for u in page["value"].as_array().into_iter().flatten() {
                if u["userType"].as_str() == Some("Guest") {
                    continue;
                }
                let address = u["mail"]
                    .as_str()
                    .or(u["userPrincipalName"].as_str())
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                // An address with control characters or spaces is no mailbox we can name
                // safely (in a job, a log line, a terminal): left out.
                if address.is_empty()
                    || address.chars().any(|c| c.is_control() || c.is_whitespace())
                {
                    continue;
                }
                if let Some(id) = u["id"].as_str() {
                    self.users
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(address.clone(), id.to_string());
                }
                addresses.push(address);
            }
            match page["@odata.nextLink"].as_str() {
                Some(next) => path = self.client.next_link_path(next, &mut pages)?,
                None => break,
            }
        }
        addresses.sort();
        addresses.dedup();
        Ok(addresses)
    }

    /// One `$batch`: the whole mailbox (`/messages`, which leaves out Recoverable Items) and
    /// `recoverableitemsdeletions`, both filtered on the exact Message-ID, plus the folder
    /// ids the first time this mailbox is seen.
    async fn locate(
        &self,
        mailbox: &MailboxRef,
        message_id: &str,
    ) -> Result<Vec<Location>, BackendError> {
        let address = mailbox.address.as_str();
        let user = self.user_id(address).await?;
        let query = [
            ("$filter", odata::message_id_filter(message_id)),
            ("$select", LOCATE_SELECT.to_string()),
            ("$top", "50".to_string()),
        ];
        let mut requests = vec![
            SubRequest {
                method: "GET",
                url: path_with_query(&Self::messages_path(&user, None), &query),
                body: None,
            },
            SubRequest {
                method: "GET",
                url: path_with_query(&Self::messages_path(&user, Some(RECOVERABLE)), &query),
                body: None,
            },
        ];
        if self.cached_inbox(&user).is_none() {
            requests.push(Self::well_known_request(&user, INBOX));
        }
        let mut answers = self.client.batch(address, requests).await?;
        if let Some(answer) = answers.get(2) {
            let inbox = Self::folder_id(answer)?;
            self.update_folders(&user, |f| f.inbox = inbox);
        }
        let recoverable = std::mem::replace(&mut answers[1], Ok(Value::Null))?;
        let everywhere = std::mem::replace(&mut answers[0], Ok(Value::Null))?;
        let mut found = Vec::new();
        for (page, in_recoverable) in [(everywhere, false), (recoverable, true)] {
            for m in self.all_pages(address, page).await? {
                // The filter is exact, but a server that ignored it must not make us act on
                // the wrong message.
                if m["internetMessageId"].as_str() != Some(message_id) {
                    continue;
                }
                if in_recoverable && let Some(id) = m["parentFolderId"].as_str() {
                    self.update_folders(&user, |f| f.recoverable = Some(id.to_string()));
                }
                found.push(self.location(address, &user, &m, in_recoverable).await?);
            }
        }
        Ok(found)
    }

    /// Graph filters on headers itself; `$batch` carries look-ups, not acts yet; quarantine
    /// is a hidden folder of the recipient's own mailbox (no move between mailboxes);
    /// immutable ids survive moves.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            header_search: true,
            batch_acts: false,
            cross_mailbox_copy: false,
            labels: false,
            ids_survive_move: true,
            local_directory: false,
            mailbox_request_limit: true,
        }
    }

    async fn destination(
        &self,
        _mailbox: &MailboxRef,
        action: Action,
    ) -> Result<Destination, BackendError> {
        Ok(self
            .destination_name(action)
            .map_or(Destination::Gone, Destination::Folder))
    }

    async fn standing(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Standing, BackendError> {
        self.standing_of(mailbox, copy, action).await
    }

    /// The MIME content (`$value`), for the evidence copy taken before `permanentDelete`.
    async fn fetch_raw(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
    ) -> Result<Vec<u8>, BackendError> {
        let copy = GraphCopy::of(copy)?;
        let user = self.user_id(&mailbox.address).await?;
        let path = format!(
            "/users/{}/messages/{}/$value",
            encode(&user),
            encode(&copy.id)
        );
        Ok(self
            .client
            .call(Some(&mailbox.address), "GET", &path, None)
            .await?
            .body)
    }

    async fn apply(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Applied, BackendError> {
        let address = mailbox.address.as_str();
        let handle = GraphCopy::of(copy)?;
        let user = self.user_id(address).await?;
        let destination = match action {
            Action::HardDelete => {
                // The engine has stored the evidence copy (`fetch_raw`) before calling this.
                let path = format!(
                    "/users/{}/messages/{}/permanentDelete",
                    encode(&user),
                    encode(&handle.id)
                );
                self.client.call(Some(address), "POST", &path, None).await?;
                // Under a hold, Exchange keeps purged items in Recoverable Items\Purges.
                return Ok(Applied::deleted(mailbox.on_hold));
            }
            Action::Restore => return Err(BackendError::not_an_act(action)),
            Action::Quarantine => self.quarantine_folder_id(address, &user).await?,
            Action::MoveToJunk => JUNK.into(),
            Action::Trash => DELETED.into(),
            Action::SoftDelete => RECOVERABLE.into(),
        };
        let moved = self
            .move_to(address, &user, &handle.id, &destination)
            .await?;
        // Where the copy went is known from the action: no folder look-up.
        let folder = self.destination_name(action).unwrap_or(destination);
        Ok(Applied::moved(location_in(&moved, folder), action))
    }

    /// Move the copy back to the folder id recorded when it was pulled, and set the read
    /// state back to what it was then.
    async fn put_back(
        &self,
        mailbox: &MailboxRef,
        _current_mailbox: &str,
        current: &Location,
        original: &Location,
    ) -> Result<Location, BackendError> {
        let address = mailbox.address.as_str();
        let current_id = GraphCopy::of(current)?.id;
        let target = GraphCopy::of(original)?.folder_id.ok_or_else(|| {
            BackendError::new(
                ErrorKind::Invalid,
                format!("{address}: no folder id was recorded for this copy"),
            )
        })?;
        let user = self.user_id(address).await?;
        let mut moved = self.move_to(address, &user, &current_id, &target).await?;
        if moved["isRead"].as_bool() != Some(original.seen) {
            let id = moved["id"].as_str().unwrap_or(&current_id).to_string();
            let path = format!("/users/{}/messages/{}", encode(&user), encode(&id));
            moved = self
                .client
                .call(
                    Some(address),
                    "PATCH",
                    &path,
                    Some(json!({"isRead": original.seen})),
                )
                .await?
                .json()?;
        }
        self.location(address, &user, &moved, false).await
    }

    /// Messages of one mailbox matching `filter`: Message-IDs and reply links are filtered
    /// by Graph (`internetMessageId`, extended properties 0x1042 and 0x1039), the date too;
    /// sender and subject words are matched here.
    async fn scan(
        &self,
        mailbox: &MailboxRef,
        filter: &ScanFilter,
    ) -> Result<Vec<HeaderSummary>, BackendError> {
        let address = mailbox.address.as_str();
        let user = self.user_id(address).await?;
        let folders = self.folders(address, &user).await?;
        let mut any: Vec<String> = filter
            .message_ids
            .iter()
            .map(|id| odata::message_id_filter(id))
            .collect();
        for id in &filter.replies_to {
            any.extend(odata::reply_filters(id));
        }
        let mut all: Vec<String> = Vec::new();
        if let Some(since) = filter.since {
            all.push(format!(
                "receivedDateTime ge {}",
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        if !any.is_empty() {
            all.push(format!("({})", any.join(" or ")));
        }
        let mut query = vec![
            ("$select", SCAN_SELECT.to_string()),
            ("$expand", odata::EXPAND_THREAD_HEADERS.to_string()),
            ("$top", "100".to_string()),
        ];
        if !all.is_empty() {
            query.push(("$filter", all.join(" and ")));
        }
        // Only the inbox: asked of Graph, so the rest of the mailbox is never listed.
        let folder = filter.inbox_only.then_some(INBOX);
        let path = path_with_query(&Self::messages_path(&user, folder), &query);
        let first = self
            .client
            .call(Some(address), "GET", &path, None)
            .await?
            .json()?;
        let from_word = filter.from.as_deref().map(str::to_lowercase);
        let subject_word = filter.subject.as_deref().map(str::to_lowercase);
        let mut hits = Vec::new();
        for m in self.all_pages(address, first).await? {
            let message_id = m["internetMessageId"].as_str().unwrap_or_default();
            let from = logged_sender(
                &address_of(&m["from"]),
                m["from"]["emailAddress"]["name"]
                    .as_str()
                    .unwrap_or_default(),
            )
            .to_lowercase();
            let subject = m["subject"].as_str().unwrap_or_default();
            let (in_reply_to, references) = thread_headers(&m);
            let parent = m["parentFolderId"].as_str().unwrap_or_default();
            let quarantine = folders.rest.as_ref().and_then(|r| r.quarantine.as_deref());
            if filter.skip_admin_folders && quarantine == Some(parent) {
                continue;
            }
            if !filter.message_ids.is_empty() || !filter.replies_to.is_empty() {
                let by_id = filter.message_ids.iter().any(|id| id == message_id);
                let by_reply = filter.replies_to.iter().any(|id| {
                    in_reply_to.as_deref() == Some(id.as_str()) || references.contains(id)
                });
                if !by_id && !by_reply {
                    continue;
                }
            }
            if from_word
                .as_ref()
                .is_some_and(|w| !from.contains(w.as_str()))
                || subject_word
                    .as_ref()
                    .is_some_and(|w| !subject.to_lowercase().contains(w.as_str()))
            {
                continue;
            }
            let date = m["receivedDateTime"]
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&Utc));
            hits.push(HeaderSummary {
                message_id: message_id.to_string(),
                from,
                to: m["toRecipients"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(address_of)
                    .collect(),
                cc: m["ccRecipients"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(address_of)
                    .collect(),
                subject: subject.to_string(),
                date,
                in_reply_to,
                references,
                location: location_in(&m, self.folder_name(address, &user, parent).await?),
                size: 0,
            });
        }
        Ok(hits)
    }

    /// Each level a child folder below the message root (see `filing.rs`).
    async fn file_to_folder(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        folder: &str,
    ) -> Result<Location, BackendError> {
        self.file_copy(mailbox, copy, folder).await
    }

    /// The token, the application permissions it carries, and one mailbox reached (see
    /// `check.rs`).
    async fn check(&self) -> CheckReport {
        self.check_tenant().await
    }
}
