//! TEMPORARY, until `api::Local` lands (the api-port branch): the `Api` the binary's service
//! answers with meanwhile. It serves the read-only calls the service's own tests need (who am
//! I, search, jobs, one job, watching a job, tenants) straight from the engine's store, and
//! answers every other call with an error saying it is not served yet. At the merge the lead
//! replaces [`factory`] by `Local::new(engine.acting_for(actor), identity)` and deletes this
//! file.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::ApiFactory;
use crate::api::*;
use crate::engine::{CancelRequest, Engine, IndexRequest};
use crate::store::{AuditEntry, AuditVerdict};

/// The factory `retractor serve` uses until `Local` replaces it.
pub fn factory() -> ApiFactory {
    Arc::new(|engine, identity| Arc::new(Interim { engine, identity }))
}

struct Interim {
    engine: Arc<Engine>,
    identity: Identity,
}

fn failed(message: impl Into<String>) -> ApiError {
    ApiError {
        kind: ApiErrorKind::Failed,
        message: message.into(),
    }
}

fn not_yet(what: &str) -> ApiError {
    failed(format!(
        "{what} is not served by this build yet (it comes with api::Local)"
    ))
}

fn from_store(e: crate::store::StoreError) -> ApiError {
    use crate::store::StoreError::*;
    match e {
        NotFound(m) | Ambiguous(m) | Invalid(m) => ApiError {
            kind: ApiErrorKind::BadInput,
            message: m,
        },
        other => failed(other.to_string()),
    }
}

/// How often a watched job's row is read for changes.
const WATCH_POLL: Duration = Duration::from_millis(100);

#[async_trait]
impl Api for Interim {
    async fn whoami(&self) -> Result<Identity, ApiError> {
        Ok(self.identity.clone())
    }

    async fn search(&self, req: &SearchRequest) -> Result<SearchPage, ApiError> {
        let query = crate::query::parse(&req.query, chrono::Utc::now()).map_err(|e| ApiError {
            kind: ApiErrorKind::BadInput,
            message: e.to_string(),
        })?;
        let store = self.engine.store();
        let messages = store
            .search(&query, req.limit, req.offset)
            .map_err(from_store)?;
        let total = store.search_count(&query).map_err(from_store)?;
        Ok(SearchPage { messages, total })
    }

    async fn message(&self, _: &str) -> Result<MessageView, ApiError> {
        Err(not_yet("show"))
    }

    async fn headers(&self, _: &str) -> Result<Vec<HeaderField>, ApiError> {
        Err(not_yet("show --headers"))
    }

    async fn plan(&self, _: &PlanRequest) -> Result<PlanView, ApiError> {
        Err(not_yet("planning"))
    }

    async fn submit(&self, _: &Submission) -> Result<Submitted, ApiError> {
        Err(not_yet("submitting"))
    }

    async fn cancel(&self, _: &CancelRequest) -> Result<Cancelled, ApiError> {
        Err(not_yet("cancel"))
    }

    async fn jobs(&self, limit: usize) -> Result<Vec<crate::model::Job>, ApiError> {
        self.engine.store().jobs(limit).map_err(from_store)
    }

    async fn job(&self, id: i64) -> Result<JobDetail, ApiError> {
        let store = self.engine.store();
        Ok(JobDetail {
            job: store.job(id).map_err(from_store)?,
            items: store.job_items(id).map_err(from_store)?,
        })
    }

    async fn watch(&self, id: i64) -> Result<JobEvents, ApiError> {
        let store = Arc::clone(self.engine.store());
        let first = store.job(id).map_err(from_store)?;
        // The service reads its own store; clients only ever see the stream.
        let events = futures_util::stream::unfold(
            (store, Some(first), None::<crate::model::Job>),
            |(store, next, last)| async move {
                let job = match next {
                    Some(job) => job,
                    None => {
                        let last = last?;
                        if last.status.is_finished() {
                            return None;
                        }
                        loop {
                            tokio::time::sleep(WATCH_POLL).await;
                            match store.job(last.id) {
                                Ok(j) if j != last => break j,
                                Ok(_) => continue,
                                Err(e) => {
                                    return Some((Err(from_store(e)), (store, None, None)));
                                }
                            }
                        }
                    }
                };
                let finished = job.status.is_finished();
                let event = JobProgress {
                    job: job.clone(),
                    finished,
                };
                Some((Ok(event), (store, None, Some(job))))
            },
        );
        Ok(Box::pin(events))
    }

    async fn audit(&self, _: &AuditQuery) -> Result<Vec<AuditEntry>, ApiError> {
        Err(not_yet("audit"))
    }

    async fn verify_audit(&self) -> Result<AuditVerdict, ApiError> {
        Err(not_yet("audit verify"))
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

    async fn check(&self, _: Option<&str>) -> Result<Vec<CheckView>, ApiError> {
        Err(not_yet("check"))
    }

    async fn ingest(&self, _: &IngestRequest) -> Result<IngestReport, ApiError> {
        Err(not_yet("ingest"))
    }

    async fn index(&self, _: &IndexRequest) -> Result<IngestReport, ApiError> {
        Err(not_yet("index"))
    }
}
