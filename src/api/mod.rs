//! The API every client speaks: the CLI and the console ask for everything through [`Api`],
//! never through the engine or the store directly.
//!
//! Two implementations serve it: `Local` (embedded mode: this process opens the store and
//! runs the engine, for one analyst and the demo; roles are advisory) and `Remote` (a
//! `retractor serve` over its Unix socket: the service alone holds the store and the secrets,
//! and knows the caller by the socket peer's uid). The service itself answers each request
//! with a `Local` bound to the peer's identity, so both modes run the same code path:
//! request -> plan -> confirmation -> submission, as `engine::requests` defines it.
//!
//! Plans stay where they were made: a client gets a [`PlanView`] with an id and submits that
//! id with the confirmation it collected. A client can never hand in a plan of its own making,
//! so every rail the planner applied (caps, exclusions, the quarantine mailbox) still holds.

pub mod alerts;
pub mod indicators;
mod local;
pub mod remote;
pub mod reports;
pub mod types;

use std::pin::Pin;

use async_trait::async_trait;
use futures_util::Stream;

/// The engine's request types are the API's: plain serde data the engine alone interprets.
pub use crate::engine::{
    CancelRequest, EmptyOutcome, EmptyPlan, IndexRequest, RestoreRequest, RetractRequest,
    SweepRequest,
};
/// A policy decision as `submissions --wait` and `hunt --wait` answer with it.
pub use crate::store::DecisionRecord;
pub use alerts::{AlertReport, AlertSubmission, ApprovalAnswer};
pub use indicators::{IndicatorRemoval, IndicatorReport, IndicatorSubmission, IndicatorsRemoved};
pub use local::{FEED_POLL, JobFeeds, JobSource, Local, PlanBook};
pub use reports::{ReportKind, ReportRequest, ReportView};
pub use types::*;

/// A stream of one job's progress, ending after the job finished.
pub type JobEvents = Pin<Box<dyn Stream<Item = Result<JobProgress, ApiError>> + Send>>;

/// Everything a client may ask. Every method is one `/v1/` endpoint of the service (named on
/// each), so the socket API and this trait never drift apart.
#[async_trait]
pub trait Api: Send + Sync {
    /// Who the caller is, their role, and whether roles are enforced (service) or advisory.
    /// `GET /v1/whoami`
    async fn whoami(&self) -> Result<Identity, ApiError>;

    /// Search the message log. `GET /v1/messages?q=&limit=&offset=`
    async fn search(&self, req: &SearchRequest) -> Result<SearchPage, ApiError>;

    /// One logged message by REF (a log id or a Message-ID) with its deliveries and
    /// conversation. `GET /v1/messages/{ref}`
    async fn message(&self, reference: &str) -> Result<MessageView, ApiError>;

    /// The header lines of a message's copy (`show --headers`, the console's Headers tab).
    /// `GET /v1/messages/{ref}/headers`
    async fn headers(&self, reference: &str) -> Result<HeadersView, ApiError>;

    /// The evidence of a message (headers, route, verdicts, URLs, attachments) from the first
    /// copy a backend or the evidence store can read. `GET /v1/messages/{ref}/evidence`
    async fn evidence(&self, reference: &str) -> Result<EvidenceView, ApiError>;

    /// A copy's raw bytes and evidence for an evidence package, recorded in the audit first
    /// (chain of custody). `POST /v1/evidence/exports`
    async fn export_evidence(&self, req: &ExportRequest) -> Result<EvidenceExport, ApiError>;

    /// Plan a retract, restore or sweep; changes nothing. `POST /v1/plans`
    async fn plan(&self, req: &PlanRequest) -> Result<PlanView, ApiError>;

    /// Submit a plan made earlier by this caller, with the answer to its confirmation (the
    /// engine checks it: the hard-delete word is checked there, once). `wait`: the job runs
    /// now, here (embedded) or in the service's worker, and the client watches it.
    /// `POST /v1/plans/{id}/submit`
    async fn submit(&self, req: &Submission) -> Result<Submitted, ApiError>;

    /// Cancel a job's queued items. `POST /v1/jobs/{id}/cancel`
    async fn cancel(&self, req: &CancelRequest) -> Result<Cancelled, ApiError>;

    /// The newest jobs. `GET /v1/jobs?limit=`
    async fn jobs(&self, limit: usize) -> Result<Vec<crate::model::Job>, ApiError>;

    /// One job with its items. `GET /v1/jobs/{id}`
    async fn job(&self, id: i64) -> Result<JobDetail, ApiError>;

    /// A job's progress as it happens, until it has finished (the first event is its state
    /// now). Streamed by the service (newline-delimited JSON), never polled by the client.
    /// `GET /v1/jobs/{id}/events`
    async fn watch(&self, id: i64) -> Result<JobEvents, ApiError>;

    /// Audit records. `GET /v1/audit?since=&until=&actor=&job=&limit=`
    async fn audit(&self, req: &AuditQuery) -> Result<Vec<crate::store::AuditEntry>, ApiError>;

    /// Verify the audit trail: the hash chain, the records' signatures and the witness (the
    /// service's own, or the key and witness the caller brings). `POST /v1/audit/verify`
    async fn verify_audit(
        &self,
        req: &crate::trust::verify::VerifyRequest,
    ) -> Result<crate::trust::verify::AnchoredVerdict, ApiError>;

    /// Tenants as configured (no secrets). `GET /v1/tenants`
    async fn tenants(&self) -> Result<Vec<TenantView>, ApiError>;

    /// The store's state and the modes of its files (the first lines of `check`).
    /// `GET /v1/store`
    async fn store_status(&self) -> Result<StoreStatus, ApiError>;

    /// Test each tenant's connection and permissions. `POST /v1/check`
    async fn check(&self, tenant: Option<&str>) -> Result<Vec<CheckView>, ApiError>;

    /// Load a message log (the file's bytes; the format as `ingest --format` names it).
    /// `POST /v1/ingest?format=&name=`
    async fn ingest(&self, req: &IngestRequest) -> Result<IngestReport, ApiError>;

    /// Read a tenant's mailboxes into the log. `POST /v1/index`
    async fn index(&self, req: &IndexRequest) -> Result<IngestReport, ApiError>;

    /// Store alerts (JSON lines): every line checked first, the good ones stored together,
    /// the bad ones named by line. `POST /v1/alerts`
    async fn submit_alerts(&self, req: &AlertSubmission) -> Result<AlertReport, ApiError>;

    /// Approval requests waiting (expired ones are marked so first). `GET /v1/approvals`
    async fn pending(&self) -> Result<Vec<crate::store::ApprovalRecord>, ApiError>;

    /// Approve or reject a request as the caller (never the requester).
    /// `POST /v1/approvals/{id}/approve` / `POST /v1/approvals/{id}/reject`
    async fn answer_approval(
        &self,
        req: &ApprovalAnswer,
    ) -> Result<crate::store::ApprovalRecord, ApiError>;

    /// What each alert of the lines would do now, rails included; acts on nothing.
    /// `POST /v1/policy/test`
    async fn policy_test(
        &self,
        req: &AlertSubmission,
    ) -> Result<crate::policy::act::RehearsalReport, ApiError>;

    /// What the policies did since a time. `GET /v1/policy/report?since=`
    async fn policy_report(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::policy::report::PolicyReport, ApiError>;

    /// Read the abuse mailbox (`[submissions]`) now: each new phish report's original raised
    /// as an alert, the report recorded and moved. `POST /v1/submissions`
    async fn process_submissions(
        &self,
        req: &crate::submissions::SubmissionsRequest,
    ) -> Result<crate::submissions::SubmissionsRun, ApiError>;
    /// Report a logged message as a false negative or false positive: its disposition is set,
    /// the report audited (`report`) and fed to the policies as an alert (source `analyst`,
    /// id `report:<log id>`). `POST /v1/reports`
    async fn report(&self, req: &ReportRequest) -> Result<ReportView, ApiError>;
    /// Add indicators (a feed or one), parsed whole and stored together or not at all.
    /// `POST /v1/indicators`
    async fn add_indicators(&self, req: &IndicatorSubmission) -> Result<IndicatorReport, ApiError>;

    /// Every stored indicator, expired ones included. `GET /v1/indicators`
    async fn indicators(&self) -> Result<Vec<crate::model::IndicatorRecord>, ApiError>;

    /// Remove one indicator or all. `POST /v1/indicators/remove`
    async fn remove_indicators(
        &self,
        req: &IndicatorRemoval,
    ) -> Result<IndicatorsRemoved, ApiError>;

    /// Hunt the log for the live indicators now; matches go to the policies as alerts.
    /// `POST /v1/hunts`
    async fn hunt(
        &self,
        req: &crate::policy::hunt::HuntRequest,
    ) -> Result<crate::policy::hunt::HuntReport, ApiError>;
}
