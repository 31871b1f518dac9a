//! The socket API end to end in one process: a real listener, the real router and
//! [`Remote`](crate::api::remote::Remote) as the client, with a scripted `Api` behind it so
//! each answer is known.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::StreamExt;

use super::{ApiFactory, Shared, routes, socket};
use crate::api::remote::Remote;
use crate::api::*;
use crate::engine::{Actor, CancelRequest, Engine, IndexRequest};
use crate::store::{AuditEntry, Store};

/// Answers from a script: who called, refusals, echoes, a fixed progress sequence.
struct Scripted {
    identity: Identity,
    progress: Vec<JobProgress>,
}

fn err(kind: ApiErrorKind, message: &str) -> ApiError {
    ApiError {
        kind,
        message: message.into(),
    }
}

#[async_trait]
impl Api for Scripted {
    async fn whoami(&self) -> Result<Identity, ApiError> {
        Ok(self.identity.clone())
    }
    async fn search(&self, req: &SearchRequest) -> Result<SearchPage, ApiError> {
        // The query's length and the paging come back, to show each arrived intact.
        if let Some(anchor) = req.anchor {
            return Err(err(
                ApiErrorKind::BadInput,
                &format!("anchor={anchor:?} skip_count={}", req.skip_count),
            ));
        }
        Ok(SearchPage {
            messages: vec![],
            total: Some((req.query.len() * 1_000_000 + req.limit * 1000 + req.offset) as u64),
            empty_because: None,
        })
    }
    async fn message(&self, reference: &str) -> Result<MessageView, ApiError> {
        Err(err(ApiErrorKind::BadInput, &format!("echo:{reference}")))
    }
    async fn headers(&self, _: &str) -> Result<HeadersView, ApiError> {
        Err(err(ApiErrorKind::Failed, "backend down"))
    }
    async fn evidence(&self, reference: &str) -> Result<EvidenceView, ApiError> {
        Err(err(
            ApiErrorKind::BadInput,
            &format!("evidence:{reference}"),
        ))
    }
    async fn export_evidence(&self, req: &ExportRequest) -> Result<EvidenceExport, ApiError> {
        Err(err(
            ApiErrorKind::Refused,
            &format!("export:{}:{}", req.reference, req.destination),
        ))
    }
    async fn plan(&self, _: &PlanRequest) -> Result<PlanView, ApiError> {
        Err(err(
            ApiErrorKind::Refused,
            "refused: viewers may not retract",
        ))
    }
    async fn submit(&self, s: &Submission) -> Result<Submitted, ApiError> {
        Err(err(
            ApiErrorKind::BadInput,
            &format!("plan={} answer={} wait={}", s.plan, s.answer, s.wait),
        ))
    }
    async fn cancel(&self, c: &CancelRequest) -> Result<Cancelled, ApiError> {
        Ok(Cancelled {
            job: c.job,
            cancelled: 7,
        })
    }
    async fn jobs(&self, _: usize) -> Result<Vec<crate::model::Job>, ApiError> {
        Ok(self
            .progress
            .iter()
            .map(|p| p.job.clone())
            .take(1)
            .collect())
    }
    async fn job(&self, _: i64) -> Result<JobDetail, ApiError> {
        Err(err(ApiErrorKind::BadInput, "no job 9"))
    }
    async fn watch(&self, _: i64) -> Result<JobEvents, ApiError> {
        let events: Vec<Result<JobProgress, ApiError>> =
            self.progress.iter().cloned().map(Ok).collect();
        // Spaced out, so the client sees them arrive one by one rather than in one read.
        Ok(Box::pin(futures_util::stream::iter(events).then(
            |e| async move {
                tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                e
            },
        )))
    }
    async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, ApiError> {
        Err(err(
            ApiErrorKind::BadInput,
            &format!(
                "actor={:?} action={:?} target={:?} job={:?} since={:?}",
                q.actor, q.action, q.target, q.job, q.since
            ),
        ))
    }
    async fn verify_audit(
        &self,
        req: &crate::trust::verify::VerifyRequest,
    ) -> Result<crate::trust::verify::AnchoredVerdict, ApiError> {
        Err(err(
            ApiErrorKind::Failed,
            &format!("key={:?}", req.key.as_deref()),
        ))
    }
    async fn store_status(&self) -> Result<StoreStatus, ApiError> {
        Ok(StoreStatus {
            path: "/var/lib/retractor/retractor.db".into(),
            messages: Ok(12),
            warnings: vec![],
            live_workers: Some(1),
        })
    }
    async fn tenants(&self) -> Result<Vec<TenantView>, ApiError> {
        Ok(vec![])
    }
    async fn check(&self, tenant: Option<&str>) -> Result<Vec<CheckView>, ApiError> {
        Ok(vec![CheckView {
            tenant: tenant.unwrap_or("all").into(),
            kind: "maildir".into(),
            ok: true,
            detail: String::new(),
            warnings: vec![],
        }])
    }
    async fn ingest(&self, req: &IngestRequest) -> Result<IngestReport, ApiError> {
        Ok(IngestReport {
            inserted: req.body.len() as u64,
            rejected: vec![LineProblem {
                line: 0,
                reason: format!("{}:{}:{:?}", req.format, req.name, req.tenant),
            }],
            ..IngestReport::default()
        })
    }
    async fn index(&self, _: &IndexRequest) -> Result<IngestReport, ApiError> {
        Err(err(ApiErrorKind::Refused, "refused"))
    }

    async fn report(
        &self,
        _: &crate::api::ReportRequest,
    ) -> Result<crate::api::ReportView, ApiError> {
        Err(err(ApiErrorKind::Refused, "refused"))
    }
    async fn submit_alerts(
        &self,
        _: &crate::api::AlertSubmission,
    ) -> Result<crate::api::AlertReport, ApiError> {
        Err(err(ApiErrorKind::Refused, "refused"))
    }

    async fn pending(&self) -> Result<Vec<crate::store::ApprovalRecord>, ApiError> {
        Err(err(ApiErrorKind::Refused, "refused"))
    }

    async fn answer_approval(
        &self,
        _: &crate::api::ApprovalAnswer,
    ) -> Result<crate::store::ApprovalRecord, ApiError> {
        Err(err(ApiErrorKind::Refused, "refused"))
    }

    async fn policy_test(
        &self,
        _: &crate::api::AlertSubmission,
    ) -> Result<crate::policy::act::RehearsalReport, ApiError> {
        Err(err(ApiErrorKind::Refused, "refused"))
    }

    async fn policy_report(
        &self,
        _: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::policy::report::PolicyReport, ApiError> {
        Err(err(ApiErrorKind::Refused, "refused"))
    }
    async fn process_submissions(
        &self,
        _: &crate::submissions::SubmissionsRequest,
    ) -> Result<crate::submissions::SubmissionsRun, ApiError> {
        Err(err(ApiErrorKind::BadInput, "no [submissions] table"))
    }

    async fn add_indicators(
        &self,
        _: &crate::api::IndicatorSubmission,
    ) -> Result<crate::api::IndicatorReport, ApiError> {
        Err(err(ApiErrorKind::Refused, "refused"))
    }

    async fn indicators(&self) -> Result<Vec<crate::model::IndicatorRecord>, ApiError> {
        Err(err(ApiErrorKind::Refused, "refused"))
    }

    async fn remove_indicators(
        &self,
        _: &crate::api::IndicatorRemoval,
    ) -> Result<crate::api::IndicatorsRemoved, ApiError> {
        Err(err(ApiErrorKind::Refused, "refused"))
    }

    async fn hunt(
        &self,
        _: &crate::policy::hunt::HuntRequest,
    ) -> Result<crate::policy::hunt::HuntReport, ApiError> {
        Err(err(ApiErrorKind::Refused, "refused"))
    }
}

fn progress(done: u64, finished: bool) -> JobProgress {
    let mut job: crate::model::Job = serde_json::from_value(serde_json::json!({
        "id": 4, "kind": "retract", "action": "move-to-junk", "status": if finished {"done"} else {"running"},
        "initiated_by": "alice", "reason": null, "restores_job": null,
        "counts": {"matched": 3, "remediated": 0, "failed": 0, "skipped": 0, "queued": 0, "claimed": 0},
        "created_at": "2026-11-20T10:00:00Z", "started_at": null, "finished_at": null,
        "throttle_note": null
    }))
    .expect("a job");
    job.counts.remediated = done;
    JobProgress { job, finished }
}

/// A served router on a fresh socket; the runtime keeps serving until the test ends.
async fn served() -> (tempfile::TempDir, Remote) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("run/svc.sock");
    let listener = socket::bind(&path, None).expect("bind");
    let config = Arc::new(crate::ingest::test_config());
    let store = Arc::new(Store::open(&dir.path().join("r.db")).expect("store"));
    let engine = Arc::new(Engine::new(
        Arc::clone(&config),
        store,
        Actor::current(&config.access),
    ));
    let script = vec![progress(1, false), progress(2, false), progress(3, true)];
    let factory: ApiFactory = Arc::new(move |_engine, identity| {
        Arc::new(Scripted {
            identity,
            progress: script.clone(),
        })
    });
    let shared = Arc::new(Shared::new(config, engine, factory));
    let app = routes::router(shared).into_make_service_with_connect_info::<routes::PeerInfo>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (dir, Remote::new(&path))
}

#[tokio::test]
async fn the_caller_is_the_sockets_peer_and_its_role_is_the_services() {
    let (_dir, remote) = served().await;
    let me = remote.whoami().await.expect("whoami");
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    assert_eq!(me.uid, Some(uid));
    assert_eq!(Some(me.login.clone()), crate::engine::login_of_uid(uid));
    assert_eq!(me.authority, Authority::Service);
    // The test config has no [access]: the least privilege.
    assert_eq!(me.role, crate::model::Role::Viewer);
}

#[tokio::test]
async fn error_kinds_cross_the_socket_so_exit_codes_survive() {
    let (_dir, remote) = served().await;
    let req = PlanRequest::Sweep(crate::engine::SweepRequest {
        tenant: "corp".into(),
        all: true,
        ..Default::default()
    });
    let refused = remote.plan(&req).await.expect_err("refused");
    assert_eq!(
        (refused.kind, refused.exit_code()),
        (ApiErrorKind::Refused, 4)
    );
    assert_eq!(refused.message, "refused: viewers may not retract");
    let bad = remote.job(9).await.expect_err("bad input");
    assert_eq!(bad.exit_code(), 2);
    let failed = remote.headers("x").await.expect_err("failed");
    assert_eq!(failed.exit_code(), 1);
}

#[tokio::test]
async fn references_queries_and_bodies_arrive_intact() {
    let (_dir, remote) = served().await;
    let reference = "<a/b?c#d%20e@x.test>";
    let e = remote.message(reference).await.expect_err("echo");
    assert_eq!(e.message, format!("echo:{reference}"));
    let e = remote.evidence(reference).await.expect_err("echo");
    assert_eq!(e.message, format!("evidence:{reference}"));
    let e = remote
        .export_evidence(&ExportRequest {
            reference: reference.into(),
            destination: "/tmp/x y.zip".into(),
        })
        .await
        .expect_err("echo");
    assert_eq!(
        (e.message.as_str(), e.exit_code()),
        (format!("export:{reference}:/tmp/x y.zip").as_str(), 4)
    );
    let query = "from:a@x & subject:\"a b\" %2F+?#";
    let page = remote
        .search(&SearchRequest {
            query: query.into(),
            limit: 7,
            offset: 3,
            ..SearchRequest::default()
        })
        .await
        .expect("search");
    assert_eq!(page.total, Some(query.len() as u64 * 1_000_000 + 7003));
    let e = remote
        .search(&SearchRequest {
            query: query.into(),
            limit: 7,
            anchor: Some(crate::store::PageAnchor::Before(1_700_000_000, 42)),
            skip_count: true,
            ..SearchRequest::default()
        })
        .await
        .expect_err("echo");
    assert_eq!(e.message, "anchor=Before(1700000000, 42) skip_count=true");
    let e = remote
        .verify_audit(&crate::trust::verify::VerifyRequest {
            key: Some("k".into()),
            trusted_keys: Vec::new(),
            witness: None,
        })
        .await
        .expect_err("echo");
    assert_eq!(e.message, "key=Some(\"k\")");
    assert_eq!(remote.store_status().await.expect("store").messages, Ok(12));
    let e = remote
        .submit(&Submission {
            plan: "p/1".into(),
            answer: "DELETE".into(),
            wait: true,
        })
        .await
        .expect_err("echo");
    assert_eq!(e.message, "plan=p/1 answer=DELETE wait=true");
    let since = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00+00:00")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let e = remote
        .audit(&AuditQuery {
            since: Some(since),
            actor: Some("bob smith".into()),
            action: Some("quarantine".into()),
            target: Some("<m@x> & y".into()),
            job: Some(5),
            ..AuditQuery::default()
        })
        .await
        .expect_err("echo");
    assert_eq!(
        e.message,
        "actor=Some(\"bob smith\") action=Some(\"quarantine\") target=Some(\"<m@x> & y\") job=Some(5) since=Some(2026-11-20T10:00:00Z)"
    );
    assert_eq!(
        remote
            .cancel(&CancelRequest { job: 3 })
            .await
            .expect("cancel")
            .job,
        3
    );
    assert_eq!(
        remote.check(Some("corp")).await.expect("check")[0].tenant,
        "corp"
    );
}

#[tokio::test]
async fn ingest_takes_more_than_the_general_limit_and_refuses_past_its_own() {
    let (_dir, remote) = served().await;
    let big = IngestRequest {
        format: "jsonl".into(),
        name: "log.jsonl".into(),
        tenant: Some("corp".into()),
        body: vec![b'x'; 3 * routes::BODY_LIMIT],
    };
    let report = remote.ingest(&big).await.expect("3 MiB log");
    assert_eq!(report.inserted, 3 * routes::BODY_LIMIT as u64);
    assert_eq!(report.rejected[0].reason, "jsonl:log.jsonl:Some(\"corp\")");
    let too_big = IngestRequest {
        body: vec![b'x'; routes::INGEST_LIMIT + 1],
        ..big
    };
    let e = remote.ingest(&too_big).await.expect_err("over the limit");
    assert_eq!(e.kind, ApiErrorKind::BadInput, "{e}");
    assert!(e.message.contains("at most 64 MiB"), "{e}");
}

#[tokio::test]
async fn two_watchers_see_the_same_progress_streamed() {
    let (_dir, remote) = served().await;
    let (a, b) = tokio::join!(remote.watch(4), remote.watch(4));
    let a: Vec<_> = a.expect("watch a").collect().await;
    let b: Vec<_> = b.expect("watch b").collect().await;
    let a: Vec<JobProgress> = a.into_iter().map(|e| e.expect("event")).collect();
    let b: Vec<JobProgress> = b.into_iter().map(|e| e.expect("event")).collect();
    assert_eq!(a, b);
    let done: Vec<u64> = a.iter().map(|p| p.job.counts.remediated).collect();
    assert_eq!(done, vec![1, 2, 3]);
    assert!(a.last().expect("last").finished);
}

#[tokio::test]
async fn an_unknown_endpoint_answers_as_bad_input_json() {
    let (dir, _remote) = served().await;
    let socket = dir.path().join("run/svc.sock");
    // Off the runtime's thread: the server answers on it meanwhile.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-s", "-w", "\n%{http_code}", "--unix-socket"])
            .arg(socket)
            .arg("http://retractor/v2/jobs")
            .output()
    })
    .await
    .expect("curl task");
    let Ok(out) = out else {
        return; // no curl on this machine: the Remote tests above cover the JSON errors
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let (body, status) = text.rsplit_once('\n').expect("status line");
    assert_eq!(status, "404");
    let e: ApiError = serde_json::from_str(body).expect("ApiError JSON");
    assert_eq!(e.kind, ApiErrorKind::BadInput);
}
