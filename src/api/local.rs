//! [`Local`]: the [`Api`] served by an engine in this process, for one caller.
//!
//! Embedded mode (the CLI with a local store) makes one for the process's own user; the
//! service makes one per connection with the socket peer's identity, over one shared engine
//! and one shared [`PlanBook`]. Either way the request goes through the engine's request
//! types, so the rules (roles, caps, the confirmation word, the empty-plan rule) are the
//! engine's and run where the store is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::alerts::{AlertReport, AlertSubmission, ApprovalAnswer};
use super::reports::{ReportRequest, ReportView};
use super::types::*;
use super::{Api, JobEvents};
use crate::engine::{
    Actor, CancelRequest, Confirmation, Engine, EngineError, IndexRequest, LogLoad, Plan,
    RunOptions, resolve_ref,
};
use crate::ingest::{IngestError, TenantResolver, jsonl, m365_trace, postfix};
use crate::model::text::sanitize;
use crate::policy::act::RehearsalReport;
use crate::policy::report::PolicyReport;
use crate::store::ApprovalRecord;
use crate::store::{AuditCheckpoint, AuditEntry, AuditFilter, Store, StoreError};
use crate::trust::KeyRing;
use crate::trust::verify::{
    AnchoredVerdict, Anchors, AuditLookup, ChainVerdict, VerifyError, VerifyRequest,
};
use chrono::{DateTime, Utc};

/// How long a plan may be submitted after it was made: long enough to read it and answer,
/// short enough that the mailboxes have not moved on much since.
pub const PLAN_TTL: Duration = Duration::from_secs(15 * 60);

/// How many plans a book keeps at once; the oldest goes first (a console re-plans often).
pub const PLAN_BOOK_CAPACITY: usize = 256;

/// How deep `message` follows a conversation (clients show less when asked).
pub const CONVERSATION_DEPTH: u32 = 10;

/// The mailboxes `index` reads are not a file: their audit record names the tenant.
const INDEX_FORMAT: &str = "mailboxes";

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        EngineError::Store(e).into()
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let (kind, message) = match e {
            EngineError::Refused(m) => (ApiErrorKind::Refused, format!("refused: {m}")),
            EngineError::BadInput(m) => (ApiErrorKind::BadInput, m),
            EngineError::Store(
                StoreError::NotFound(m) | StoreError::Ambiguous(m) | StoreError::Invalid(m),
            ) => (ApiErrorKind::BadInput, m),
            EngineError::Store(other) => (ApiErrorKind::Failed, other.to_string()),
            EngineError::Backend(m) => (ApiErrorKind::Failed, m),
        };
        ApiError { kind, message }
    }
}

impl ApiError {
    /// Bad usage or input (exit 2).
    pub fn bad_input(message: impl Into<String>) -> ApiError {
        ApiError {
            kind: ApiErrorKind::BadInput,
            message: message.into(),
        }
    }

    /// Refused (exit 4); the message says why, after `refused: `.
    pub fn refused(why: impl std::fmt::Display) -> ApiError {
        ApiError {
            kind: ApiErrorKind::Refused,
            message: format!("refused: {why}"),
        }
    }
}

/// A plan waiting for its maker's confirmation.
struct Booked {
    owner: String,
    made: Instant,
    plan: Plan,
    confirmation: Confirmation,
    /// The request the plan was made from (the engine's JSON of it), kept for an approval
    /// request: approving plans it again.
    asked: serde_json::Value,
}

/// An engine whose heartbeat is older than this is not running (heartbeats come every few
/// seconds).
const ENGINE_ALIVE_WITHIN_MS: i64 = 10_000;

/// The plans made and not yet submitted, by id. Shared by every [`Local`] of a process (the
/// service's connections), so a plan made on one request can be submitted on the next.
pub struct PlanBook {
    plans: Mutex<HashMap<String, Booked>>,
    ttl: Duration,
    capacity: usize,
}

impl Default for PlanBook {
    fn default() -> Self {
        PlanBook::new(PLAN_TTL, PLAN_BOOK_CAPACITY)
    }
}

impl PlanBook {
    /// A book whose plans last `ttl` and that holds at most `capacity` of them.
    pub fn new(ttl: Duration, capacity: usize) -> PlanBook {
        PlanBook {
            plans: Mutex::new(HashMap::new()),
            ttl,
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Booked>> {
        // A panic while holding the lock leaves only whole entries behind: keep going.
        self.plans.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep `plan` for `owner`; the id to submit it by (random: ids are not guessable).
    #[cfg(test)]
    fn keep(&self, owner: &str, plan: Plan, confirmation: Confirmation) -> String {
        self.keep_asked(owner, plan, confirmation, serde_json::Value::Null)
    }

    /// [`PlanBook::keep`], with the request the plan was made from.
    fn keep_asked(
        &self,
        owner: &str,
        plan: Plan,
        confirmation: Confirmation,
        asked: serde_json::Value,
    ) -> String {
        let id = hex::encode(rand::random::<[u8; 16]>());
        let mut plans = self.lock();
        let ttl = self.ttl;
        plans.retain(|_, b| b.made.elapsed() < ttl);
        while plans.len() >= self.capacity {
            let oldest = plans
                .iter()
                .min_by_key(|(_, b)| b.made)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => plans.remove(&id),
                None => break,
            };
        }
        plans.insert(
            id.clone(),
            Booked {
                owner: owner.to_string(),
                made: Instant::now(),
                plan,
                confirmation,
                asked,
            },
        );
        id
    }

    /// Take `owner`'s plan `id` if `answer` confirms it. A wrong answer or another caller
    /// leaves the plan where it is (it is still its maker's to submit).
    #[cfg(test)]
    fn take(&self, id: &str, owner: &str, answer: &str) -> Result<Plan, ApiError> {
        self.take_asked(id, owner, answer).map(|(plan, _)| plan)
    }

    /// [`PlanBook::take`], with the request the plan was made from.
    fn take_asked(
        &self,
        id: &str,
        owner: &str,
        answer: &str,
    ) -> Result<(Plan, serde_json::Value), ApiError> {
        let mut plans = self.lock();
        let unknown = || {
            ApiError::bad_input(format!(
                "no plan '{}': it expired or was never made; plan again",
                sanitize(id)
            ))
        };
        let booked = plans.get(id).ok_or_else(unknown)?;
        if booked.made.elapsed() >= self.ttl {
            plans.remove(id);
            return Err(unknown());
        }
        if booked.owner != owner {
            return Err(ApiError::refused(format!(
                "plan '{}' was made by another user; only its maker may submit it",
                sanitize(id)
            )));
        }
        if !booked.confirmation.accepts(answer) {
            return Err(ApiError::refused("not confirmed"));
        }
        plans
            .remove(id)
            .map(|b| (b.plan, b.asked))
            .ok_or_else(unknown)
    }
}

/// The inner request a plan was made from, as the policy decider stores its own: what
/// approving a held plan re-plans.
fn asked_json<T: serde::Serialize>(request: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(request).map_err(|e| ApiError {
        kind: ApiErrorKind::Failed,
        message: format!("the request could not be kept for approval: {e}"),
    })
}

/// The API served by an engine in this process, for one caller.
pub struct Local {
    engine: Arc<Engine>,
    caller: Identity,
    plans: Arc<PlanBook>,
    /// Where the last intact verification with the config's anchors ended: the next one
    /// continues from there (the console verifies on every visit to the Audit view).
    audit_checkpoint: Arc<Mutex<Option<AuditCheckpoint>>>,
    /// `submit` with `wait` runs the job in this process (embedded mode); the service's own
    /// worker runs what its callers submit.
    runs_jobs: bool,
    /// The progress feeds `watch` joins (the service shares one set among its connections,
    /// so every watcher of a job sees the same feed).
    feeds: Arc<JobFeeds>,
}

/// The store as `trust::verify` reads it, continuing the hash chain from a checkpoint.
struct FromCheckpoint<'a> {
    store: &'a Store,
    checkpoint: &'a Mutex<Option<AuditCheckpoint>>,
}

impl AuditLookup for FromCheckpoint<'_> {
    fn chain(&self, key: Option<&KeyRing>) -> Result<ChainVerdict, String> {
        let mut checkpoint = self.checkpoint.lock().unwrap_or_else(|e| e.into_inner());
        let progress = self
            .store
            .verify_audit_with(checkpoint.as_ref(), key)
            .map_err(|e| e.to_string())?;
        // A broken chain is verified from the start next time: nothing after it is trusted.
        *checkpoint = progress.checkpoint;
        Ok(progress.verdict.into())
    }

    fn hash_of(&self, seq: i64) -> Result<Option<String>, String> {
        self.store.audit_hash(seq).map_err(|e| e.to_string())
    }
}

impl Local {
    /// The logged message REF names and the first copy of it that can be read.
    async fn evidence_copy(
        &self,
        reference: &str,
    ) -> Result<(crate::model::LoggedMessage, crate::engine::EvidenceCopy), ApiError> {
        let store = self.engine.store();
        let message = resolve_ref(store, reference)?;
        let tenant = self.engine.config().tenant(&message.tenant);
        let detail =
            store.message_detail(message.id, &|mb| tenant.is_some_and(|t| t.on_hold(mb)))?;
        let copy = self.engine.evidence_copy(&detail).await?;
        Ok((message, copy))
    }

    /// `engine` (shared) acting for `caller`, with a book of plans of its own.
    pub fn new(engine: Arc<Engine>, caller: Identity) -> Local {
        Local::with_book(engine, caller, Arc::new(PlanBook::default()))
    }

    /// `engine` acting for `caller`, keeping plans in `plans` (the service shares one book
    /// among its connections).
    pub fn with_book(engine: Arc<Engine>, caller: Identity, plans: Arc<PlanBook>) -> Local {
        let actor = Actor {
            login: caller.login.clone(),
            ssh_from: caller.ssh_from.clone(),
            role: caller.role,
        };
        Local {
            engine: Arc::new(engine.acting_for(actor)),
            caller,
            plans,
            audit_checkpoint: Arc::default(),
            runs_jobs: true,
            feeds: Arc::default(),
        }
    }

    /// The `Api` of `retractor serve` for one caller: plans kept in the service's one book
    /// (a plan made in one request is submitted in the next), and jobs left to the service's
    /// worker, which is always running.
    pub fn served(engine: Arc<Engine>, caller: Identity, plans: Arc<PlanBook>) -> Local {
        Local {
            runs_jobs: false,
            ..Local::with_book(engine, caller, plans)
        }
    }

    /// The same, watching jobs through `feeds` (shared by every connection of the service).
    pub fn sharing_feeds(self, feeds: Arc<JobFeeds>) -> Local {
        Local { feeds, ..self }
    }

    /// The caller of embedded mode: this process's user, their role from the config the
    /// process opened (advisory: nothing stops them from editing it).
    pub fn embedded_identity(actor: &Actor) -> Identity {
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        Identity {
            login: actor.login.clone(),
            uid: Some(uid),
            role: actor.role,
            ssh_from: actor.ssh_from.clone(),
            ssh_from_reported_by_client: actor.ssh_from.is_some(),
            authority: Authority::Advisory,
        }
    }

    /// The engine acting for this caller (the console's executor and the tests use it).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    fn view(&self, plan: Plan, confirmation: Confirmation, asked: serde_json::Value) -> PlanView {
        let view = PlanView {
            id: String::new(),
            kind: plan.kind,
            action: plan.action,
            target: plan.target.clone(),
            reason: plan.reason.clone(),
            items: plan
                .items
                .iter()
                .map(|i| PlannedItem {
                    tenant: i.tenant.clone(),
                    mailbox: i.mailbox.clone(),
                    message_id: i.message_id.clone(),
                    depth: i.depth,
                    planned_folder: i.planned_folder.clone(),
                    on_hold: i.on_hold,
                    restores_item: i.restores_item,
                    result: i.settled.as_ref().map(|(o, _)| *o),
                    note: i.settled.as_ref().map(|(_, n)| n.clone()),
                    already_there: plan.is_already_there(i),
                })
                .collect(),
            by_depth: plan.by_depth.clone(),
            notes: plan.notes.clone(),
            actionable: plan.actionable(),
            failed: plan.failed(),
            confirmation: ConfirmationView {
                question: confirmation.question.clone(),
                word: confirmation.word.map(str::to_string),
                prompt: confirmation.prompt(),
            },
            empty: plan.empty_plan(),
        };
        let id = self
            .plans
            .keep_asked(&self.caller.login, plan, confirmation, asked);
        PlanView { id, ..view }
    }

    fn unknown_tenant(&self, tenant: &str) -> Result<(), ApiError> {
        match self.engine.config().tenant(tenant) {
            Some(_) => Ok(()),
            None => Err(ApiError::bad_input(format!(
                "--tenant {}: unknown tenant",
                sanitize(tenant)
            ))),
        }
    }
}

#[async_trait]
impl Api for Local {
    async fn whoami(&self) -> Result<Identity, ApiError> {
        Ok(self.caller.clone())
    }

    async fn search(&self, req: &SearchRequest) -> Result<SearchPage, ApiError> {
        let query = crate::query::parse(&req.query, chrono::Utc::now())
            .map_err(|e| ApiError::bad_input(e.render(&req.query)))?;
        let store = self.engine.store();
        let messages = match req.anchor {
            Some(anchor) => store.search_page(&query, anchor, req.limit)?,
            None => store.search(&query, req.limit, req.offset)?,
        };
        let total = match req.skip_count {
            true => None,
            false => Some(store.search_count(&query)?),
        };
        let first_page = match req.anchor {
            None => req.offset == 0,
            Some(anchor) => anchor == crate::store::PageAnchor::Offset(0),
        };
        let empty_because = match messages.is_empty() && first_page {
            true => Some(crate::query::why_empty(&query, &req.query, |q| {
                store.search_count(q)
            })?),
            false => None,
        };
        Ok(SearchPage {
            messages,
            total,
            empty_because,
        })
    }

    async fn message(&self, reference: &str) -> Result<MessageView, ApiError> {
        let store = self.engine.store();
        let message = resolve_ref(store, reference)?;
        let tenant = self.engine.config().tenant(&message.tenant);
        let detail =
            store.message_detail(message.id, &|mb| tenant.is_some_and(|t| t.on_hold(mb)))?;
        let conversation = store
            .conversation(&message, CONVERSATION_DEPTH)?
            .into_iter()
            .map(|c| ConversationLine {
                depth: c.depth,
                message: c.message,
            })
            .collect();
        Ok(MessageView {
            message,
            deliveries: detail.deliveries,
            conversation,
        })
    }

    async fn headers(&self, reference: &str) -> Result<HeadersView, ApiError> {
        let store = self.engine.store();
        let message = resolve_ref(store, reference)?;
        let tenant = self.engine.config().tenant(&message.tenant);
        let detail =
            store.message_detail(message.id, &|mb| tenant.is_some_and(|t| t.on_hold(mb)))?;
        Ok(HeadersView::of(self.engine.message_headers(&detail).await)?)
    }

    async fn evidence(&self, reference: &str) -> Result<EvidenceView, ApiError> {
        let (_, copy) = self.evidence_copy(reference).await?;
        Ok(EvidenceView {
            evidence: crate::forensics::extract(&copy.raw),
            source: copy.source,
        })
    }

    async fn export_evidence(&self, req: &ExportRequest) -> Result<EvidenceExport, ApiError> {
        let (message, copy) = self.evidence_copy(&req.reference).await?;
        let (exported_by, exported_at) =
            self.engine
                .record_evidence_export(&message.message_id, &copy, &req.destination)?;
        Ok(EvidenceExport {
            view: EvidenceView {
                evidence: crate::forensics::extract(&copy.raw),
                source: copy.source,
            },
            raw: copy.raw,
            exported_by,
            exported_at,
        })
    }

    async fn plan(&self, req: &PlanRequest) -> Result<PlanView, ApiError> {
        let engine = &self.engine;
        let (plan, confirmation, asked) = match req {
            PlanRequest::Retract(r) => {
                let plan = engine.plan_retract(r).await?;
                let confirmation = engine.retract_confirmation(r, &plan)?;
                (plan, confirmation, asked_json(r)?)
            }
            PlanRequest::Restore(r) => {
                let plan = engine.plan_restore(r)?;
                let confirmation = r.confirmation(&plan);
                (plan, confirmation, asked_json(r)?)
            }
            PlanRequest::Sweep(r) => {
                self.unknown_tenant(&r.tenant)?;
                let plan = engine.plan_sweep(r).await?;
                let confirmation = r.confirmation(&plan);
                (plan, confirmation, asked_json(r)?)
            }
        };
        Ok(self.view(plan, confirmation, asked))
    }

    async fn submit(&self, req: &Submission) -> Result<Submitted, ApiError> {
        let (plan, asked) = self
            .plans
            .take_asked(&req.plan, &self.caller.login, &req.answer)?;
        if let Some(why) = self.engine.approval_required(&plan) {
            // Four-eyes: a request waits for a second person instead of a job; nothing runs
            // (with `wait` or not) until someone else approves it.
            let approval = self.engine.hold_for_approval(&plan, asked, &why)?;
            return Ok(Submitted {
                job: None,
                approval: Some(approval),
                held_because: Some(why),
                notes: plan.notes,
                no_engine_running: false,
            });
        }
        let id = self.engine.submit(&plan)?;
        let no_engine_running = if !self.runs_jobs {
            false
        } else if req.wait {
            // Embedded: the job runs here, now, as `--wait` always has; `watch` then sees
            // it finished.
            self.engine
                .run(RunOptions {
                    job: Some(id),
                    follow: false,
                })
                .await?;
            false
        } else {
            self.engine.store().live_workers(ENGINE_ALIVE_WITHIN_MS)? == 0
        };
        Ok(Submitted {
            job: Some(self.engine.store().job(id)?),
            approval: None,
            held_because: None,
            notes: plan.notes,
            no_engine_running,
        })
    }

    async fn cancel(&self, req: &CancelRequest) -> Result<Cancelled, ApiError> {
        let cancelled = self.engine.cancel(req)?;
        Ok(Cancelled {
            job: req.job,
            cancelled,
        })
    }

    async fn jobs(&self, limit: usize) -> Result<Vec<crate::model::Job>, ApiError> {
        Ok(self.engine.store().jobs(limit)?)
    }

    async fn job(&self, id: i64) -> Result<JobDetail, ApiError> {
        let store = self.engine.store();
        Ok(JobDetail {
            job: store.job(id)?,
            items: store.job_items(id)?,
        })
    }

    async fn watch(&self, id: i64) -> Result<JobEvents, ApiError> {
        let source: Arc<dyn JobSource> = Arc::clone(self.engine.store()) as Arc<dyn JobSource>;
        Ok(Box::pin(self.feeds.watch(source, id)?))
    }

    async fn audit(&self, req: &AuditQuery) -> Result<Vec<AuditEntry>, ApiError> {
        Ok(self.engine.store().audit_entries(&AuditFilter {
            since: req.since,
            until: req.until,
            actor: req.actor.clone(),
            action: req.action.clone(),
            target: req.target.clone(),
            job: req.job,
            limit: req.limit,
        })?)
    }

    async fn verify_audit(&self, req: &VerifyRequest) -> Result<AnchoredVerdict, ApiError> {
        let anchors = Anchors::gather(self.engine.config(), req)
            .map_err(|e| ApiError::bad_input(e.to_string()))?;
        let store = self.engine.store().as_ref();
        let verdict = if *req == VerifyRequest::default() {
            let incremental = FromCheckpoint {
                store,
                checkpoint: &self.audit_checkpoint,
            };
            crate::trust::verify::verify(&incremental, &anchors)
        } else {
            // Anchors the caller brought: verified from the start, as asked.
            crate::trust::verify::verify(store, &anchors)
        };
        verdict.map_err(|e| match e {
            VerifyError::Cannot(why) => ApiError::bad_input(why.to_string()),
            VerifyError::Failed(why) => ApiError {
                kind: ApiErrorKind::Failed,
                message: why,
            },
        })
    }

    async fn tenants(&self) -> Result<Vec<TenantView>, ApiError> {
        Ok(self
            .engine
            .config()
            .tenants
            .values()
            .map(|t| TenantView {
                name: t.name.clone(),
                kind: t.kind.clone(),
                domains: t.domains.clone(),
                quarantine_mailbox: t.quarantine_mailbox.clone(),
                holds: t.holds.clone(),
            })
            .collect())
    }

    async fn store_status(&self) -> Result<StoreStatus, ApiError> {
        Ok(status::store_status(&self.engine, ENGINE_ALIVE_WITHIN_MS))
    }

    async fn check(&self, tenant: Option<&str>) -> Result<Vec<CheckView>, ApiError> {
        if let Some(t) = tenant {
            self.unknown_tenant(t)?;
        }
        let mut results = Vec::new();
        for (name, config) in &self.engine.config().tenants {
            if tenant.is_some_and(|t| t != name) {
                continue;
            }
            let (ok, detail) = match self.engine.backend(name) {
                Ok(b) => {
                    let r = b.check().await;
                    (r.ok, r.detail)
                }
                Err(why) => (false, why),
            };
            results.push(CheckView {
                tenant: name.clone(),
                kind: config.kind.clone(),
                ok,
                detail,
                warnings: Vec::new(),
            });
        }
        Ok(results)
    }

    async fn ingest(&self, req: &IngestRequest) -> Result<IngestReport, ApiError> {
        let engine = &self.engine;
        engine.authorize_log_load("ingest", &req.name)?;
        let config = Arc::clone(engine.config());
        let resolver =
            TenantResolver::new(&config, req.tenant.as_deref()).map_err(ApiError::bad_input)?;
        let store = engine.store();
        let input = req.body.as_slice();
        let loaded = match req.format.as_str() {
            "jsonl" => jsonl::ingest(store, &resolver, input).map_err(ApiError::from),
            "postfix" => postfix::ingest(store, &resolver, input).map_err(ApiError::from),
            "m365-trace" => match m365_trace::ingest(store, &resolver, input) {
                Ok(report) => Ok(report),
                Err(IngestError::BadInput(m)) => {
                    Err(ApiError::bad_input(format!("{}: {m}", req.name)))
                }
                Err(IngestError::Store(e)) => Err(e.into()),
            },
            other => {
                return Err(ApiError::bad_input(format!(
                    "--format {}: expected one of jsonl, postfix, m365-trace",
                    sanitize(other)
                )));
            }
        };
        let sha256 = hex::encode(Sha256::digest(&req.body));
        let failed = loaded.as_ref().err().map(|e| e.message.clone());
        engine.audit_log_load(&LogLoad {
            action: "ingest",
            source: &req.name,
            format: &req.format,
            sha256: Some(&sha256),
            result: match (&loaded, &failed) {
                (Ok(report), _) => Ok(report),
                (Err(_), why) => Err(why.as_deref().unwrap_or("failed")),
            },
            not_read: 0,
        })?;
        Ok(loaded?.into())
    }

    async fn index(&self, req: &IndexRequest) -> Result<IngestReport, ApiError> {
        let engine = &self.engine;
        let config = Arc::clone(engine.config());
        let resolver =
            TenantResolver::new(&config, Some(&req.tenant)).map_err(ApiError::bad_input)?;
        // The engine reads the mailboxes, within its limits, after checking the role.
        let scan = engine.index(req).await?;
        let records = scan.records(&req.tenant);
        let mut loader = crate::ingest::Loader::new(engine.store(), &resolver);
        let loaded = records
            .into_iter()
            .enumerate()
            .try_for_each(|(n, r)| loader.push(n as u64 + 1, r))
            .and_then(|()| loader.finish());
        let source = format!("tenant {}", req.tenant);
        let failed = loaded.as_ref().err().map(ToString::to_string);
        engine.audit_log_load(&LogLoad {
            action: "index",
            source: &source,
            format: INDEX_FORMAT,
            sha256: None,
            result: match (&loaded, &failed) {
                (Ok(report), _) => Ok(report),
                (Err(_), why) => Err(why.as_deref().unwrap_or("failed")),
            },
            not_read: scan.not_indexed.len(),
        })?;
        let mut report: IngestReport = loaded?.into();
        report.not_indexed = scan.not_indexed;
        Ok(report)
    }

    async fn submit_alerts(&self, req: &AlertSubmission) -> Result<AlertReport, ApiError> {
        policy::submit_alerts(&self.engine, req)
    }

    async fn pending(&self) -> Result<Vec<ApprovalRecord>, ApiError> {
        Ok(self.engine.pending_approvals()?)
    }

    async fn answer_approval(&self, req: &ApprovalAnswer) -> Result<ApprovalRecord, ApiError> {
        Ok(self
            .engine
            .decide_approval(req.id, req.approve, req.reason.as_deref())
            .await?)
    }

    async fn policy_test(&self, req: &AlertSubmission) -> Result<RehearsalReport, ApiError> {
        policy::rehearse(&self.engine, req).await
    }

    async fn policy_report(&self, since: DateTime<Utc>) -> Result<PolicyReport, ApiError> {
        Ok(crate::policy::report::report(self.engine.store(), since)?)
    }

    async fn process_submissions(
        &self,
        req: &crate::submissions::SubmissionsRequest,
    ) -> Result<crate::submissions::SubmissionsRun, ApiError> {
        policy::process_submissions(&self.engine, req).await
    }

    async fn report(&self, req: &ReportRequest) -> Result<ReportView, ApiError> {
        reports::report(&self.engine, req)
    }

    async fn add_indicators(
        &self,
        req: &crate::api::IndicatorSubmission,
    ) -> Result<crate::api::IndicatorReport, ApiError> {
        indicators::add(&self.engine, req)
    }

    async fn indicators(&self) -> Result<Vec<crate::model::IndicatorRecord>, ApiError> {
        indicators::list(&self.engine)
    }

    async fn remove_indicators(
        &self,
        req: &crate::api::IndicatorRemoval,
    ) -> Result<crate::api::IndicatorsRemoved, ApiError> {
        indicators::remove(&self.engine, req)
    }

    async fn hunt(
        &self,
        req: &crate::policy::hunt::HuntRequest,
    ) -> Result<crate::policy::hunt::HuntReport, ApiError> {
        indicators::hunt(&self.engine, req).await
    }
}

mod feeds;

pub use feeds::{FEED_POLL, JobFeeds, JobSource};

mod indicators;
mod policy;
mod reports;
mod status;
#[cfg(test)]
mod tests;
