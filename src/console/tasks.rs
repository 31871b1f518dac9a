//! Carrying out the [`Command`]s of `update` through the [`Api`] (embedded or a service).
//! Each runs on its own tokio task and answers with [`Event`]s that carry the request id;
//! tests call [`Tasks::perform`] directly to drive the state headlessly with the real engine.
//!
//! In embedded mode the console is also the worker that runs the jobs it submits (and those
//! a stopped engine left unfinished): that is the one thing it does with an engine of its
//! own ([`Tasks::embedded`]). Against a service, the service's workers run them.
//!
//! The retract tab asks for a plan on every key, and a plan at depth 1 or more searches every
//! mailbox of the tenant. The engine remembers those conversation searches (see
//! [`Engine::conversation_searches_made`]); here the runtime sends a plan only after a quiet
//! moment ([`Tasks::perform_after_quiet`]), so a burst of `+`/`Space` asks once, and the app
//! drops a reply older than the newest request.
//!
//! Every request goes through the API's request types (the engine's): their rules (the
//! empty-plan rule, the confirmation word) are the engine's, never this module's.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::api::{
    Api, AuditQuery, CancelRequest, Local, PlanRequest, PlanView, RestoreRequest, RetractRequest,
    SearchRequest, Submission,
};
use crate::app::{
    Command, DetailReply, Event, HeaderLine, JobOutcome, Pending, PlannedCopy, PlannedDescendant,
    Preview, ReqId, RestorePreview, RetractSpec,
};
use crate::engine::Engine;
use crate::store::{ConversationEntry, MessageDetail};

/// Most jobs the Operations view lists.
pub const JOBS_LIMIT: usize = 100;

/// How deep the detail pane follows a conversation.
const DETAIL_DEPTH: u32 = 5;

/// The console's task layer: the API, the embedded worker if any, and what it remembers
/// between commands.
pub struct Tasks {
    api: Arc<dyn Api>,
    /// Embedded mode only: the engine that runs submitted jobs in this process.
    worker: Option<Arc<Engine>>,
    /// The newest retract-plan request seen: an older one waiting out its quiet moment is
    /// dropped (the app would drop its reply anyway).
    latest_preview: AtomicU64,
}

impl Tasks {
    /// Embedded mode: the API served by `engine` for its own actor, and `engine` as the
    /// worker of this console.
    pub fn embedded(engine: Arc<Engine>) -> Tasks {
        let caller = Local::embedded_identity(engine.actor());
        let api: Arc<dyn Api> = Arc::new(Local::new(Arc::clone(&engine), caller));
        Tasks::new(api, Some(engine))
    }

    /// A task layer over `api`; `worker` runs submitted jobs here (embedded mode), `None`
    /// leaves them to the service.
    pub fn new(api: Arc<dyn Api>, worker: Option<Arc<Engine>>) -> Tasks {
        Tasks {
            api,
            worker,
            latest_preview: AtomicU64::new(0),
        }
    }

    /// The API the commands go through.
    pub fn api(&self) -> &Arc<dyn Api> {
        &self.api
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

    /// Embedded mode only: the engine that runs jobs in this process (`None` against a
    /// service, whose own workers and decider run).
    pub fn worker(&self) -> Option<&Arc<Engine>> {
        self.worker.as_ref()
    }

    /// Follow a submitted job to its end: embedded, run it here with the engine's executor
    /// (as `--wait` does), so the Operations view shows it live; against a service, watch
    /// the service run it. `JobFinished` when it is done.
    pub async fn run_job(&self, job: i64) -> Event {
        match &self.worker {
            Some(engine) => {
                let options = crate::engine::RunOptions {
                    job: Some(job),
                    follow: false,
                };
                if let Err(e) = engine.run(options).await {
                    tracing::warn!(job, "console job run failed: {e}");
                }
                // The conversation searches it remembers are stale: the copies moved.
                engine.forget_conversation_searches();
            }
            None => {
                use futures_util::StreamExt;
                match self.api.watch(job).await {
                    Ok(mut events) => {
                        while let Some(event) = events.next().await {
                            match event {
                                Ok(p) if p.finished => break,
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::warn!(job, "watching the job: {e}");
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(job, "watching the job: {e}"),
                }
            }
        }
        // How it ended, for the flash; a job that cannot be read is still reported finished.
        let outcome = match self.api.job(job).await {
            Ok(detail) => Some(JobOutcome {
                status: detail.job.status.as_str().to_string(),
                counts: detail.job.counts,
                failures: detail
                    .items
                    .iter()
                    .filter(|i| i.outcome == Some(crate::model::ItemOutcome::Failed))
                    .map(|i| (i.mailbox.clone(), i.error.clone().unwrap_or_default()))
                    .collect(),
            }),
            Err(e) => {
                tracing::warn!(job, "reading the finished job: {}", e.message);
                None
            }
        };
        Event::JobFinished { job, outcome }
    }

    /// The retract tab's counts.
    async fn preview(&self, req: ReqId, spec: &RetractSpec) -> Result<Preview, String> {
        self.latest_preview.fetch_max(req, Ordering::SeqCst);
        let plan = self
            .api
            .plan(&PlanRequest::Retract(retract_request(spec)))
            .await
            .map_err(|e| e.message)?;
        Ok(preview_of(&plan))
    }

    /// The audit records and the chain's verdict, off the UI loop.
    async fn load_audit(&self, req: ReqId, query: AuditQuery) -> Event {
        let read = async {
            let entries = self.api.audit(&query).await?;
            let verdict = self
                .api
                .verify_audit(&crate::trust::verify::VerifyRequest::default())
                .await?;
            Ok::<_, crate::api::ApiError>((entries, verdict))
        };
        match read.await {
            Ok((entries, verdict)) => Event::Audit {
                req,
                entries,
                verdict,
            },
            Err(e) => Event::Notice(format!("audit: {}", e.message)),
        }
    }

    /// The requests waiting for approval, as the Pending view lists them.
    pub async fn sample_approvals(&self) -> Result<Vec<crate::store::ApprovalRecord>, String> {
        self.api.pending().await.map_err(|e| e.message)
    }

    /// The jobs the Operations view lists, newest first.
    pub async fn sample_jobs(&self) -> Result<Vec<crate::model::Job>, String> {
        self.api.jobs(JOBS_LIMIT).await.map_err(|e| e.message)
    }

    /// Do one command's work; return the events it produces. `Submit` only plans and writes
    /// the job: running it is the runtime's business (see [`Tasks::run_job`]).
    pub async fn perform(&self, command: Command) -> Vec<Event> {
        let api = self.api.as_ref();
        match command {
            Command::Search {
                req,
                query,
                anchor,
                offset,
                limit,
                count,
            } => vec![match search(api, query, anchor, limit, count).await {
                Ok(page) => Event::Page {
                    req,
                    offset,
                    total: page.total,
                    rows: page.messages,
                    empty_because: page.empty_because,
                },
                Err(error) => Event::SearchFailed { req, error },
            }],
            Command::LoadDetail { req, id } => vec![Event::Detail {
                req,
                result: load_detail(api, id).await.map(Box::new),
            }],
            Command::PlanMarked { req, specs } => {
                let mut results = Vec::with_capacity(specs.len());
                for spec in &specs {
                    let plan = api
                        .plan(&PlanRequest::Retract(retract_request(spec)))
                        .await
                        .map_err(|e| e.message);
                    results.push(plan.map(|p| preview_of(&p)));
                }
                vec![Event::MarkedPlanned { req, results }]
            }
            Command::PlanSweep { req, request } => vec![Event::SweepPlanned {
                req,
                result: api
                    .plan(&PlanRequest::Sweep(request))
                    .await
                    .map(|plan| preview_of(&plan))
                    .map_err(|e| e.message),
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
                result: plan_message_restore(api, message, recipients, Vec::new(), None)
                    .await
                    .and_then(|plan| match plan.empty {
                        Some(empty) => Err(empty.message),
                        None => Ok(RestorePreview {
                            items: plan.items.iter().filter_map(|i| i.restores_item).collect(),
                            mailboxes: plan.items.iter().map(|i| i.mailbox.clone()).collect(),
                        }),
                    }),
            }],
            Command::Submit(pending) => vec![submit(api, pending).await],
            Command::ResumeAbandoned => match &self.worker {
                // A service resumes its own jobs; a console only does when it is the worker.
                None => Vec::new(),
                Some(engine) => match engine.abandoned_jobs() {
                    Ok(jobs) if jobs.is_empty() => Vec::new(),
                    Ok(jobs) => vec![Event::Resumed(jobs)],
                    Err(e) => vec![Event::Notice(format!("looking for unfinished jobs: {e}"))],
                },
            },
            Command::LoadJobItems { req, job } => match api.job(job).await {
                Ok(detail) => vec![Event::JobItems {
                    req,
                    job,
                    subjects: item_subjects(api, &detail.items).await,
                    items: detail.items,
                }],
                Err(e) => vec![Event::Notice(format!("job {job}: {}", e.message))],
            },
            Command::LoadAudit { req, query } => vec![self.load_audit(req, query).await],
            Command::LoadApprovals => match self.sample_approvals().await {
                Ok(records) => vec![Event::Approvals(records)],
                Err(e) => vec![Event::Notice(format!("pending: {e}"))],
            },
            Command::AnswerApproval { req, answer } => vec![Event::ApprovalAnswered {
                req,
                result: api
                    .answer_approval(&answer)
                    .await
                    .map(Box::new)
                    .map_err(|e| e.message),
            }],
            Command::LoadEvidence { req, id } => vec![Event::Evidence {
                req,
                result: api
                    .evidence(&id.to_string())
                    .await
                    .map(Box::new)
                    .map_err(|e| e.message),
            }],
            Command::Quit => Vec::new(),
        }
    }
}

/// One page of the log (and the count of all matches when asked). The query is parsed here
/// first only to word its error as the search bar does (the message, without the excerpt).
async fn search(
    api: &dyn Api,
    query: String,
    anchor: crate::store::PageAnchor,
    limit: usize,
    count: bool,
) -> Result<crate::api::SearchPage, String> {
    crate::query::parse(&query, chrono::Utc::now()).map_err(|e| e.message)?;
    let page = api
        .search(&SearchRequest {
            query,
            limit,
            offset: 0,
            anchor: Some(anchor),
            skip_count: !count,
        })
        .await
        .map_err(|e| e.message)?;
    Ok(page)
}

/// The most messages whose subjects a job's items list looks up (a job at depth N holds the
/// messages of one conversation, so this is rarely reached; past it the column is blank).
const ITEM_SUBJECTS: usize = 64;

/// Subjects of the items' messages by Message-ID, from the log (one lookup per message).
async fn item_subjects(
    api: &dyn Api,
    items: &[crate::model::JobItem],
) -> std::collections::HashMap<String, String> {
    let mut subjects = std::collections::HashMap::new();
    let mut ids: Vec<&str> = items.iter().map(|i| i.message_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids.into_iter().take(ITEM_SUBJECTS) {
        // Quoted, so the Message-ID is taken verbatim by the query language.
        let found = api
            .search(&SearchRequest {
                query: format!("msgid:\"{}\"", id.trim_matches(['<', '>'])),
                limit: 1,
                skip_count: true,
                ..SearchRequest::default()
            })
            .await;
        match found {
            // Only the message asked about: a Message-ID is attacker text, and one with a
            // quote in it could make the query mean another message.
            Ok(page) => {
                if let Some(m) = page.messages.first().filter(|m| m.message_id == id) {
                    subjects.insert(id.to_string(), m.subject.clone());
                }
            }
            Err(e) => tracing::debug!("subject of {id}: {}", e.message),
        }
    }
    subjects
}

async fn load_detail(api: &dyn Api, id: i64) -> Result<DetailReply, String> {
    let reference = id.to_string();
    let view = api.message(&reference).await.map_err(|e| e.message)?;
    let headers = api.headers(&reference).await.map_err(|e| e.message)?;
    let headers_source = headers.source;
    let headers_problem = headers.problem;
    let headers = headers
        .headers
        .into_iter()
        .map(|h| HeaderLine {
            name: h.name,
            value: h.value,
        })
        .collect();
    Ok(DetailReply {
        detail: MessageDetail {
            message: view.message,
            deliveries: view.deliveries,
        },
        conversation: view
            .conversation
            .into_iter()
            .filter(|c| c.depth <= DETAIL_DEPTH)
            .map(|c| ConversationEntry {
                depth: c.depth,
                message: c.message,
            })
            .collect(),
        headers,
        headers_source,
        headers_problem,
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
fn preview_of(plan: &PlanView) -> Preview {
    let actionable = || {
        plan.items
            .iter()
            .filter(|i| i.result.is_none() && !i.already_there)
    };
    let mailboxes: std::collections::BTreeSet<&str> =
        actionable().map(|i| i.mailbox.as_str()).collect();
    Preview {
        empty: plan.empty.as_ref().map(|e| e.message.clone()),
        by_depth: plan.by_depth.clone(),
        actionable: plan.actionable,
        mailboxes: mailboxes.len(),
        already_there: plan.items.iter().filter(|i| i.already_there).count(),
        notes: plan.notes.clone(),
        copies: actionable()
            .map(|i| PlannedCopy {
                mailbox: i.mailbox.clone(),
                folder: i.planned_folder.clone(),
                message_id: i.message_id.clone(),
            })
            .collect(),
        descendants: descendants_of(plan),
    }
}

/// The replies and forwards (depth 1 or more) a plan reached, by depth then Message-ID, with
/// the mailboxes each is in: every item counts, settled or not, since the tab says where the
/// messages are, not what is to do.
fn descendants_of(plan: &PlanView) -> Vec<PlannedDescendant> {
    let mut by_message: std::collections::BTreeMap<(u32, &str), std::collections::BTreeSet<&str>> =
        std::collections::BTreeMap::new();
    for i in plan.items.iter().filter(|i| i.depth > 0) {
        by_message
            .entry((i.depth, i.message_id.as_str()))
            .or_default()
            .insert(i.mailbox.as_str());
    }
    by_message
        .into_iter()
        .map(|((depth, message_id), mailboxes)| PlannedDescendant {
            depth,
            message_id: message_id.to_string(),
            mailboxes: mailboxes.len(),
        })
        .collect()
}

/// Plan again (RBAC is checked by the engine's planner) and submit it with the answer the
/// dialog already took (its word is the engine's); a plan that acts on nothing is not
/// submitted (the engine's empty-plan rule says why).
async fn submit(api: &dyn Api, pending: Pending) -> Event {
    let plan = match pending {
        Pending::Retract(spec) => api
            .plan(&PlanRequest::Retract(retract_request(&spec)))
            .await
            .map_err(|e| e.message),
        // `update` submits the marked retractions one message at a time.
        Pending::RetractMarked(_) => {
            return Event::Submitted(Err(
                "marked retractions are submitted one message at a time".into(),
            ));
        }
        Pending::Sweep(request) => api
            .plan(&PlanRequest::Sweep(request))
            .await
            .map_err(|e| e.message),
        Pending::RestoreMessage {
            message,
            recipients,
            items,
            reason,
        } => plan_message_restore(api, message, recipients, items, reason).await,
        Pending::RestoreJob { job, reason } => api
            .plan(&PlanRequest::Restore(RestoreRequest {
                job: Some(job),
                reason,
                ..RestoreRequest::default()
            }))
            .await
            .map_err(|e| e.message),
        Pending::Report {
            message,
            kind,
            reason,
        } => {
            let request = crate::api::ReportRequest {
                message: message.to_string(),
                kind,
                reason,
            };
            return Event::Notice(match api.report(&request).await {
                Ok(r) => format!(
                    "message {message} reported as {}: disposition {} (C-r shows it)",
                    kind.name().replace('_', " "),
                    r.disposition
                ),
                Err(e) => format!("report message {message}: {}", e.message),
            });
        }
        Pending::CancelJob { job } => {
            return Event::Notice(match api.cancel(&CancelRequest { job }).await {
                Ok(c) => format!(
                    "job {job} cancelled: {} queued items will not run",
                    c.cancelled
                ),
                Err(e) => format!("cancel job {job}: {}", e.message),
            });
        }
        Pending::Quit => return Event::Notice(String::new()),
    };
    let plan = match plan {
        Ok(p) => match p.empty {
            Some(empty) => return Event::Submitted(Err(empty.message)),
            None => p,
        },
        Err(e) => return Event::Submitted(Err(e)),
    };
    let answer = plan.confirmation.word.clone().unwrap_or_else(|| "y".into());
    let submitted = api
        .submit(&Submission {
            plan: plan.id,
            answer,
            wait: false,
        })
        .await;
    match submitted {
        Ok(s) => match (s.job, s.approval) {
            (Some(job), _) => Event::Submitted(Ok(job.id)),
            // Four-eyes: no job yet; say where it waits so the analyst can tell a colleague.
            (None, Some(a)) => Event::Notice(format!(
                "held for approval as request {}: {}; another person must approve it",
                a.id,
                s.held_because.as_deref().unwrap_or("[approvals]")
            )),
            (None, None) => Event::Submitted(Err(
                "the service answered with neither a job nor an approval request".into(),
            )),
        },
        Err(e) => Event::Submitted(Err(e.message)),
    }
}

/// The restore of a message's pulled copies: of these recipients (empty: all), and of the
/// pulls of these items only (empty: all), so a confirmed dialog restores what it named.
async fn plan_message_restore(
    api: &dyn Api,
    message: i64,
    recipients: Vec<String>,
    items: Vec<i64>,
    reason: Option<String>,
) -> Result<PlanView, String> {
    api.plan(&PlanRequest::Restore(RestoreRequest {
        message: Some(message.to_string()),
        job: None,
        recipients,
        only_items: items,
        reason,
    }))
    .await
    .map_err(|e| e.message)
}
