//! Indexing: read every mailbox of a tenant into the log (for mail the gateway never saw).

use chrono::{DateTime, Utc};

use crate::engine::{Engine, EngineError, IndexScan};

/// Read every mailbox of a tenant, for the log.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IndexRequest {
    pub tenant: String,
    /// Only copies received since then (`None`: all).
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
}

impl Engine {
    /// Read the tenant's mailboxes for `index`, after checking the request and the role; the
    /// caller loads the records ([`IndexScan::records`]) and audits the load.
    pub async fn index(&self, req: &IndexRequest) -> Result<IndexScan, EngineError> {
        if req.tenant.trim().is_empty() {
            return Err(EngineError::BadInput(
                "--tenant is empty: name the tenant to index".into(),
            ));
        }
        self.scan_for_index(&req.tenant, req.since).await
    }
}
