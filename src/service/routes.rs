//! The `/v1` HTTP/JSON routes: one per [`Api`] method, as the trait's doc comments name them.
//! Each request is answered by an `Api` bound to the socket peer's identity; errors travel as
//! [`ApiError`] JSON with a status that matches its kind, so the client's exit code survives.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::connect_info::Connected;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::IncomingStream;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::Shared;
use super::peer::{PeerCred, SSH_FROM_HEADER, identify};
use crate::api::{
    Api, ApiError, ApiErrorKind, AuditQuery, ExportRequest, IngestRequest, JobProgress,
    PlanRequest, SearchRequest, Submission,
};
use crate::engine::{CancelRequest, IndexRequest};
use crate::store::PageAnchor;
use crate::trust::verify::VerifyRequest;

/// Largest request body in general: plans, submissions, queries.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Largest message log `POST /v1/ingest` takes in one request.
pub const INGEST_LIMIT: usize = 64 * 1024 * 1024;

/// The peer of one connection, read from the socket when it was accepted.
#[derive(Clone, Copy, Debug)]
pub struct PeerInfo(Option<PeerCred>);

impl Connected<IncomingStream<'_, tokio::net::UnixListener>> for PeerInfo {
    fn connect_info(stream: IncomingStream<'_, tokio::net::UnixListener>) -> Self {
        PeerInfo(PeerCred::of(stream.io()).ok())
    }
}

/// One line of `GET /v1/jobs/{id}/events` (newline-delimited JSON).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventLine {
    Progress(JobProgress),
    Error(ApiError),
}

/// The router of the service.
pub fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new()
        .route("/v1/whoami", get(whoami))
        .route("/v1/messages", get(search))
        .route("/v1/messages/{reference}", get(message))
        .route("/v1/messages/{reference}/headers", get(headers))
        .route("/v1/messages/{reference}/evidence", get(evidence))
        .route("/v1/evidence/exports", post(export_evidence))
        .route("/v1/plans", post(plan))
        .route("/v1/plans/{id}/submit", post(submit))
        .route("/v1/jobs", get(jobs))
        .route("/v1/jobs/{id}", get(job))
        .route("/v1/jobs/{id}/cancel", post(cancel))
        .route("/v1/jobs/{id}/events", get(events))
        .route("/v1/audit", get(audit))
        .route("/v1/audit/verify", post(verify_audit))
        .route("/v1/tenants", get(tenants))
        .route("/v1/store", get(store_status))
        .route("/v1/check", post(check))
        .route(
            "/v1/ingest",
            post(ingest).layer(DefaultBodyLimit::max(INGEST_LIMIT)),
        )
        .route("/v1/index", post(index))
        .route(
            "/v1/alerts",
            post(submit_alerts).layer(DefaultBodyLimit::max(crate::api::alerts::ALERTS_LIMIT)),
        )
        .route("/v1/reports", post(report))
        .route("/v1/approvals", get(pending))
        .route("/v1/approvals/{id}/{verb}", post(answer_approval))
        .route(
            "/v1/policy/test",
            post(policy_test).layer(DefaultBodyLimit::max(crate::api::alerts::ALERTS_LIMIT)),
        )
        .route("/v1/policy/report", get(policy_report))
        .route("/v1/submissions", post(process_submissions))
        .route(
            "/v1/indicators",
            get(indicators)
                .post(add_indicators)
                .layer(DefaultBodyLimit::max(
                    crate::api::indicators::INDICATORS_LIMIT,
                )),
        )
        .route("/v1/indicators/remove", post(remove_indicators))
        .route("/v1/hunts", post(hunt))
        .fallback(unknown_route)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

/// The status an error kind travels with.
pub fn status_of(kind: ApiErrorKind) -> StatusCode {
    match kind {
        ApiErrorKind::BadInput => StatusCode::BAD_REQUEST,
        ApiErrorKind::Refused => StatusCode::FORBIDDEN,
        ApiErrorKind::Failed => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error_response(e: ApiError) -> Response {
    (status_of(e.kind), Json(e)).into_response()
}

fn answer<T: Serialize>(result: Result<T, ApiError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(e) => error_response(e),
    }
}

fn bad_input(message: impl Into<String>) -> ApiError {
    ApiError {
        kind: ApiErrorKind::BadInput,
        message: message.into(),
    }
}

/// The API as this caller may use it; a peer the kernel could not name gets nothing.
fn caller(shared: &Shared, peer: PeerInfo, headers: &HeaderMap) -> Result<Arc<dyn Api>, ApiError> {
    let Some(cred) = peer.0 else {
        return Err(ApiError {
            kind: ApiErrorKind::Refused,
            message: "refused: the service cannot tell who is connecting".into(),
        });
    };
    let reported = headers.get(SSH_FROM_HEADER).and_then(|v| v.to_str().ok());
    let current = shared.current();
    let identity = identify(cred, &current.config.access, reported);
    Ok((shared.factory)(Arc::clone(&current.engine), identity))
}

/// Query-string and JSON problems answer as `ApiError` JSON too, naming what was wrong.
fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| bad_input(format!("bad query: {}", e.body_text())))
}

fn json<T>(j: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    j.map(|Json(t)| t)
        .map_err(|e| bad_input(format!("bad request body: {}", e.body_text())))
}

/// The caller's `Api` from the handler's state, peer and headers, or the refusal answered.
macro_rules! api_or_answer {
    ($state:expr, $peer:expr, $headers:expr) => {{
        let (State(shared), ConnectInfo(peer)) = ($state, $peer);
        match caller(&shared, peer, &$headers) {
            Ok(api) => api,
            Err(e) => return error_response(e),
        }
    }};
}

macro_rules! ok_or_answer {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return error_response(e),
        }
    };
}

async fn whoami(s: State<Arc<Shared>>, p: ConnectInfo<PeerInfo>, h: HeaderMap) -> Response {
    let api = api_or_answer!(s, p, h);
    answer(api.whoami().await)
}

#[derive(Deserialize)]
struct SearchParams {
    #[serde(default)]
    q: String,
    #[serde(default = "default_limit")]
    limit: usize,
    #[serde(default)]
    offset: usize,
    /// Keyset paging: `after=SECS:ID`, `before=SECS:ID`, or `from_end=N` rows from the oldest.
    after: Option<String>,
    before: Option<String>,
    from_end: Option<usize>,
    #[serde(default)]
    skip_count: bool,
}

/// `SECS:ID` of a keyset anchor.
fn row_key(name: &str, text: &str) -> Result<(i64, i64), ApiError> {
    text.split_once(':')
        .and_then(|(secs, id)| Some((secs.parse().ok()?, id.parse().ok()?)))
        .ok_or_else(|| bad_input(format!("{name}={text}: expected SECS:ID")))
}

impl SearchParams {
    fn anchor(&self) -> Result<Option<PageAnchor>, ApiError> {
        Ok(match (&self.after, &self.before, self.from_end) {
            (Some(a), None, None) => {
                let (secs, id) = row_key("after", a)?;
                Some(PageAnchor::After(secs, id))
            }
            (None, Some(b), None) => {
                let (secs, id) = row_key("before", b)?;
                Some(PageAnchor::Before(secs, id))
            }
            (None, None, Some(n)) => Some(PageAnchor::FromEnd(n)),
            (None, None, None) => None,
            _ => return Err(bad_input("give at most one of after, before, from_end")),
        })
    }
}

fn default_limit() -> usize {
    50
}

async fn search(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    q: Result<Query<SearchParams>, QueryRejection>,
) -> Response {
    let params = ok_or_answer!(query(q));
    let anchor = ok_or_answer!(params.anchor());
    let api = api_or_answer!(s, p, h);
    let req = SearchRequest {
        query: params.q,
        limit: params.limit,
        offset: params.offset,
        anchor,
        skip_count: params.skip_count,
    };
    answer(api.search(&req).await)
}

async fn message(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    let api = api_or_answer!(s, p, h);
    answer(api.message(&reference).await)
}

async fn headers(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    let api = api_or_answer!(s, p, h);
    answer(api.headers(&reference).await)
}

async fn evidence(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    let api = api_or_answer!(s, p, h);
    answer(api.evidence(&reference).await)
}

async fn export_evidence(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    body: Result<Json<ExportRequest>, JsonRejection>,
) -> Response {
    let req = ok_or_answer!(json(body));
    let api = api_or_answer!(s, p, h);
    answer(api.export_evidence(&req).await)
}

async fn plan(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    body: Result<Json<PlanRequest>, JsonRejection>,
) -> Response {
    let req = ok_or_answer!(json(body));
    let api = api_or_answer!(s, p, h);
    answer(api.plan(&req).await)
}

/// The body of `POST /v1/plans/{id}/submit`: the plan is named by the path.
#[derive(Debug, Serialize, Deserialize)]
pub struct SubmitBody {
    pub answer: String,
    #[serde(default)]
    pub wait: bool,
}

async fn submit(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<SubmitBody>, JsonRejection>,
) -> Response {
    let body = ok_or_answer!(json(body));
    let api = api_or_answer!(s, p, h);
    let req = Submission {
        plan: id,
        answer: body.answer,
        wait: body.wait,
    };
    answer(api.submit(&req).await)
}

#[derive(Deserialize)]
struct JobsParams {
    #[serde(default = "default_limit")]
    limit: usize,
}

async fn jobs(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    q: Result<Query<JobsParams>, QueryRejection>,
) -> Response {
    let params = ok_or_answer!(query(q));
    let api = api_or_answer!(s, p, h);
    answer(api.jobs(params.limit).await)
}

fn job_id(text: &str) -> Result<i64, ApiError> {
    text.parse().map_err(|_| {
        bad_input(format!(
            "job `{}` is not a job number",
            crate::model::text::sanitize(text)
        ))
    })
}

async fn job(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let id = ok_or_answer!(job_id(&id));
    let api = api_or_answer!(s, p, h);
    answer(api.job(id).await)
}

async fn cancel(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let job = ok_or_answer!(job_id(&id));
    let api = api_or_answer!(s, p, h);
    answer(api.cancel(&CancelRequest { job }).await)
}

/// Progress as newline-delimited JSON, one [`EventLine`] a line, sent as it happens.
async fn events(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let id = ok_or_answer!(job_id(&id));
    let api = api_or_answer!(s, p, h);
    let stream = ok_or_answer!(api.watch(id).await);
    let lines = stream.map(|event| {
        let line = match event {
            Ok(progress) => EventLine::Progress(progress),
            Err(e) => EventLine::Error(e),
        };
        let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
        bytes.push(b'\n');
        Ok::<Bytes, std::convert::Infallible>(Bytes::from(bytes))
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response()
}

async fn audit(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    let req = ok_or_answer!(query(q));
    let api = api_or_answer!(s, p, h);
    answer(api.audit(&req).await)
}

/// The body is optional: none verifies against the service's own key and witness.
async fn verify_audit(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = ok_or_answer!(body.map_err(|e| bad_input(e.body_text())));
    let req: VerifyRequest = if body.is_empty() {
        VerifyRequest::default()
    } else {
        ok_or_answer!(
            serde_json::from_slice(&body).map_err(|e| bad_input(format!("bad request body: {e}")))
        )
    };
    let api = api_or_answer!(s, p, h);
    answer(api.verify_audit(&req).await)
}

async fn store_status(s: State<Arc<Shared>>, p: ConnectInfo<PeerInfo>, h: HeaderMap) -> Response {
    let api = api_or_answer!(s, p, h);
    answer(api.store_status().await)
}

async fn tenants(s: State<Arc<Shared>>, p: ConnectInfo<PeerInfo>, h: HeaderMap) -> Response {
    let api = api_or_answer!(s, p, h);
    answer(api.tenants().await)
}

#[derive(Deserialize)]
struct CheckParams {
    tenant: Option<String>,
}

async fn check(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    q: Result<Query<CheckParams>, QueryRejection>,
) -> Response {
    let params = ok_or_answer!(query(q));
    let api = api_or_answer!(s, p, h);
    answer(api.check(params.tenant.as_deref()).await)
}

#[derive(Deserialize)]
struct IngestParams {
    format: String,
    #[serde(default)]
    name: String,
    tenant: Option<String>,
}

/// The log's bytes are the body as they are (no JSON, no base64): up to [`INGEST_LIMIT`].
async fn ingest(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    q: Result<Query<IngestParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let params = ok_or_answer!(query(q));
    let body = ok_or_answer!(body.map_err(|e| bad_input(format!(
        "the log was not taken: {} (at most {} MiB in one request)",
        e.body_text(),
        INGEST_LIMIT / (1024 * 1024)
    ))));
    let api = api_or_answer!(s, p, h);
    let req = IngestRequest {
        format: params.format,
        name: params.name,
        tenant: params.tenant,
        body: body.to_vec(),
    };
    answer(api.ingest(&req).await)
}

async fn index(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    body: Result<Json<IndexRequest>, JsonRejection>,
) -> Response {
    let req = ok_or_answer!(json(body));
    let api = api_or_answer!(s, p, h);
    answer(api.index(&req).await)
}

async fn process_submissions(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    body: Result<Json<crate::submissions::SubmissionsRequest>, JsonRejection>,
) -> Response {
    let req = ok_or_answer!(json(body));
    let api = api_or_answer!(s, p, h);
    answer(api.process_submissions(&req).await)
}

async fn unknown_route(uri: axum::http::Uri) -> Response {
    let e = ApiError {
        kind: ApiErrorKind::BadInput,
        message: format!(
            "no such endpoint: {} (this service speaks /v1)",
            crate::model::text::sanitize(uri.path())
        ),
    };
    (StatusCode::NOT_FOUND, Json(e)).into_response()
}

async fn submit_alerts(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    body: Result<Json<crate::api::AlertSubmission>, JsonRejection>,
) -> Response {
    let req = ok_or_answer!(json(body));
    let api = api_or_answer!(s, p, h);
    answer(api.submit_alerts(&req).await)
}

async fn report(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    body: Result<Json<crate::api::ReportRequest>, JsonRejection>,
) -> Response {
    let req = ok_or_answer!(json(body));
    let api = api_or_answer!(s, p, h);
    answer(api.report(&req).await)
}

async fn pending(s: State<Arc<Shared>>, p: ConnectInfo<PeerInfo>, h: HeaderMap) -> Response {
    let api = api_or_answer!(s, p, h);
    answer(api.pending().await)
}

/// `approve` or `reject`; the id comes from the path, never from the body.
async fn answer_approval(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    Path((id, verb)): Path<(String, String)>,
    body: Result<Json<crate::api::ApprovalAnswer>, JsonRejection>,
) -> Response {
    let id = ok_or_answer!(job_id(&id));
    let approve = match verb.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return error_response(bad_input("expected /approve or /reject")),
    };
    let mut req = ok_or_answer!(json(body));
    req.id = id;
    req.approve = approve;
    let api = api_or_answer!(s, p, h);
    answer(api.answer_approval(&req).await)
}

async fn policy_test(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    body: Result<Json<crate::api::AlertSubmission>, JsonRejection>,
) -> Response {
    let req = ok_or_answer!(json(body));
    let api = api_or_answer!(s, p, h);
    answer(api.policy_test(&req).await)
}

#[derive(Deserialize)]
struct SinceQuery {
    since: chrono::DateTime<chrono::Utc>,
}

async fn policy_report(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    q: Result<Query<SinceQuery>, QueryRejection>,
) -> Response {
    let q = ok_or_answer!(query(q));
    let api = api_or_answer!(s, p, h);
    answer(api.policy_report(q.since).await)
}

async fn add_indicators(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    body: Result<Json<crate::api::IndicatorSubmission>, JsonRejection>,
) -> Response {
    let req = ok_or_answer!(json(body));
    let api = api_or_answer!(s, p, h);
    answer(api.add_indicators(&req).await)
}

async fn indicators(s: State<Arc<Shared>>, p: ConnectInfo<PeerInfo>, h: HeaderMap) -> Response {
    let api = api_or_answer!(s, p, h);
    answer(api.indicators().await)
}

async fn remove_indicators(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    body: Result<Json<crate::api::IndicatorRemoval>, JsonRejection>,
) -> Response {
    let req = ok_or_answer!(json(body));
    let api = api_or_answer!(s, p, h);
    answer(api.remove_indicators(&req).await)
}

async fn hunt(
    s: State<Arc<Shared>>,
    p: ConnectInfo<PeerInfo>,
    h: HeaderMap,
    body: Result<Json<crate::policy::hunt::HuntRequest>, JsonRejection>,
) -> Response {
    let req = ok_or_answer!(json(body));
    let api = api_or_answer!(s, p, h);
    answer(api.hunt(&req).await)
}
