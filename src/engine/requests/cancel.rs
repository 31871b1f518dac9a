//! Cancelling a job: its queued items end cancelled, done ones stay done.

use super::Confirmation;
use crate::engine::{Engine, EngineError};
use crate::store::{NewAudit, StoreError};

/// Stop a job: what is queued will not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CancelRequest {
    pub job: i64,
}

impl CancelRequest {
    /// What the console asks before cancelling (the CLI's `cancel` is the confirmation
    /// itself: cancelling only stops what has not run).
    pub fn confirmation(&self) -> Confirmation {
        Confirmation {
            question: format!(
                "Cancel job {}? Its queued items will not run; items already done stay done.",
                self.job
            ),
            word: None,
        }
    }
}

impl Engine {
    /// Cancel a job: queued items end cancelled, done ones stay done. The count cancelled.
    pub fn cancel(&self, req: &CancelRequest) -> Result<u64, EngineError> {
        let job = req.job;
        let found = self.store.job(job).map_err(|e| match e {
            StoreError::NotFound(m) => EngineError::BadInput(m),
            other => other.into(),
        })?;
        self.authorize(found.action, false, &format!("job {job}"))?;
        let audit = NewAudit {
            outcome: "cancelled".into(),
            ..self.request_audit("cancel", &format!("job {job}"), None, String::new())
        };
        self.store.cancel_job(job, &audit).map_err(|e| match e {
            StoreError::Invalid(m) | StoreError::NotFound(m) => EngineError::BadInput(m),
            other => other.into(),
        })
    }
}
