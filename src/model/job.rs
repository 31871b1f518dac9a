use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Action;

/// What started a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Retract,
    Restore,
    Sweep,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Retract => "retract",
            JobKind::Restore => "restore",
            JobKind::Sweep => "sweep",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "retract" => Some(JobKind::Retract),
            "restore" => Some(JobKind::Restore),
            "sweep" => Some(JobKind::Sweep),
            _ => None,
        }
    }
}

/// A job's overall state; derived from its items except for `cancelled`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    /// Every item ended well (remediated, already there, not found or not actionable).
    Done,
    /// Some items failed.
    Partial,
    /// Every actionable item failed.
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Partial => "partial",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(JobStatus::Queued),
            "running" => Some(JobStatus::Running),
            "done" => Some(JobStatus::Done),
            "partial" => Some(JobStatus::Partial),
            "failed" => Some(JobStatus::Failed),
            "cancelled" => Some(JobStatus::Cancelled),
            _ => None,
        }
    }

    pub fn is_finished(self) -> bool {
        !matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

/// Item lifecycle: `queued -> claimed -> done | failed` (DESIGN.md), plus `cancelled`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemState {
    Queued,
    Claimed,
    Done,
    Failed,
    Cancelled,
}

impl ItemState {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Queued => "queued",
            ItemState::Claimed => "claimed",
            ItemState::Done => "done",
            ItemState::Failed => "failed",
            ItemState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(ItemState::Queued),
            "claimed" => Some(ItemState::Claimed),
            "done" => Some(ItemState::Done),
            "failed" => Some(ItemState::Failed),
            "cancelled" => Some(ItemState::Cancelled),
            _ => None,
        }
    }
}

/// Why an item failed; the string form is what `error` starts with in JSON output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailReason {
    PermissionDenied,
    MailboxOnHold,
    ThrottledOut,
    Timeout,
    Unavailable,
    AuthFailed,
    OverQuota,
    NotRestorable,
    /// What the mail system holds or answered is not something retractor can act on safely:
    /// an unsafe Maildir layout (a link or FIFO where a folder or message belongs), a name
    /// too long for the filesystem, a malformed answer. Retrying cannot help.
    Invalid,
    Internal,
}

impl FailReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::PermissionDenied => "permission-denied",
            FailReason::MailboxOnHold => "mailbox-on-hold",
            FailReason::ThrottledOut => "throttled-out",
            FailReason::Timeout => "timeout",
            FailReason::Unavailable => "unavailable",
            FailReason::AuthFailed => "auth-failed",
            FailReason::OverQuota => "over-quota",
            FailReason::NotRestorable => "not-restorable",
            FailReason::Invalid => "invalid",
            FailReason::Internal => "internal",
        }
    }

    /// Whether trying the same item again later can help.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            FailReason::ThrottledOut | FailReason::Timeout | FailReason::Unavailable
        )
    }
}

/// How a finished item ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemOutcome {
    Remediated,
    AlreadyInDestination,
    NotFound,
    NotActionable,
    Restored,
    Cancelled,
    Failed,
}

impl ItemOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemOutcome::Remediated => "remediated",
            ItemOutcome::AlreadyInDestination => "already-in-destination",
            ItemOutcome::NotFound => "not-found",
            ItemOutcome::NotActionable => "not-actionable",
            ItemOutcome::Restored => "restored",
            ItemOutcome::Cancelled => "cancelled",
            ItemOutcome::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "remediated" => Some(ItemOutcome::Remediated),
            "already-in-destination" => Some(ItemOutcome::AlreadyInDestination),
            "not-found" => Some(ItemOutcome::NotFound),
            "not-actionable" => Some(ItemOutcome::NotActionable),
            "restored" => Some(ItemOutcome::Restored),
            "cancelled" => Some(ItemOutcome::Cancelled),
            "failed" => Some(ItemOutcome::Failed),
            _ => None,
        }
    }

    /// Counted as "remediated" in job totals (the copy is where the job wanted it).
    pub fn is_success(self) -> bool {
        matches!(
            self,
            ItemOutcome::Remediated | ItemOutcome::AlreadyInDestination | ItemOutcome::Restored
        )
    }
}

/// Where one copy of a message is, precisely enough to put it back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The folder's display name (`INBOX`, `Junk`, ...).
    pub folder: String,
    /// The provider's handle for the copy, opaque to everything but its backend, which
    /// parses it in one place into its typed handle (a Maildir path relative to the mailbox,
    /// an IMAP `uidvalidity:uid`, a Graph immutable id).
    pub provider_id: String,
    /// Whether the user had read it.
    pub seen: bool,
    /// All flags as the provider spells them (Maildir info letters, IMAP flags); never a
    /// carrier for anything else.
    pub flags: String,
    /// The file time or internal date, kept across moves.
    pub internal_date: Option<DateTime<Utc>>,
    /// The provider's id of `folder`, for systems that address folders by id (Graph): the
    /// exact folder restore puts the copy back in. Absent in placements stored before it
    /// existed (Graph kept it in `flags` as `folder=<id>` then; its backend still reads that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<String>,
    /// Every place the copy shows in, for systems with labels (Gmail: one copy in several
    /// places at once). Systems with folders leave it empty: `folder` says it all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

/// Where a copy was before the engine acted and where the act put it (`None`: gone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The mailbox that held the copy before the act.
    #[serde(default)]
    pub mailbox: String,
    pub from: Location,
    /// The mailbox now holding the copy when the act moved it out (the quarantine mailbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_mailbox: Option<String>,
    pub to: Option<Location>,
}

/// Totals over a job's items.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCounts {
    pub matched: u64,
    pub remediated: u64,
    pub failed: u64,
    pub skipped: u64,
    pub queued: u64,
    pub claimed: u64,
}

/// A job as the store holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub action: Action,
    pub status: JobStatus,
    pub initiated_by: String,
    pub reason: Option<String>,
    /// For restore jobs, the job whose copies are put back.
    pub restores_job: Option<i64>,
    pub counts: JobCounts,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Throttling or back-off the engine is waiting on, for progress views.
    pub throttle_note: Option<String>,
}

/// One (mailbox, message) of a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobItem {
    pub id: i64,
    pub job_id: i64,
    pub tenant: String,
    pub mailbox: String,
    pub message_id: String,
    pub depth: u32,
    /// The log entry of this message, when the log has it.
    pub log_message: Option<i64>,
    pub state: ItemState,
    pub outcome: Option<ItemOutcome>,
    pub error: Option<String>,
    pub attempts: u32,
    /// For restore items, the item whose copies are put back.
    pub restores_item: Option<i64>,
    /// Where each copy was and went (recorded before the act, completed after it).
    pub placements: Vec<Placement>,
    /// The folder the planner saw the copy in, when the log knew it.
    pub planned_folder: Option<String>,
    pub on_hold: bool,
}

impl JobItem {
    /// Where this item's copies were before its act: for a retraction, where the recipient
    /// had them; for a restore, where the retraction had put them (`Junk`), since a restore
    /// item carries the placements of the item it undoes and reads them backwards.
    pub fn from_folder(&self) -> Option<String> {
        if self.restores_item.is_some() {
            self.moved_to_folders()
        } else {
            self.original_folders()
        }
    }

    /// Where this item's copies went: for a retraction, where it put them; for a restore,
    /// back where the recipient had them (`INBOX`).
    pub fn to_folder(&self) -> Option<String> {
        if self.restores_item.is_some() {
            // Only the copies the retraction moved (and so a restore puts back).
            let folders: Vec<&str> = self
                .placements
                .iter()
                .filter(|p| p.to.is_some())
                .map(|p| p.from.folder.as_str())
                .collect();
            (!folders.is_empty()).then(|| folders.join(","))
        } else {
            self.moved_to_folders()
        }
    }

    fn original_folders(&self) -> Option<String> {
        let folders: Vec<&str> = self
            .placements
            .iter()
            .map(|p| p.from.folder.as_str())
            .collect();
        (!folders.is_empty()).then(|| folders.join(","))
    }

    fn moved_to_folders(&self) -> Option<String> {
        let folders: Vec<&str> = self
            .placements
            .iter()
            .filter_map(|p| p.to.as_ref().map(|t| t.folder.as_str()))
            .collect();
        (!folders.is_empty()).then(|| folders.join(","))
    }
}
