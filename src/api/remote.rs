//! [`Remote`]: the [`Api`] of a `retractor serve` over its Unix socket (`--connect`). This
//! client never opens the store and never reads a secret: it only speaks HTTP/JSON to the
//! service, which knows it by the socket peer's uid.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::*;
use crate::engine::{CancelRequest, IndexRequest};
use crate::store::{AuditEntry, PageAnchor};
use crate::trust::verify::{AnchoredVerdict, VerifyRequest};

/// The header the SSH address this process was started from travels in (the service trusts
/// its own login records first and marks this one as the client's claim).
const SSH_FROM_HEADER: &str = "x-retractor-ssh-from";
/// Largest answer read into memory (a search page, a job with its items).
const ANSWER_LIMIT: usize = 256 * 1024 * 1024;
/// Longest line of a job's event stream.
const EVENT_LINE_LIMIT: usize = 16 * 1024 * 1024;

/// A client of the service at one socket path.
#[derive(Clone, Debug)]
pub struct Remote {
    socket: PathBuf,
    ssh_from: Option<String>,
}

impl Remote {
    /// A client of the service listening on `socket`. Nothing is connected until a call.
    pub fn new(socket: impl Into<PathBuf>) -> Remote {
        Remote {
            socket: socket.into(),
            ssh_from: crate::engine::ssh_client_address(),
        }
    }

    /// The socket this client talks to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    fn unreachable(&self, e: impl std::fmt::Display) -> ApiError {
        failed(format!(
            "cannot reach the service at {}: {e}",
            self.socket.display()
        ))
    }

    /// Send one request on a fresh connection and return the answer's status and body stream.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(Bytes, &'static str)>,
    ) -> Result<(StatusCode, Incoming), ApiError> {
        let stream = tokio::net::UnixStream::connect(&self.socket)
            .await
            .map_err(|e| self.unreachable(e))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.unreachable(e))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("service connection: {e}");
            }
        });
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, "retractor");
        if let Some(addr) = &self.ssh_from {
            request = request.header(SSH_FROM_HEADER, addr.as_str());
        }
        let (bytes, content_type) = body.unwrap_or((Bytes::new(), "application/json"));
        let request = request
            .header(hyper::header::CONTENT_TYPE, content_type)
            .body(Full::new(bytes))
            .map_err(|e| failed(format!("cannot build the request: {e}")))?;
        let answer = sender
            .send_request(request)
            .await
            .map_err(|e| self.unreachable(e))?;
        Ok((answer.status(), answer.into_body()))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<(Bytes, &'static str)>,
    ) -> Result<T, ApiError> {
        let (status, body) = self.send(method, path, body).await?;
        let bytes = Limited::new(body, ANSWER_LIMIT)
            .collect()
            .await
            .map_err(|e| self.unreachable(e))?
            .to_bytes();
        if !status.is_success() {
            return Err(error_of(status, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            failed(format!(
                "the service sent an answer this client cannot read: {e}"
            ))
        })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.call(Method::GET, path, None).await
    }

    async fn post<T: DeserializeOwned, B: Serialize>(
        &self,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ApiError> {
        let body = match body {
            Some(b) => Some((
                Bytes::from(
                    serde_json::to_vec(b)
                        .map_err(|e| failed(format!("cannot encode the request: {e}")))?,
                ),
                "application/json",
            )),
            None => None,
        };
        self.call(Method::POST, path, body).await
    }
}

fn failed(message: String) -> ApiError {
    ApiError {
        kind: ApiErrorKind::Failed,
        message,
    }
}

/// The service's error answer: its `ApiError` JSON, else a failure naming the status. The
/// message is the service's, sanitised again here: this client prints it on a terminal.
fn error_of(status: StatusCode, bytes: &[u8]) -> ApiError {
    match serde_json::from_slice::<ApiError>(bytes) {
        Ok(e) => ApiError {
            kind: e.kind,
            message: crate::model::text::sanitize(&e.message),
        },
        Err(_) => failed(format!("the service answered {status}")),
    }
}

/// A path segment (a REF may hold `/`, `?`, `#`, `%`).
fn segment(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

/// A query string of the pairs that are present.
fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", segment(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

#[async_trait]
impl Api for Remote {
    async fn whoami(&self) -> Result<Identity, ApiError> {
        self.get("/v1/whoami").await
    }

    async fn search(&self, req: &SearchRequest) -> Result<SearchPage, ApiError> {
        let (after, before, from_end) = match req.anchor {
            Some(PageAnchor::After(secs, id)) => (Some(format!("{secs}:{id}")), None, None),
            Some(PageAnchor::Before(secs, id)) => (None, Some(format!("{secs}:{id}")), None),
            Some(PageAnchor::FromEnd(n)) => (None, None, Some(n.to_string())),
            Some(PageAnchor::Offset(_)) | None => (None, None, None),
        };
        let offset = match req.anchor {
            Some(PageAnchor::Offset(n)) => n,
            _ => req.offset,
        };
        let q = query_string(&[
            ("q", Some(req.query.clone())),
            ("limit", Some(req.limit.to_string())),
            ("offset", Some(offset.to_string())),
            ("after", after),
            ("before", before),
            ("from_end", from_end),
            ("skip_count", req.skip_count.then(|| "true".to_string())),
        ]);
        self.get(&format!("/v1/messages{q}")).await
    }

    async fn message(&self, reference: &str) -> Result<MessageView, ApiError> {
        self.get(&format!("/v1/messages/{}", segment(reference)))
            .await
    }

    async fn headers(&self, reference: &str) -> Result<HeadersView, ApiError> {
        self.get(&format!("/v1/messages/{}/headers", segment(reference)))
            .await
    }

    async fn evidence(&self, reference: &str) -> Result<EvidenceView, ApiError> {
        self.get(&format!("/v1/messages/{}/evidence", segment(reference)))
            .await
    }

    async fn export_evidence(&self, req: &ExportRequest) -> Result<EvidenceExport, ApiError> {
        self.post("/v1/evidence/exports", Some(req)).await
    }

    async fn plan(&self, req: &PlanRequest) -> Result<PlanView, ApiError> {
        self.post("/v1/plans", Some(req)).await
    }

    async fn submit(&self, req: &Submission) -> Result<Submitted, ApiError> {
        let body = serde_json::json!({"answer": req.answer, "wait": req.wait});
        self.post(
            &format!("/v1/plans/{}/submit", segment(&req.plan)),
            Some(&body),
        )
        .await
    }

    async fn cancel(&self, req: &CancelRequest) -> Result<Cancelled, ApiError> {
        self.post::<_, ()>(&format!("/v1/jobs/{}/cancel", req.job), None)
            .await
    }

    async fn jobs(&self, limit: usize) -> Result<Vec<crate::model::Job>, ApiError> {
        self.get(&format!("/v1/jobs?limit={limit}")).await
    }

    async fn job(&self, id: i64) -> Result<JobDetail, ApiError> {
        self.get(&format!("/v1/jobs/{id}")).await
    }

    async fn watch(&self, id: i64) -> Result<JobEvents, ApiError> {
        let (status, body) = self
            .send(Method::GET, &format!("/v1/jobs/{id}/events"), None)
            .await?;
        if !status.is_success() {
            let bytes = Limited::new(body, ANSWER_LIMIT)
                .collect()
                .await
                .map_err(|e| self.unreachable(e))?
                .to_bytes();
            return Err(error_of(status, &bytes));
        }
        Ok(Box::pin(event_lines(body)))
    }

    async fn audit(&self, req: &AuditQuery) -> Result<Vec<AuditEntry>, ApiError> {
        let q = query_string(&[
            ("since", req.since.map(|t| t.to_rfc3339())),
            ("until", req.until.map(|t| t.to_rfc3339())),
            ("actor", req.actor.clone()),
            ("action", req.action.clone()),
            ("target", req.target.clone()),
            ("job", req.job.map(|j| j.to_string())),
            ("limit", req.limit.map(|l| l.to_string())),
        ]);
        self.get(&format!("/v1/audit{q}")).await
    }

    async fn verify_audit(&self, req: &VerifyRequest) -> Result<AnchoredVerdict, ApiError> {
        self.post("/v1/audit/verify", Some(req)).await
    }

    async fn store_status(&self) -> Result<StoreStatus, ApiError> {
        self.get("/v1/store").await
    }

    async fn tenants(&self) -> Result<Vec<TenantView>, ApiError> {
        self.get("/v1/tenants").await
    }

    async fn check(&self, tenant: Option<&str>) -> Result<Vec<CheckView>, ApiError> {
        let q = query_string(&[("tenant", tenant.map(str::to_string))]);
        self.post::<_, ()>(&format!("/v1/check{q}"), None).await
    }

    async fn ingest(&self, req: &IngestRequest) -> Result<IngestReport, ApiError> {
        let q = query_string(&[
            ("format", Some(req.format.clone())),
            ("name", Some(req.name.clone())),
            ("tenant", req.tenant.clone()),
        ]);
        let body = Some((Bytes::from(req.body.clone()), "application/octet-stream"));
        self.call(Method::POST, &format!("/v1/ingest{q}"), body)
            .await
    }

    async fn index(&self, req: &IndexRequest) -> Result<IngestReport, ApiError> {
        self.post("/v1/index", Some(req)).await
    }

    async fn submit_alerts(
        &self,
        req: &super::AlertSubmission,
    ) -> Result<super::AlertReport, ApiError> {
        self.post("/v1/alerts", Some(req)).await
    }

    async fn report(&self, req: &super::ReportRequest) -> Result<super::ReportView, ApiError> {
        self.post("/v1/reports", Some(req)).await
    }

    async fn pending(&self) -> Result<Vec<crate::store::ApprovalRecord>, ApiError> {
        self.get("/v1/approvals").await
    }

    async fn answer_approval(
        &self,
        req: &super::ApprovalAnswer,
    ) -> Result<crate::store::ApprovalRecord, ApiError> {
        let verb = if req.approve { "approve" } else { "reject" };
        self.post(&format!("/v1/approvals/{}/{verb}", req.id), Some(req))
            .await
    }

    async fn policy_test(
        &self,
        req: &super::AlertSubmission,
    ) -> Result<crate::policy::act::RehearsalReport, ApiError> {
        self.post("/v1/policy/test", Some(req)).await
    }

    async fn policy_report(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::policy::report::PolicyReport, ApiError> {
        let q = query_string(&[("since", Some(since.to_rfc3339()))]);
        self.get(&format!("/v1/policy/report{q}")).await
    }

    async fn process_submissions(
        &self,
        req: &crate::submissions::SubmissionsRequest,
    ) -> Result<crate::submissions::SubmissionsRun, ApiError> {
        self.post("/v1/submissions", Some(req)).await
    }

    async fn add_indicators(
        &self,
        req: &super::IndicatorSubmission,
    ) -> Result<super::IndicatorReport, ApiError> {
        self.post("/v1/indicators", Some(req)).await
    }

    async fn indicators(&self) -> Result<Vec<crate::model::IndicatorRecord>, ApiError> {
        self.get("/v1/indicators").await
    }

    async fn remove_indicators(
        &self,
        req: &super::IndicatorRemoval,
    ) -> Result<super::IndicatorsRemoved, ApiError> {
        self.post("/v1/indicators/remove", Some(req)).await
    }

    async fn hunt(
        &self,
        req: &crate::policy::hunt::HuntRequest,
    ) -> Result<crate::policy::hunt::HuntReport, ApiError> {
        self.post("/v1/hunts", Some(req)).await
    }
}

/// One line of the service's event stream (`service::routes::EventLine` on the wire).
#[derive(serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
enum EventLine {
    Progress(JobProgress),
    Error(ApiError),
}

/// The body's newline-delimited JSON as events, as they arrive.
fn event_lines(
    body: Incoming,
) -> impl futures_util::Stream<Item = Result<JobProgress, ApiError>> + Send {
    let frames = http_body_util::BodyStream::new(body);
    futures_util::stream::unfold(
        (frames, Vec::<u8>::new(), false),
        |(mut frames, mut pending, done)| async move {
            if done {
                return None;
            }
            loop {
                if let Some(end) = pending.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=end).collect();
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let event = match serde_json::from_slice::<EventLine>(&line) {
                        Ok(EventLine::Progress(p)) => Ok(p),
                        Ok(EventLine::Error(e)) => Err(ApiError {
                            kind: e.kind,
                            message: crate::model::text::sanitize(&e.message),
                        }),
                        Err(e) => Err(failed(format!("unreadable progress from the service: {e}"))),
                    };
                    let stop = event.is_err();
                    return Some((event, (frames, pending, stop)));
                }
                if pending.len() > EVENT_LINE_LIMIT {
                    let e = failed("the service sent an overlong progress line".into());
                    return Some((Err(e), (frames, pending, true)));
                }
                match frames.next().await {
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            pending.extend_from_slice(&data);
                        }
                    }
                    Some(Err(e)) => {
                        let e = failed(format!("the service's progress stream broke: {e}"));
                        return Some((Err(e), (frames, pending, true)));
                    }
                    None => return None,
                }
            }
        },
    )
}
