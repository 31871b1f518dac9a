//! One module per mail system behind one trait. Backends talk to their mail system and map
//! its errors to ours; they never touch SQL or the UI, and only the engine calls them.

pub mod common;
pub mod ews;
pub mod gmail;
pub mod graph;
pub mod imap;
pub mod maildir;
pub mod registry;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::{Action, Location};

pub use registry::for_tenant;

/// A mailbox as the engine hands it to a backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxRef {
    /// The mailbox address, lower-case.
    pub address: String,
    /// Legal hold (from config, or what the backend can tell).
    pub on_hold: bool,
}

/// What an act did to one copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// Where the copy is now (`None` when it is gone), with its handle as it is after the
    /// move: on systems whose ids change on move (Maildir, IMAP, EWS) this is the only place
    /// the new handle is known. The engine matches the placement by the pre-act copy it
    /// passed to `apply`, never by this handle.
    pub to: Option<Location>,
    /// The mailbox now holding the copy, when it is not the item's mailbox (quarantine).
    pub to_mailbox: Option<String>,
    /// Hard-delete on a mailbox under hold: out of the user's view, kept for the hold.
    pub retained_by_hold: bool,
}

impl Applied {
    /// The copy now sits at `to` in its own mailbox. A hard-delete that ends in a move went
    /// to the hold folder: out of the user's view, kept for the hold.
    pub fn moved(to: Location, action: Action) -> Self {
        Applied {
            to: Some(to),
            to_mailbox: None,
            retained_by_hold: action == Action::HardDelete,
        }
    }

    /// The copy now sits at `to` in another mailbox, `holder` (quarantine).
    pub fn moved_to_mailbox(to: Location, holder: String) -> Self {
        Applied {
            to: Some(to),
            to_mailbox: Some(holder),
            retained_by_hold: false,
        }
    }

    /// The copy is gone; `retained_by_hold` when the mail system keeps it for a hold anyway.
    pub fn deleted(retained_by_hold: bool) -> Self {
        Applied {
            to: None,
            to_mailbox: None,
            retained_by_hold,
        }
    }
}

/// Header fields of one copy found by a scan (sweep, index, conversation search).
#[derive(Clone, Debug, PartialEq)]
pub struct HeaderSummary {
    pub message_id: String,
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// Where the copy is, so the engine can ask the backend where it stands
    /// ([`Backend::standing`]); its `folder` is the one shown.
    pub location: Location,
    pub size: u64,
}

/// Where an action puts a copy of a mailbox, as the backend answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A folder of the same mailbox.
    Folder(String),
    /// A folder of another mailbox (quarantine into the tenant's quarantine mailbox). An item
    /// resumed after a crash between the move and its record finds the copy there.
    Mailbox { mailbox: String, folder: String },
    /// The copy leaves the mail system's view (hard-delete without a hold, restore).
    Gone,
}

impl Destination {
    /// The folder named, wherever it is.
    pub fn folder(&self) -> Option<&str> {
        match self {
            Destination::Folder(folder) | Destination::Mailbox { folder, .. } => Some(folder),
            Destination::Gone => None,
        }
    }
}

/// Where a located copy stands for an action, as the backend answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// In the user's view: to act on.
    InView,
    /// Already where the action puts it (moved by an interrupted attempt, or by someone).
    AtDestination,
    /// Already in an admin folder that hides it from the user for this action (soft-deleted
    /// before a junk move; in the hold folder before a hard-delete).
    OutOfView,
}

impl Standing {
    /// The answer for backends whose places are folders with unique names: `copy_folder`
    /// against the action's `destination`, the soft-delete folder (out of view for every
    /// action but a hard-delete, which acts on it) and the hold folder (out of view always).
    pub fn by_folder(
        copy_folder: &str,
        action: Action,
        destination: &Destination,
        soft_delete: Option<&str>,
        hold: Option<&str>,
    ) -> Standing {
        if destination.folder() == Some(copy_folder) {
            Standing::AtDestination
        } else if hold == Some(copy_folder)
            || (soft_delete == Some(copy_folder) && action != Action::HardDelete)
        {
            Standing::OutOfView
        } else {
            Standing::InView
        }
    }

    /// Nothing more to do for this copy.
    pub fn is_done(self) -> bool {
        self != Standing::InView
    }
}

/// What a mail system can do, for the engine to ask rather than guess.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The server searches headers itself (IMAP `SEARCH HEADER`, Graph `$filter`), so a
    /// scan's cost follows the matches, not the mailbox size (Maildir reads every file).
    /// Nothing in the engine asks this yet: the depth search and the sweep scan the same way
    /// on every backend, and each backend narrows on the server where it can.
    pub header_search: bool,
    /// One round trip acts on several copies. No backend acts in batches yet (Graph batches
    /// its look-ups only), and nothing in the engine asks this yet.
    pub batch_acts: bool,
    /// Copies can be moved into another mailbox (quarantine into the quarantine mailbox);
    /// without it, quarantine is a folder of the recipient's own mailbox.
    pub cross_mailbox_copy: bool,
    /// One copy can show in several places at once ([`Location::labels`]). No backend has
    /// labels yet, and nothing in the engine asks this yet.
    pub labels: bool,
    /// A copy keeps its `provider_id` across a move, so a copy found at the destination is
    /// known by the pre-act handle (Graph immutable ids); without it (Maildir paths, IMAP
    /// uids, EWS ids), [`Applied::to`] carries the new handle. The engine uses it to
    /// complete a placement an interrupted attempt moved but did not record.
    pub ids_survive_move: bool,
    /// The mailboxes are listed from local storage (a directory read), so enumerating them
    /// costs no server a call: a hunt then reads every mailbox of the tenant, not only those
    /// the log names (Maildir).
    pub local_directory: bool,
    /// The server limits the requests one mailbox may have in flight at once (Graph's 4 per
    /// mailbox, Gmail's per-user, EWS's per-mailbox concurrency): on a store several hosts
    /// share, one host at a time works on such a mailbox (a mailbox turn), so that together
    /// they keep to the limit each host keeps alone.
    pub mailbox_request_limit: bool,
}

/// What a scan looks for; every field given must match (all empty: every message).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScanFilter {
    /// Exact Message-IDs (any of them).
    pub message_ids: Vec<String>,
    /// Messages whose In-Reply-To or References name one of these Message-IDs exactly.
    pub replies_to: Vec<String>,
    /// Sender address contains this (case-insensitive).
    pub from: Option<String>,
    /// Subject contains this (case-insensitive).
    pub subject: Option<String>,
    /// Received (file time / internal date) at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Leave out the backend's own admin folders (soft-delete, hold, quarantine).
    pub skip_admin_folders: bool,
    /// Only the inbox: every backend asks for it alone (the Maildir and IMAP INBOX, Graph's
    /// and EWS's inbox folder, Gmail's `in:inbox`). A copy's folder is still what it shows,
    /// so a caller that must be sure checks it too.
    pub inbox_only: bool,
    /// Indicators (URLs, domains, attachment hashes and names), normalized. `scan` may use
    /// them only to narrow on the server ([`crate::forensics::Indicators::body_hints`]);
    /// [`Backend::scan_confirmed`] decides on each parsed message.
    pub indicators: crate::forensics::Indicators,
}

/// The classes of failure the engine reacts to differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The mailbox does not exist on this system: the item is not actionable.
    NoSuchMailbox,
    /// The copy vanished between locate and act: locate again.
    Gone,
    PermissionDenied,
    Throttled,
    Timeout,
    /// A transient failure: connection dropped, server busy.
    Unavailable,
    /// Credentials refused: stop the tenant's items rather than hammer the server.
    AuthFailed,
    OverQuota,
    /// The data on the server is not what we expect (foreign files, broken layout).
    Invalid,
    /// A bug: the engine asked for something the backend does not do.
    Internal,
}

/// A backend failure with what the engine needs to decide what to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendError {
    pub kind: ErrorKind,
    pub detail: String,
    /// A provider back-off hint (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl BackendError {
    /// The detail is cleaned here, once for every backend: it often carries a server's
    /// words or an address from a log, and it reaches the store, the terminal, the log file
    /// and JSON. Secrets and tokens a server echoes back are redacted first, then the text
    /// is escaped.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        let detail = crate::config::redact::redact(&detail.into());
        BackendError {
            kind,
            detail: crate::model::text::sanitize(&detail),
            retry_after: None,
        }
    }

    /// `apply` was asked for an action that is not an act on a copy (restore).
    pub fn not_an_act(action: Action) -> Self {
        BackendError::new(
            ErrorKind::Internal,
            format!("{action} is not applied to a copy (restore uses put_back)"),
        )
    }

    pub fn retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Throttled | ErrorKind::Timeout | ErrorKind::Unavailable | ErrorKind::Gone
        )
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for BackendError {}

/// What `check` found for one tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    pub ok: bool,
    pub detail: String,
}

/// One mail system. Every method is safe to call again after a crash: locate first, act on
/// what is found, never assume an earlier call's effect.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The config `kind` this backend serves.
    fn kind(&self) -> &'static str;

    /// Every mailbox the backend can see (for sweeps and `index`).
    async fn list_mailboxes(&self) -> Result<Vec<String>, BackendError>;

    /// Every copy of the message (exact Message-ID match) in the mailbox, in every folder,
    /// the backend's own admin folders included, so that copies already moved are recognised.
    async fn locate(
        &self,
        mailbox: &MailboxRef,
        message_id: &str,
    ) -> Result<Vec<Location>, BackendError>;

    /// What this mail system can do (see [`Capabilities`]).
    fn capabilities(&self) -> Capabilities;

    /// Where `action` puts this mailbox's copies. Asks the server when the answer depends on
    /// it (special-use folders, namespaces); a cache may save the trip but is never needed
    /// for the answer to be right.
    async fn destination(
        &self,
        mailbox: &MailboxRef,
        action: Action,
    ) -> Result<Destination, BackendError>;

    /// Where a located copy stands for `action`: to act on, already at the destination, or
    /// already out of the user's view. Right on a fresh backend, like `destination`.
    async fn standing(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Standing, BackendError>;

    /// The raw message, for the evidence copy taken before a hard-delete.
    async fn fetch_raw(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
    ) -> Result<Vec<u8>, BackendError>;

    /// Apply one remediation action to one copy.
    async fn apply(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        action: Action,
    ) -> Result<Applied, BackendError>;

    /// Put a copy back at `original` (folder, flags, date) from where `current` says it is,
    /// in `current_mailbox` (the quarantine mailbox for quarantined copies).
    async fn put_back(
        &self,
        mailbox: &MailboxRef,
        current_mailbox: &str,
        current: &Location,
        original: &Location,
    ) -> Result<Location, BackendError>;

    /// Header summaries of the messages in a mailbox that match `filter`.
    async fn scan(
        &self,
        mailbox: &MailboxRef,
        filter: &ScanFilter,
    ) -> Result<Vec<HeaderSummary>, BackendError>;

    /// Connection, permissions and layout, for `check`.
    async fn check(&self) -> CheckReport;

    /// Move one copy to `folder` of the same mailbox (levels split by `/`, created when
    /// missing), where the backend's own acts never look: processed phish reports leave the
    /// abuse mailbox's inbox this way. A copy already there is left alone. Every backend
    /// files (Maildir and IMAP folders, Graph and EWS nested folders, a Gmail label with
    /// INBOX removed); the default, for a backend that does not, says so.
    async fn file_to_folder(
        &self,
        mailbox: &MailboxRef,
        copy: &Location,
        folder: &str,
    ) -> Result<Location, BackendError> {
        let _ = (mailbox, copy);
        Err(BackendError::new(
            ErrorKind::Internal,
            format!(
                "the {} backend cannot file a message into {folder}: not supported",
                self.kind()
            ),
        ))
    }

    /// What [`Backend::scan`] finds, each copy confirmed on its parsed message when the
    /// filter has indicators: `scan` narrows with what the server can search (or reads
    /// everything), and a substring match alone never decides. Backends keep this default;
    /// one that can fetch many bodies in one round trip may do better.
    async fn scan_confirmed(
        &self,
        mailbox: &MailboxRef,
        filter: &ScanFilter,
    ) -> Result<Vec<HeaderSummary>, BackendError> {
        let candidates = self.scan(mailbox, filter).await?;
        if filter.indicators.is_empty() {
            return Ok(candidates);
        }
        let mut confirmed = Vec::new();
        for candidate in candidates {
            let raw = match self.fetch_raw(mailbox, &candidate.location).await {
                Ok(raw) => raw,
                // Moved or deleted since the scan: not a match any more.
                Err(e) if e.kind == ErrorKind::Gone => continue,
                Err(e) => return Err(e),
            };
            if filter.indicators.matches(&crate::forensics::extract(&raw)) {
                confirmed.push(candidate);
            }
        }
        Ok(confirmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_details_reach_nobody_raw() {
        let e = BackendError::new(ErrorKind::Invalid, "bob\u{1b}[2J@x: ok\nfake line\u{202e}");
        assert_eq!(e.detail, "bob\\x1b[2J@x: ok\\x0afake line\\u{202e}");
        // Escaping twice changes nothing, so callers that escaped a part already are fine.
        let again = BackendError::new(ErrorKind::Invalid, e.detail.clone());
        assert_eq!(again.detail, e.detail);
    }

    #[test]
    fn error_details_never_carry_an_echoed_token() {
        let e = BackendError::new(
            ErrorKind::AuthFailed,
            "401: invalid token 'Bearer eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.sig' for client_secret=abcd1234",
        );
        assert!(
            !e.detail.contains("eyJ0eXAi") && !e.detail.contains("abcd1234"),
            "{}",
            e.detail
        );
        assert!(e.detail.starts_with("401: invalid token"), "{}", e.detail);
    }
}
