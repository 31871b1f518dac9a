//! Carrying out the [`Command`]s of `update` against the engine and store. Each runs on its
//! own tokio task and answers with [`Event`]s that carry the request id; tests call
//! [`Tasks::perform`] directly to drive the state headlessly with the real engine.
//!
//! The retract tab asks for a plan on every key, and a plan at depth 1 or more searches every
//! mailbox of the tenant. The engine remembers those conversation searches (see
//! [`Engine::conversation_searches_made`]); here the runtime sends a plan only after a quiet
//! moment ([`Tasks::perform_after_quiet`]), so a burst of `+`/`Space` asks once, and the app
//! drops a reply older than the newest request.
//!
//! Every request goes through the engine's request types (`engine::requests`): their rules
//! (the empty-plan rule, the confirmation word) are the engine's, never this module's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;

use crate::app::{
    Command, DetailReply, Event, HeaderLine, Pending, PlannedCopy, Preview, ReqId, RestorePreview,
    RetractSpec,
};
use crate::engine::{CancelRequest, Engine, Plan, RestoreRequest, RetractRequest};
use crate::store::{AuditCheckpoint, AuditFilter};

/// Most audit records the view holds (newest last, as `retractor audit` lists them).
const AUDIT_LIMIT: usize = 500;
/// Most jobs the Operations view lists.
pub const JOBS_LIMIT: usize = 100;

/// The console's task layer: the engine, and what it remembers between commands.
pub struct Tasks {
    engine: Arc<Engine>,
    /// The newest retract-plan request seen: an older one waiting out its quiet moment is
    /// dropped (the app would drop its reply anyway).
    latest_preview: AtomicU64,
    /// Where the last intact audit verification ended: the next one continues from there.
    audit_checkpoint: Mutex<Option<AuditCheckpoint>>,
}

impl Tasks {
    /// A task layer over `engine`, remembering nothing yet.
    pub fn new(engine: Arc<Engine>) -> Tasks {
        Tasks {
            engine,
            latest_preview: AtomicU64::new(0),
            audit_checkpoint: Mutex::new(None),
        }
    }

    /// The engine the commands run against.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Like [`Tasks::perform`], but a retract plan waits `quiet` first and is dropped (no
    /// reply) when a newer one was asked for meanwhile.
    pub async fn perform_after_quiet(&self, command: Command, quiet: Duration) -> Vec<Event> {
        if let Command::Preview { req, .. } = &command {
            let req = *req;
            self.latest_preview.fetch_max(req, Ordering::SeqCst);
            tokio::time::sleep(quiet).await;
            if self.latest_preview.load(Ordering::SeqCst) != req {
                return Vec::new();
            }
        }
        self.perform(command).await
    }

    /// Run a submitted job (see [`run_job`]); the conversation searches the engine
    /// remembers are stale after it (its copies moved).
    pub async fn run_job(&self, job: i64) -> Event {
        let done = run_job(&self.engine, job).await;
        self.engine.forget_conversation_searches();
        done
    }

    /// The retract tab's counts.
    async fn preview(&self, req: ReqId, spec: &RetractSpec) -> Result<Preview, String> {
        self.latest_preview.fetch_max(req, Ordering::SeqCst);
        let plan = self
            .engine
            .plan_retract(&retract_request(spec))
            .await
            .map_err(|e| e.to_string())?;
        Ok(preview_of(&plan))
    }

    /// The audit records and the chain's verdict, read off the UI loop; the chain is verified
    /// from where the last intact verification ended.
    async fn load_audit(&self, req: ReqId) -> Event {
        let store = Arc::clone(self.engine.store());
        let from = self
            .audit_checkpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let read = tokio::task::spawn_blocking(move || {
            let entries = store
                .audit_entries(&AuditFilter {
                    limit: Some(AUDIT_LIMIT),
                    ..AuditFilter::default()
                })
                .map_err(|e| e.to_string())?;
            let progress = store
                .verify_audit_from(from.as_ref())
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(AuditRead { entries, progress })
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        match read {
            Ok(AuditRead { entries, progress }) => {
                *self
                    .audit_checkpoint
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = progress.checkpoint;
                Event::Audit {
                    req,
                    entries,
                    verdict: progress.verdict,
                }
            }
            Err(e) => Event::Notice(format!("audit: {e}")),
        }
    }

    /// Do one command's work; return the events it produces. `Submit` only plans and writes
    /// the job: running it is the runtime's business (see [`Tasks::run_job`]).
    pub async fn perform(&self, command: Command) -> Vec<Event> {
        let engine = &self.engine;
        match command {
            Command::Search {
                req,
                query,
                anchor,
                offset,
                limit,
                count,
            } => {
                let store = Arc::clone(engine.store());
                let result = tokio::task::spawn_blocking(move || {
                    let q = crate::query::parse(&query, Utc::now()).map_err(|e| e.message)?;
                    let total = if count {
                        Some(store.search_count(&q).map_err(|e| e.to_string())?)
                    } else {
                        None
                    };
                    let rows = store
                        .search_page(&q, anchor, limit)
                        .map_err(|e| e.to_string())?;
                    Ok::<_, String>((total, rows))
                })
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r);
                vec![match result {
                    Ok((total, rows)) => Event::Page {
                        req,
                        offset,
                        total,
                        rows,
                    },
                    Err(error) => Event::SearchFailed { req, error },
                }]
            }
            Command::LoadDetail { req, id } => vec![Event::Detail {
                req,
                result: load_detail(engine, id).await.map(Box::new),
            }],
            Command::PlanSweep { req, request } => vec![Event::SweepPlanned {
                req,
                result: engine
                    .plan_sweep(&request)
                    .await
                    .map(|plan| preview_of(&plan))
                    .map_err(|e| e.to_string()),
            }],
            Command::Preview { req, spec } => vec![Event::Preview {
                req,
                result: self.preview(req, &spec).await,
            }],
            Command::PlanRestore {
                req,
                message,
                recipients,
            } => vec![Event::RestorePlanned {
                req,
                result: plan_message_restore(engine, message, recipients, Vec::new()).and_then(
                    |plan| match plan.empty_plan() {
                        Some(empty) => Err(empty.message),
                        None => Ok(RestorePreview {
                            items: plan.items.iter().filter_map(|i| i.restores_item).collect(),
                            mailboxes: plan.items.iter().map(|i| i.mailbox.clone()).collect(),
                        }),
                    },
                ),
            }],
            Command::Submit(pending) => vec![submit(engine, pending).await],
            Command::ResumeAbandoned => match engine.abandoned_jobs() {
                Ok(jobs) if jobs.is_empty() => Vec::new(),
                Ok(jobs) => vec![Event::Resumed(jobs)],
                Err(e) => vec![Event::Notice(format!("looking for unfinished jobs: {e}"))],
            },
            Command::LoadJobItems { req, job } => match engine.store().job_items(job) {
                Ok(items) => vec![Event::JobItems { req, job, items }],
                Err(e) => vec![Event::Notice(format!("job {job}: {e}"))],
            },
            Command::LoadAudit { req } => vec![self.load_audit(req).await],
            Command::Quit => Vec::new(),
        }
    }
}

/// What [`Tasks::load_audit`] read.
struct AuditRead {
    entries: Vec<crate::store::AuditEntry>,
    progress: crate::store::AuditProgress,
}

async fn load_detail(engine: &Arc<Engine>, id: i64) -> Result<DetailReply, String> {
    let store = engine.store();
    let message = store.message(id).map_err(|e| e.to_string())?;
    let tenant = engine.config().tenant(&message.tenant).cloned();
    let detail = store
        .message_detail(id, &|mb| tenant.as_ref().is_some_and(|t| t.on_hold(mb)))
        .map_err(|e| e.to_string())?;
    let conversation = store.conversation(&message, 5).map_err(|e| e.to_string())?;
    let headers = engine
        .message_headers(&detail)
        .await
        .into_iter()
        .map(|(name, value)| HeaderLine { name, value })
        .collect();
    Ok(DetailReply {
        detail,
        conversation,
        headers,
    })
}

/// The engine's request for what the retract tab describes.
fn retract_request(spec: &RetractSpec) -> RetractRequest {
    RetractRequest {
        message: spec.message.to_string(),
        recipients: spec.recipients.clone(),
        exclude: spec.exclude.clone(),
        depth: spec.depth,
        action: spec.action,
        reason: spec.reason.clone(),
        max_items: None,
    }
}

/// The counts a confirmation shows for a plan.
fn preview_of(plan: &Plan) -> Preview {
    let mailboxes: std::collections::BTreeSet<&str> = plan
        .items
        .iter()
        .filter(|i| i.settled.is_none())
        .map(|i| i.mailbox.as_str())
        .collect();
    Preview {
        empty: plan.empty_plan().map(|e| e.message),
        by_depth: plan.by_depth.clone(),
        actionable: plan.actionable(),
        mailboxes: mailboxes.len(),
        notes: plan.notes.clone(),
        copies: plan
            .items
            .iter()
            .filter(|i| i.settled.is_none())
            .map(|i| PlannedCopy {
                mailbox: i.mailbox.clone(),
                folder: i.planned_folder.clone(),
                message_id: i.message_id.clone(),
            })
            .collect(),
    }
}

/// Plan again (RBAC is checked by the engine's planner) and write the job; a plan that acts
/// on nothing is not written (the engine's empty-plan rule says why).
async fn submit(engine: &Arc<Engine>, pending: Pending) -> Event {
    let plan: Result<Plan, String> = match pending {
        Pending::Retract(spec) => engine
            .plan_retract(&retract_request(&spec))
            .await
            .map_err(|e| e.to_string()),
        Pending::Sweep(request) => engine.plan_sweep(&request).await.map_err(|e| e.to_string()),
        Pending::RestoreMessage {
            message,
            recipients,
            items,
            reason,
        } => plan_message_restore(engine, message, recipients, items).map(|mut plan| {
            plan.reason = reason;
            plan
        }),
        Pending::RestoreJob { job } => engine
            .plan_restore(&RestoreRequest {
                job: Some(job),
                ..RestoreRequest::default()
            })
            .map_err(|e| e.to_string()),
        Pending::CancelJob { job } => {
            return Event::Notice(match engine.cancel(&CancelRequest { job }) {
                Ok(n) => format!("job {job} cancelled: {n} queued items will not run"),
                Err(e) => format!("cancel job {job}: {e}"),
            });
        }
        Pending::Quit => return Event::Notice(String::new()),
    };
    let plan = match plan {
        Ok(p) => match p.empty_plan() {
            Some(empty) => return Event::Submitted(Err(empty.message)),
            None => p,
        },
        Err(e) => return Event::Submitted(Err(e)),
    };
    Event::Submitted(engine.submit(&plan).map_err(|e| e.to_string()))
}

/// The restore of a message's pulled copies: of these recipients (empty: all), and of the
/// pulls of these items only (empty: all), so a confirmed dialog restores what it named.
fn plan_message_restore(
    engine: &Engine,
    message: i64,
    recipients: Vec<String>,
    items: Vec<i64>,
) -> Result<Plan, String> {
    engine
        .plan_restore(&RestoreRequest {
            message: Some(message.to_string()),
            job: None,
            recipients,
            only_items: items,
            reason: None,
        })
        .map_err(|e| e.to_string())
}

/// Run a submitted job in this process with the engine's executor (as `--wait` does), so the
/// Operations view shows it live; `JobFinished` when it is done.
pub async fn run_job(engine: &Arc<Engine>, job: i64) -> Event {
    let options = crate::engine::RunOptions {
        job: Some(job),
        follow: false,
    };
    match engine.run(options).await {
        Ok(_) => Event::JobFinished(job),
        Err(e) => {
            tracing::warn!(job, "console job run failed: {e}");
            Event::JobFinished(job)
        }
    }
}

/// The jobs sample for the Operations view.
pub fn sample_jobs(engine: &Engine) -> Result<Vec<crate::model::Job>, String> {
    engine.store().jobs(JOBS_LIMIT).map_err(|e| e.to_string())
}
