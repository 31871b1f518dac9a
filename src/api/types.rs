//! The data the API carries: requests and answers as plain serde types, the same in embedded
//! mode and on the socket. The CLI prints its tables and its `--json` from these, so the two
//! modes print the same thing.
//!
//! (Draft by the lead: the helper implementing `Local` may add fields and types the CLI
//! needs; keep every type serde, and keep the trait's method signatures.)

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::{EmptyPlan, RestoreRequest, RetractRequest, SweepRequest};
use crate::model::{Action, ItemOutcome, Job, JobItem, JobKind, Role};

/// What went wrong, in the classes the CLI's exit codes are made of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub kind: ApiErrorKind,
    /// Sanitised, ready for a terminal.
    pub message: String,
}

/// The class of an [`ApiError`]; each maps to one CONTRACT exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiErrorKind {
    /// Bad usage or input, a REF that names nothing (exit 2).
    BadInput,
    /// The role does not allow it, or a rail refused it (exit 4).
    Refused,
    /// Anything else: store, backend, the service unreachable (exit 1).
    Failed,
}

impl ApiError {
    /// The CONTRACT exit code of this error.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            ApiErrorKind::BadInput => crate::cli::exit::BAD_INPUT,
            ApiErrorKind::Refused => crate::cli::exit::REFUSED,
            ApiErrorKind::Failed => crate::cli::exit::ERROR,
        }
    }
}

/// Whether roles are enforced by a service or only advisory (embedded mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Authority {
    /// A `retractor serve` knows the caller by the socket peer's uid and enforces roles.
    Service,
    /// This process opened the store itself: its config decides the role.
    Advisory,
}

/// The caller as the API knows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub login: String,
    pub uid: Option<u32>,
    pub role: Role,
    /// The SSH client address, from the login record (utmp, loginuid) where the OS has one.
    pub ssh_from: Option<String>,
    /// `ssh_from` came from the client's own environment, not from a login record.
    pub ssh_from_reported_by_client: bool,
    pub authority: Authority,
}

/// A log search.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchRequest {
    /// The query language of the CONTRACT.
    pub query: String,
    pub limit: usize,
    #[serde(default)]
    pub offset: usize,
    /// Read the page from a known row instead (the console's keyset paging); `offset` is
    /// then ignored.
    #[serde(default)]
    pub anchor: Option<crate::store::PageAnchor>,
    /// Leave out the count of all matches (the console counts once per query).
    #[serde(default)]
    pub skip_count: bool,
}

/// One page of search results, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchPage {
    pub messages: Vec<crate::model::LoggedMessage>,
    /// How many match in all (`None` when the request skipped the count).
    pub total: Option<u64>,
    /// Why nothing matched (a first page with no rows): the term that matches no message,
    /// or the time window and filters that leave out what the words found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_because: Option<String>,
}

/// A logged message with its deliveries and conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageView {
    pub message: crate::model::LoggedMessage,
    pub deliveries: Vec<crate::model::Delivery>,
    pub conversation: Vec<ConversationLine>,
}

/// A message one or more generations from the root of a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationLine {
    pub depth: u32,
    pub message: crate::model::LoggedMessage,
}

/// The header lines of one copy of a message and which copy was read: the recipient's
/// (`mailbox`), the quarantine's or the evidence store's, as `evidence` chooses it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadersView {
    /// Where the copy read was; `None` when no copy could be read.
    #[serde(default)]
    pub source: Option<crate::engine::CopySource>,
    #[serde(default)]
    pub headers: Vec<HeaderField>,
    /// Why no copy could be read, when none was (raw: clients sanitise it).
    #[serde(default)]
    pub problem: Option<String>,
}

impl HeadersView {
    /// The view of what [`crate::engine::Engine::message_headers`] read. No readable copy
    /// is not an error of the request (the message is still shown): `problem` says why;
    /// any other error stays one.
    pub fn of(
        read: Result<
            (Vec<(String, String)>, crate::engine::CopySource),
            crate::engine::EngineError,
        >,
    ) -> Result<HeadersView, crate::engine::EngineError> {
        match read {
            Ok((fields, source)) => Ok(HeadersView {
                source: Some(source),
                headers: fields
                    .into_iter()
                    .map(|(name, value)| HeaderField { name, value })
                    .collect(),
                problem: None,
            }),
            Err(crate::engine::EngineError::Backend(why)) => Ok(HeadersView {
                problem: Some(why),
                ..HeadersView::default()
            }),
            Err(e) => Err(e),
        }
    }
}

/// One header line (name, value), raw text: clients sanitise what they show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderField {
    pub name: String,
    pub value: String,
}

/// What to plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PlanRequest {
    Retract(RetractRequest),
    Restore(RestoreRequest),
    Sweep(SweepRequest),
}

/// A plan, as a client sees it before confirming.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanView {
    /// The id to submit it by; only its maker may, and only for a while.
    pub id: String,
    pub kind: JobKind,
    pub action: Action,
    pub target: String,
    pub reason: Option<String>,
    pub items: Vec<PlannedItem>,
    pub by_depth: Vec<crate::engine::DepthCount>,
    pub notes: Vec<String>,
    /// Items that will be acted on (the rest were settled when planned).
    pub actionable: usize,
    /// Items that failed at planning time (a mailbox a sweep could not search).
    pub failed: usize,
    /// What must be asked before submitting.
    pub confirmation: ConfirmationView,
    /// Why the plan acts on nothing, if it does not.
    pub empty: Option<EmptyPlan>,
}

/// The question a plan needs answered, and the word to type when a yes is not enough
/// (`engine::Confirmation` on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmationView {
    pub question: String,
    pub word: Option<String>,
    /// What the user is told to type (`engine::Confirmation::prompt`).
    pub prompt: String,
}

/// One planned item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedItem {
    pub tenant: String,
    pub mailbox: String,
    pub message_id: String,
    pub depth: u32,
    pub planned_folder: Option<String>,
    pub on_hold: bool,
    /// The pull this item restores (restore plans).
    #[serde(default)]
    pub restores_item: Option<i64>,
    /// Settled when planned (an external recipient, the quarantine mailbox): how.
    pub result: Option<ItemOutcome>,
    /// ... and why.
    pub note: Option<String>,
    /// An earlier job already put this copy where the plan's action does: not to do (the
    /// worker still looks again when the copy stayed in its mailbox).
    #[serde(default)]
    pub already_there: bool,
}

/// Submit a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    pub plan: String,
    /// What the user typed at the confirmation (or, for `--yes`, the word the plan's
    /// confirmation asks for): the engine checks it.
    pub answer: String,
    /// Run the job now and let the client watch it (`--wait`).
    pub wait: bool,
}

/// A submitted plan: a job, or (four-eyes, `[approvals]`) a request waiting for a second
/// person's approval, which writes the job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Submitted {
    /// The job written (`None`: the plan waits for approval).
    pub job: Option<Job>,
    /// The approval request the plan waits in, when `[approvals]` holds it.
    #[serde(default)]
    pub approval: Option<crate::store::ApprovalRecord>,
    /// Which `[approvals]` setting holds it.
    #[serde(default)]
    pub held_because: Option<String>,
    pub notes: Vec<String>,
    /// No engine is running to pick the job up (embedded mode without `--wait`).
    pub no_engine_running: bool,
}

/// A cancellation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancelled {
    pub job: i64,
    pub cancelled: u64,
}

/// A job with its items.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobDetail {
    pub job: Job,
    pub items: Vec<JobItem>,
}

/// One progress event of a watched job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobProgress {
    pub job: Job,
    /// The job has finished: this is the last event.
    pub finished: bool,
}

/// Which audit records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub actor: Option<String>,
    /// Records whose action starts with this text.
    #[serde(default)]
    pub action: Option<String>,
    /// Records whose target contains this text.
    #[serde(default)]
    pub target: Option<String>,
    pub job: Option<i64>,
    pub limit: Option<usize>,
}

/// A tenant as configured, without secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantView {
    pub name: String,
    pub kind: String,
    pub domains: Vec<String>,
    pub quarantine_mailbox: Option<String>,
    pub holds: Vec<String>,
}

/// What `check` found for one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckView {
    pub tenant: String,
    /// The backend kind (`maildir`, `imap`, `graph`).
    pub kind: String,
    pub ok: bool,
    pub detail: String,
    pub warnings: Vec<String>,
}

/// A log to load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestRequest {
    pub format: String,
    /// The file's name as the user gave it (for error messages and the audit).
    pub name: String,
    /// Log every record under this tenant (`ingest --tenant`).
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(with = "crate::api::types::base64_bytes")]
    pub body: Vec<u8>,
}

/// What a load did (`ingest::IngestReport` on the wire, and the mailboxes `index` could not
/// read).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestReport {
    pub records: u64,
    pub inserted: u64,
    pub merged: u64,
    /// The first lines skipped, with why; `rejected_total` counts them all.
    pub rejected: Vec<LineProblem>,
    pub rejected_total: u64,
    pub ignored: u64,
    pub incomplete: u64,
    /// Entries left out because the message did not reach that mailbox, by status word.
    pub not_delivered: std::collections::BTreeMap<String, u64>,
    pub unresolved_handoffs: Vec<LineProblem>,
    pub unresolved_handoffs_total: u64,
    /// `address: why` for each mailbox `index` could not read.
    #[serde(default)]
    pub not_indexed: Vec<String>,
}

impl From<crate::ingest::IngestReport> for IngestReport {
    fn from(r: crate::ingest::IngestReport) -> Self {
        let lines = |list: Vec<crate::ingest::Rejected>| {
            list.into_iter()
                .map(|x| LineProblem {
                    line: x.line,
                    reason: x.reason,
                })
                .collect()
        };
        IngestReport {
            records: r.records,
            inserted: r.inserted,
            merged: r.merged,
            rejected: lines(r.rejected),
            rejected_total: r.rejected_total,
            ignored: r.ignored,
            incomplete: r.incomplete,
            not_delivered: r.not_delivered,
            unresolved_handoffs: lines(r.unresolved_handoffs),
            unresolved_handoffs_total: r.unresolved_handoffs_total,
            not_indexed: Vec::new(),
        }
    }
}

/// The store as `check` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStatus {
    /// Where it is (the service's path in service mode).
    pub path: String,
    /// How many messages are logged, or why the store could not be read.
    pub messages: Result<u64, String>,
    /// Store files or directories open to other users, with the fix.
    pub warnings: Vec<String>,
    /// Engines (workers, consoles, the service) alive on this store now; `None` when it
    /// could not be read (or an older service did not say).
    #[serde(default)]
    pub live_workers: Option<u64>,
}

/// A line of an input that was not taken, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineProblem {
    pub line: u64,
    pub reason: String,
}

/// Bytes as base64 in JSON.
pub mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// A message's evidence and the copy it was read from (`evidence REF`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceView {
    pub source: crate::engine::CopySource,
    pub evidence: crate::forensics::Evidence,
}

/// What `evidence REF --export` asks for: where the package goes, as the caller names it
/// (recorded in the audit; the client writes the files).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRequest {
    pub reference: String,
    pub destination: String,
}

/// An exported copy: its evidence, its raw bytes, and the audit's who and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceExport {
    pub view: EvidenceView,
    #[serde(with = "crate::api::types::base64_bytes")]
    pub raw: Vec<u8>,
    pub exported_by: String,
    pub exported_at: chrono::DateTime<chrono::Utc>,
}
